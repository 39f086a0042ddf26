import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IN_CI, readOnlyCopy, removeCopy, runContainer, shimDir, synthContainers, writeFiles } from './harness';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-alembic, python3-sqlalchemy, python3-psycopg2
const ALEMBIC = '/usr/bin/alembic';
const probe = spawnSync(PYTHON, ['-c', 'import alembic, sqlalchemy, psycopg2; print(alembic.__version__)'], { encoding: 'utf-8' });
const version = probe.status === 0 ? probe.stdout.trim() : undefined;
const unavailable = version && fs.existsSync(ALEMBIC) ? undefined
  : 'not installed here: alembic, python3-sqlalchemy, python3-psycopg2 (run .ci/install-tools.sh)';
/** `alembic current --check-heads` exists from Alembic 1.17.1 on. */
const hasCheckHeads = version !== undefined
  && version.split('.').map(Number).reduce((acc, n, i) => acc + n * [1e6, 1e3, 1][i], 0) >= 1_017_001;

const revision = (n: number, sql: string): string => [
  `revision = '000${n}'`,
  `down_revision = ${n > 1 ? `'000${n - 1}'` : 'None'}`,
  'from alembic import op',
  '',
  '',
  'def upgrade():',
  `    op.execute(${JSON.stringify(sql)})`,
  '',
  '',
  'def downgrade():',
  '    pass',
  '',
].join('\n');

/** A tiny Alembic project whose env.py reads DATABASE_URL, as most do. */
function project(dir: string, count: 2 | 3): void {
  writeFiles(dir, {
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
    'migrations/versions/0001_widgets.py': revision(1, SQL.first),
    'migrations/versions/0002_size.py': revision(2, SQL.second),
    ...(count === 3 ? { 'migrations/versions/0003_broken.py': revision(3, SQL.broken) } : {}),
  });
}

const spec = {
  name: 'alembic',
  installable: true,
  unavailable: () => unavailable,
  version: () => version ?? 'none',
  pathDirs: () => [shimDir({ python: PYTHON })],
  env: (pg: Postgres, db: string) => ({ DATABASE_URL: pg.url(db) }),
  project,
};

// Works with every Alembic: the check is Alembic's recipe through env.py.
proveTool({ ...spec, title: 'MigrationTool.alembic({ checkHeadsFlag: false })', tool: () => MigrationTool.alembic({ checkHeadsFlag: false }) });

if (hasCheckHeads) {
  proveTool({ ...spec, name: 'alembic-check-heads', title: 'MigrationTool.alembic()', tool: () => MigrationTool.alembic() });
} else {
  (unavailable && !IN_CI ? describe.skip : describe)(`MigrationTool.alembic() with Alembic ${version ?? '(none)'} < 1.17.1`, () => {
    let pg: Postgres;
    let dir: string;
    beforeAll(async () => {
      pg = await startPostgres();
      pg.createDatabase('alembic');
      const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-alembic-'));
      project(src, 2);
      dir = readOnlyCopy(src);
      fs.rmSync(src, { recursive: true });
    });
    afterAll(() => { pg?.stop(); if (dir) removeCopy(dir); });

    it('the default check is refused by the tool itself, before and after apply: it needs Alembic >= 1.17.1', () => {
      const { job, check } = synthContainers(MigrationTool.alembic(), { DATABASE_URL: pg.url('alembic') });
      const before = runContainer(check!, dir);
      expect(before.status).toBe(2);
      expect(before.output).toContain('unrecognized arguments: --check-heads');
      expect(runContainer(job, dir).status).toBe(0);
      const after = runContainer(check!, dir);
      expect(after.status).toBe(2);
      expect(after.output).toContain('unrecognized arguments: --check-heads');
    });
  });
}
