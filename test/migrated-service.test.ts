import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Delivery, MigratedService, MigrationHistory, MigrationLock, MigrationTool, Waiter } from '../src';
import {
  all, baseProps, configAndSecret, historyObjects, initContainer, isLockObject, Manifest, one, synth, synthService, synthYaml, toolCommand,
  validateSchemas,
} from './support/k8s';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function appContainer(m: Manifest[]): any {
  return one(m, 'Deployment').spec.template.spec.containers[0];
}
function jobContainer(m: Manifest[]): any {
  return one(m, 'Job').spec.template.spec.containers[0];
}
/** Everything the tag must key (invariant 1). */
function tagKeyed(m: Manifest[]) {
  return {
    jobName: one(m, 'Job').metadata.name,
    // The default (kubectl) waiter's command: sh -c SCRIPT wait-for-migration JOB TIMEOUT.
    waiterTarget: initContainer(m).command[4],
    roleResourceNames: one(m, 'Role').rules[0].resourceNames,
    jobImage: jobContainer(m).image,
    serviceImage: appContainer(m).image,
  };
}

describe('invariant 1: one tag keys everything', () => {
  test('Job name, waiter target, Role resourceNames and both images derive from imageTag', () => {
    // GIVEN a service with a separate migration image
    const m = synthService({ imageTag: 'v1.2286938253.0', migration: { tool: MigrationTool.flyway(), image: 'registry.example.com/myapp-migration' } });
    const k = tagKeyed(m);
    // THEN
    expect(k.jobName).toMatch(/^myapp-migrate-v1-2286938253-0-[a-f0-9]{10}$/);
    expect(k.waiterTarget).toBe(k.jobName);
    expect(k.roleResourceNames).toEqual([k.jobName]);
    expect(k.jobImage).toBe('registry.example.com/myapp-migration:v1.2286938253.0');
    expect(k.serviceImage).toBe('registry.example.com/myapp:v1.2286938253.0');
  });

  test('changing the tag changes all of them', () => {
    const a = tagKeyed(synthService({ imageTag: 'v1' }));
    const b = tagKeyed(synthService({ imageTag: 'v2' }));
    for (const key of Object.keys(a) as (keyof typeof a)[]) {
      expect(b[key]).not.toEqual(a[key]);
    }
  });

  test('nothing else changes them', () => {
    const a = tagKeyed(synthService({ imageTag: 'v1' }));
    const b = tagKeyed(synthService({
      imageTag: 'v1',
      replicas: 5,
      port: 9090,
      labels: { team: 'db' },
      runAsUser: 1000,
      envVariables: { X: kplus.EnvValue.fromValue('y') },
      migration: { tool: MigrationTool.prisma(), backoffLimit: 1, activeDeadline: Duration.minutes(8) },
    }));
    expect(b).toEqual(a);
  });

  test('the construct exposes the same jobName and imageTag it emits', () => {
    let svc!: MigratedService;
    const m = synth(chart => { svc = new MigratedService(chart, 'myapp', baseProps({ imageTag: 'v9' })); });
    expect(svc.jobName).toBe(one(m, 'Job').metadata.name);
    expect(svc.imageTag).toBe('v9');
    expect(svc.job.name).toBe(svc.jobName);
    expect(svc.deployment.name).toBe('myapp');
    expect(svc.serviceAccount.name).toBe('myapp');
    expect(svc.serviceImage).toBe(appContainer(m).image);
    expect(svc.migrationImage).toBe(jobContainer(m).image);
    // role and roleBinding are the objects emitted: the Role grants get on the one Job (and on the
    // migration history it reads), bound to the service account.
    const role = one(m, 'Role');
    expect(svc.role!.name).toBe(role.metadata.name);
    expect(ApiObject.of(svc.role!).toJson().rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: [svc.jobName], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['myapp-migration-history'], verbs: ['get'] },
    ]);
    expect(svc.roleBinding!.name).toBe(one(m, 'RoleBinding').metadata.name);
    // Compared by identity, not toBe/toEqual: a failing diff of two construct trees exhausts the heap.
    expect(svc.roleBinding!.role === svc.role).toBe(true);
    expect(svc.service).toBeUndefined(); // no port, no Service
    expect(svc.roleBinding!.subjects.map(x => x === svc.serviceAccount)).toEqual([true]);
    expect(ApiObject.of(svc.roleBinding!).toJson()).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: 'myapp', namespace: 'myapp' }],
    });
  });
});

