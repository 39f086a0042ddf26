/**
 * The migration lock as synthesized: what each migration Job gets, the RBAC, the options and their
 * errors. The script's decisions are test/migration-lock-script.test.ts; the real cluster is
 * test/e2e/lock.test.ts.
 */
import { App, Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Delivery, MigratedService, MigrationHistory, MigrationLock, MigrationTool } from '../src';
import { HISTORY_CHECK_SCRIPT } from '../src/history/history-scripts';
import { LOCK_RESOURCES } from '../src/lock/migration-lock';
import { MIGRATION_LOCK_SCRIPT } from '../src/lock/migration-lock-script';
import { KUBECTL_IMAGE, KUBECTL_UID } from '../src/waiter';
import { baseProps, lockObjects, Manifest, podSpecs, restrictedViolations, synth, synthService, validateSchemas } from './support/k8s';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const LABEL = 'migrated-service.cdk8s.io/migration-lock';

const jobs = (m: Manifest[]) => m.filter(o => o.kind === 'Job');
const migrationJob = (m: Manifest[]): any => jobs(m).find(j => j.metadata.labels['app.kubernetes.io/component'] === 'migration');
const postJob = (m: Manifest[]): any => jobs(m).find(j => j.metadata.labels['app.kubernetes.io/component'] === 'post-rollout-migration');
const lockContainer = (job: any) => job.spec.template.spec.initContainers.find((c: any) => c.name === 'migration-lock');
const tokenMounts = (c: any) => (c.volumeMounts ?? []).filter((v: any) => v.mountPath === SA_PATH).length;

