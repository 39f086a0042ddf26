import { ApiObject, App, Chart, Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import { MigratedService, MigratedServiceProps, MigrationTool, Waiter } from '../src';
import { all, baseProps, Manifest, one, restrictedViolations, synth, validateSchemas } from './support/k8s';
import { gatedKind } from '../src/gate/gated-kind';
import { rootReason } from '../src/pod/security';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const WORKER_CONTAINER: kplus.ContainerProps = {
  name: 'worker',
  image: 'registry.example.com/myapp:v1.2.3',
  command: ['bin/worker'],
  portNumber: 9090, // a StatefulSet's headless Service needs a port
  // What the restricted standard asks of the user's own containers; gate() does not change them.
  securityContext: { user: 1000, capabilities: { drop: [kplus.Capability.ALL] } },
};

/** One way to create each gatable kind in a chart, with its pod spec location. */
const KINDS: { kind: string; make: (chart: Chart) => kplus.AbstractPod; podSpec: (m: Manifest) => any }[] = [
  { kind: 'Deployment', make: c => new kplus.Deployment(c, 'worker', { containers: [WORKER_CONTAINER] }), podSpec: m => m.spec.template.spec },
  { kind: 'StatefulSet', make: c => new kplus.StatefulSet(c, 'worker', { containers: [WORKER_CONTAINER] }), podSpec: m => m.spec.template.spec },
  { kind: 'DaemonSet', make: c => new kplus.DaemonSet(c, 'worker', { containers: [WORKER_CONTAINER] }), podSpec: m => m.spec.template.spec },
  { kind: 'Job', make: c => new kplus.Job(c, 'worker', { containers: [WORKER_CONTAINER] }), podSpec: m => m.spec.template.spec },
  {
    kind: 'CronJob',
    make: c => new kplus.CronJob(c, 'worker', { schedule: Cron.daily(), containers: [WORKER_CONTAINER] }),
    podSpec: m => m.spec.jobTemplate.spec.template.spec,
  },
];

const SCHEMAS: { [kind: string]: new (data: any) => { validate(): void } } = {
  StatefulSet: appsV1.StatefulSet,
  DaemonSet: appsV1.DaemonSet,
  CronJob: batchV1.CronJob,
  Deployment: appsV1.Deployment,
  Job: batchV1.Job,
};

function gated(kind: typeof KINDS[number], props: Partial<MigratedServiceProps> = {}) {
  let svc!: MigratedService;
  const m = synth(chart => {
    svc = new MigratedService(chart, 'myapp', baseProps(props));
    svc.gate(kind.make(chart));
  });
  const worker = m.find(o => o.kind === kind.kind && o.metadata.name !== 'myapp' && o.metadata.name !== svc.jobName)!;
  return { m, svc, worker, spec: kind.podSpec(worker) };
}


describe.each(KINDS)('gate($kind)', (kind) => {
  test('the workload gets the same waiter as the service: same image, same Job target, first init container', () => {
    // GIVEN a service and a worker of this kind, WHEN the worker is gated
    const { m, svc, spec } = gated(kind);
    // THEN its first init container is the service's waiter, verbatim
    const service = m.find(o => o.kind === 'Deployment' && o.metadata.name === 'myapp')!.spec.template.spec.initContainers[0];
    const waiter = spec.initContainers[0];
    expect(waiter.name).toBe('wait-for-migration');
    expect(waiter.image).toBe(service.image);
    expect(waiter.command).toEqual(service.command);
    expect(waiter.command).toContain(svc.jobName);
    expect(waiter.securityContext).toEqual(service.securityContext);
    expect(waiter.resources).toEqual(service.resources);
    // Its writable /tmp is a volume of its own, named so it cannot clash with the workload's "tmp".
    expect(waiter.volumeMounts).toContainEqual({ mountPath: '/tmp', name: 'migration-waiter-tmp' });
    expect(spec.volumes).toContainEqual({ name: 'migration-waiter-tmp', emptyDir: { sizeLimit: '256Mi' } });
  });

  test('the token is mounted into the waiter only; the pod keeps automount off and runs under the service account', () => {
    const { spec } = gated(kind);
    const volume = spec.volumes.find((v: any) => v.projected);
    expect(volume.projected.sources[0].serviceAccountToken).toBeDefined();
    const mounts = (c: any) => (c.volumeMounts ?? []).filter((vm: any) => vm.mountPath === SA_PATH);
    expect(mounts(spec.initContainers[0])).toEqual([{ name: volume.name, mountPath: SA_PATH, readOnly: true }]);
    expect(spec.containers.flatMap(mounts)).toEqual([]);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe('myapp');
  });

  test('RBAC still reaches the one Job and the one history ConfigMap only; the pod passes the restricted standard with pod-level seccomp', () => {
    const { m, svc, spec, worker } = gated(kind);
    expect(one(m, 'Role').rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: [svc.jobName], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['myapp-migration-history'], verbs: ['get'] },
    ]);
    expect(one(m, 'RoleBinding').subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'myapp', namespace: 'myapp' }]);
    expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(restrictedViolations(spec)).toEqual([]);
    expect(() => new SCHEMAS[kind.kind](worker).validate()).not.toThrow();
  });

  test('the verbatim tag is a pod annotation, so a new tag rolls the workload', () => {
    const { worker } = gated(kind, { imageTag: 'v9_RC' });
    const template = kind.kind === 'CronJob' ? worker.spec.jobTemplate.spec.template : worker.spec.template;
    expect(template.metadata.annotations['migrated-service.cdk8s.io/image-tag']).toBe('v9_RC');
  });
});