describe('invariant 2: names and determinism', () => {
  test('every emitted name is a DNS-1123 label of at most 63 characters, even for a 128-character tag and a 63-character name', () => {
    const m = synthService({ name: 'a'.repeat(63), imageTag: 'X'.repeat(128), port: 80 });
    for (const obj of m) {
      expect(obj.metadata.name.length).toBeLessThanOrEqual(63);
      expect(obj.metadata.name).toMatch(DNS_LABEL);
    }
  });

  test.each([
    ['Flux', Delivery.flux()],
    ['Helm', Delivery.helm({ checkHookInputs: false })],
    ['Argo CD', Delivery.argoCd({ checkHookInputs: false })],
  ])('GIVEN a 63-character service name with %s THEN the Deployment, Service and ServiceAccount keep it and the derived names are cut and hashed', (_label, delivery) => {
    // GIVEN a valid Service name that leaves no room for "-migrate-<tag>"
    const name = 'a-very-long-service-name-for-the-billing-reconciliation-backend';
    const m = synthService({ name, imageTag: 'v1.2.3', port: 8080, delivery, waiter: Waiter.kubectl() });
    // THEN the objects named after the service keep the full name
    for (const kind of ['Deployment', 'Service', 'ServiceAccount']) expect(one(m, kind).metadata.name).toBe(name);
    expect(one(m, 'Deployment').metadata.labels['app.kubernetes.io/name']).toBe(name);
    // AND the Job and RBAC names are 63-character labels that start with the name and end in a hash
    const job = one(m, 'Job').metadata.name;
    const role = one(m, 'Role').metadata.name;
    for (const derived of [job, role, one(m, 'RoleBinding').metadata.name]) {
      expect(derived).toHaveLength(63);
      expect(derived).toMatch(DNS_LABEL);
      expect(derived).toMatch(/^a-very-long-service-name-for-the-billing-reconciliat.*-[a-f0-9]{10}$/);
    }
    expect(one(m, 'RoleBinding').metadata.name).toBe(role);
    // AND the waiter and the Role still point at that one Job
    expect(initContainer(m).command).toContain(job);
    expect(one(m, 'Role').rules[0].resourceNames).toEqual([job]);
    validateSchemas(m);
  });

  test('GIVEN two 63-character names that differ only at the end THEN their Job names differ for the same tag', () => {
    const a = 'a-very-long-service-name-for-the-billing-reconciliation-backend';
    const b = 'a-very-long-service-name-for-the-billing-reconciliation-backenb';
    const jobOf = (name: string, delivery: Delivery) => one(synthService({ name, imageTag: 'v1.2.3', delivery }), 'Job').metadata.name;
    expect(jobOf(a, Delivery.flux())).not.toBe(jobOf(b, Delivery.flux()));
    expect(jobOf(a, Delivery.helm({ checkHookInputs: false }))).not.toBe(jobOf(b, Delivery.helm({ checkHookInputs: false })));
  });

  test('GIVEN a 63-character name with a hook target THEN the Job name is the same for every tag (the hook replaces it)', () => {
    const name = 'a-very-long-service-name-for-the-billing-reconciliation-backend';
    const jobOf = (tag: string) => one(synthService({ name, imageTag: tag, delivery: Delivery.argoCd({ checkHookInputs: false }) }), 'Job').metadata.name;
    expect(jobOf('v1')).toBe(jobOf('v2.0.0'));
  });

  test('distinct tags give distinct Job names', () => {
    const names = ['v1.2', 'v1-2', 'V1.2', 'v1_2'].map(t => one(synthService({ imageTag: t }), 'Job').metadata.name);
    expect(new Set(names).size).toBe(4);
  });

  test('the same input gives byte-identical YAML', () => {
    const build = (chart: any) => {
      const { config, secret } = configAndSecret(chart);
      new MigratedService(chart, 'myapp', baseProps({
        port: 8080, envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)],
      }));
    };
    expect(synthYaml(build)).toBe(synthYaml(build));
  });
});

