/**
 * Item 2 of #18 with the real tool: a Knex migration killed mid-run leaves its lock row behind
 * (knex/knex#1217), the next plain run fails on it, and the next release's Job as the library
 * synthesizes it (the `clear-tool-lock` init container, under the migration lock, then the
 * migration) succeeds. Runs the synthesized containers on this machine as the tool tier does
 * (harness.ts), against a throwaway PostgreSQL.
 *
 * The stale lock needs a migration outside a transaction (`config.transaction = false`, as for
 * `CREATE INDEX CONCURRENTLY`): inside one, PostgreSQL rolls the lock back with the killed session.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Container, IN_CI, readOnlyCopy, removeCopy, runContainer, startContainer, synthContainers, writeFiles } from './harness';
import { linkNodeModules, nodeApp, npmMissing } from './npm-tools';
import { SQL } from './sql';
import { MigrationTool } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';

const DB = 'knexlock';
const missing = npmMissing(['knex', 'pg']);
const suite = missing && !IN_CI ? describe.skip : describe;

/** The second migration runs outside a transaction and sleeps while SLOW_SECONDS is set. */
const SLOW = `exports.config = { transaction: false };
exports.up = async knex => {
  if (process.env.SLOW_SECONDS) await knex.raw('SELECT pg_sleep(?)', [Number(process.env.SLOW_SECONDS)]);
  await knex.raw(${JSON.stringify(SQL.second)});
};
exports.down = () => Promise.resolve();
`;

const withEnv = (c: Container, name: string, value: string): Container => ({ ...c, env: [...c.env ?? [], { name, value }] });

suite(`MigrationTool.knex(): a run killed mid-migration${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let pg: Postgres;
  let project: string;

  beforeAll(async () => {
    if (missing) throw new Error(`${missing}; CI must run it`);
    pg = await startPostgres();
    pg.createDatabase(DB);
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-knex-lock-'));
    writeFiles(src, {
      ...nodeApp('knex-lock'),
      'knexfile.js': "module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } };\n",
      'migrations/20240101000001_widgets.js': `exports.up = knex => knex.raw(${JSON.stringify(SQL.first)});\nexports.down = () => Promise.resolve();\n`,
      'migrations/20240101000002_size.js': SLOW,
    });
    linkNodeModules(src);
    project = readOnlyCopy(src);
    fs.rmSync(src, { recursive: true, force: true });
  });

  afterAll(() => {
    pg?.stop();
    if (project) removeCopy(project);
  });

  test('leaves its lock behind; a plain rerun fails on it; the library\'s Job clears it and migrates', async () => {
    const containers = synthContainers(MigrationTool.knex(), { DATABASE_URL: pg.url(DB) });
    // GIVEN the synthesized Job: the tool's unlock command before the migration
    expect(containers.unlock?.command).toEqual(['npx', 'knex', 'migrate:unlock']);

    // WHEN a release's migration is killed while its second migration runs
    const running = startContainer(withEnv(containers.job, 'SLOW_SECONDS', '60'), project);
    const deadline = Date.now() + 60_000;
    try {
      for (;;) {
        // Knex creates its lock table on its first run.
        const table = pg.psql("SELECT to_regclass('knex_migrations_lock') IS NOT NULL", DB) === 't';
        const locked = table ? pg.psql('SELECT is_locked FROM knex_migrations_lock', DB) : '';
        const sleeping = pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'", DB);
        if (locked === '1' && sleeping === '1') break;
        if (Date.now() > deadline) throw new Error(`the migration never reached its sleep (locked ${locked}, sleeping ${sleeping})`);
        await new Promise(r => setTimeout(r, 200));
      }
    } catch (e) {
      await running.kill();
      throw e;
    }
    const killed = await running.kill();
    expect(killed.status).toBeNull();

    // THEN the lock row stays set after the killed session is gone (PostgreSQL ends a session whose
    // client died only when it next talks to it: end it now, as it would after the sleep)
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()", DB);
    expect(pg.psql('SELECT is_locked FROM knex_migrations_lock', DB)).toBe('1');

    // AND the next run without the unlock fails on it
    const plain = runContainer(containers.job, project);
    expect(plain.status).not.toBe(0);
    expect(plain.output).toMatch(/Migration table is already locked/);

    // AND the next release's Job, as synthesized (clear-tool-lock, then migrate), succeeds
    const unlock = runContainer(containers.unlock!, project);
    expect(unlock.status).toBe(0);
    const migrate = runContainer(containers.job, project);
    expect({ status: migrate.status, output: migrate.output }).toEqual({ status: 0, output: expect.any(String) });
    expect(pg.psql("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'widgets'", DB)).toBe('id,size');
    expect(pg.psql('SELECT is_locked FROM knex_migrations_lock', DB)).toBe('0');

    // AND clearing with no lock left is harmless (every release's Job runs it)
    expect(runContainer(containers.unlock!, project).status).toBe(0);
  }, 240_000);
});