describe.each(KINDS)('gate($kind): how the status command finds it', (kind) => {
  test('the object itself carries the gated-by label with the service name; its pods do not (nothing rolls)', () => {
    // GIVEN a worker that sets its own app.kubernetes.io/name (so that label cannot find it)
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps({ name: 'shop' }));
      const worker = kind.make(chart);
      worker.metadata.addLabel('app.kubernetes.io/name', 'worker');
      svc.gate(worker);
    });
    const worker = m.find(o => o.kind === kind.kind && o.metadata.labels?.['app.kubernetes.io/name'] === 'worker')!;
    // THEN the label names the service, on the object only
    expect(worker.metadata.labels['migrated-service.cdk8s.io/gated-by']).toBe('shop');
    expect(JSON.stringify(kind.podSpec(worker))).not.toContain('gated-by');
    const template = kind.kind === 'CronJob' ? worker.spec.jobTemplate : worker.spec.template;
    expect(template.metadata.labels?.['migrated-service.cdk8s.io/gated-by']).toBeUndefined();
    // and nothing else of the release carries it: the service's Deployment is found by name
    expect(m.filter(o => o.metadata.labels?.['migrated-service.cdk8s.io/gated-by'])).toEqual([worker]);
  });
});

describe('gate() of several workloads', () => {
  test('GIVEN two gated workloads WHEN one\'s synthesized waiter is changed THEN the other\'s is not: they share no object', () => {
    const app = new App();
    const chart = new Chart(app, 'test');
    const svc = new MigratedService(chart, 'myapp', baseProps());
    const first = new kplus.Deployment(chart, 'one', { containers: [WORKER_CONTAINER] });
    const second = new kplus.Deployment(chart, 'two', { containers: [WORKER_CONTAINER] });
    svc.gate(first);
    svc.gate(second);
    const [a, b] = [first, second].map(d => ApiObject.of(d).toJson().spec.template.spec);
    expect(a.initContainers[0]).toEqual(b.initContainers[0]);
    a.initContainers[0].args = ['changed'];
    a.volumes[0].name = 'changed';
    const again = ApiObject.of(second).toJson().spec.template.spec;
    expect(b.initContainers[0].args).not.toEqual(['changed']);
    expect(again.initContainers[0].args).not.toEqual(['changed']);
    expect(again.volumes[0].name).not.toBe('changed');
  });
});

describe('gate() with Waiter.none()', () => {
  test('GIVEN no waiter WHEN a worker is gated THEN it gets the labels and defaults but nothing that waits: no init container, no waiter volume, no token', () => {
    const { spec, worker } = gated(KINDS[0], { waiter: Waiter.none() });
    expect(worker.metadata.labels['migrated-service.cdk8s.io/gated-by']).toBe('myapp');
    expect(spec.initContainers).toBeUndefined();
    // Only the writable /tmp its read-only container gets (cdk8s-plus' default root filesystem).
    expect(spec.volumes).toEqual([{ name: 'migration-waiter-tmp', emptyDir: { sizeLimit: '256Mi' } }]);
    expect(spec.serviceAccountName).toBeUndefined();
  });
});