describe('invariant 4: least privilege', () => {
  test('the service container gets no API token; only the waiter mounts one', () => {
    const m = synthService();
    const pod = one(m, 'Deployment').spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('myapp');
    expect((appContainer(m).volumeMounts ?? []).map((v: any) => v.mountPath)).not.toContain(SA_PATH);
    const waiterMount = initContainer(m).volumeMounts.find((v: any) => v.mountPath === SA_PATH);
    expect(waiterMount).toEqual({ name: 'waiter-api-access', mountPath: SA_PATH, readOnly: true });
    const volume = pod.volumes.find((v: any) => v.name === 'waiter-api-access');
    expect(volume.projected.sources).toEqual([
      { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ]);
  });

  test('the ServiceAccount does not automount, and the Job runs as the lock\'s ServiceAccount without a token of its own', () => {
    const m = synthService();
    expect(one(m, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    const jobPod = one(m, 'Job').spec.template.spec;
    expect(jobPod.automountServiceAccountToken).toBe(false);
    expect(jobPod.serviceAccountName).toBe('myapp-migration');
    expect(jobPod.containers[0].volumeMounts.map((v: any) => v.name)).toEqual(['tmp']);
  });

  test('without the migration lock there are no lock objects; the Job runs as the history\'s ServiceAccount, and with no history either it gets none', () => {
    const m = synthService({ migrationLock: MigrationLock.none() });
    expect(m.filter(isLockObject)).toEqual([]);
    expect(one(m, 'Job').spec.template.spec.serviceAccountName).toBe(historyObjects(m, 'ServiceAccount')[0].metadata.name);
    const bare = synthService({ migrationLock: MigrationLock.none(), migrationHistory: MigrationHistory.none() });
    expect(one(bare, 'Job').spec.template.spec.serviceAccountName).toBeUndefined();
    expect(bare.filter(o => o.kind === 'ServiceAccount').map(o => o.metadata.name)).toEqual(['myapp']);
  });

  test('the Role grants the default waiter get, list and watch on the one Job, get on the one history ConfigMap and nothing else, bound to the service account only', () => {
    const m = synthService();
    const role = one(m, 'Role');
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: [one(m, 'Job').metadata.name], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['myapp-migration-history'], verbs: ['get'] },
    ]);
    const binding = one(m, 'RoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'myapp', namespace: 'myapp' }]);
  });

  test('a user can ask for a token for the service', () => {
    const m = synthService({ automountServiceAccountToken: true });
    expect(one(m, 'Deployment').spec.template.spec.automountServiceAccountToken).toBe(true);
  });
});

describe('the migration Job', () => {
  test('defaults: backoffLimit 0, restartPolicy Never, no TTL, no deadline, podFailurePolicy ignores disruptions', () => {
    const spec = one(synthService(), 'Job').spec;
    expect(spec.backoffLimit).toBe(0);
    expect(spec.template.spec.restartPolicy).toBe('Never');
    expect(spec.ttlSecondsAfterFinished).toBeUndefined();
    expect(spec.activeDeadlineSeconds).toBeUndefined();
    expect(spec.podFailurePolicy.rules[0]).toEqual(
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
  });

  test('a failed migration says why: FailJob on a non-zero exit of the migrate container, after the disruption rule', () => {
    // GIVEN the default backoffLimit 0
    const spec = one(synthService(), 'Job').spec;
    // THEN the Job fails at once, with a condition naming the container and the exit code
    // (then the history's rule: a record that could not be written is not a failed migration)
    expect(spec.podFailurePolicy).toEqual({
      rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        { action: 'FailJob', onExitCodes: { containerName: 'migrate', operator: 'NotIn', values: [0] }, onPodConditions: [] },
        { action: 'Ignore', onExitCodes: { containerName: 'record-migration', operator: 'In', values: [1] }, onPodConditions: [] },
      ],
    });
    expect(spec.template.spec.containers[0].name).toBe('migrate');
    // AND the migration keeps the end of its log as its termination message
    expect(spec.template.spec.containers[0].terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  test('with retries asked for (backoffLimit > 0) no FailJob rule cancels them; disruptions are still ignored', () => {
    const spec = one(synthService({ migration: { tool: MigrationTool.prisma(), backoffLimit: 2 } }), 'Job').spec;
    expect(spec.podFailurePolicy.rules).toEqual([
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'Ignore', onExitCodes: { containerName: 'record-migration', operator: 'In', values: [1] }, onPodConditions: [] },
    ]);
    expect(spec.podFailurePolicy.rules.filter((r: any) => r.action === 'FailJob')).toEqual([]);
    expect(spec.template.spec.containers[0].terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  test('activeDeadline, backoffLimit and ttlAfterFinished (with a waiter that survives deletion) are passed through', () => {
    const m = synthService({
      waiter: Waiter.schemaCheck(),
      migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.seconds(480), ttlAfterFinished: Duration.hours(1), backoffLimit: 2 },
    });
    const spec = one(m, 'Job').spec;
    expect(spec.activeDeadlineSeconds).toBe(480);
    expect(spec.ttlSecondsAfterFinished).toBe(3600);
    expect(spec.backoffLimit).toBe(2);
  });

  test('the Job and the service share envFrom and env; the Job adds its session timeouts and their retries (test/session-timeouts.test.ts, test/lock-timeout-retry.test.ts)', () => {
    const m = synth(chart => {
      const { config, secret } = configAndSecret(chart);
      new MigratedService(chart, 'myapp', baseProps({
        migration: { tool: MigrationTool.alembic() },
        envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)],
        envVariables: { APP_ENV: kplus.EnvValue.fromValue('prod') },
      }));
    });
    const expectedFrom = [{ configMapRef: { name: 'myapp-config' } }, { secretRef: { name: 'myapp-db' } }];
    expect(jobContainer(m).envFrom).toEqual(expectedFrom);
    expect(appContainer(m).envFrom).toEqual(expectedFrom);
    expect(jobContainer(m).env).toEqual([{ name: 'APP_ENV', value: 'prod' }, { name: 'PGOPTIONS', value: '-c lock_timeout=3s' },
      { name: 'LOCK_TIMEOUT_RETRIES', value: '3' }, { name: 'LOCK_TIMEOUT_BACKOFF', value: '5' }]);
    expect(appContainer(m).env).toEqual([{ name: 'APP_ENV', value: 'prod' }]);
  });

  test('the Job carries the Flux force annotation by default, and the verbatim tag', () => {
    const job = one(synthService({ imageTag: '_Weird.Tag' }), 'Job');
    expect(job.metadata.annotations).toEqual({
      'kustomize.toolkit.fluxcd.io/force': 'Enabled',
      'migrated-service.cdk8s.io/image-tag': '_Weird.Tag',
    });
    expect(job.metadata.labels['app.kubernetes.io/component']).toBe('migration');
  });

  test('the migration runs as the given UID, falling back to the service UID', () => {
    expect(jobContainer(synthService({ runAsUser: 1000 })).securityContext.runAsUser).toBe(1000);
    const m = synthService({ runAsUser: 1000, migration: { tool: MigrationTool.flyway(), runAsUser: 101, runAsGroup: 101 } });
    expect(jobContainer(m).securityContext).toMatchObject({ runAsUser: 101, runAsGroup: 101 });
    expect(appContainer(m).securityContext.runAsUser).toBe(1000);
  });
});

describe('the Deployment', () => {
  test('GIVEN no strategy WHEN synthesized THEN every new pod starts at once (maxSurge 100%) and no old pod stops before a new one is Ready', () => {
    expect(one(synthService(), 'Deployment').spec.strategy).toEqual({
      type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 },
    });
  });

  test('GIVEN a strategy WHEN synthesized THEN the Deployment uses it', () => {
    const rolling = synthService({
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(1),
        maxUnavailable: kplus.PercentOrAbsolute.percent(10),
      }),
    });
    expect(one(rolling, 'Deployment').spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '10%' } });
    expect(one(synthService({ strategy: kplus.DeploymentStrategy.recreate() }), 'Deployment').spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('defaults: 2 replicas, init container waits for the Job with the kubectl waiter, progress deadline 600 s', () => {
    const m = synthService();
    const d = one(m, 'Deployment');
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.progressDeadlineSeconds).toBe(600);
    expect(initContainer(m).image).toBe('docker.io/alpine/kubectl:1.34.1');
    expect(initContainer(m).command.slice(3, 5)).toEqual(['wait-for-migration', one(m, 'Job').metadata.name]);
  });

  test('progress deadline follows a long migration deadline', () => {
    const d = one(synthService({ migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.minutes(30) } }), 'Deployment');
    expect(d.spec.progressDeadlineSeconds).toBe(1800 + 300);
  });

  test('port creates a Service of the same name selecting the pods', () => {
    const m = synthService({ port: 8080 });
    const svc = one(m, 'Service');
    expect(svc.metadata.name).toBe('myapp');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
    expect(svc.spec.selector).toEqual(one(m, 'Deployment').spec.selector.matchLabels);
    expect(appContainer(m).ports).toEqual([{ containerPort: 8080 }]);
  });

  test('no port, no Service', () => {
    expect(all(synthService(), 'Service')).toHaveLength(0);
  });

  test('labels, pull secret, command, probes and resources reach the pod', () => {
    const m = synth(chart => {
      const pull = new kplus.Secret(chart, 'pull', { metadata: { name: 'regcred' } });
      new MigratedService(chart, 'myapp', baseProps({
        labels: { team: 'payments' },
        imagePullSecret: pull,
        command: ['node'],
        args: ['dist/main.js'],
        port: 3000,
        readiness: kplus.Probe.fromHttpGet('/healthz', { port: 3000 }),
        liveness: kplus.Probe.fromHttpGet('/livez', { port: 3000 }),
        startup: kplus.Probe.fromHttpGet('/startz', { port: 3000 }),
        resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(128) } },
      }));
    });
    const d = one(m, 'Deployment');
    expect(d.metadata.labels.team).toBe('payments');
    expect(d.spec.template.metadata.labels.team).toBe('payments');
    expect(one(m, 'Job').metadata.labels.team).toBe('payments');
    expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(one(m, 'Job').spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    const c = appContainer(m);
    expect(c.command).toEqual(['node']);
    expect(c.args).toEqual(['dist/main.js']);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/healthz', port: 3000 });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/livez', port: 3000 });
    expect(c.startupProbe.httpGet).toMatchObject({ path: '/startz', port: 3000 });
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' } });
  });
});