describe('MigrationLock.lease() (the default)', () => {
  test('GIVEN defaults WHEN synthesized THEN the migration Job\'s first init container takes the service\'s Lease with the Job\'s own name and uid', () => {
    const m = synthService();
    const job = migrationJob(m);
    const spec = job.spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['migration-lock']);
    const lock = lockContainer(job);
    expect(lock.image).toBe(KUBECTL_IMAGE);
    expect(lock.imagePullPolicy).toBe('IfNotPresent');
    // The lock script runs first, in a subshell whose failure ends the container; then, under the
    // lock, the history's check (test/history.test.ts).
    expect(lock.command).toEqual(['sh', '-c', `# shellcheck disable=SC2030,SC2031\n(\n${MIGRATION_LOCK_SCRIPT}) || exit\n${HISTORY_CHECK_SCRIPT}`, 'migration-lock', 'myapp', 'myapp-migration-lock', '0']);
    expect(lock.env).toEqual(expect.arrayContaining([
      { name: 'JOB_NAME', valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } } },
      { name: 'JOB_UID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['controller-uid']" } } },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'HOME', value: '/tmp' },
    ]));
    expect(lock.securityContext).toMatchObject({ runAsUser: KUBECTL_UID, runAsGroup: KUBECTL_UID, readOnlyRootFilesystem: true });
    expect(lock.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } });
    expect(LOCK_RESOURCES.cpu?.limit).toBeUndefined();
  });

  test('the Job and its pods carry the lock label with the service name: the lock\'s one selector', () => {
    const job = migrationJob(synthService({ name: 'orders' }));
    expect(job.metadata.labels[LABEL]).toBe('orders');
    expect(job.spec.template.metadata.labels[LABEL]).toBe('orders');
  });

  test('only the lock container (and the history\'s record container) gets a token; the pod automounts none; it runs as the migration\'s own ServiceAccount', () => {
    const spec = migrationJob(synthService()).spec.template.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe('myapp-migration');
    expect(spec.initContainers.map(tokenMounts)).toEqual([1]);
    expect(spec.containers.map((c: any) => [c.name, tokenMounts(c)])).toEqual([['migrate', 0], ['record-migration', 1]]);
  });

  test('the activeDeadline reaches the lock, which gives up 10 s before it', () => {
    const m = synthService({ migration: { command: ['./migrate'], activeDeadline: Duration.minutes(15) } });
    expect(lockContainer(migrationJob(m)).command[6]).toBe('900');
  });

  test('RBAC: list leases, jobs and pods, watch pods, update the one Lease, create leases; bound to the migration\'s ServiceAccount only', () => {
    const m = synthService();
    const [sa] = lockObjects(m, 'ServiceAccount');
    expect(sa.metadata.name).toBe('myapp-migration');
    expect(sa.automountServiceAccountToken).toBe(false);
    const [role] = lockObjects(m, 'Role');
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['myapp-migration-lock'], verbs: ['update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'list'] },
    ]);
    const [binding] = lockObjects(m, 'RoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'myapp-migration', namespace: 'myapp' }]);
  });

  test('GIVEN a post-rollout migration THEN its Job waits for the rollout first, then takes the same lock; both init containers get a token, from one volume', () => {
    const m = synthService({ postRollout: { command: ['./contract'], activeDeadline: Duration.hours(1) } });
    const job = postJob(m);
    const spec = job.spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['wait-for-rollout', 'migration-lock']);
    expect(lockContainer(job).command.slice(4)).toEqual(['myapp', 'myapp-migration-lock', '3600']);
    expect(job.metadata.labels[LABEL]).toBe('myapp');
    expect(spec.initContainers.map(tokenMounts)).toEqual([1, 1]);
    expect(spec.volumes.filter((v: any) => v.projected)).toHaveLength(1);
    expect(lockObjects(m, 'RoleBinding')[0].subjects.map((s: any) => s.name)).toEqual(['myapp-migration']);
    expect(m.find(o => o.kind === 'RoleBinding' && o.metadata.name === 'myapp-post-rollout-lock')?.subjects.map((s: any) => s.name)).toEqual(['myapp-post-rollout']);
  });

  test('a derived name that would pass 63 characters is cut and hashed; the label keeps the service name', () => {
    const name = `s${'a'.repeat(62)}`;
    const m = synthService({ name });
    const lease = lockContainer(migrationJob(m)).command[5];
    expect(lease.length).toBeLessThanOrEqual(63);
    expect(lease).not.toBe(`${name}-migration-lock`);
    expect(lockObjects(m, 'Role')[0].rules[2].resourceNames).toEqual([lease]);
    expect(migrationJob(m).metadata.labels[LABEL]).toBe(name);
    validateSchemas(m);
  });

  test.each([
    ['flux', Delivery.flux()], ['kubectl', Delivery.kubectl()], ['helm', Delivery.helm()], ['argocd', Delivery.argoCd()],
  ])('GIVEN %s THEN every pod passes the restricted standard and every object its schema', (_name, delivery) => {
    const m = synthService({ delivery, postRollout: { command: ['./contract'] } });
    expect(podSpecs(m).map(p => [p.owner, restrictedViolations(p.spec)])).toEqual(podSpecs(m).map(p => [p.owner, []]));
    expect(podSpecs(m).filter(p => p.spec.initContainers?.some((c: any) => c.name === 'migration-lock'))).toHaveLength(2);
    validateSchemas(m);
  });

  test('GIVEN an image and a UID THEN the lock container uses them', () => {
    const m = synthService({ migrationLock: MigrationLock.lease({ image: 'mirror.example.com/kubectl@sha256:' + 'a'.repeat(64), runAsUser: 4242 }) });
    const lock = lockContainer(migrationJob(m));
    expect(lock.image).toBe('mirror.example.com/kubectl@sha256:' + 'a'.repeat(64));
    expect(lock.securityContext).toMatchObject({ runAsUser: 4242, runAsGroup: 4242 });
  });

  test('one Lease per service: two services in one namespace lock separately', () => {
    const m = synth(chart => {
      new MigratedService(chart, 'a', baseProps({ name: 'orders' }));
      new MigratedService(chart, 'b', baseProps({ name: 'orders-api' }));
    });
    expect(jobs(m).map(j => [j.metadata.labels[LABEL], lockContainer(j).command[5]])).toEqual([
      ['orders', 'orders-migration-lock'], ['orders-api', 'orders-api-migration-lock'],
    ]);
  });
});

