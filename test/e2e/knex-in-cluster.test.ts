/**
 * #18 item 2 in the real cluster: a Knex migration killed mid-run (its Job's activeDeadline passes
 * while a migration outside a transaction runs) leaves Knex's lock row behind, and the next
 * release's migration Job, as synthesized (`migration-lock`, then `clear-tool-lock` running
 * `npx knex migrate:unlock`, then `npx knex migrate:latest`), clears it and migrates. The image
 * holds Node, npm (for npx), and knex and pg with their dependencies from the tools installed by
 * .ci/install-tools.sh; PostgreSQL runs on the node IP. The same steps on the host, with the lock
 * row read in between: test/tools/knex-stale-lock.test.ts.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, createNamespace, deleteNamespace, getJson, kubectl, synthYaml, waitFor,
} from './support';
import { describeIfKnex, HAVE_KNEX, knexImage, knexMigration, TOOL_RESOURCES } from './support/tool-images';
import { Delivery, MigratedService, MigrationTool } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';
import { SQL } from '../tools/sql';

const REPOSITORY = 'registry.example.com/tools-knex';

/** The second migration runs outside a transaction and sleeps while SLOW_SECONDS is set. */
const SLOW = `exports.config = { transaction: false };
exports.up = async knex => {
  if (process.env.SLOW_SECONDS) await knex.raw('SELECT pg_sleep(?)', [Number(process.env.SLOW_SECONDS)]);
  await knex.raw(${JSON.stringify(SQL.second)});
};
exports.down = () => Promise.resolve();
`;

function image(tag: string): void {
  knexImage(`${REPOSITORY}:${tag}`, {
    '20240101000001_widgets.js': knexMigration(SQL.first),
    '20240101000002_size.js': SLOW,
  });
}

const TITLE = 'MigrationTool.knex() killed mid-migration in the real cluster';
if (!HAVE_KNEX && process.env.CI === 'true') {
  test(TITLE, () => { throw new Error('knex and pg are missing: run .ci/install-tools.sh before the e2e tier'); });
}

describeIfKnex(TITLE, cluster => {
  let pg: Postgres;
  let ns = '';
  const db = 'tools_knex';

  const release = (tag: string, env: { [name: string]: string }, activeDeadline?: Duration): string => {
    let job = '';
    apply(synthYaml(ns, chart => {
      const envVariables: { [name: string]: kplus.EnvValue } = {};
      for (const [k, v] of Object.entries(env)) envVariables[k] = kplus.EnvValue.fromValue(v);
      job = new MigratedService(chart, 'widgets', {
        image: REPOSITORY,
        imageTag: tag,
        replicas: 0,
        runAsUser: 1000,
        resources: TOOL_RESOURCES,
        delivery: Delivery.kubectl(),
        envFrom: [kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, 'db', 'widgets-db'))],
        envVariables,
        migration: { tool: MigrationTool.knex(), resources: TOOL_RESOURCES, activeDeadline },
      }).jobName;
    }), ns);
    return job;
  };
  const condition = (job: string): string | undefined => (getJson(['job', job, '-n', ns])?.status?.conditions ?? [])
    .find((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True')?.type;
  const logs = (job: string, container: string): string => kubectl(['logs', `job/${job}`, '-n', ns, '-c', container], { allowFail: true }).stdout;

  beforeAll(async () => {
    pg = await startPostgres({ host: process.env.E2E_DB_HOST ?? cluster().nodeIp });
    pg.createDatabase(db);
    ns = createNamespace('tools-knex');
    kubectl(['create', 'secret', 'generic', 'widgets-db', '-n', ns, `--from-literal=DATABASE_URL=${pg.url(db)}`]);
    image('v1');
    image('v2');
  }, 600_000);
  afterAll(() => {
    if (ns) deleteNamespace(ns);
    pg?.stop();
  });

  test('v1 killed by its deadline mid-migration leaves the Knex lock; v2\'s Job clears it under the migration lock and migrates', async () => {
    // GIVEN v1, whose second migration (outside a transaction) outlives the Job's 40 s deadline
    const v1 = release('v1', { SLOW_SECONDS: '300' }, Duration.seconds(40));
    await waitFor('v1 killed by its deadline', () => condition(v1) === 'Failed' || undefined, { namespace: ns, timeoutMs: 180_000 });
    expect(getJson(['job', v1, '-n', ns]).status.conditions.find((c: any) => c.type === 'Failed').reason).toBe('DeadlineExceeded');
    // THEN Knex's lock row stays set, and the first migration only was recorded
    expect(pg.psql('SELECT is_locked FROM knex_migrations_lock', db)).toBe('1');
    expect(pg.psql('SELECT count(*) FROM knex_migrations', db)).toBe('1');
    // End the session the killed pod left sleeping, as the server would once it notices.
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()", db);

    // WHEN v2 is released
    const v2 = release('v2', {});
    await waitFor('v2 complete', () => condition(v2), { namespace: ns, timeoutMs: 240_000 });

    // THEN its Job took the migration lock, cleared Knex's lock and migrated
    expect({ v2: condition(v2), migrate: logs(v2, 'migrate') }).toEqual({ v2: 'Complete', migrate: expect.any(String) });
    expect(logs(v2, 'migration-lock')).toMatch(/migration lock of widgets taken by /);
    expect(logs(v2, 'clear-tool-lock')).toMatch(/unlock/i);
    expect(pg.psql("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'widgets'", db)).toBe('id,size');
    expect(pg.psql('SELECT is_locked FROM knex_migrations_lock', db)).toBe('0');
  }, 600_000);
});