describe('resource defaults', () => {
  test('GIVEN no resources THEN service and migration request 100m CPU and 256Mi, with a memory limit and no CPU limit', () => {
    const m = synthService({ waiter: Waiter.kubectl() });
    expect(appContainer(m).resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(jobContainer(m).resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1024Mi' } });
  });

  test('GIVEN the defaults THEN two replicas, a surge pod and the next migration request well under one CPU', () => {
    const m = synthService({ replicas: 2, waiter: Waiter.kubectl() });
    const millis = (c: any) => parseInt(c.resources.requests.cpu, 10);
    // Init containers run before the app container, so a pod asks for the larger of the two.
    const pod = Math.max(millis(appContainer(m)), millis(initContainer(m)));
    expect(3 * pod + millis(jobContainer(m))).toBeLessThanOrEqual(400);
  });

  test('GIVEN migration.resources THEN it replaces the migration defaults only', () => {
    const m = synthService({ migration: { tool: MigrationTool.flyway(), resources: { memory: { limit: Size.gibibytes(2) } } } });
    expect(jobContainer(m).resources).toEqual({ limits: { memory: '2048Mi' } });
    expect(appContainer(m).resources.limits).toEqual({ memory: '512Mi' });
  });
});

describe('order', () => {
  test('ServiceAccount, Role, RoleBinding, the lock\'s three, the history\'s Role and RoleBinding, and Job come before the Deployment', () => {
    const kinds = synthService({ port: 80 }).map(m => m.kind);
    expect(kinds).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'ServiceAccount', 'Role', 'RoleBinding', 'Role', 'RoleBinding', 'Job', 'Deployment', 'Service']);
  });
});

describe('every object matches the Kubernetes schemas', () => {
  test.each([
    ['defaults', {}],
    ['port and kubectl waiter', { port: 8080, waiter: Waiter.kubectl() }],
    ['schema check, helm', { waiter: Waiter.schemaCheck(), delivery: Delivery.helm() }],
    ['no waiter, argo', { waiter: Waiter.none(), delivery: Delivery.argoCd() }],
    ['digest', { imageTag: `sha256:${'0'.repeat(64)}` }],
  ])('%s', (_name, overrides) => {
    const m = synth(chart => {
      const { config, secret } = configAndSecret(chart);
      // Hook targets run the Job before ordinary chart objects: make its inputs hooks that run first.
      [config, secret].forEach(r => { Delivery.helmPreInstall(r); Delivery.argoCdPreSync(r); });
      new MigratedService(chart, 'myapp', baseProps({ ...overrides, envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)] }));
    });
    expect(() => validateSchemas(m)).not.toThrow();
  });

  test('the schema check itself catches a broken object', () => {
    const m = synthService();
    one(m, 'Job').spec.backoffLimit = 'zero';
    expect(() => validateSchemas(m)).toThrow(/Job\/myapp-migrate-.* does not match the Kubernetes schema/);
  });
});