describe('gate(): progress deadline of a gated Deployment', () => {
  const LONG = { migration: { command: ['migrate'], activeDeadline: Duration.minutes(30) } };
  function workerDeadline(props: Partial<MigratedServiceProps>, progressDeadline?: Duration): { service: number; worker: number } {
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps(props));
      svc.gate(new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER], progressDeadline }));
    });
    const deadlines = (mine: boolean) => m.find(o => o.kind === 'Deployment' && (o.metadata.name === 'myapp') === mine)!.spec.progressDeadlineSeconds;
    return { service: deadlines(true), worker: deadlines(false) };
  }
  test('GIVEN a long migration and a worker with cdk8s-plus\' default WHEN gated THEN the worker gets the service\'s derived deadline', () => {
    expect(workerDeadline(LONG)).toEqual({ service: 2100, worker: 2100 });
  });
  test('GIVEN the service\'s progressDeadline set WHEN a worker is gated THEN the worker gets that one', () => {
    expect(workerDeadline({ progressDeadline: Duration.minutes(20) })).toEqual({ service: 1200, worker: 1200 });
  });
  test('GIVEN the worker\'s own deadline (not 600 s) WHEN gated THEN it is kept', () => {
    expect(workerDeadline(LONG, Duration.seconds(601))).toEqual({ service: 2100, worker: 601 });
    expect(workerDeadline(LONG, Duration.minutes(5))).toEqual({ service: 2100, worker: 300 });
  });
  test('GIVEN a raw Deployment without progressDeadlineSeconds WHEN gated THEN it gets the service\'s', () => {
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps(LONG));
      svc.gate(new ApiObject(chart, 'raw', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'raw' },
        spec: { selector: { matchLabels: { app: 'raw' } }, template: { metadata: { labels: { app: 'raw' } }, spec: { securityContext: { runAsNonRoot: true, runAsUser: 1000 }, containers: [{ name: 'raw', image: 'raw:v1' }] } } },
      }));
    });
    expect(m.find(o => o.metadata.name === 'raw')!.spec.progressDeadlineSeconds).toBe(2100);
  });
  test.each(['StatefulSet', 'DaemonSet', 'Job', 'CronJob'])('GIVEN a gated %s THEN no progressDeadlineSeconds (the kind has none)', k => {
    const { worker } = gated(KINDS.find(x => x.kind === k)!, LONG);
    expect(JSON.stringify(worker)).not.toContain('progressDeadlineSeconds');
  });
});

