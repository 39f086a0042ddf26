/**
 * The migration's database session timeouts (issue #28): lock_timeout on by default, in PGOPTIONS
 * of the migrate container (and of the clear-tool-lock container, which shares its environment),
 * for every preset whose PostgreSQL client reads PGOPTIONS; refused where the client does not.
 * test/tools/lock-timeout.test.ts proves against real PostgreSQL and the real tools that the
 * synthesized variable takes effect.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedServiceProps, MigrationTool } from '../src';
import { all, Manifest, one, synthService, validateSchemas } from './support/k8s';

const byComponent = (m: Manifest[], component: string): any =>
  all(m, 'Job').find(j => j.metadata.labels['app.kubernetes.io/component'] === component);
const migrationJob = (m: Manifest[]) => byComponent(m, 'migration');
const postJob = (m: Manifest[]) => byComponent(m, 'post-rollout-migration');
const env = (container: any, name: string): any => (container.env ?? []).find((e: any) => e.name === name);
const migrate = (job: any): any => job.spec.template.spec.containers.find((c: any) => c.name === 'migrate');
const pgOptions = (job: any): string | undefined => env(migrate(job), 'PGOPTIONS')?.value;

/** Every preset whose PostgreSQL client reads PGOPTIONS (docs/migration-tools.md, "Lock timeouts"). */
const READERS: [string, () => MigrationTool][] = [
  ['alembic', () => MigrationTool.alembic()],
  ['atlas', () => MigrationTool.atlas()],
  ['golang-migrate', () => MigrationTool.golangMigrate()],
  ['goose', () => MigrationTool.goose()],
  ['dbmate', () => MigrationTool.dbmate()],
  ['django', () => MigrationTool.django()],
  ['rails', () => MigrationTool.rails()],
  ['knex', () => MigrationTool.knex()],
  ['typeorm', () => MigrationTool.typeorm()],
  ['sequelize', () => MigrationTool.sequelize()],
  ['sqitch', () => MigrationTool.sqitch()],
  ['custom', () => MigrationTool.custom({ name: 'mine', command: ['./migrate'] })],
];
const NON_READERS: [string, () => MigrationTool, RegExp][] = [
  ['prisma', () => MigrationTool.prisma(), /schema engine/],
  ['flyway', () => MigrationTool.flyway(), /pgjdbc.*initSql/],
  ['liquibase', () => MigrationTool.liquibase(), /pgjdbc/],
];

const service = (overrides: Partial<MigratedServiceProps>) => {
  const m = synthService(overrides);
  validateSchemas(m);
  return m;
};

describe('lockTimeout by default', () => {
  test.each(READERS)('GIVEN %s THEN both Jobs\' migrate containers get PGOPTIONS -c lock_timeout=3s and nothing else does', (_name, tool) => {
    const m = service({ migration: { tool: tool() }, postRollout: { tool: tool() } });
    expect(pgOptions(migrationJob(m))).toBe('-c lock_timeout=3s');
    expect(pgOptions(postJob(m))).toBe('-c lock_timeout=3s');
    // The service's pods and the waiters keep the service's environment.
    const deployment = one(m, 'Deployment').spec.template.spec;
    for (const c of [...deployment.containers, ...deployment.initContainers ?? []]) expect(env(c, 'PGOPTIONS')).toBeUndefined();
  });

  test('GIVEN a command and no tool THEN it gets PGOPTIONS too (it takes effect if its client reads it)', () => {
    expect(pgOptions(migrationJob(service({ migration: { command: ['./migrate'] } })))).toBe('-c lock_timeout=3s');
  });

  test.each(NON_READERS)('GIVEN %s (its client does not read PGOPTIONS) THEN no PGOPTIONS is set', (_name, tool) => {
    const m = service({ migration: { tool: tool() }, postRollout: { tool: tool() } });
    expect(env(migrate(migrationJob(m)), 'PGOPTIONS')).toBeUndefined();
    expect(env(migrate(postJob(m)), 'PGOPTIONS')).toBeUndefined();
  });

  test('GIVEN Knex THEN its clear-tool-lock container runs with the same session options as the migration', () => {
    const job = migrationJob(service({ migration: { tool: MigrationTool.knex() } }));
    const clear = job.spec.template.spec.initContainers.find((c: any) => c.name === 'clear-tool-lock');
    expect(env(clear, 'PGOPTIONS')).toEqual({ name: 'PGOPTIONS', value: '-c lock_timeout=3s' });
  });
});