describe('invariant 5: bad input fails at synth time naming the prop, the value and the fix', () => {
  test.each<[string, any, RegExp]>([
    ['imageTag', { imageTag: 'v1 beta' }, /^Invalid imageTag of MigratedService "test\/myapp" "v1 beta": it contains " "/],
    ['imageTag empty', { imageTag: '' }, /Invalid imageTag .* "": it is empty/],
    ['image with a tag', { image: 'registry.example.com/myapp:v1' }, /Invalid image of MigratedService "test\/myapp" "registry.example.com\/myapp:v1": it contains a tag; pass the repository "registry.example.com\/myapp" and the tag "v1" as imageTag/],
    ['image with a digest', { image: `r/app@sha256:${'0'.repeat(64)}` }, /Invalid image .*: it contains a digest; pass the repository "r\/app"/],
    ['image uppercase', { image: 'registry.example.com/MyApp' }, /Invalid image .*: it is not a valid image repository/],
    ['image empty', { image: '' }, /Invalid image .* "": pass the image repository without a tag/],
    ['migration.image with a tag', { migration: { tool: MigrationTool.flyway(), image: 'r/m:v1' } }, /Invalid migration.image .*: it contains a tag/],
    ['digest with a separate migration image', { imageTag: `sha256:${'a'.repeat(64)}`, migration: { tool: MigrationTool.flyway(), image: 'r/m' } },
      /Invalid migration.image .* "r\/m": imageTag is a digest .* tag both images with one tag instead/],
    ['no migration command', { migration: {} }, /Invalid migration .*: set migration.tool \(e.g. MigrationTool.prisma\(\)\) or migration.command/],
    ['missing migration', { migration: undefined }, /Invalid migration .*\(undefined\): pass migration:/],
    ['one-string command', { migration: { command: ['npm run migrate'] } }, /Invalid migration.command .*: it is one string with spaces.*split it/],
    ['empty command', { migration: { command: [] } }, /Invalid migration.command .*\[\]: pass the command as a non-empty list of strings/],
    ['replicas', { replicas: -1 }, /Invalid replicas .* -1: it must be a whole number from 0 to 1000/],
    ['replicas fraction', { replicas: 1.5 }, /Invalid replicas .* 1.5/],
    ['port', { port: 70000 }, /Invalid port .* 70000: it must be a whole number from 1 to 65535/],
    ['backoffLimit', { migration: { tool: MigrationTool.prisma(), backoffLimit: -1 } }, /Invalid migration.backoffLimit .* -1/],
    ['runAsUser root', { runAsUser: 0 }, /Invalid runAsUser .* 0: UID\/GID 0 is root/],
    ['migration.runAsUser', { migration: { tool: MigrationTool.prisma(), runAsUser: -5 } }, /Invalid migration.runAsUser .* -5/],
    ['name', { name: 'My_App' }, /Invalid name of MigratedService .* "My_App": it must be lowercase letters, digits and "-"/],
    ['name too long', { name: 'a'.repeat(64) }, /Invalid name of MigratedService "test\/myapp" "a{64}": it is 64 characters; a Service name \(a DNS-1035 label\) is at most 63/],
    ['label value', { labels: { team: 'a b' } }, /Invalid labels\["team"\] .* "a b": a label value is at most 63 characters/],
    ['label key', { labels: { 'bad key': 'x' } }, /Invalid labels key .* "bad key"/],
    ['reserved label', { labels: { 'app.kubernetes.io/version': 'x' } }, /set by MigratedService from name and imageTag/],
    ['env name', { envVariables: { '1BAD': kplus.EnvValue.fromValue('x') } }, /Invalid envVariables key .* "1BAD": an environment variable name/],
    ['serviceType without port', { serviceType: kplus.ServiceType.NODE_PORT }, /Invalid serviceType .*: a Service is only created when port is set/],
    ['ttl with a waiter that reads the Job and no history', { migrationHistory: MigrationHistory.none(), migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.hours(1) } },
      /Invalid migration.ttlAfterFinished .* "3600s": the kubectl waiter reads the Job, and there is no migration history.*Waiter.schemaCheck\(\)/],
    ['fractional deadline', { migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.millis(1500) } }, /Invalid migration.activeDeadline .* "1.5s": it must be a whole number of seconds/],
    ['zero deadline', { migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.seconds(0) } }, /Invalid migration.activeDeadline .* "0s": it must be a whole number of seconds, at least 1/],
    ['ttl with k8s-wait-for, which cannot read the history', { waiter: Waiter.k8sWaitFor(), migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.hours(1) } },
      /^Invalid migration.ttlAfterFinished of MigratedService "test\/myapp" "3600s": the k8s-wait-for waiter reads the Job and not the migration history/],
    ['fractional ttl', { waiter: Waiter.none(), migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.millis(2500) } },
      /^Invalid migration.ttlAfterFinished of MigratedService "test\/myapp" "2.5s": it must be a whole number of seconds/],
    ['fractional progressDeadline', { progressDeadline: Duration.millis(1500) },
      /^Invalid progressDeadline of MigratedService "test\/myapp" "1.5s": it must be a whole number of seconds, at least 1/],
    ['zero progressDeadline', { progressDeadline: Duration.seconds(0) }, /^Invalid progressDeadline of MigratedService "test\/myapp" "0s"/],
    ['runAsGroup root', { runAsGroup: 0 }, /^Invalid runAsGroup of MigratedService "test\/myapp" 0: UID\/GID 0 is root/],
    ['runAsGroup fraction', { runAsGroup: 1.5 }, /^Invalid runAsGroup of MigratedService "test\/myapp" 1.5: it must be a whole number from 0 to 2147483647/],
    ['migration.runAsGroup', { migration: { tool: MigrationTool.prisma(), runAsGroup: -1 } }, /^Invalid migration.runAsGroup of MigratedService "test\/myapp" -1: it must be a whole number/],
    ['migration.runAsGroup root', { migration: { tool: MigrationTool.prisma(), runAsGroup: 0 } }, /^Invalid migration.runAsGroup of MigratedService "test\/myapp" 0: UID\/GID 0 is root/],
    ['migration.runAsUser root', { migration: { tool: MigrationTool.prisma(), runAsUser: 0 } }, /^Invalid migration.runAsUser of MigratedService "test\/myapp" 0: UID\/GID 0 is root/],
    ['fsGroup root', { fsGroup: 0 }, /^Invalid fsGroup of MigratedService "test\/myapp" 0: UID\/GID 0 is root/],
    ['replicas above 1000', { replicas: 1001 }, /^Invalid replicas of MigratedService "test\/myapp" 1001: it must be a whole number from 0 to 1000/],
    ['port 0', { port: 0 }, /^Invalid port of MigratedService "test\/myapp" 0: it must be a whole number from 1 to 65535/],
    ['backoffLimit above 100', { migration: { tool: MigrationTool.prisma(), backoffLimit: 101 } }, /^Invalid migration.backoffLimit .* 101: it must be a whole number from 0 to 100/],
    ['runAsUser too large', { runAsUser: 2147483648 }, /^Invalid runAsUser .* 2147483648: it must be a whole number from 0 to 2147483647/],
    ['migration a string', { migration: 'prisma' }, /^Invalid migration of MigratedService "test\/myapp" "prisma": pass migration:/],
    ['migration.args not strings', { migration: { tool: MigrationTool.prisma(), args: [1] } }, /^Invalid migration.args of MigratedService "test\/myapp" \[1\]: pass a list of strings/],
    ['args not a list', { args: '--verbose' }, /^Invalid args of MigratedService "test\/myapp" "--verbose": pass a list of strings/],
    ['service command one string', { command: ['node dist/main.js'] }, /^Invalid command of MigratedService "test\/myapp" .*one string with spaces/],
    ['image not a string', { image: 42 }, /^Invalid image of MigratedService "test\/myapp" 42: pass the image repository without a tag/],
    ['image blank', { image: '  ' }, /^Invalid image .* "  ": pass the image repository without a tag/],
    ['image too long', { image: `r/${'a'.repeat(254)}` }, /^Invalid image .*: it is not a valid image repository/],
    ['image with a non-numeric port', { image: 'host:abc/app' }, /^Invalid image .* "host:abc\/app": it is not a valid image repository/],
    ['image with an empty path component', { image: 'r//app' }, /^Invalid image .*: it is not a valid image repository/],
    ['image ending in a separator', { image: 'r/app-' }, /^Invalid image .*: it is not a valid image repository/],
    ['image starting with a separator', { image: 'r/-app' }, /^Invalid image .*: it is not a valid image repository/],
    ['image with three underscores', { image: 'r/a___b' }, /^Invalid image .*: it is not a valid image repository/],
    ['image with a space', { image: 'r/my app' }, /^Invalid image .*: it is not a valid image repository/],
    ['migration.image empty', { migration: { tool: MigrationTool.flyway(), image: '' } }, /^Invalid migration.image of MigratedService "test\/myapp" "": pass the image repository/],
    ['label key with a long prefix', { labels: { [`${'a'.repeat(254)}/team`]: 'x' } }, /^Invalid labels key .*: a label key is an optional DNS prefix/],
    ['label key too long', { labels: { ['k'.repeat(64)]: 'x' } }, /^Invalid labels key /],
    ['label key with a slash only', { labels: { '/team': 'x' } }, /^Invalid labels key /],
    ['label value not a string', { labels: { team: 5 } }, /^Invalid labels\["team"\] of MigratedService "test\/myapp" 5: a label value/],
    ['label value too long', { labels: { team: 'v'.repeat(64) } }, /^Invalid labels\["team"\] /],
    ['reserved name label', { labels: { 'app.kubernetes.io/name': 'x' } }, /^Invalid labels key .* "app.kubernetes.io\/name": this label is set by MigratedService/],
    ['env name with a space', { envVariables: { 'A B': kplus.EnvValue.fromValue('x') } }, /^Invalid envVariables key .* "A B"/],
    ['env name with "="', { envVariables: { 'A=B': kplus.EnvValue.fromValue('x') } }, /^Invalid envVariables key .* "A=B"/],
    ['fsGroup too large', { fsGroup: 2147483648 }, /^Invalid fsGroup of MigratedService "test\/myapp" 2147483648: it must be a whole number from 0 to 2147483647/],
  ])('%s', (_name, overrides, message) => {
    expect(() => synthService(overrides)).toThrow(message);
  });

  test('GIVEN no props WHEN constructed THEN it fails naming props and what to pass', () => {
    expect(() => synth(chart => new MigratedService(chart, 'myapp', undefined as any)))
      .toThrow(/^Invalid props of MigratedService "test\/myapp" \(undefined\): pass \{ image, imageTag, migration \}/);
  });

  test.each([
    ['1st_Service!', 'st-service'],
    ['Orders--', 'orders'],
    ['---', 'myapp'],
    // Cut to 63 characters: a dash the cut leaves at the end is dropped.
    [`Servic${'-x'.repeat(30)}`, `servic${'-x'.repeat(28)}`],
    [`A${'b'.repeat(62)}-c`, `a${'b'.repeat(62)}`],
  ])('GIVEN the construct id %j and no name WHEN constructed THEN it suggests name %j', (id, suggestion) => {
    expect(() => synthService({}, id)).toThrow(`Pass name: "${suggestion}" or change the id.`);
  });

  test('GIVEN a bad name prop WHEN constructed THEN it names the prop without suggesting one', () => {
    let message = '';
    try {
      synthService({ name: 'My_App' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^Invalid name of MigratedService "test\/myapp" "My_App"/);
    expect(message).not.toContain('Pass name');
  });

  test('GIVEN boundary values WHEN constructed THEN they are accepted', () => {
    const m = synthService({
      replicas: 0,
      port: 65535,
      runAsUser: 2147483647,
      runAsGroup: 1,
      fsGroup: 1,
      name: 'a'.repeat(42),
      migration: { tool: MigrationTool.prisma(), backoffLimit: 100, activeDeadline: Duration.seconds(1) },
      progressDeadline: Duration.seconds(1),
    });
    const d = one(m, 'Deployment');
    expect(d.spec.replicas).toBe(0);
    expect(d.spec.progressDeadlineSeconds).toBe(1);
    expect(appContainer(m).ports).toEqual([{ containerPort: 65535 }]);
    expect(appContainer(m).securityContext).toMatchObject({ runAsUser: 2147483647, runAsGroup: 1 });
    expect(one(m, 'Job').spec).toMatchObject({ backoffLimit: 100, activeDeadlineSeconds: 1 });
    expect(synthService({ replicas: 1000, port: 1, migration: { tool: MigrationTool.prisma(), backoffLimit: 0 } })
      .find(o => o.kind === 'Deployment')!.spec.replicas).toBe(1000);
  });

  test('a construct id that is not a valid name says to pass name', () => {
    expect(() => synthService({}, 'MyApp')).toThrow(
      /Invalid name \(taken from the construct id\) of MigratedService "test\/MyApp" "MyApp": .* Pass name: "myapp" or change the id\./);
  });

  test('a valid id with a name prop uses the name', () => {
    const m = synthService({ name: 'orders' }, 'Orders');
    expect(one(m, 'Deployment').metadata.name).toBe('orders');
  });

  test('images with registry ports, nested paths and IPv6 hosts are accepted', () => {
    for (const image of ['localhost:5000/app', 'registry.example.com:443/team/sub/app', '[::1]:5000/app', 'app', 'a/b__c.d-e',
      'Registry.Example.com/app', 'my-registry/app', 'r/a--b', 'r/a_b', `r/${'a'.repeat(253)}`]) {
      expect(one(synthService({ image }), 'Deployment').spec.template.spec.containers[0].image).toBe(`${image}:v1.2.3`);
    }
  });
});