describe('gate(): whose token', () => {
  test('a workload with its own ServiceAccount keeps it, and it becomes a subject of the waiter\'s RoleBinding', () => {
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps());
      const sa = new kplus.ServiceAccount(chart, 'worker-sa', { metadata: { name: 'worker' } });
      svc.gate(new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER], serviceAccount: sa }));
    });
    const worker = m.find(o => o.kind === 'Deployment' && o.metadata.name !== 'myapp')!;
    expect(worker.spec.template.spec.serviceAccountName).toBe('worker');
    expect(one(m, 'RoleBinding').subjects).toEqual([
      { apiGroup: '', kind: 'ServiceAccount', name: 'myapp', namespace: 'myapp' },
      { apiGroup: '', kind: 'ServiceAccount', name: 'worker', namespace: 'myapp' },
    ]);
  });

  test('with Waiter.kubectl() the gated pod gets the same get/list/watch on the one Job, and the same script', () => {
    let svc!: MigratedService;
    const m = synth(chart => {
      svc = new MigratedService(chart, 'myapp', baseProps({ waiter: Waiter.kubectl() }));
      svc.gate(new kplus.StatefulSet(chart, 'worker', { containers: [WORKER_CONTAINER] }));
    });
    const waiter = one(m, 'StatefulSet').spec.template.spec.initContainers[0];
    expect(waiter.command).toEqual(one(m, 'Deployment').spec.template.spec.initContainers[0].command);
    expect(waiter.command).toContain(svc.jobName);
    expect(one(m, 'Role').rules[0].verbs).toEqual(['get', 'list', 'watch']);
  });

  test('with Waiter.schemaCheck() the gated pod runs the check with the service\'s environment, and gets no token', () => {
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps({
        waiter: Waiter.schemaCheck(), envVariables: { DATABASE_URL: kplus.EnvValue.fromValue('postgres://db') },
      }));
      svc.gate(new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER] }));
    });
    const spec = m.find(o => o.kind === 'Deployment' && o.metadata.name !== 'myapp')!.spec.template.spec;
    expect(spec.initContainers[0].name).toBe('check-migration');
    expect(spec.initContainers[0].command).toEqual(['npx', 'prisma', 'migrate', 'status']);
    expect(spec.initContainers[0].env).toContainEqual({ name: 'DATABASE_URL', value: 'postgres://db' });
    expect(spec.volumes.some((v: any) => v.projected)).toBe(false);
    expect(spec.serviceAccountName).toBeUndefined();
    expect(all(m, 'Role')).toEqual([]);
  });

  test('with Waiter.none() nothing is added but the hardening', () => {
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps({ waiter: Waiter.none() }));
      svc.gate(new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER] }));
    });
    const spec = m.find(o => o.kind === 'Deployment' && o.metadata.name !== 'myapp')!.spec.template.spec;
    expect(spec.initContainers ?? []).toEqual([]);
    expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  });

  test('the waiter goes before the workload\'s own init containers, which may already need the new schema', () => {
    const m = synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps());
      const worker = new kplus.Deployment(chart, 'worker', {
        containers: [WORKER_CONTAINER],
        initContainers: [{ name: 'warm-cache', image: 'registry.example.com/myapp:v1.2.3', securityContext: { user: 1000 } }],
      });
      svc.gate(worker);
    });
    const spec = m.find(o => o.kind === 'Deployment' && o.metadata.name !== 'myapp')!.spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['wait-for-migration', 'warm-cache']);
    const tokenMounts = spec.initContainers.map((c: any) => (c.volumeMounts ?? []).some((v: any) => v.mountPath === SA_PATH));
    expect(tokenMounts).toEqual([true, false]);
  });

  test('two workloads gated by one service share the Role and the Job target', () => {
    let svc!: MigratedService;
    const m = synth(chart => {
      svc = new MigratedService(chart, 'myapp', baseProps());
      svc.gate(new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER] }));
      svc.gate(new kplus.CronJob(chart, 'nightly', { schedule: Cron.daily(), containers: [WORKER_CONTAINER] }));
    });
    expect(all(m, 'Role')).toHaveLength(1);
    expect(one(m, 'CronJob').spec.jobTemplate.spec.template.spec.initContainers[0].command).toContain(svc.jobName);
    validateSchemas(m.filter(o => o.kind !== 'CronJob'));
  });
});

