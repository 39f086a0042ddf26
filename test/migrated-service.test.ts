import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Delivery, MigratedService, MigrationTool, Waiter } from '../src';
import {
  all, baseProps, configAndSecret, initContainer, Manifest, one, synth, synthService, synthYaml, validateSchemas,
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
    expect(svc.role).toBeDefined();
    expect(svc.roleBinding).toBeDefined();
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

  test('the ServiceAccount does not automount, and the Job gets no token and no ServiceAccount', () => {
    const m = synthService();
    expect(one(m, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    const jobPod = one(m, 'Job').spec.template.spec;
    expect(jobPod.automountServiceAccountToken).toBe(false);
    expect(jobPod.serviceAccountName).toBeUndefined();
  });

  test('the Role grants the default waiter get, list and watch on the one Job and nothing else, bound to the service account only', () => {
    const m = synthService();
    const role = one(m, 'Role');
    expect(role.rules).toEqual([{
      apiGroups: ['batch'], resources: ['jobs'], resourceNames: [one(m, 'Job').metadata.name], verbs: ['get', 'list', 'watch'],
    }]);
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
    expect(spec.podFailurePolicy).toEqual({
      rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        { action: 'FailJob', onExitCodes: { containerName: 'migrate', operator: 'NotIn', values: [0] }, onPodConditions: [] },
      ],
    });
    expect(spec.template.spec.containers[0].name).toBe('migrate');
    // AND the migration keeps the end of its log as its termination message
    expect(spec.template.spec.containers[0].terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  test('with retries asked for (backoffLimit > 0) no FailJob rule cancels them; disruptions are still ignored', () => {
    const spec = one(synthService({ migration: { tool: MigrationTool.prisma(), backoffLimit: 2 } }), 'Job').spec;
    expect(spec.podFailurePolicy.rules).toEqual(
      [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }]);
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

  test('the Job and the service share envFrom and env', () => {
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
    expect(jobContainer(m).env).toEqual([{ name: 'APP_ENV', value: 'prod' }]);
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
  test('defaults: 2 replicas, init container waits for the Job with the kubectl waiter, progress deadline 600 s', () => {
    const m = synthService();
    const d = one(m, 'Deployment');
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.progressDeadlineSeconds).toBe(600);
    expect(initContainer(m).image).toBe('cgr.dev/chainguard/kubectl:latest-dev');
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
  test('ServiceAccount, Role, RoleBinding and Job come before the Deployment', () => {
    const kinds = synthService({ port: 80 }).map(m => m.kind);
    expect(kinds).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Job', 'Deployment', 'Service']);
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
    ['ttl with a waiter that reads the Job', { migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.hours(1) } },
      /Invalid migration.ttlAfterFinished .* "3600s": the kubectl waiter reads the Job.*Waiter.schemaCheck\(\)/],
    ['fractional deadline', { migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.millis(1500) } }, /Invalid migration.activeDeadline .* "1.5s": it must be a whole number of seconds/],
    ['zero deadline', { migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.seconds(0) } }, /Invalid migration.activeDeadline .* "0s": it must be a whole number of seconds, at least 1/],
  ])('%s', (_name, overrides, message) => {
    expect(() => synthService(overrides)).toThrow(message);
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
    for (const image of ['localhost:5000/app', 'registry.example.com:443/team/sub/app', '[::1]:5000/app', 'app', 'a/b__c.d-e']) {
      expect(one(synthService({ image }), 'Deployment').spec.template.spec.containers[0].image).toBe(`${image}:v1.2.3`);
    }
  });
});