describe('MigrationLock.none()', () => {
  test('no lock container, no label, no lock RBAC; the history checks in a container of its own', () => {
    let svc!: MigratedService;
    const m = synth(chart => { svc = new MigratedService(chart, 'myapp', baseProps({ migrationLock: MigrationLock.none(), postRollout: { command: ['./c'] } })); });
    expect(migrationJob(m).spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(['migration-history']);
    expect(postJob(m).spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(['wait-for-rollout', 'migration-history']);
    expect(jobs(m).map(j => j.metadata.labels[LABEL])).toEqual([undefined, undefined]);
    expect(['ServiceAccount', 'Role', 'RoleBinding'].flatMap(k => lockObjects(m, k))).toEqual([]);
    expect(svc.migrationLock).toBeUndefined();
  });

  test('with MigrationHistory.none() too: no init container and no ServiceAccount for the migration Job', () => {
    const m = synthService({ migrationLock: MigrationLock.none(), migrationHistory: MigrationHistory.none(), postRollout: { command: ['./c'] } });
    expect(migrationJob(m).spec.template.spec.initContainers ?? []).toEqual([]);
    expect(migrationJob(m).spec.template.spec.serviceAccountName).toBeUndefined();
    expect(postJob(m).spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(['wait-for-rollout']);
  });
});

describe('bad input fails at synth, naming the prop, the value and the fix', () => {
  test.each(['', 'kubectl image', ' '])('MigrationLock.lease image %p', (image) => {
    expect(() => synthService({ migrationLock: MigrationLock.lease({ image }) }))
      .toThrow(/^Invalid migrationLock \(MigrationLock\.lease\) image of MigratedService "test\/myapp" .*give a full image reference with kubectl and sh/);
  });

  test.each([0, -1, 1.5])('MigrationLock.lease runAsUser %p', (runAsUser) => {
    expect(() => synthService({ migrationLock: MigrationLock.lease({ runAsUser }) }))
      .toThrow(/^Invalid migrationLock \(MigrationLock\.lease\) runAsUser of MigratedService "test\/myapp"/);
  });

  test('a migrationLock that is not a MigrationLock', () => {
    const app = new App();
    expect(() => new MigratedService(new Chart(app, 'c'), 'myapp', baseProps({ migrationLock: 'lease' as any })))
      .toThrow(/^Invalid migrationLock of MigratedService "c\/myapp" "lease": pass MigrationLock\.lease\(\) \(the default\) or MigrationLock\.none\(\)/);
  });
});

describe('the construct exposes the lock\'s objects', () => {
  test('migrationLock holds the ServiceAccount, Role and RoleBinding it synthesized', () => {
    let svc!: MigratedService;
    synth(chart => { svc = new MigratedService(chart, 'myapp', baseProps()); });
    expect(svc.migrationLock?.serviceAccount.name).toBe('myapp-migration');
    expect(svc.migrationLock?.role.name).toBe('myapp-migration-lock');
    expect(svc.migrationLock?.roleBinding.name).toBe('myapp-migration-lock');
  });
});

describe('clearStaleToolLock', () => {
  const names = (job: any) => (job.spec.template.spec.initContainers ?? []).map((c: any) => c.name);

  test('GIVEN Knex (a tool whose lock survives a killed run) THEN by default the Job clears it after taking the migration lock, in the migration image with its environment, without a token', () => {
    const m = synthService({ migration: { tool: MigrationTool.knex() }, envVariables: { DATABASE_URL: kplus.EnvValue.fromValue('postgres://db') } });
    const job = migrationJob(m);
    expect(names(job)).toEqual(['migration-lock', 'clear-tool-lock']);
    const [, clear] = job.spec.template.spec.initContainers;
    const migrate = job.spec.template.spec.containers[0];
    expect(clear.command).toEqual(['npx', 'knex', 'migrate:unlock']);
    expect(clear.args).toBeUndefined();
    // The migration container but for name, command, the termination-message policy (only `migrate` says why the Job failed)
    // and the wrapper's retry settings (only `migrate` runs through the wrapper).
    const { terminationMessagePolicy, ...rest } = migrate;
    expect(terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const wrapperEnv = (e: any) => e.name.startsWith('LOCK_TIMEOUT_');
    expect(migrate.env.filter(wrapperEnv).map((e: any) => e.name)).toEqual(['LOCK_TIMEOUT_RETRIES', 'LOCK_TIMEOUT_BACKOFF']);
    expect({ ...clear, name: 'migrate', command: migrate.command }).toEqual({ ...rest, env: migrate.env.filter((e: any) => !wrapperEnv(e)) });
    expect(clear.env).toEqual(expect.arrayContaining([{ name: 'HOME', value: '/tmp' }, { name: 'DATABASE_URL', value: 'postgres://db' }]));
    expect(tokenMounts(clear)).toBe(0);
  });

  test('GIVEN Liquibase THEN it runs liquibase release-locks', () => {
    const job = migrationJob(synthService({ migration: { tool: MigrationTool.liquibase() } }));
    expect(job.spec.template.spec.initContainers[1].command).toEqual(['liquibase', 'release-locks']);
  });

  test.each([
    ['a tool without a lock left behind (Prisma)', { migration: { tool: MigrationTool.prisma() } }],
    ['clearStaleToolLock: false', { migration: { tool: MigrationTool.knex(), clearStaleToolLock: false } }],
    ['no migration lock', { migration: { tool: MigrationTool.knex() }, migrationLock: MigrationLock.none() }],
    ['a command and no tool', { migration: { command: ['./migrate'] } }],
  ])('GIVEN %s THEN nothing is cleared', (_what, props) => {
    expect(names(migrationJob(synthService(props as any)))).not.toContain('clear-tool-lock');
  });

  test('GIVEN a custom tool with an unlockCommand THEN it is run', () => {
    const tool = MigrationTool.custom({ name: 'mine', command: ['./migrate'], unlockCommand: ['./unlock', '--force'] });
    expect(migrationJob(synthService({ migration: { tool } })).spec.template.spec.initContainers[1].command).toEqual(['./unlock', '--force']);
  });

  test('GIVEN a post-rollout Knex migration THEN its Job clears the lock after the rollout wait and the migration lock', () => {
    const job = postJob(synthService({ postRollout: { tool: MigrationTool.knex() } }));
    expect(names(job)).toEqual(['wait-for-rollout', 'migration-lock', 'clear-tool-lock']);
  });

  test('GIVEN clearStaleToolLock: true with a tool that has an unlock command THEN it is run, on both Jobs', () => {
    const knex = { tool: MigrationTool.knex(), clearStaleToolLock: true };
    const m = synthService({ migration: knex, postRollout: knex });
    expect(names(migrationJob(m))).toContain('clear-tool-lock');
    expect(names(postJob(m))).toContain('clear-tool-lock');
  });

  test('GIVEN clearStaleToolLock without the migration lock THEN it is refused: clearing is safe only while nothing else migrates', () => {
    expect(() => synthService({ migrationLock: MigrationLock.none(), migration: { tool: MigrationTool.knex(), clearStaleToolLock: true } }))
      .toThrow(new Error('Invalid migration.clearStaleToolLock of MigratedService "test/myapp" true: clearing a tool\'s lock is safe ' +
        'only while no other migration of the service can run, which the migration lock guarantees; drop migrationLock: ' +
        'MigrationLock.none() or clearStaleToolLock'));
  });

  test('GIVEN clearStaleToolLock with a tool that has no unlock command THEN it is refused naming the tool', () => {
    expect(() => synthService({ postRollout: { tool: MigrationTool.prisma(), clearStaleToolLock: true } }))
      .toThrow(new Error('Invalid postRollout.clearStaleToolLock of MigratedService "test/myapp" true: migration tool "prisma" has no ' +
        'unlock command; use a tool that leaves a lock behind (MigrationTool.knex(), MigrationTool.liquibase()) or ' +
        'MigrationTool.custom({ ..., unlockCommand: [...] })'));
    expect(() => synthService({ postRollout: { command: ['./post'], clearStaleToolLock: true } }))
      .toThrow(/^Invalid postRollout\.clearStaleToolLock .* migration tool null has no unlock command/);
    expect(() => synthService({ migration: { command: ['./m'], clearStaleToolLock: 'yes' as any } }))
      .toThrow(/^Invalid migration\.clearStaleToolLock .*"yes": pass true or false/);
  });

  test('MigrationTool.custom refuses a malformed unlockCommand', () => {
    expect(() => MigrationTool.custom({ name: 'x', command: ['./m'], unlockCommand: ['unlock everything'] }))
      .toThrow(/^Invalid MigrationTool\.custom\(x\)\.unlockCommand/);
  });
});