describe('props that reach the pods', () => {
  const jobPod = (m: Manifest[]) => one(m, 'Job').spec.template.spec;
  const deploymentPod = (m: Manifest[]) => one(m, 'Deployment').spec.template.spec;
  const envNamed = (c: any, name: string) => (c.env ?? []).filter((e: any) => e.name === name);

  test('GIVEN fsGroup WHEN synthesized THEN both the Job pod and the Deployment pod get it', () => {
    const m = synthService({ fsGroup: 2000 });

    expect(jobPod(m).securityContext.fsGroup).toBe(2000);
    expect(deploymentPod(m).securityContext.fsGroup).toBe(2000);
  });

  test('GIVEN no fsGroup WHEN synthesized THEN neither pod sets one', () => {
    const m = synthService();

    expect(jobPod(m).securityContext.fsGroup).toBeUndefined();
    expect(deploymentPod(m).securityContext.fsGroup).toBeUndefined();
  });

  test('GIVEN runAsGroup WHEN synthesized THEN the service and the migration run with it, migration.runAsGroup overriding it for the Job', () => {
    const m = synthService({ runAsUser: 1000, runAsGroup: 3000 });
    expect(appContainer(m).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 3000 });
    expect(jobContainer(m).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 3000 });

    const own = synthService({ runAsUser: 1000, runAsGroup: 3000, migration: { tool: MigrationTool.prisma(), runAsGroup: 4000 } });
    expect(jobContainer(own).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 4000 });
    expect(appContainer(own).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 3000 });
  });

  test('GIVEN progressDeadline WHEN synthesized THEN the Deployment uses it, even below the default and the migration deadline', () => {
    const m = synthService({
      progressDeadline: Duration.minutes(3),
      migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.minutes(30) },
    });

    expect(one(m, 'Deployment').spec.progressDeadlineSeconds).toBe(180);
  });

  test('GIVEN a migration deadline of 4 minutes WHEN synthesized THEN the progress deadline stays at the 600 s floor', () => {
    const m = synthService({ migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.minutes(4) } });

    expect(one(m, 'Deployment').spec.progressDeadlineSeconds).toBe(600);
  });

  test('GIVEN ttlAfterFinished with Waiter.none() WHEN synthesized THEN the Job gets it', () => {
    const m = synthService({ waiter: Waiter.none(), migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.minutes(10) } });

    expect(one(m, 'Job').spec.ttlSecondsAfterFinished).toBe(600);
  });

  test('GIVEN writableHome: true on a tool that does not need it WHEN synthesized THEN the Job and the schema check get HOME=/tmp on the writable /tmp', () => {
    const m = synthService({ waiter: Waiter.schemaCheck(), migration: { tool: MigrationTool.alembic(), writableHome: true } });

    for (const c of [jobContainer(m), initContainer(m)]) {
      expect({ container: c.name, home: envNamed(c, 'HOME') }).toEqual({ container: c.name, home: [{ name: 'HOME', value: '/tmp' }] });
      expect(c.volumeMounts.map((v: any) => v.mountPath)).toContain('/tmp');
    }
  });

  test('GIVEN writableHome: false on a tool that needs it WHEN synthesized THEN neither the Job nor the schema check sets HOME', () => {
    const m = synthService({ waiter: Waiter.schemaCheck(), migration: { tool: MigrationTool.prisma(), writableHome: false } });

    expect(envNamed(jobContainer(m), 'HOME')).toEqual([]);
    expect(envNamed(initContainer(m), 'HOME')).toEqual([]);
  });

  test('GIVEN no writableHome WHEN synthesized THEN HOME follows the tool: set for Prisma, not for Alembic', () => {
    expect(envNamed(jobContainer(synthService({ migration: { tool: MigrationTool.prisma() } })), 'HOME'))
      .toEqual([{ name: 'HOME', value: '/tmp' }]);
    expect(envNamed(jobContainer(synthService({ migration: { tool: MigrationTool.alembic() } })), 'HOME')).toEqual([]);
    expect(envNamed(jobContainer(synthService({ migration: { command: ['./migrate'] } })), 'HOME')).toEqual([]);
  });
});

