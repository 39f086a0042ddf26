import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { MigrationTool } from '../../../src';
import { Postgres } from '../../support/postgres';
import { shimDir, writeFiles } from '../harness';
import { ToolSpec } from '../scenario';
import { MigrationSql, SQL, Statements, statements } from '../sql';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-alembic, python3-sqlalchemy, python3-psycopg2
const ALEMBIC = '/usr/bin/alembic';
const probe = spawnSync(PYTHON, ['-c', 'import alembic, sqlalchemy, psycopg2; print(alembic.__version__)'], { encoding: 'utf-8' });
export const alembicVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
export const alembicUnavailable = alembicVersion && fs.existsSync(ALEMBIC) ? undefined
  : 'not installed here: alembic, python3-sqlalchemy, python3-psycopg2 (run .ci/install-tools.sh)';

const revision = (n: number, sql: Statements): string => [
  `revision = '000${n}'`,
  `down_revision = ${n > 1 ? `'000${n - 1}'` : 'None'}`,
  'from alembic import op',
  '',
  '',
  'def upgrade():',
  ...statements(sql).map(s => `    op.execute(${JSON.stringify(s)})`),
  '',
  '',
  'def downgrade():',
  '    pass',
  '',
].join('\n');

/** The files of a tiny Alembic project whose env.py reads DATABASE_URL, as most do: one revision per entry, each after the previous. */
export function alembicFiles(revisions: Statements[]): { [file: string]: string } {
  const files: { [file: string]: string } = {
    'alembic.ini': '[alembic]\nscript_location = migrations\n',
    'migrations/env.py': [
      'import os',
      'from alembic import context',
      'from sqlalchemy import create_engine',
      '',
      "url = os.environ['DATABASE_URL'].replace('postgres://', 'postgresql://', 1)",
      'with create_engine(url).connect() as connection:',
      '    context.configure(connection=connection)',
      '    with context.begin_transaction():',
      '        context.run_migrations()',
      '',
    ].join('\n'),
  };
  revisions.forEach((sql, i) => { files[`migrations/versions/000${i + 1}.py`] = revision(i + 1, sql); });
  return files;
}

/** The tool tier's project: the first two migrations of `sql`, or all three (the third is broken). */
export function alembicProject(dir: string, count: 2 | 3, sql: MigrationSql = SQL): void {
  writeFiles(dir, alembicFiles(count === 3 ? [sql.first, sql.second, sql.broken] : [sql.first, sql.second]));
}

/** Works with every Alembic: the check is Alembic's recipe through env.py. */
export const alembic: ToolSpec = {
  title: 'MigrationTool.alembic({ checkHeadsFlag: false })',
  name: 'alembic',
  tool: () => MigrationTool.alembic({ checkHeadsFlag: false }),
  installable: true,
  unavailable: () => alembicUnavailable,
  version: () => alembicVersion ?? 'none',
  pathDirs: () => [shimDir({ python: PYTHON })],
  env: (pg: Postgres, db: string) => ({ DATABASE_URL: pg.url(db) }),
  project: alembicProject,
};
