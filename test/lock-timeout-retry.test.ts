/**
 * Retrying a migration that PostgreSQL cancelled with the lock timeout (issue #28, item 2): on by
 * default only where the tool runs each migration in a transaction and the library sets its lock
 * timeout; refused where a retry is unsafe or cannot succeed; told to the migrate wrapper through
 * its environment. test/history-scripts.test.ts runs the wrapper's retries under real shells;
 * test/tools/lock-timeout.test.ts proves them with the real tools and a real PostgreSQL.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { MigratedServiceProps, MigrationHistory, MigrationTool } from '../src';
import { all, Manifest, synthService, validateSchemas } from './support/k8s';

const byComponent = (m: Manifest[], component: string): any =>
  all(m, 'Job').find(j => j.metadata.labels['app.kubernetes.io/component'] === component);
const containers = (job: any): any[] => [...job.spec.template.spec.initContainers ?? [], ...job.spec.template.spec.containers];
const retryEnv = (job: any, container = 'migrate'): { [name: string]: string } => Object.fromEntries(
  (containers(job).find(c => c.name === container)?.env ?? [])
    .filter((e: any) => e.name.startsWith('LOCK_TIMEOUT_'))
    .map((e: any) => [e.name, e.value]));
const service = (overrides: Partial<MigratedServiceProps>) => {
  const m = synthService(overrides);
  validateSchemas(m);
  return m;
};
const DEFAULT = { LOCK_TIMEOUT_RETRIES: '3', LOCK_TIMEOUT_BACKOFF: '5' };

/** The presets that run each migration in a transaction and read PGOPTIONS: they retry by default. */
const SAFE: [string, () => MigrationTool][] = [
  ['knex', () => MigrationTool.knex()],
  ['typeorm', () => MigrationTool.typeorm()],
  ['alembic', () => MigrationTool.alembic()],
  ['django', () => MigrationTool.django()],
  ['rails', () => MigrationTool.rails()],
  ['dbmate', () => MigrationTool.dbmate()],
  ['goose', () => MigrationTool.goose()],
  ['atlas', () => MigrationTool.atlas()],
];

describe('by default', () => {
  test.each(SAFE)('GIVEN %s THEN the migrate container of both Jobs is told to retry 3 times from 5 s, and no other container is', (_name, tool) => {
    const m = service({ migration: { tool: tool() }, postRollout: { tool: tool() } });
    for (const component of ['migration', 'post-rollout-migration']) {
      const job = byComponent(m, component);
      expect(retryEnv(job)).toEqual(DEFAULT);
      for (const other of containers(job).filter(c => c.name !== 'migrate')) expect(retryEnv(job, other.name)).toEqual({});
    }
  });

  test.each([
    ['sequelize (no transactions)', () => MigrationTool.sequelize()],
    ['golang-migrate (a dirty version)', () => MigrationTool.golangMigrate()],
    ['prisma (migrate resolve)', () => MigrationTool.prisma()],
    ['sqitch (transactional only if its scripts say so)', () => MigrationTool.sqitch()],
    ['flyway (the library sets no lock timeout)', () => MigrationTool.flyway()],
    ['liquibase (the library sets no lock timeout)', () => MigrationTool.liquibase()],
    ['a custom tool', () => MigrationTool.custom({ name: 'mine', command: ['./migrate'] })],
  ])('GIVEN %s THEN no retry', (_name, tool) => {
    expect(retryEnv(byComponent(service({ migration: { tool: tool() } }), 'migration'))).toEqual({});
  });

  test('GIVEN a command and no tool THEN no retry (nothing says it is transactional)', () => {
    expect(retryEnv(byComponent(service({ migration: { command: ['./migrate'] } }), 'migration'))).toEqual({});
  });

  test('GIVEN the lock timeout turned off THEN no retry (there is no timeout to retry)', () => {
    const m = service({ migration: { tool: MigrationTool.knex(), lockTimeout: Duration.millis(0) } });
    expect(retryEnv(byComponent(m, 'migration'))).toEqual({});
  });

  test('GIVEN MigrationHistory.none() THEN no retry (no wrapper runs the tool)', () => {
    const m = service({ migration: { tool: MigrationTool.knex() }, migrationHistory: MigrationHistory.none() });
    expect(retryEnv(byComponent(m, 'migration'))).toEqual({});
  });

  test('GIVEN a post-rollout command beside a retrying migration THEN the post-rollout run follows its own tool: no retry', () => {
    const m = service({ migration: { tool: MigrationTool.knex() }, postRollout: { command: ['./contract'] } });
    expect([retryEnv(byComponent(m, 'migration')), retryEnv(byComponent(m, 'post-rollout-migration'))]).toEqual([DEFAULT, {}]);
  });
});