describe('what else reaches the objects', () => {
  test('GIVEN port and serviceType WHEN synthesized THEN the Service has that type, the labels of every object and the verbatim tag', () => {
    const m = synthService({ port: 8080, serviceType: kplus.ServiceType.NODE_PORT, labels: { team: 'db' }, imageTag: '_Weird.Tag' });
    const svc = one(m, 'Service');

    expect(svc.spec.type).toBe('NodePort');
    expect(svc.metadata.labels).toEqual(one(m, 'Deployment').metadata.labels);
    expect(svc.metadata.labels).toMatchObject({ 'team': 'db', 'app.kubernetes.io/name': 'myapp', 'app.kubernetes.io/managed-by': 'cdk8s-migrated-service' });
    expect(svc.metadata.annotations).toEqual({ 'migrated-service.cdk8s.io/image-tag': '_Weird.Tag' });
    expect(synthService({ port: 8080 }).find(o => o.kind === 'Service')!.spec.type).toBe('ClusterIP');
  });

  test('GIVEN labels WHEN synthesized with every optional object THEN each object carries the service labels', () => {
    const m = synthService({ port: 8080, labels: { team: 'db' }, postRollout: { command: ['./contract'] } });
    const common = {
      'team': 'db',
      'app.kubernetes.io/name': 'myapp',
      'app.kubernetes.io/version': 'v1.2.3',
      'app.kubernetes.io/managed-by': 'cdk8s-migrated-service',
    };
    expect(m.map(o => o.kind).sort()).toEqual(['Deployment', 'Job', 'Job', 'Role', 'Role', 'Role', 'Role',
      'RoleBinding', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceAccount', 'ServiceAccount']);
    for (const o of m) expect([o.kind, o.metadata.labels]).toEqual([o.kind, expect.objectContaining(common)]);
  });

  test('GIVEN migration args WHEN synthesized THEN they follow the tool command in the Job', () => {
    const m = synthService({ migration: { tool: MigrationTool.alembic(), args: ['--sql'] } });

    expect(toolCommand(jobContainer(m))).toEqual(['alembic', 'upgrade', 'head']);
    expect(jobContainer(m).args).toEqual(['--sql']);
  });

  test('GIVEN a command and a tool WHEN synthesized THEN the command wins', () => {
    const m = synthService({ migration: { tool: MigrationTool.alembic(), command: ['./bin/migrate'] } });

    expect(toolCommand(jobContainer(m))).toEqual(['./bin/migrate']);
  });

  test('GIVEN a digest and migration.image equal to image WHEN synthesized THEN both images use the digest', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const m = synthService({ imageTag: digest, migration: { tool: MigrationTool.prisma(), image: 'registry.example.com/myapp' } });

    expect(jobContainer(m).image).toBe(`registry.example.com/myapp@${digest}`);
    expect(appContainer(m).image).toBe(`registry.example.com/myapp@${digest}`);
  });

  test('GIVEN the defaults WHEN synthesized THEN the Job pod carries the migration labels and the tag annotation, and the containers pull IfNotPresent', () => {
    const m = synthService({ labels: { team: 'db' } });
    const jobTemplate = one(m, 'Job').spec.template;

    expect(jobTemplate.metadata.labels).toMatchObject({ 'team': 'db', 'app.kubernetes.io/component': 'migration', 'app.kubernetes.io/version': 'v1.2.3' });
    expect(jobTemplate.metadata.annotations).toEqual({ 'migrated-service.cdk8s.io/image-tag': 'v1.2.3' });
    expect(one(m, 'Deployment').spec.template.metadata.annotations).toEqual({ 'migrated-service.cdk8s.io/image-tag': 'v1.2.3' });
    expect(one(m, 'Deployment').metadata.annotations).toEqual({ 'migrated-service.cdk8s.io/image-tag': 'v1.2.3' });
    for (const c of [jobContainer(m), appContainer(m), initContainer(m)]) {
      expect({ container: c.name, pull: c.imagePullPolicy }).toEqual({ container: c.name, pull: 'IfNotPresent' });
    }
    expect(jobContainer(m).name).toBe('migrate');
    expect(appContainer(m).name).toBe('app');
  });

  test('GIVEN the waiter token WHEN synthesized THEN its projected volume is world-readable (0444) so the waiter UID can read it', () => {
    const m = synthService();
    const volume = one(m, 'Deployment').spec.template.spec.volumes.find((v: any) => v.name === 'waiter-api-access');

    expect(volume.projected.defaultMode).toBe(0o444);
  });

  test('GIVEN a valid id and no name WHEN synthesized THEN every object is named after the id', () => {
    const m = synthService({ port: 80 }, 'orders');

    expect(m.map(o => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/orders', 'Role/orders-migration-waiter', 'RoleBinding/orders-migration-waiter',
      'ServiceAccount/orders-migration', 'Role/orders-migration-lock', 'RoleBinding/orders-migration-lock',
      'Role/orders-migration-history', 'RoleBinding/orders-migration-history',
      `Job/${one(m, 'Job').metadata.name}`, 'Deployment/orders', 'Service/orders',
    ]);
    expect(one(m, 'Job').metadata.name).toMatch(/^orders-migrate-v1-2-3-[0-9a-f]{10}$/);
  });
});
