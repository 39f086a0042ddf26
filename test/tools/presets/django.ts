import { execFileSync, spawnSync } from 'child_process';
import { MigrationTool } from '../../../src';
import { djangoProject } from '../django-project';
import { shimDir, writeFiles } from '../harness';
import { ToolSpec } from '../scenario';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-django and python3-psycopg2
const hasDjango = spawnSync(PYTHON, ['-c', 'import django, psycopg2']).status === 0;

export const django: ToolSpec = {
  title: 'MigrationTool.django()',
  name: 'django',
  tool: () => MigrationTool.django(),
  installable: true,
  unavailable: () => (hasDjango ? undefined : 'not installed here: python3-django, python3-psycopg2 (run .ci/install-tools.sh)'),
  version: () => execFileSync(PYTHON, ['-c', 'import django; print(django.get_version())'], { encoding: 'utf-8' }).trim(),
  // python images name the interpreter `python`; Debian only has python3.
  pathDirs: () => [shimDir({ python: PYTHON })],
  env: (pg, db) => ({ DATABASE_URL: pg.url(db), DJANGO_SETTINGS_MODULE: 'tiny.settings' }),
  project: (dir, count, sql) => writeFiles(dir, djangoProject(count, sql)),
};
