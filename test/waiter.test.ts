/**
 * What each Waiter adds to the synthesized output: the init container, and exactly the RBAC and
 * API token it needs. The kubectl waiter's script itself is run in test/waiter-script.test.ts.
 */
import { ApiObject, App, Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedService, MigratedServiceProps, MigrationTool, Waiter } from '../src';
import { all, baseProps, configAndSecret, initContainer, Manifest, one, RESTRICTED_CONTAINER, synth, synthService } from './support/k8s';
import { runWaiterCommand } from './support/waiter-command';
import { isMutableTag } from '../src/mutable-tag';
import { KUBECTL_IMAGE } from '../src/waiter';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Synthesize one service and keep the construct, for its `role`/`roleBinding`. */
function synthWith(overrides: Partial<MigratedServiceProps>): { m: Manifest[]; service: MigratedService } {
  let service: MigratedService | undefined;
  const m = synth(chart => { service = new MigratedService(chart, 'myapp', baseProps(overrides)); });
  return { m, service: service! };
}

const podSpec = (m: Manifest[]) => one(m, 'Deployment').spec.template.spec;
const jobName = (m: Manifest[]) => one(m, 'Job').metadata.name;
const migrateContainer = (m: Manifest[]) => one(m, 'Job').spec.template.spec.containers[0];
const mountPaths = (c: any): string[] => (c.volumeMounts ?? []).map((v: any) => v.mountPath);
const projectedVolumes = (m: Manifest[]) => (podSpec(m).volumes ?? []).filter((v: any) => v.projected);

/** The waiter gets a token, CA and namespace at the service-account path; the app gets none. */
function expectTokenOnlyForWaiter(m: Manifest[]): void {
  const spec = podSpec(m);
  expect(spec.automountServiceAccountToken).toBe(false);
  expect(spec.serviceAccountName).toBe(one(m, 'ServiceAccount').metadata.name);
  const [volume] = projectedVolumes(m);
  expect(projectedVolumes(m)).toHaveLength(1);
  expect(volume.name).toBe('waiter-api-access');
  expect(volume.projected.sources.map((s: any) => Object.keys(s)[0])).toEqual(['serviceAccountToken', 'configMap', 'downwardAPI']);
  expect(initContainer(m).volumeMounts).toContainEqual({ name: 'waiter-api-access', mountPath: SA_PATH, readOnly: true });
  for (const c of spec.containers) expect(mountPaths(c)).not.toContain(SA_PATH);
}

/** The rule of a waiter that reads the migration history (the default): get on its one ConfigMap. */
const HISTORY_RULE = { apiGroups: [''], resources: ['configmaps'], resourceNames: ['myapp-migration-history'], verbs: ['get'] };

/**
 * The Role's rules: `verbs` on jobs.batch, only the migration Job, and get on the history when the
 * waiter reads it; bound to the service account.
 */
function expectJobRole(m: Manifest[], verbs: string[], readsHistory: boolean): void {
  expect(one(m, 'Role').rules).toEqual([
    { apiGroups: ['batch'], resources: ['jobs'], resourceNames: [jobName(m)], verbs },
    ...readsHistory ? [HISTORY_RULE] : [],
  ]);
  const binding = one(m, 'RoleBinding');
  expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: one(m, 'Role').metadata.name });
  expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: one(m, 'ServiceAccount').metadata.name })]);
}

/** The construct's `role` and `roleBinding` are the emitted objects, granting `verbs` on the one Job (and get on the history). */
function expectConstructRbac(m: Manifest[], service: MigratedService, verbs: string[], readsHistory: boolean): void {
  expect(service.role!.name).toBe(one(m, 'Role').metadata.name);
  expect(ApiObject.of(service.role!).toJson().rules).toEqual([
    { apiGroups: ['batch'], resources: ['jobs'], resourceNames: [service.jobName], verbs },
    ...readsHistory ? [HISTORY_RULE] : [],
  ]);
  expect(service.roleBinding!.name).toBe(one(m, 'RoleBinding').metadata.name);
  // Compared by identity, not toBe/toEqual: a failing diff of two construct trees exhausts the heap.
  expect(service.roleBinding!.role === service.role).toBe(true);
  expect(service.roleBinding!.subjects.map(x => x === service.serviceAccount)).toEqual([true]);
}

