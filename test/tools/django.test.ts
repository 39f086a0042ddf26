import { execFileSync } from 'child_process';
import { hasProgram, missing, shimDir, writeFiles } from './harness';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-django and python3-psycopg2
const hasDjango = (): boolean => hasProgram(PYTHON)
  && execFileSync(PYTHON, ['-c', 'import django, psycopg2'], { stdio: 'ignore' }) !== undefined;

const migration = (n: number, sql: string): string => `from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [${n > 1 ? `('widgets', '000${n - 1}')` : ''}]
    operations = [migrations.RunSQL(${JSON.stringify(sql)})]
`;

proveTool({
  title: 'MigrationTool.django()',
  name: 'django',
  tool: () => MigrationTool.django(),
  installable: true,
  unavailable: () => {
    try { return missing({ 'Django (python3-django, python3-psycopg2)': hasDjango() }); } catch { return missing({ 'Django (python3-django, python3-psycopg2)': false }); }
  },
  version: () => execFileSync(PYTHON, ['-c', 'import django; print(django.get_version())'], { encoding: 'utf-8' }).trim(),
  // python images name the interpreter `python`; Debian only has python3.
  pathDirs: () => [shimDir({ python: PYTHON })],
  env: (pg, db) => ({ DATABASE_URL: pg.url(db), DJANGO_SETTINGS_MODULE: 'tiny.settings' }),
  project: (dir, count) => writeFiles(dir, {
    'manage.py': [
      'import sys',
      'from django.core.management import execute_from_command_line',
      'execute_from_command_line(sys.argv)',
      '',
    ].join('\n'),
    'tiny/__init__.py': '',
    'tiny/settings.py': [
      'import os',
      'from urllib.parse import urlparse',
      "u = urlparse(os.environ['DATABASE_URL'])",
      "SECRET_KEY = 'not-a-secret'",
      "INSTALLED_APPS = ['widgets']",
      "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': u.path[1:],",
      "    'USER': u.username, 'PASSWORD': u.password, 'HOST': u.hostname, 'PORT': u.port}}",
      'USE_TZ = True',
      '',
    ].join('\n'),
    'widgets/__init__.py': '',
    'widgets/migrations/__init__.py': '',
    'widgets/migrations/0001_initial.py': migration(1, SQL.first),
    'widgets/migrations/0002_size.py': migration(2, SQL.second).replace("'0001'", "'0001_initial'"),
    ...(count === 3 ? { 'widgets/migrations/0003_broken.py': migration(3, SQL.broken).replace("'0002'", "'0002_size'") } : {}),
  }),
});
