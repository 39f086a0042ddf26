/**
 * The migration history as synthesized: what each migration Job and the waiter get, the RBAC,
 * the options and their errors. The scripts' decisions are test/history-scripts.test.ts; the real
 * cluster is test/e2e/rollback.test.ts.
 */
import { Duration } from 'cdk8s';
import { Delivery, MigratedService, MigrationHistory, MigrationLock, MigrationTool, Waiter } from '../src';
import { HISTORY_CHECK_SCRIPT, MIGRATE_WRAPPER_SCRIPT, RECORD_SCRIPT } from '../src/history/history-scripts';
import { MIGRATION_LOCK_SCRIPT } from '../src/lock/migration-lock-script';
import { KUBECTL_IMAGE } from '../src/waiter';
import { all, baseProps, historyObjects, Manifest, podSpecs, restrictedViolations, synth, synthService, validateSchemas } from './support/k8s';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const LABEL = 'migrated-service.cdk8s.io/migration-history';

const byComponent = (m: Manifest[], component: string): any =>
  m.find(o => o.kind === 'Job' && o.metadata.labels['app.kubernetes.io/component'] === component);
const migrationJob = (m: Manifest[]) => byComponent(m, 'migration');
const container = (spec: any, name: string) => [...spec.initContainers ?? [], ...spec.containers].find((c: any) => c.name === name);
const env = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
const tokenMounts = (c: any) => (c.volumeMounts ?? []).filter((v: any) => v.mountPath === SA_PATH).length;
const historyRole = (m: Manifest[]) => historyObjects(m, 'Role')[0];