function expectNoApiAccess(m: Manifest[], service: MigratedService): void {
  expect(all(m, 'Role')).toEqual([]);
  expect(all(m, 'RoleBinding')).toEqual([]);
  expect(service.role).toBeUndefined();
  expect(service.roleBinding).toBeUndefined();
  expect(projectedVolumes(m)).toEqual([]);
  expect(podSpec(m).automountServiceAccountToken).toBe(false);
  for (const c of [...(podSpec(m).initContainers ?? []), ...podSpec(m).containers]) expect(mountPaths(c)).not.toContain(SA_PATH);
}

describe('Waiter.k8sWaitFor()', () => {
  test('GIVEN Waiter.k8sWaitFor() WHEN synthesized THEN k8s-wait-for no-root-v2.0 waits in job-wr mode for the Job', () => {
    const m = synthService({ waiter: Waiter.k8sWaitFor() });

    const init = initContainer(m);
    expect(podSpec(m).initContainers).toHaveLength(1);
    expect(init.name).toBe('wait-for-migration');
    expect(init.image).toBe('groundnuty/k8s-wait-for:no-root-v2.0');
    expect(init.command).toBeUndefined();
    expect(init.args).toEqual(['job-wr', jobName(m)]);
  });

  test('GIVEN Waiter.k8sWaitFor() WHEN synthesized THEN it runs as UID 1100 with HOME=/tmp on a writable /tmp', () => {
    const m = synthService({ waiter: Waiter.k8sWaitFor() });

    const init = initContainer(m);
    expect(init.securityContext).toMatchObject({ runAsUser: 1100, runAsGroup: 1100, runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(init.env).toEqual([{ name: 'HOME', value: '/tmp' }]);
    const tmp = init.volumeMounts.find((v: any) => v.mountPath === '/tmp');
    expect(podSpec(m).volumes.find((v: any) => v.name === tmp.name).emptyDir).toBeDefined();
  });

  test('GIVEN Waiter.k8sWaitFor() WHEN synthesized THEN only the init container gets a token, and the Role allows get on the one Job', () => {
    const { m, service } = synthWith({ waiter: Waiter.k8sWaitFor() });

    expectTokenOnlyForWaiter(m);
    // k8s-wait-for cannot read the history: no ConfigMap rule.
    expectJobRole(m, ['get'], false);
    expectConstructRbac(m, service, ['get'], false);
  });

  test('GIVEN no waiter WHEN synthesized THEN it is not k8s-wait-for (no longer the default)', () => {
    expect(initContainer(synthService()).image).not.toContain('k8s-wait-for');
    expect(Waiter.k8sWaitFor().kind).toBe('k8s-wait-for');
  });

  test('GIVEN an image pinned by digest and a UID WHEN synthesized THEN both are used as given', () => {
    const image = `registry.example.com/mirror/k8s-wait-for@${DIGEST}`;
    const m = synthService({ waiter: Waiter.k8sWaitFor({ image, runAsUser: 2000 }) });

    expect(initContainer(m).image).toBe(image);
    expect(initContainer(m).securityContext).toMatchObject({ runAsUser: 2000, runAsGroup: 2000 });
  });

  test.each(['', ' ', 'groundnuty/k8s-wait-for :v2.0'])('GIVEN image %j WHEN the waiter is made THEN it is refused naming the prop', image => {
    // Checked when a service takes it, so the message names the service.
    expect(() => synthService({ waiter: Waiter.k8sWaitFor({ image }) }))
      .toThrow(`Invalid waiter (Waiter.k8sWaitFor) image of MigratedService "test/myapp" ${JSON.stringify(image)}`);
  });
});

describe('Waiter.kubectl() (the default)', () => {
  test('GIVEN no waiter WHEN synthesized THEN the output equals Waiter.kubectl()', () => {
    expect(synthService()).toEqual(synthService({ waiter: Waiter.kubectl() }));
    expect(Waiter.kubectl().kind).toBe('kubectl');
  });

  test('GIVEN the defaults WHEN synthesized THEN every kubectl container (waiter, migration lock, history record, post-rollout waiter) uses the pinned, versioned image', () => {
    expect(KUBECTL_IMAGE).toBe('docker.io/alpine/kubectl:1.34.1');
    const tag = KUBECTL_IMAGE.slice(KUBECTL_IMAGE.lastIndexOf(':') + 1);
    expect(tag).toMatch(/^\d+\.\d+\.\d+$/);
    expect(isMutableTag(tag)).toBe(false);
    const m = synthService({
      waiter: Waiter.kubectl(),
      postRollout: { command: ['true'] },
    } as Partial<MigratedServiceProps>);
    const images = m.flatMap((o: any) => {
      const spec = o.spec?.template?.spec;
      return spec ? [...(spec.initContainers ?? []), ...spec.containers].map((c: any) => `${c.name}=${c.image}`) : [];
    });
    const kubectlContainers = images.filter(i => i.endsWith(`=${KUBECTL_IMAGE}`)).map(i => i.split('=')[0]).sort();
    // The migration Job and the post-rollout Job each take the lock and record their step in the history.
    expect(kubectlContainers).toEqual(['migration-lock', 'migration-lock', 'record-migration', 'record-migration', 'wait-for-migration', 'wait-for-rollout']);
    expect(images.filter(i => i.includes('chainguard') || i.endsWith(':latest') || i.endsWith(':latest-dev'))).toEqual([]);
  });

  test('GIVEN the defaults WHEN synthesized THEN sh runs the wait script on the Job with a 600 s timeout', () => {
    const m = synthService({ waiter: Waiter.kubectl() });

    const init = initContainer(m);
    expect(init.name).toBe('wait-for-migration');
    expect(init.image).toBe('docker.io/alpine/kubectl:1.34.1');
    // sh -c SCRIPT $0 $1 $2: the script gets the Job name and the timeout as its arguments.
    expect(init.command).toEqual(['sh', '-c', expect.any(String), 'wait-for-migration', jobName(m), '600']);
    expect(init.args).toBeUndefined();
    expect(init.securityContext).toMatchObject({ runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(init.env).toEqual(expect.arrayContaining([{ name: 'HOME', value: '/tmp' }, { name: 'TMPDIR', value: '/tmp' }]));
    expect(mountPaths(init)).toContain('/tmp');
  });

  test('GIVEN the synthesized command WHEN run under sh and the API server refuses access THEN it exits 1 at once, naming the Job', () => {
    const m = synthService({ waiter: Waiter.kubectl() });
    const run = runWaiterCommand(initContainer(m).command);

    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toContain(jobName(m));
    // It asked the API server about that one Job, by the name the Role allows.
    expect(run.calls.length).toBeGreaterThan(0);
    for (const args of run.calls) expect(args.join(' ')).toContain(jobName(m));
  });

  test('GIVEN the kubectl waiter WHEN synthesized THEN the Role allows get, list and watch on only that Job, and get on only the history', () => {
    const { m, service } = synthWith({ waiter: Waiter.kubectl() });

    expectJobRole(m, ['get', 'list', 'watch'], true);
    expectTokenOnlyForWaiter(m);
    expectConstructRbac(m, service, ['get', 'list', 'watch'], true);
  });

  test('GIVEN a timeout, an image pinned by digest and a UID WHEN synthesized THEN they reach the container', () => {
    const image = `cgr.dev/chainguard/kubectl@${DIGEST}`;
    const m = synthService({ waiter: Waiter.kubectl({ timeout: Duration.minutes(3), image, runAsUser: 4242 }) });

    const init = initContainer(m);
    expect(init.command.slice(-2)).toEqual([jobName(m), '180']);
    expect(init.image).toBe(image);
    expect(init.securityContext).toMatchObject({ runAsUser: 4242, runAsGroup: 4242 });
  });

  test('GIVEN a zero timeout WHEN the waiter is made THEN it is refused naming the prop and value', () => {
    expect(() => synthService({ waiter: Waiter.kubectl({ timeout: Duration.seconds(0) }) }))
      .toThrow('Invalid waiter (Waiter.kubectl) timeout of MigratedService "test/myapp" "0s": it must be a whole number of seconds, at least 1');
  });

  test('GIVEN a timeout of 1.5 s WHEN the waiter is made THEN it is refused naming the prop and value', () => {
    expect(() => synthService({ waiter: Waiter.kubectl({ timeout: Duration.millis(1500) }) }))
      .toThrow('Invalid waiter (Waiter.kubectl) timeout of MigratedService "test/myapp" "1.5s"');
  });
});

describe('Waiter.schemaCheck()', () => {
  test('GIVEN flyway WHEN synthesized THEN the init container runs `flyway validate` in the migration image with the shared env', () => {
    const m = synth(chart => {
      const { config, secret } = configAndSecret(chart);
      new MigratedService(chart, 'myapp', baseProps({
        migration: { tool: MigrationTool.flyway(), image: 'registry.example.com/myapp-migration' },
        waiter: Waiter.schemaCheck(),
        envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)],
        envVariables: { LOG_FORMAT: kplus.EnvValue.fromValue('json') },
      }));
    });

    const init = initContainer(m);
    expect(init.name).toBe('check-migration');
    expect(init.image).toBe('registry.example.com/myapp-migration:v1.2.3');
    expect(init.image).toBe(migrateContainer(m).image);
    expect(init.command).toEqual(['flyway', 'validate']);
    expect(init.envFrom).toEqual([{ configMapRef: { name: 'myapp-config' } }, { secretRef: { name: 'myapp-db' } }]);
    expect(init.envFrom).toEqual(migrateContainer(m).envFrom);
    expect(init.env).toEqual([{ name: 'LOG_FORMAT', value: 'json' }]);
  });

  test('GIVEN a tool that needs a writable HOME and a migration UID WHEN synthesized THEN the check gets both, like the Job', () => {
    const m = synthService({ migration: { tool: MigrationTool.prisma(), runAsUser: 1000 }, waiter: Waiter.schemaCheck() });

    const init = initContainer(m);
    expect(init.command).toEqual(['npx', 'prisma', 'migrate', 'status']);
    expect(init.env).toEqual([{ name: 'HOME', value: '/tmp' }]);
    expect(init.env).toEqual(migrateContainer(m).env);
    expect(mountPaths(init)).toContain('/tmp');
    expect(init.securityContext.runAsUser).toBe(1000);
  });

  test('GIVEN the schema check WHEN synthesized THEN its container carries the restricted context itself, like the Job container', () => {
    const m = synthService({ migration: { tool: MigrationTool.flyway(), runAsUser: 1000, runAsGroup: 1000 }, waiter: Waiter.schemaCheck() });

    const expected = {
      ...RESTRICTED_CONTAINER,
      runAsUser: 1000,
      runAsGroup: 1000,
    };
    expect(initContainer(m).securityContext).toEqual(expected);
    expect(migrateContainer(m).securityContext).toEqual(expected);
    expect(initContainer(m).imagePullPolicy).toBe('IfNotPresent');
  });

  test('GIVEN the schema check WHEN synthesized THEN there is no Role, no RoleBinding and no token anywhere', () => {
    const { m, service } = synthWith({ migration: { tool: MigrationTool.flyway() }, waiter: Waiter.schemaCheck() });

    expect(podSpec(m).initContainers).toHaveLength(1);
    expectNoApiAccess(m, service);
  });

  test('GIVEN a custom tool with a check WHEN synthesized THEN its check command is run', () => {
    const tool = MigrationTool.custom({ name: 'my-migrator', command: ['migrate', 'up'], checkCommand: ['migrate', 'check'] });
    const m = synthService({ migration: { tool }, waiter: Waiter.schemaCheck() });

    expect(initContainer(m).command).toEqual(['migrate', 'check']);
  });

  test('GIVEN a tool without a check (liquibase) WHEN synthesized THEN it is refused, naming the tool and the alternatives', () => {
    const make = () => synthService({ migration: { tool: MigrationTool.liquibase() }, waiter: Waiter.schemaCheck() });

    expect(make).toThrow(/^Invalid waiter of MigratedService "test\/myapp" "Waiter\.schemaCheck\(\)": migration tool "liquibase" has no command that fails while migrations are pending/);
    expect(make).toThrow(/Waiter\.kubectl\(\)/);
  });

  test('GIVEN a tool without a check WHEN the service is made THEN it fails before any object of it exists', () => {
    const app = new App();
    const chart = new Chart(app, 'test', { namespace: 'myapp' });
    expect(() => new MigratedService(chart, 'myapp', baseProps({ migration: { tool: MigrationTool.liquibase() }, waiter: Waiter.schemaCheck() })))
      .toThrow(/Waiter\.schemaCheck\(\)/);
    // The construct node itself is added by the constructs library before the constructor body runs.
    expect(chart.node.findAll().filter(c => c !== chart && c.node.id !== 'myapp')).toEqual([]);
  });

  test('GIVEN no tool, only a command WHEN synthesized THEN it is refused, saying it needs migration.tool', () => {
    const make = () => synthService({ migration: { command: ['npm', 'run', 'migrate'] }, waiter: Waiter.schemaCheck() });

    expect(make).toThrow(/^Invalid waiter of MigratedService "test\/myapp" "Waiter\.schemaCheck\(\)": it needs migration\.tool/);
    expect(make).toThrow(/MigrationTool\.custom\(\{ \.\.\., checkCommand: \[\.\.\.\] \}\), or use Waiter\.kubectl\(\)$/);
  });
});

describe('Waiter.none()', () => {
  test('GIVEN no gate WHEN synthesized THEN there is no init container, no Role and no token', () => {
    const { m, service } = synthWith({ waiter: Waiter.none() });

    expect(podSpec(m).initContainers ?? []).toEqual([]);
    expectNoApiAccess(m, service);
    expect(Waiter.none().kind).toBe('none');
  });
});

describe('waiter UIDs', () => {
  test.each([
    ['k8sWaitFor', () => synthService({ waiter: Waiter.k8sWaitFor({ runAsUser: 0 }) }), /^Invalid waiter \(Waiter.k8sWaitFor\) runAsUser of MigratedService "test\/myapp" 0: UID\/GID 0 is root/],
    ['kubectl', () => synthService({ waiter: Waiter.kubectl({ runAsUser: -1 }) }), /^Invalid waiter \(Waiter.kubectl\) runAsUser of MigratedService "test\/myapp" -1: it must be a whole number/],
  ])('%s refuses a root or invalid UID', (_name, make, message) => {
    expect(make).toThrow(message);
  });

  test('a custom UID is used for user and group', () => {
    const sc = initContainer(synthService({ waiter: Waiter.kubectl({ runAsUser: 2000 }) })).securityContext;
    expect(sc).toMatchObject({ runAsUser: 2000, runAsGroup: 2000, runAsNonRoot: true });
  });
});

describe('waiter kinds', () => {
  test('GIVEN each waiter WHEN asked its kind THEN it names itself as the docs and error messages do', () => {
    expect([Waiter.k8sWaitFor(), Waiter.kubectl(), Waiter.schemaCheck(), Waiter.none()].map(w => w.kind))
      .toEqual(['k8s-wait-for', 'kubectl', 'schema-check', 'none']);
  });

  test('GIVEN images with whitespace WHEN the kubectl waiter is made THEN they are refused naming the prop', () => {
    for (const image of ['', '\t', 'cgr.dev/chainguard/kubectl latest']) {
      expect(() => synthService({ waiter: Waiter.kubectl({ image }) }))
        .toThrow(`Invalid waiter (Waiter.kubectl) image of MigratedService "test/myapp" ${JSON.stringify(image)}: give a full image reference`);
    }
  });
});

describe('waiter resources and limits', () => {
  const SMALL = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };

  test.each([
    ['kubectl', () => Waiter.kubectl()],
    ['k8sWaitFor', () => Waiter.k8sWaitFor()],
  ])('GIVEN Waiter.%s() WHEN synthesized THEN the init container has the small waiter resources, not the cdk8s-plus default of 1 CPU', (_name, waiter) => {
    expect(initContainer(synthService({ waiter: waiter() })).resources).toEqual(SMALL);
  });

  test('GIVEN Waiter.schemaCheck() THEN the check gets the migration container\'s resources: it runs the same tool', () => {
    // Measured in the tool tier: npx alone peaks near 100 MiB, so the waiter's 128Mi limit would OOM-kill a Prisma check.
    const defaults = synthService({ waiter: Waiter.schemaCheck() });
    expect(initContainer(defaults).resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1024Mi' } });
    const sized = synthService({
      waiter: Waiter.schemaCheck(),
      migration: { tool: MigrationTool.prisma(), resources: { memory: { request: Size.mebibytes(300), limit: Size.mebibytes(600) } } },
    });
    expect(initContainer(sized).resources).toEqual({ requests: { memory: '300Mi' }, limits: { memory: '600Mi' } });
    expect(initContainer(sized).resources).toEqual(one(sized, 'Job').spec.template.spec.containers[0].resources);
  });

  test('GIVEN a timeout of exactly 1 s WHEN the waiter is made THEN it is accepted and passed as "1"', () => {
    const m = synthService({ waiter: Waiter.kubectl({ timeout: Duration.seconds(1) }) });
    expect(initContainer(m).command.slice(-1)).toEqual(['1']);
  });
});
