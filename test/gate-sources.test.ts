import { ApiObject, Chart, Cron } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
// The generated classes `cdk8s import k8s` writes into an app (cdk8s-plus-28 ships the same ones).
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import * as kplus33 from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import { MigratedService } from '../src';
import { baseProps, Manifest, restrictedViolations, synth } from './support/k8s';

/** A container as a user writes it for the restricted standard in the API's own spelling. */
const RAW_CONTAINER = {
  name: 'worker',
  image: 'registry.example.com/myapp:v1.2.3',
  command: ['bin/worker'],
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  },
};
const POD_TEMPLATE = { metadata: { labels: { app: 'worker' } }, spec: { containers: [RAW_CONTAINER] } };

/** What the library gives its own containers when the user sets no resources (src/resources.ts). */
const LIBRARY_RESOURCES = { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } };

/** Each kind gated here: where it keeps its pod template, and its API schema. */
const KINDS = {
  Deployment: { template: (m: Manifest) => m.spec.template, schema: appsV1.Deployment },
  StatefulSet: { template: (m: Manifest) => m.spec.template, schema: appsV1.StatefulSet },
  CronJob: { template: (m: Manifest) => m.spec.jobTemplate.spec.template, schema: batchV1.CronJob },
};

interface Source {
  readonly name: string;
  readonly kind: keyof typeof KINDS;
  readonly make: (chart: Chart) => Construct;
}

/** The worker as a cdk8s-plus app writes it: no resources, no pull policy, no /tmp. */
const PLUS_CONTAINER = { name: 'worker', image: 'registry.example.com/myapp:v1.2.3', securityContext: { user: 1000 } };
/** Metadata and selector of a workload written with the imported Kube* classes or as an ApiObject. */
const RAW_METADATA = { name: 'worker' };
const RAW_SELECTOR = { matchLabels: { app: 'worker' } };

/** The sources of a workload: cdk8s-plus (the library's 28 and the 33 of `cdk8s init`), imported Kube* classes, a raw ApiObject. */
const SOURCES: Source[] = [
  ...([['cdk8s-plus-33', kplus33], ['cdk8s-plus-28', kplus]] as const).flatMap(([lib, plus]): Source[] => [
    { name: `${lib} Deployment`, kind: 'Deployment', make: c => new plus.Deployment(c, 'worker', { containers: [PLUS_CONTAINER] }) },
    { name: `${lib} CronJob`, kind: 'CronJob', make: c => new plus.CronJob(c, 'worker', { schedule: Cron.daily(), containers: [PLUS_CONTAINER] }) },
  ]),
  {
    name: 'KubeDeployment',
    kind: 'Deployment',
    make: c => new k8s.KubeDeployment(c, 'worker', {
      metadata: RAW_METADATA,
      spec: { selector: RAW_SELECTOR, template: POD_TEMPLATE as any },
    }),
  },
  {
    name: 'KubeStatefulSet',
    kind: 'StatefulSet',
    make: c => new k8s.KubeStatefulSet(c, 'worker', {
      metadata: RAW_METADATA,
      spec: { serviceName: 'worker', selector: RAW_SELECTOR, template: POD_TEMPLATE as any },
    }),
  },
  {
    name: 'KubeCronJob',
    kind: 'CronJob',
    make: c => new k8s.KubeCronJob(c, 'worker', {
      metadata: RAW_METADATA,
      spec: {
        schedule: '0 0 * * *',
        jobTemplate: { spec: { template: { ...POD_TEMPLATE, spec: { ...POD_TEMPLATE.spec, restartPolicy: 'Never' } } as any } },
      },
    }),
  },
  {
    name: 'raw ApiObject Deployment',
    kind: 'Deployment',
    make: c => new ApiObject(c, 'worker', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: RAW_METADATA,
      spec: { selector: RAW_SELECTOR, template: POD_TEMPLATE },
    } as any),
  },
];

/** Synthesize the service "myapp" with `make`'s workload gated by it. */
function synthGated(make: (chart: Chart) => Construct) {
  let svc!: MigratedService;
  const m = synth(chart => {
    svc = new MigratedService(chart, 'myapp', baseProps());
    svc.gate(make(chart));
  });
  return { m, svc };
}

/** The gated workload: the one object of its kind that the service did not make itself. */
function gatedWorkload(m: Manifest[], svc: MigratedService, kind: string): Manifest {
  const found = m.filter(o => o.kind === kind && o.metadata.name !== svc.name && o.metadata.name !== svc.jobName);
  expect(found).toHaveLength(1);
  return found[0];
}

function gated(source: Source) {
  const { m, svc } = synthGated(source.make);
  const worker = gatedWorkload(m, svc, source.kind);
  const template = KINDS[source.kind].template(worker);
  return { m, svc, worker, template, spec: template.spec };
}