describe('MigrationHistory.configMap() (the default)', () => {
  test('GIVEN defaults THEN the migrate container runs the tool through the wrapper in /bin/sh, with the tool\'s argv unchanged', () => {
    const spec = migrationJob(synthService({ migration: { tool: MigrationTool.knex(), args: ['--debug'] } })).spec.template.spec;
    const migrate = container(spec, 'migrate');
    expect(migrate.command).toEqual(['/bin/sh', '-c', MIGRATE_WRAPPER_SCRIPT, 'migrate', 'npx', 'knex', 'migrate:latest']);
    expect(migrate.args).toEqual(['--debug']);
  });

  test('the lock container checks the history after it took the lock, in the same container (no second container start)', () => {
    const spec = migrationJob(synthService()).spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['migration-lock']);
    const lock = container(spec, 'migration-lock');
    expect(lock.command).toEqual(['sh', '-c', `# shellcheck disable=SC2030,SC2031\n(\n${MIGRATION_LOCK_SCRIPT}) || exit\n${HISTORY_CHECK_SCRIPT}`,
      'migration-lock', 'myapp', 'myapp-migration-lock', '0']);
    expect(env(lock)).toMatchObject({ MIGRATION_HISTORY: 'myapp-migration-history', MIGRATION_TAG: 'v1.2.3', MIGRATION_STEP: 'migrated' });
  });

  test('a record-migration container beside migrate writes the history; only it and the lock get a token', () => {
    const spec = migrationJob(synthService({ name: 'orders' })).spec.template.spec;
    expect(spec.containers.map((c: any) => c.name)).toEqual(['migrate', 'record-migration']);
    const record = container(spec, 'record-migration');
    expect(record.image).toBe(KUBECTL_IMAGE);
    expect(record.command).toEqual(['sh', '-c', RECORD_SCRIPT, 'record-migration']);
    expect(env(record)).toMatchObject({
      MIGRATION_HISTORY: 'orders-migration-history',
      MIGRATION_TAG: 'v1.2.3',
      MIGRATION_STEP: 'migrated',
      HISTORY_SELECTOR: `${LABEL}=orders,app.kubernetes.io/component=migration`,
      HISTORY_LIMIT: '100',
      JOB_HISTORY_LIMIT: '3',
      JOB_NAME: migrationJob(synthService({ name: 'orders' })).metadata.name,
      POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.initContainers.map(tokenMounts)).toEqual([1]);
    expect(spec.containers.map(tokenMounts)).toEqual([0, 1]);
    // All of them share the pod's writable /tmp, where the skip and exit files are.
    expect([...spec.initContainers, ...spec.containers].every((c: any) => c.volumeMounts.some((v: any) => v.mountPath === '/tmp'))).toBe(true);
  });

  test('a record that could not be written does not fail the Job: its exit 1 is ignored, a migrate failure still fails it', () => {
    const rules = migrationJob(synthService()).spec.podFailurePolicy.rules;
    expect(rules).toEqual([
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { containerName: 'migrate', operator: 'NotIn', values: [0] }, onPodConditions: [] },
      { action: 'Ignore', onExitCodes: { containerName: 'record-migration', operator: 'In', values: [1] }, onPodConditions: [] },
    ]);
  });

  test('the Jobs carry the history label; the post-rollout Job records the contract step', () => {
    const m = synthService({ name: 'orders', imageTag: 'v1', postRollout: { command: ['./contract'] } });
    const post = byComponent(m, 'post-rollout-migration');
    expect(migrationJob(m).metadata.labels[LABEL]).toBe('orders');
    expect(post.metadata.labels[LABEL]).toBe('orders');
    const spec = post.spec.template.spec;
    expect(env(container(spec, 'migration-lock')).MIGRATION_STEP).toBe('contracted');
    expect(env(container(spec, 'record-migration'))).toMatchObject({
      MIGRATION_STEP: 'contracted',
      MIGRATION_TAG: 'v1',
      HISTORY_SELECTOR: `${LABEL}=orders,app.kubernetes.io/component=post-rollout-migration`,
      JOB_NAME: 'orders-post-v1',
    });
  });

  test('RBAC: get and update on the one ConfigMap, create on ConfigMaps, list pods, get and patch each Job by name, list and delete Jobs for pruning; bound to the migration and post-rollout ServiceAccounts', () => {
    const m = synthService({ name: 'orders', imageTag: 'v1', postRollout: { command: ['./contract'] } });
    expect(historyRole(m).rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['orders-migration-history'], verbs: ['get', 'update'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'delete'] },
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: ['orders-migrate-v1'], verbs: ['get', 'patch'] },
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: ['orders-post-v1'], verbs: ['get', 'patch'] },
    ]);
    const binding = historyObjects(m, 'RoleBinding')[0];
    expect(binding.roleRef.name).toBe('orders-migration-history');
    expect(binding.subjects.map((s: any) => s.name)).toEqual(['orders-migration']);
    const own = m.find(o => o.kind === 'RoleBinding' && o.metadata.name === 'orders-post-rollout-history');
    expect([own?.roleRef.name, own?.subjects.map((s: any) => s.name)]).toEqual(['orders-migration-history', ['orders-post-rollout']]);
    // No ServiceAccount of its own: the migration runs as the lock's.
    expect(historyObjects(m, 'ServiceAccount')).toEqual([]);
  });

  test('hook targets keep one Job name that their delete policy replaces: no pruning, no delete permission', () => {
    for (const delivery of [Delivery.helm(), Delivery.argoCd()]) {
      const m = synthService({ delivery });
      expect(historyRole(m).rules.filter((r: any) => r.verbs.includes('delete'))).toEqual([]);
      expect(env(container(migrationJob(m).spec.template.spec, 'record-migration')).JOB_HISTORY_LIMIT).toBe('');
      // The history's RBAC exists before the hook runs.
      expect(historyRole(m).metadata.annotations).toMatchObject(delivery.kind === 'helm' ? { 'helm.sh/hook': expect.any(String) } : { 'argocd.argoproj.io/hook': expect.any(String) });
    }
  });

  test('keepAllJobs: no pruning, no delete permission; jobHistoryLimit is passed on', () => {
    const keep = synthService({ migrationHistory: MigrationHistory.configMap({ keepAllJobs: true }) });
    expect(historyRole(keep).rules.filter((r: any) => r.verbs.includes('delete'))).toEqual([]);
    expect(env(container(migrationJob(keep).spec.template.spec, 'record-migration')).JOB_HISTORY_LIMIT).toBe('');
    const five = synthService({ migrationHistory: MigrationHistory.configMap({ jobHistoryLimit: 5, limit: 20, shell: '/busybox/sh' }) });
    const spec = migrationJob(five).spec.template.spec;
    expect(env(container(spec, 'record-migration'))).toMatchObject({ JOB_HISTORY_LIMIT: '5', HISTORY_LIMIT: '20' });
    expect(container(spec, 'migrate').command[0]).toBe('/busybox/sh');
  });

  test('the kubectl waiter reads the history: get on the one ConfigMap, and the names in its environment', () => {
    const m = synthService({ name: 'orders', imageTag: 'v1' });
    const role = all(m, 'Role')[0];
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: ['orders-migrate-v1'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['orders-migration-history'], verbs: ['get'] },
    ]);
    const deployment = m.find(o => o.kind === 'Deployment')!;
    expect(env(container(deployment.spec.template.spec, 'wait-for-migration')))
      .toMatchObject({ MIGRATION_HISTORY: 'orders-migration-history', MIGRATION_TAG: 'v1', SERVICE_NAME: 'orders' });
  });

  test('k8s-wait-for cannot read the history: no ConfigMap rule for it', () => {
    const role = all(synthService({ waiter: Waiter.k8sWaitFor() }), 'Role')[0];
    expect(role.rules.map((r: any) => r.resources[0])).toEqual(['jobs']);
  });

  test('without the lock, a migration-history init container checks it, and the history makes the migration\'s ServiceAccount', () => {
    const m = synthService({ migrationLock: MigrationLock.none() });
    const spec = migrationJob(m).spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['migration-history']);
    expect(container(spec, 'migration-history').command).toEqual(['sh', '-c', HISTORY_CHECK_SCRIPT, 'migration-history']);
    expect(spec.initContainers.map(tokenMounts)).toEqual([1]);
    expect(spec.serviceAccountName).toBe('myapp-migration');
    expect(historyObjects(m, 'ServiceAccount').map(s => s.metadata.name)).toEqual(['myapp-migration']);
  });

  test('every pod stays restricted and every object valid', () => {
    for (const props of [{}, { migrationLock: MigrationLock.none() }, { postRollout: { command: ['./contract'] } }]) {
      const m = synthService(props);
      validateSchemas(m);
      for (const { owner, spec } of podSpecs(m)) expect({ owner, violations: restrictedViolations(spec) }).toEqual({ owner, violations: [] });
    }
  });
});