describe('asked for', () => {
  test('GIVEN 5 retries from 2 s THEN the wrapper is told so', () => {
    const m = service({ migration: { tool: MigrationTool.alembic(), lockTimeoutRetries: 5, lockTimeoutRetryBackoff: Duration.seconds(2) } });
    expect(retryEnv(byComponent(m, 'migration'))).toEqual({ LOCK_TIMEOUT_RETRIES: '5', LOCK_TIMEOUT_BACKOFF: '2' });
  });

  test('GIVEN 0 THEN a retry-safe tool does not retry', () => {
    expect(retryEnv(byComponent(service({ migration: { tool: MigrationTool.knex(), lockTimeoutRetries: 0 } }), 'migration'))).toEqual({});
  });

  test('GIVEN retries for sqitch, a custom tool or a command THEN they are the user\'s call and taken', () => {
    for (const migration of [
      { tool: MigrationTool.sqitch(), lockTimeoutRetries: 2 },
      { tool: MigrationTool.custom({ name: 'mine', command: ['./migrate'] }), lockTimeoutRetries: 2 },
      { command: ['./migrate'], lockTimeoutRetries: 2 },
    ]) {
      expect(retryEnv(byComponent(service({ migration }), 'migration'))).toEqual({ LOCK_TIMEOUT_RETRIES: '2', LOCK_TIMEOUT_BACKOFF: '5' });
    }
  });

  test.each([
    ['sequelize', () => MigrationTool.sequelize(), /MigrationTool\.sequelize\(\) cannot retry safely: sequelize-cli runs migrations outside transactions/],
    ['golang-migrate', () => MigrationTool.golangMigrate(), /marks the version dirty/],
    ['prisma', () => MigrationTool.prisma(), /prisma migrate resolve/],
  ])('GIVEN retries for %s THEN refused at synth, naming the prop, the value and why', (_name, tool, why) => {
    expect(() => synthService({ migration: { tool: tool(), lockTimeoutRetries: 1 } }))
      .toThrow(new RegExp(`migration\\.lockTimeoutRetries.*\\b1\\b[\\s\\S]*${why.source}`));
  });

  test('GIVEN retries for a tool that cannot retry THEN the message points to the docs section that says why', () => {
    let message = '';
    try {
      synthService({ migration: { tool: MigrationTool.sequelize(), lockTimeoutRetries: 1 } });
    } catch (e: any) {
      message = e.message;
    }
    const [, doc, section] = /\((docs\/[a-z-]+\.md), "([^"]+)"\)/.exec(message) ?? [];
    expect(readFileSync(join(__dirname, '..', doc), 'utf-8').split('\n')).toContain(`### ${section}`);
  });

  test('GIVEN retries with MigrationHistory.none() THEN refused: the retry runs in the history\'s wrapper', () => {
    expect(() => synthService({ migration: { tool: MigrationTool.knex(), lockTimeoutRetries: 2 }, migrationHistory: MigrationHistory.none() }))
      .toThrow(/migration\.lockTimeoutRetries[\s\S]*the retry runs in the migrate wrapper[\s\S]*MigrationHistory\.none\(\)/);
  });

  test('GIVEN 0 retries where retries are refused (a tool that cannot retry, no history) THEN accepted: 0 asks for nothing', () => {
    for (const props of [
      { migration: { tool: MigrationTool.sequelize(), lockTimeoutRetries: 0 } },
      { migration: { tool: MigrationTool.knex(), lockTimeoutRetries: 0 }, migrationHistory: MigrationHistory.none() },
    ]) {
      expect(retryEnv(byComponent(service(props), 'migration'))).toEqual({});
    }
  });

  test('GIVEN the longest backoff, 300 s THEN accepted', () => {
    expect(retryEnv(byComponent(service({ migration: { tool: MigrationTool.knex(), lockTimeoutRetryBackoff: Duration.seconds(300) } }), 'migration')))
      .toEqual({ LOCK_TIMEOUT_RETRIES: '3', LOCK_TIMEOUT_BACKOFF: '300' });
  });

  test.each([
    [{ lockTimeoutRetries: -1 }, /migration\.lockTimeoutRetries.*-1.*whole number from 0 to 10/],
    [{ lockTimeoutRetries: 11 }, /migration\.lockTimeoutRetries.*11.*whole number from 0 to 10/],
    [{ lockTimeoutRetries: 1.5 }, /migration\.lockTimeoutRetries.*1\.5/],
    [{ lockTimeoutRetryBackoff: Duration.millis(1500) }, /migration\.lockTimeoutRetryBackoff.*1\.5s.*whole number of seconds/],
    [{ lockTimeoutRetryBackoff: Duration.minutes(6) }, /migration\.lockTimeoutRetryBackoff.*360s.*at most 300 seconds/],
  ])('GIVEN %o THEN refused at synth', (asked, message) => {
    expect(() => synthService({ migration: { tool: MigrationTool.knex(), ...asked } })).toThrow(message);
  });

  test('GIVEN a backoff where the run does not retry THEN refused: it would do nothing', () => {
    expect(() => synthService({ migration: { tool: MigrationTool.sequelize(), lockTimeoutRetryBackoff: Duration.seconds(2) } }))
      .toThrow(/migration\.lockTimeoutRetryBackoff.*2s.*lockTimeoutRetries is 0 by default for MigrationTool\.sequelize\(\)/);
    expect(() => synthService({ migration: { tool: MigrationTool.knex(), lockTimeoutRetries: 0, lockTimeoutRetryBackoff: Duration.seconds(2) } }))
      .toThrow(/migration\.lockTimeoutRetryBackoff.*lockTimeoutRetries is 0\)/);
    expect(() => synthService({ migration: { command: ['./migrate'], lockTimeoutRetryBackoff: Duration.seconds(2) } }))
      .toThrow(/migration\.lockTimeoutRetryBackoff.*2s.*lockTimeoutRetries is 0 by default for a command/);
  });

  test('GIVEN postRollout retries THEN the prop in the message is postRollout\'s', () => {
    expect(() => synthService({ migration: { tool: MigrationTool.knex() }, postRollout: { tool: MigrationTool.sequelize(), lockTimeoutRetries: 1 } }))
      .toThrow(/postRollout\.lockTimeoutRetries/);
  });
});