describe.each(SOURCES)('gate() of a $name', (source) => {
  test('is held by the service\'s waiter, first, with the Job target and the projected token', () => {
    // GIVEN a service and a workload from this source, WHEN it is gated
    const { m, svc, spec } = gated(source);
    // THEN its first init container is the service's waiter, verbatim
    const service = m.find(o => o.kind === 'Deployment' && o.metadata.name === 'myapp')!.spec.template.spec;
    expect(spec.initContainers[0]).toEqual({
      ...service.initContainers[0],
      volumeMounts: expect.arrayContaining([{ mountPath: '/tmp', name: 'migration-waiter-tmp' }]),
    });
    expect(spec.initContainers[0].args ?? spec.initContainers[0].command).toContain(svc.jobName);
    // Its token: in the API's spelling (downwardAPI), mounted into the waiter only.
    const token = spec.volumes.find((v: any) => v.projected);
    expect(token.projected.sources[2].downwardAPI).toBeDefined();
    expect(spec.containers.flatMap((c: any) => c.volumeMounts ?? []).filter((vm: any) => vm.name === token.name)).toEqual([]);
    expect(spec.serviceAccountName).toBe('myapp');
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  test('gets the library\'s defaults: resources, IfNotPresent, a writable /tmp, the service\'s labels and the tag', () => {
    const { worker, spec, template } = gated(source);
    const container = spec.containers[0];
    expect(container.resources).toEqual(LIBRARY_RESOURCES);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.volumeMounts).toContainEqual({ mountPath: '/tmp', name: 'migration-waiter-tmp' });
    expect(spec.volumes.filter((v: any) => v.name === 'migration-waiter-tmp')).toEqual([{ name: 'migration-waiter-tmp', emptyDir: { sizeLimit: '256Mi' } }]);
    // Every object along the way: the workload, a CronJob's Job template (the Jobs it creates), the pods.
    const objects = [worker.metadata, ...(worker.kind === 'CronJob' ? [worker.spec.jobTemplate.metadata] : []), template.metadata];
    for (const metadata of objects) {
      expect(metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'myapp', 'app.kubernetes.io/version': 'v1.2.3', 'app.kubernetes.io/managed-by': 'cdk8s-migrated-service' });
    }
    expect(template.metadata.annotations['migrated-service.cdk8s.io/image-tag']).toBe('v1.2.3');
    // Only objects get labels: no metadata appears inside a spec.
    expect(worker.spec.metadata).toBeUndefined();
    if (worker.kind === 'CronJob') expect(worker.spec.jobTemplate.spec.metadata).toBeUndefined();
  });

  test('passes the restricted standard and the API schema of its kind', () => {
    const { worker, spec } = gated(source);
    expect(restrictedViolations(spec)).toEqual([]);
    expect(() => new KINDS[source.kind].schema(worker).validate()).not.toThrow();
  });
});

describe('gate() keeps what the user set', () => {
  test('own resources, pull policy, /tmp mount and label values are not changed', () => {
    // GIVEN a raw Deployment that sets all of them
    const { m, svc } = synthGated(chart => new ApiObject(chart, 'worker', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...RAW_METADATA, labels: { 'app.kubernetes.io/name': 'worker' } },
      spec: {
        selector: RAW_SELECTOR,
        template: {
          metadata: { labels: { 'app': 'worker', 'app.kubernetes.io/name': 'worker' } },
          spec: {
            volumes: [{ name: 'scratch', emptyDir: {} }],
            containers: [{
              ...RAW_CONTAINER,
              imagePullPolicy: 'Never',
              resources: { requests: { cpu: '2', memory: '1Gi' } },
              volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }],
            }],
          },
        },
      },
    } as any));
    // WHEN synthesized, THEN the user's values stand
    const worker = gatedWorkload(m, svc, 'Deployment');
    const c = worker.spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '2', memory: '1Gi' } });
    expect(c.imagePullPolicy).toBe('Never');
    expect(c.volumeMounts).toEqual([{ name: 'scratch', mountPath: '/tmp' }]);
    expect(worker.metadata.labels['app.kubernetes.io/name']).toBe('worker');
    expect(worker.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('worker');
    // The selector is never touched (it is immutable on an existing Deployment).
    expect(worker.spec.selector).toEqual({ matchLabels: { app: 'worker' } });
  });

  test('a cdk8s-plus workload with explicit non-default resources keeps them', () => {
    const { m, svc } = synthGated(chart => new kplus33.Deployment(chart, 'worker', {
      containers: [{
        ...PLUS_CONTAINER,
        resources: { cpu: { request: kplus33.Cpu.millis(250) } },
        imagePullPolicy: kplus33.ImagePullPolicy.NEVER,
      }],
    }));
    const c = gatedWorkload(m, svc, 'Deployment').spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '250m' } });
    expect(c.imagePullPolicy).toBe('Never');
  });

  test('an image without a tag or tagged latest keeps pull policy Always (a node\'s copy may be stale)', () => {
    const { m, svc } = synthGated(chart => new kplus33.Deployment(chart, 'worker', {
      containers: [
        { ...PLUS_CONTAINER, name: 'a', image: 'registry.example.com/myapp:latest' },
        { ...PLUS_CONTAINER, name: 'b', image: 'registry.example.com:5000/myapp' },
        { ...PLUS_CONTAINER, name: 'c', image: 'registry.example.com/myapp@sha256:' + 'a'.repeat(64) },
      ],
    }));
    const cs = gatedWorkload(m, svc, 'Deployment').spec.template.spec.containers;
    expect(cs.map((c: any) => c.imagePullPolicy)).toEqual(['Always', 'Always', 'IfNotPresent']);
  });
});