describe('gate(): bad input fails with a MigratedServiceError', () => {
  const service = (chart: Chart) => new MigratedService(chart, 'myapp', baseProps());

  test('a workload in another namespace', () => {
    const app = new App();
    const svc = service(new Chart(app, 'a', { namespace: 'myapp' }));
    const other = new kplus.Deployment(new Chart(app, 'b', { namespace: 'other' }), 'worker', { containers: [WORKER_CONTAINER] });
    expect(() => svc.gate(other)).toThrow(/^Invalid workload of gate\(\) of MigratedService "a\/myapp" "b\/worker": it is in namespace "other", the service in "myapp".*create the workload in the same chart or namespace$/);
  });

  test('a workload gated twice, by this service or another, or the service\'s own Deployment', () => {
    synth(chart => {
      const a = service(chart);
      const b = new MigratedService(chart, 'other', baseProps({ name: 'other' }));
      const worker = new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER] });
      a.gate(worker);
      expect(() => a.gate(worker)).toThrow(/Invalid workload of gate\(\).*"test\/worker": this MigratedService gates it already/);
      expect(() => b.gate(worker)).toThrow(/"test\/worker": it is gated already by MigratedService "test\/myapp".*gate it from the service whose database it uses$/);
      expect(() => a.gate(a.deployment)).toThrow(/this MigratedService gates it already/);
      expect(() => b.gate(a.deployment)).toThrow(/gated already by MigratedService "test\/myapp"/);
    });
  });

  test.each([
    ['runAsUser 0 on the container', { containers: [{ ...WORKER_CONTAINER, securityContext: { user: 0 } }] }, /container "worker" has runAsUser: 0/],
    ['runAsNonRoot false', { containers: [{ ...WORKER_CONTAINER, securityContext: { ensureNonRoot: false } }] }, /container "worker" has runAsNonRoot: false/],
    ['privileged', { containers: [{ ...WORKER_CONTAINER, securityContext: { privileged: true, user: 1000 } }] }, /container "worker" is privileged/],
    ['runAsUser 0 on the pod', { containers: [WORKER_CONTAINER], securityContext: { user: 0 } }, /the pod securityContext has runAsUser: 0/],
    ['a root init container', { initContainers: [{ ...WORKER_CONTAINER, name: 'setup', securityContext: { user: 0 } }], containers: [WORKER_CONTAINER] }, /container "setup" has runAsUser: 0/],
  ])('a workload whose pods may run as root: %s', (_what, props, message) => {
    synth(chart => {
      const svc = service(chart);
      const worker = new kplus.Deployment(chart, 'worker', props as kplus.DeploymentProps);
      expect(() => svc.gate(worker)).toThrow(message);
      expect(() => svc.gate(worker)).toThrow(/^Invalid workload of gate\(\) .*restricted.*non-root UID \(cdk8s-plus: securityContext: \{ ensureNonRoot: true, user: 1000 \}; otherwise runAsNonRoot: true and runAsUser: 1000 in the pod's or each container's securityContext\), never privileged$/);
    });
  });

  test('a workload with no containers yet can be gated; its containers are checked at synth', () => {
    const app = new App();
    const chart = new Chart(app, 'test', { namespace: 'myapp' });
    const svc = service(chart);
    const worker = new kplus.Deployment(chart, 'worker');
    expect(() => svc.gate(worker)).not.toThrow();
    worker.addContainer(WORKER_CONTAINER);
    const spec = chart.toJson().find((o: any) => o.kind === 'Deployment' && o.metadata.name !== 'myapp').spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['wait-for-migration']);
  });

  test('a root container added after gate() fails at synth', () => {
    const app = new App();
    const chart = new Chart(app, 'test', { namespace: 'myapp' });
    const svc = service(chart);
    const worker = new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER] });
    svc.gate(worker);
    worker.addContainer({ name: 'sidecar', image: 'registry.example.com/sidecar:v1', securityContext: { ensureNonRoot: false } });
    expect(() => app.synth()).toThrow(/Invalid workload of gate\(\) of MigratedService "test\/myapp" "test\/worker": container "sidecar" has runAsNonRoot: false/);
  });

  test('an unsupported kind: a bare Pod', () => {
    synth(chart => {
      const svc = service(chart);
      const pod = new kplus.Pod(chart, 'pod', { containers: [WORKER_CONTAINER] });
      expect(() => svc.gate(pod)).toThrow(/^Invalid workload of gate\(\) of MigratedService "test\/myapp" "test\/pod": it synthesizes v1 Pod; only a Deployment, StatefulSet or DaemonSet \(apps\/v1\), or a Job or CronJob \(batch\/v1\) can be gated.*\(a bare Pod/);
      expect(() => svc.gate(undefined as any)).toThrow(/^Invalid workload of gate\(\) of MigratedService "test\/myapp" "undefined": it synthesizes no Kubernetes object.*only a Deployment, StatefulSet or DaemonSet \(apps\/v1\), or a Job or CronJob \(batch\/v1\) can be gated/);
      expect(() => svc.gate(null as any)).toThrow(/^Invalid workload of gate\(\) of MigratedService "test\/myapp" "null": it synthesizes no Kubernetes object/);
      // A plain object from a JavaScript caller: the same error, not a TypeError.
      expect(() => svc.gate({} as any)).toThrow(/^Invalid workload of gate\(\) of MigratedService "test\/myapp" "\[object Object\]": it synthesizes no Kubernetes object/);
    });
  });

  test('no ServiceAccount of its own but automountServiceAccountToken: true', () => {
    synth(chart => {
      const svc = service(chart);
      const worker = new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER], automountServiceAccountToken: true });
      expect(() => svc.gate(worker)).toThrow(/^Invalid workload of gate\(\) of MigratedService "test\/myapp" "test\/worker": it has automountServiceAccountToken: true but no ServiceAccount of its own.*give it its own serviceAccount.* or turn the token off$/);
    });
  });

  test('a failed gate() leaves the workload untouched', () => {
    const m = synth(chart => {
      const svc = service(chart);
      const worker = new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER], automountServiceAccountToken: true });
      expect(() => svc.gate(worker)).toThrow();
    });
    const worker = m.find(o => o.kind === 'Deployment' && o.metadata.name !== 'myapp')!;
    expect(worker.spec.template.spec.initContainers ?? []).toEqual([]);
    expect(worker.spec.template.spec.securityContext.seccompProfile).toBeUndefined();
    expect(worker.spec.template.metadata.annotations?.['migrated-service.cdk8s.io/image-tag']).toBeUndefined();
  });

  test('a failed gate() leaves the workload free to be gated by another service', () => {
    synth(chart => {
      const a = service(chart);
      const b = new MigratedService(chart, 'other', baseProps({ name: 'other', waiter: Waiter.schemaCheck() }));
      const worker = new kplus.Deployment(chart, 'worker', { containers: [WORKER_CONTAINER], automountServiceAccountToken: true });
      expect(() => a.gate(worker)).toThrow(/automountServiceAccountToken/);
      expect(() => b.gate(worker)).not.toThrow();
    });
  });
});