describe('lockTimeout and statementTimeout set per service', () => {
  const knex = MigrationTool.knex();
  test.each([
    ['lockTimeout 5 s', '-c lock_timeout=5s', { lockTimeout: Duration.seconds(5) }],
    ['lockTimeout 1500 ms', '-c lock_timeout=1500ms', { lockTimeout: Duration.millis(1500) }],
    ['statementTimeout 10 min', '-c lock_timeout=3s -c statement_timeout=600s', { statementTimeout: Duration.minutes(10) }],
    ['lockTimeout off, statementTimeout 1 h', '-c statement_timeout=3600s', { lockTimeout: Duration.millis(0), statementTimeout: Duration.hours(1) }],
    ['both off', undefined, { lockTimeout: Duration.millis(0), statementTimeout: Duration.seconds(0) }],
  ])('GIVEN %s THEN PGOPTIONS is %s', (_what, expected, timeouts) => {
    expect(pgOptions(migrationJob(service({ migration: { tool: knex, ...timeouts } })))).toBe(expected);
  });

  test('GIVEN the migration\'s timeouts THEN the post-rollout run inherits them, and may set its own', () => {
    const migration = { tool: knex, lockTimeout: Duration.seconds(2), statementTimeout: Duration.minutes(1) };
    expect(pgOptions(postJob(service({ migration, postRollout: { tool: knex } })))).toBe('-c lock_timeout=2s -c statement_timeout=60s');
    expect(pgOptions(postJob(service({ migration, postRollout: { tool: knex, lockTimeout: Duration.millis(0) } }))))
      .toBe('-c statement_timeout=60s');
  });

  test('GIVEN the service sets PGOPTIONS in envVariables THEN the migrate container keeps it first, the timeouts after (the last -c wins), and the app keeps its own', () => {
    const m = service({
      migration: { tool: knex },
      envVariables: { PGOPTIONS: kplus.EnvValue.fromValue('-c search_path=app,public') },
    });
    expect(pgOptions(migrationJob(m))).toBe('-c search_path=app,public -c lock_timeout=3s');
    expect(env(one(m, 'Deployment').spec.template.spec.containers[0], 'PGOPTIONS').value).toBe('-c search_path=app,public');
    expect(migrate(migrationJob(m)).env.filter((e: any) => e.name === 'PGOPTIONS')).toHaveLength(1);
  });

  test('GIVEN the service\'s PGOPTIONS comes from a Secret THEN it is refused while a timeout is on, and kept when both are off', () => {
    const secret = (chartless: any) => kplus.EnvValue.fromSecretValue({ secret: chartless, key: 'options' });
    const fromSecret = { PGOPTIONS: secret({ name: 'db', resourceType: 'secrets' } as any) };
    expect(() => synthService({ migration: { tool: knex }, envVariables: fromSecret }))
      .toThrow(new Error('Invalid envVariables.PGOPTIONS of MigratedService "test/myapp" "(from a Secret or ConfigMap)": the migration ' +
        'container sets PGOPTIONS to "-c lock_timeout=3s" (migration.lockTimeout, migration.statementTimeout) and cannot add it to a ' +
        'value it cannot see; give a plain value, or turn both timeouts off with Duration.millis(0)'));
    const off = synthService({ migration: { tool: knex, lockTimeout: Duration.millis(0) }, envVariables: fromSecret });
    expect(env(migrate(migrationJob(off)), 'PGOPTIONS').valueFrom.secretKeyRef).toEqual({ name: 'db', key: 'options' });
  });
});

describe('refused where the tool cannot take it, or the value is wrong', () => {
  test.each(NON_READERS)('GIVEN %s with a lockTimeout or statementTimeout THEN synth refuses it, saying why and what to do', (name, tool, why) => {
    for (const prop of ['lockTimeout', 'statementTimeout']) {
      const run = { tool: tool(), [prop]: Duration.seconds(5) };
      expect(() => synthService({ migration: run })).toThrow(new RegExp(
        `^Invalid migration\\.${prop} of MigratedService "test/myapp" "5000ms": MigrationTool\\.${name}\\(\\) cannot take it: .*` +
        `Drop migration\\.${prop} \\(or pass Duration\\.millis\\(0\\)\\) and set the timeout where the tool reads it`));
      expect(() => synthService({ migration: run })).toThrow(why);
      expect(() => synthService({ migration: { command: ['./m'] }, postRollout: run })).toThrow(new RegExp(`^Invalid postRollout\\.${prop} `));
    }
    // Off is fine, and a timeout inherited from the migration is not applied (nor refused).
    expect(() => synthService({ migration: { tool: tool(), lockTimeout: Duration.millis(0) } })).not.toThrow();
    const m = synthService({ migration: { tool: MigrationTool.knex(), lockTimeout: Duration.seconds(5) }, postRollout: { tool: tool() } });
    expect(env(migrate(postJob(m)), 'PGOPTIONS')).toBeUndefined();
  });

  test.each([
    ['a fraction of a millisecond', Duration.millis(1.5), '"1.5ms": it must be a whole number of milliseconds from 0 (off) to 2147483647'],
    ['more than PostgreSQL takes', Duration.days(30), '"2592000000ms": it must be a whole number of milliseconds'],
    ['a number instead of a Duration', 3000 as any, '3000: pass a Duration, e.g. Duration.seconds(3), or Duration.millis(0) to turn it off'],
  ])('GIVEN lockTimeout as %s THEN it is refused', (_what, value, message) => {
    expect(() => synthService({ migration: { tool: MigrationTool.knex(), lockTimeout: value } }))
      .toThrow(`Invalid migration.lockTimeout of MigratedService "test/myapp" ${message}`);
    expect(() => synthService({ migration: { tool: MigrationTool.knex(), statementTimeout: value } }))
      .toThrow('Invalid migration.statementTimeout of MigratedService');
  });
});