describe('gate() of something it cannot hold names what it got and what is accepted', () => {
  // The whole end of the message: the bare-Pod hint is for a Pod only (test/gate.test.ts).
  const ACCEPTED = /only a Deployment, StatefulSet or DaemonSet \(apps\/v1\), or a Job or CronJob \(batch\/v1\) can be gated, made with cdk8s-plus of any version, an imported Kube\* class or an ApiObject$/;

  test.each([
    ['a ConfigMap', (c: Chart) => new kplus33.ConfigMap(c, 'cfg'), /"test\/cfg": it synthesizes v1 ConfigMap; /],
    ['a Service', (c: Chart) => new kplus.Service(c, 'svc', { ports: [{ port: 80 }] }), /"test\/svc": it synthesizes v1 Service; /],
    ['a construct with no ApiObject', (c: Chart) => new Construct(c, 'group'), /"test\/group": it synthesizes no Kubernetes object \(no ApiObject, itself or as its default child\); /],
    ['a raw ApiObject of another apiVersion', (c: Chart) => new ApiObject(c, 'old', { apiVersion: 'extensions/v1beta1', kind: 'Deployment' }), /"test\/old": it synthesizes extensions\/v1beta1 Deployment; /],
  ])('%s', (_what, make, got) => {
    // Both expectations run inside the synth callback: make sure they ran.
    expect.assertions(2);
    synth(chart => {
      const svc = new MigratedService(chart, 'myapp', baseProps());
      const workload = make(chart);
      expect(() => svc.gate(workload)).toThrow(got);
      expect(() => svc.gate(workload)).toThrow(ACCEPTED);
    });
  });
});

describe('an app written with cdk8s-plus-33 (README "Which cdk8s-plus")', () => {
  test('its ConfigMap feeds the service through cdk8s-plus-28\'s Env, and its worker is gated as written', () => {
    // GIVEN a ConfigMap and a worker of cdk8s-plus-33, WHEN used as the README says
    const m = synth(chart => {
      const config = new kplus33.ConfigMap(chart, 'config', { metadata: { name: 'myapp-config' }, data: { A: '1' } });
      const web = new MigratedService(chart, 'myapp', baseProps({
        envFrom: [kplus.Env.fromConfigMap(kplus.ConfigMap.fromConfigMapName(chart, 'cfg', config.name))],
      }));
      web.gate(new kplus33.Deployment(chart, 'worker', { containers: [{ image: web.serviceImage, securityContext: { user: 1000 } }] }));
    });
    // THEN the service reads that ConfigMap and the worker waits
    const service = m.find(o => o.kind === 'Deployment' && o.metadata.name === 'myapp')!;
    expect(service.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: 'myapp-config' } }]);
    const worker = m.find(o => o.kind === 'Deployment' && o.metadata.name !== 'myapp')!;
    expect(worker.spec.template.spec.initContainers[0].name).toBe('wait-for-migration');
  });
});

describe('gate() of a raw ApiObject with its own ServiceAccount', () => {
  test('keeps it, binds it to the waiter\'s Role in the service\'s namespace, and leaves automount as written', () => {
    // GIVEN a raw Deployment that runs under ServiceAccount "worker"
    const { m, svc } = synthGated(chart => new ApiObject(chart, 'worker', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: RAW_METADATA,
      spec: { selector: RAW_SELECTOR, template: { ...POD_TEMPLATE, spec: { ...POD_TEMPLATE.spec, serviceAccountName: 'worker' } } },
    } as any));
    // THEN
    const spec = gatedWorkload(m, svc, 'Deployment').spec.template.spec;
    expect(spec.serviceAccountName).toBe('worker');
    expect(spec.automountServiceAccountToken).toBeUndefined();
    expect(m.find(o => o.kind === 'RoleBinding' && o.metadata.name.includes('waiter'))!.subjects).toContainEqual(
      { apiGroup: '', kind: 'ServiceAccount', name: 'worker', namespace: 'myapp' });
  });
});
