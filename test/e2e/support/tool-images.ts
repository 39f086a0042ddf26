/**
 * Images of real migration tools for the e2e tier, built from the tools .ci/install-tools.sh
 * installs on the host: Knex (Node, npm's npx, knex and pg with their dependencies) and Alembic
 * (Debian's python3.11 with alembic, SQLAlchemy and psycopg2) and Django (python3.11, Django 3.2,
 * psycopg2). Each holds a project whose
 * migrations the test names; the images have busybox `sh` (mkrootfs.sh), as the history needs.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Cluster, describeOnCluster } from './cluster';
import { buildImage } from './images';
import { djangoProject } from '../../tools/django-project';
import { NPM_MODULES } from '../../tools/harness';
import { alembicFiles } from '../../tools/presets/alembic';
import { MigrationSql } from '../../tools/sql';

/** Requests and limits of a container that runs a tool (Node or Python): more memory than a sleep. */
export const TOOL_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(20) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(384) },
};

const NPM = '/usr/lib/node_modules/npm';
const PYTHON = '/usr/bin/python3.11';
const PYTHON_PACKAGES = ['alembic', 'sqlalchemy', 'psycopg2', 'mako', 'markupsafe', 'greenlet']
  .map(p => `/usr/lib/python3/dist-packages/${p}`);

/** Whether the Knex image can be built here. */
export const HAVE_KNEX = ['knex', 'pg'].every(p => fs.existsSync(path.join(NPM_MODULES, p, 'package.json')))
  && fs.existsSync(NPM) && fs.existsSync(process.execPath);

/** Whether the Alembic image can be built here. */
export const HAVE_ALEMBIC = fs.existsSync(PYTHON) && PYTHON_PACKAGES.slice(0, 3).every(p => fs.existsSync(p))
  && spawnSync(PYTHON, ['-c', 'import alembic, sqlalchemy, psycopg2']).status === 0;

/** knex and pg and every package they need, from the flat node_modules npm installed. */
function closure(roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    const manifest = path.join(NPM_MODULES, name, 'package.json');
    if (!fs.existsSync(manifest)) return; // an optional dependency that was not installed
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf-8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  roots.forEach(visit);
  return [...seen];
}

/**
 * A Knex project at `/` (the working directory) with `migrations` (file name → its content, a
 * Knex migration module), reading DATABASE_URL. Returns the image name.
 */
export function knexImage(name: string, migrations: { [file: string]: string }): string {
  const modules = closure(['knex', 'pg']).map(p => `${path.join(NPM_MODULES, p)}:/node_modules/${p}`);
  const contents: { [dest: string]: string } = {
    // npx is npm's own script; the project sits at /, the working directory.
    '/usr/bin/npx': '#!/bin/sh\nexec /usr/bin/node /usr/lib/node_modules/npm/bin/npx-cli.js "$@"\n',
    '/node_modules/.bin/knex': '#!/bin/sh\nexec /usr/bin/node /node_modules/knex/bin/cli.js "$@"\n',
    '/package.json': JSON.stringify({ name: 'knex-app', private: true, version: '1.0.0' }) + '\n',
    '/knexfile.js': "module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } };\n",
  };
  for (const [file, text] of Object.entries(migrations)) contents[`/migrations/${file}`] = text;
  return buildImage({
    name,
    files: [`${process.execPath}:/usr/bin/node`, `${NPM}:/usr/lib/node_modules/npm`, ...modules],
    contents,
    cmd: ['sleep', '2147483647'],
  });
}

/** A Knex migration that runs `sql`. */
export function knexMigration(sql: string): string {
  return `exports.up = knex => knex.raw(${JSON.stringify(sql)});\nexports.down = () => Promise.resolve();\n`;
}

/**
 * An Alembic project at `/` whose env.py reads DATABASE_URL, with one revision per SQL statement
 * (`0001`, `0002`, … each after the previous). Returns the image name.
 */
export function alembicImage(name: string, statements: string[]): string {
  const contents: { [dest: string]: string } = { '/usr/bin/alembic': '#!/bin/sh\nexec python -m alembic "$@"\n' };
  for (const [file, text] of Object.entries(alembicFiles(statements))) contents[`/${file}`] = text;
  return buildImage({
    name,
    files: [`${PYTHON}:/usr/bin/python`, '/usr/lib/python3.11', ...PYTHON_PACKAGES.filter(p => fs.existsSync(p))],
    contents,
    cmd: ['sleep', '2147483647'],
  });
}

const DJANGO_PACKAGES = ['django', 'psycopg2', 'sqlparse', 'asgiref', 'pytz'].map(p => `/usr/lib/python3/dist-packages/${p}`);

/** Whether the Django image can be built here. */
export const HAVE_DJANGO = fs.existsSync(PYTHON) && DJANGO_PACKAGES.every(p => fs.existsSync(p))
  && spawnSync(PYTHON, ['-c', 'import django, psycopg2']).status === 0;

/** The tool tier's tiny Django project (test/tools/django-project.ts) at `/`, as `python`. Returns the image name. */
export function djangoImage(name: string, count: 2 | 3, sql?: MigrationSql): string {
  const contents: { [dest: string]: string } = {};
  for (const [file, text] of Object.entries(djangoProject(count, sql))) contents[`/${file}`] = text;
  return buildImage({
    name,
    // Debian's pytz reads the system's tz database.
    files: [`${PYTHON}:/usr/bin/python`, '/usr/lib/python3.11', ...DJANGO_PACKAGES, '/usr/share/zoneinfo'],
    contents,
    cmd: ['sleep', '2147483647'],
  });
}

/** `describeOnCluster` when the Knex image can be built, else a skipped describe (CI fails instead: see the callers). */
export const describeIfKnex = HAVE_KNEX ? describeOnCluster
  : (name: string, fn: (cluster: () => Cluster) => void) => describe.skip(name, () => fn(() => { throw new Error('skipped: no knex'); }));