test('gating works with a long migration deadline and a tool preset (smoke of the public API)', () => {
  const m = synth(chart => {
    const svc = new MigratedService(chart, 'myapp', baseProps({ migration: { tool: MigrationTool.django(), activeDeadline: Duration.minutes(5) } }));
    svc.gate(new kplus.Job(chart, 'report', { containers: [WORKER_CONTAINER] }));
  });
  expect(m.filter(o => o.kind === 'Job')).toHaveLength(2);
});

// rootReason reads the rendered pod spec; cdk8s-plus always renders the fields it reads, so the
// fields it may lack (in a spec patched by hand or from another library) are pinned here directly.
describe('rootReason: why a rendered pod spec could run as root', () => {
  const nonRoot = { runAsNonRoot: true };
  test.each([
    ['containers only, each non-root by its own context', { containers: [{ name: 'a', securityContext: nonRoot }] }, undefined],
    ['init containers only, non-root by the pod', { securityContext: nonRoot, initContainers: [{ name: 'i' }] }, undefined],
    ['no containers at all', {}, undefined],
    ['a container that says true while the pod says false', { securityContext: { runAsNonRoot: false }, containers: [{ name: 'a', securityContext: nonRoot }] }, undefined],
    ['neither the container nor the pod says anything', { containers: [{ name: 'a' }] }, 'container "a" has runAsNonRoot: null'],
    ['the pod says false, the container nothing', { securityContext: { runAsNonRoot: false }, containers: [{ name: 'a' }] }, 'container "a" has runAsNonRoot: false'],
    ['the container says false, the pod true', { securityContext: nonRoot, containers: [{ name: 'a', securityContext: { runAsNonRoot: false } }] }, 'container "a" has runAsNonRoot: false'],
    ['the first offender is named: init containers before containers', {
      initContainers: [{ name: 'i', securityContext: { runAsUser: 0, runAsNonRoot: true } }],
      containers: [{ name: 'a', securityContext: { privileged: true, runAsNonRoot: true } }],
    }, 'container "i" has runAsUser: 0'],
    ['a privileged container, though non-root', { containers: [{ name: 'a', securityContext: { privileged: true, runAsNonRoot: true } }] }, 'container "a" is privileged'],
    ['UID 0 on the pod', { securityContext: { runAsUser: 0, runAsNonRoot: true }, containers: [] }, 'the pod securityContext has runAsUser: 0'],
  ])('%s', (_what, podSpec, expected) => {
    expect(rootReason(podSpec)).toBe(expected);
  });
});

describe('gatedKind: where each kind keeps its pod spec, and which roll out', () => {
  test.each(KINDS.map(k => [k.kind, k]))('%s', (kind, k) => {
    const chart = new Chart(new App(), 'test');
    const g = gatedKind(k.make(chart))!;
    expect(g.podSpecPath).toBe(kind === 'CronJob' ? '/spec/jobTemplate/spec/template/spec' : '/spec/template/spec');
    // kubectl's spelling in <kind>/<name>, only for kinds whose pods are replaced on a change.
    expect(g.rollout).toBe(['Job', 'CronJob'].includes(kind) ? undefined : kind.toLowerCase());
  });
});