describe('MigrationHistory.none()', () => {
  test('the Job is as without a history: the tool is the command, one container, no history objects, no label', () => {
    const m = synthService({ migrationHistory: MigrationHistory.none(), migration: { tool: MigrationTool.knex() } });
    const job = migrationJob(m);
    expect(job.spec.template.spec.containers.map((c: any) => [c.name, c.command])).toEqual([['migrate', ['npx', 'knex', 'migrate:latest']]]);
    expect(container(job.spec.template.spec, 'migration-lock').command[2]).toBe(MIGRATION_LOCK_SCRIPT);
    expect(job.metadata.labels[LABEL]).toBeUndefined();
    expect(historyObjects(m, 'Role')).toEqual([]);
    expect(all(m, 'Role')[0].rules.map((r: any) => r.resources[0])).toEqual(['jobs']);
  });

  test('with no lock either, the Job has no ServiceAccount and no token', () => {
    const spec = migrationJob(synthService({ migrationHistory: MigrationHistory.none(), migrationLock: MigrationLock.none() })).spec.template.spec;
    expect(spec.serviceAccountName).toBeUndefined();
    expect(spec.volumes.map((v: any) => v.name)).toEqual(['tmp']);
  });
});

describe('bad input', () => {
  const attempt = (history: any) => () => synth(chart => new MigratedService(chart, 'myapp', baseProps({ migrationHistory: history })));
  test.each([
    [MigrationHistory.configMap({ limit: 5 }), /Invalid migrationHistory\.limit of MigratedService "test\/myapp" 5: it must be a whole number from 10 to 1000/],
    [MigrationHistory.configMap({ jobHistoryLimit: 0 }), /Invalid migrationHistory\.jobHistoryLimit of .* 0: it must be a whole number from 1 to 100/],
    [MigrationHistory.configMap({ jobHistoryLimit: 2.5 }), /Invalid migrationHistory\.jobHistoryLimit of .* 2\.5: it must be a whole number/],
    [MigrationHistory.configMap({ keepAllJobs: true, jobHistoryLimit: 2 }), /Invalid migrationHistory\.jobHistoryLimit of .* 2: keepAllJobs: true keeps every Job; set one of the two/],
    [MigrationHistory.configMap({ keepAllJobs: 'yes' as any }), /Invalid migrationHistory\.keepAllJobs of .* "yes": pass true or false/],
    [MigrationHistory.configMap({ shell: 'sh' }), /Invalid migrationHistory\.shell of .* "sh": give the absolute path of a POSIX shell in the migration image/],
    [{ kind: 'config-map' }, /Invalid migrationHistory of .*pass MigrationHistory\.configMap\(\) \(the default\) or MigrationHistory\.none\(\)/],
  ])('%p is refused at synth, naming the prop, the value and the fix', (history, message) => {
    expect(attempt(history)).toThrow(message);
  });

  test('the message names the service\'s construct path', () => {
    expect(attempt(MigrationHistory.configMap({ limit: 5 }))).toThrow(/MigratedService "test\/myapp"/);
  });
});

describe('a migration image with or without a shell', () => {
  test('GIVEN MigrationTool.atlas() (its documented image, arigaio/atlas:<v>-alpine, has sh) THEN the wrapper runs in /bin/sh; a shell-less image takes MigrationHistory.none()', () => {
    const withShell = migrationJob(synthService({ migration: { tool: MigrationTool.atlas() } }));
    expect(container(withShell.spec.template.spec, 'migrate').command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const none = migrationJob(synthService({ migration: { tool: MigrationTool.atlas() }, migrationHistory: MigrationHistory.none() }));
    expect(container(none.spec.template.spec, 'migrate').command[0]).toBe('atlas');
  });
});

describe('a TTL on the migration Job', () => {
  test('GIVEN the kubectl waiter and the history THEN ttlAfterFinished is allowed: pods of a tag whose Job is gone start from the history', () => {
    const job = migrationJob(synthService({ migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.hours(1) } }));
    expect(job.spec.ttlSecondsAfterFinished).toBe(3600);
  });
});
