/**
 * The workload of the synth benchmark: service i of N, identical input for both variants, built
 * with the library or by hand with cdk8s-plus-28, and the check that both give the same objects.
 */
import { createHash } from 'crypto';
import { ApiObject, App, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Variant } from './options';
import { MigratedService, MigrationTool } from '../../src';

export interface Shared {
  readonly envFrom: kplus.EnvFrom[];
}

export function newChart(): { app: App; chart: Chart; shared: Shared } {
  const app = new App();
  const chart = new Chart(app, 'bench', { namespace: 'bench' });
  const config = new kplus.ConfigMap(chart, 'config', { metadata: { name: 'bench-config' }, data: { LOG_LEVEL: 'info' } });
  const secret = kplus.Secret.fromSecretName(chart, 'secrets', 'bench-db');
  return { app, chart, shared: { envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)] } };
}

export const serviceName = (i: number) => `svc-${i}`;
export const imageRepo = (i: number) => `registry.example.com/team/svc-${i}`;
/** A distinct CI-style tag per service; its dots make the Job name carry a hash, as in real use. */
export const imageTag = (i: number) => `v1.${2286938253 + i}.0`;
export const PORT = 8080;
export const UID = 1000;

export function libraryService(chart: Chart, shared: Shared, i: number): void {
  new MigratedService(chart, serviceName(i), {
    image: imageRepo(i),
    imageTag: imageTag(i),
    migration: { tool: MigrationTool.prisma() },
    envFrom: shared.envFrom,
    port: PORT,
    runAsUser: UID,
  });
}

/**
 * The same objects written by hand with cdk8s-plus-28, as a user without the library would.
 * The construct ids match the library's, so the `cdk8s.io/metadata.addr` selectors are the same.
 */
export function handService(chart: Chart, shared: Shared, i: number): void {
  const name = serviceName(i);
  const tag = imageTag(i);
  const image = `${imageRepo(i)}:${tag}`;
  // The tag is not a DNS label (dots): dashes instead, plus a short hash so v1.2 and v1-2 differ.
  const jobName = `${name}-migrate-${tag.replace(/\./g, '-')}-${createHash('sha256').update(tag).digest('hex').slice(0, 10)}`;
  const labels = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/version': tag,
    'app.kubernetes.io/managed-by': 'cdk8s-migrated-service',
  };
  const jobLabels = { ...labels, 'app.kubernetes.io/component': 'migration' };
  const annotations = { 'migrated-service.cdk8s.io/image-tag': tag };
  const hardened = (user?: number, group?: number): kplus.ContainerSecurityContextProps => ({
    ensureNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
    user,
    group,
  });
  const podSeccomp = JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' });

  const scope = new Construct(chart, name);
  const sa = new kplus.ServiceAccount(scope, 'ServiceAccount', { metadata: { name, labels }, automountToken: false });
  const deploymentTmp = kplus.Volume.fromEmptyDir(scope, 'DeploymentTmp', 'tmp', { sizeLimit: Size.mebibytes(256) });
  const role = new kplus.Role(scope, 'Role', { metadata: { name: `${name}-migration-waiter`, labels } });
  const binding = new kplus.RoleBinding(scope, 'RoleBinding', { metadata: { name: `${name}-migration-waiter`, labels }, role });
  binding.addSubjects(sa);

  const jobTmp = kplus.Volume.fromEmptyDir(scope, 'JobTmp', 'tmp', { sizeLimit: Size.mebibytes(256) });
  const job = new kplus.Job(scope, 'Job', {
    metadata: { name: jobName, labels: jobLabels, annotations: { ...annotations, 'kustomize.toolkit.fluxcd.io/force': 'Enabled' } },
    podMetadata: { labels: jobLabels, annotations },
    backoffLimit: 0,
    restartPolicy: kplus.RestartPolicy.NEVER,
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true },
    volumes: [jobTmp],
    containers: [{
      name: 'migrate',
      image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['npx', 'prisma', 'migrate', 'deploy'],
      envFrom: shared.envFrom,
      envVariables: { HOME: kplus.EnvValue.fromValue('/tmp') },
      volumeMounts: [{ path: '/tmp', volume: jobTmp }],
      resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) } },
      securityContext: hardened(UID),
    }],
  });
  ApiObject.of(job).addJsonPatch(podSeccomp, JsonPatch.add('/spec/podFailurePolicy', {
    rules: [
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { containerName: 'migrate', operator: 'NotIn', values: [0] } },
    ],
  }), JsonPatch.add('/spec/template/spec/containers/0/terminationMessagePolicy', 'FallbackToLogsOnError'));
  role.allow(['get'], job);

  const deployment = new kplus.Deployment(scope, 'Deployment', {
    metadata: { name, labels, annotations },
    podMetadata: { labels, annotations },
    replicas: 2,
    progressDeadline: Duration.minutes(10),
    serviceAccount: sa,
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true },
    volumes: [deploymentTmp],
    initContainers: [{
      name: 'wait-for-migration',
      image: 'groundnuty/k8s-wait-for:no-root-v2.0',
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: ['job-wr', jobName],
      envVariables: { HOME: kplus.EnvValue.fromValue('/tmp') },
      volumeMounts: [{ path: '/tmp', volume: deploymentTmp }],
      resources: {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
        memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) },
      },
      securityContext: hardened(1100, 1100),
    }],
    containers: [{
      name: 'app',
      image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      portNumber: PORT,
      envFrom: shared.envFrom,
      volumeMounts: [{ path: '/tmp', volume: deploymentTmp }],
      resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) } },
      securityContext: hardened(UID),
    }],
  });
  ApiObject.of(deployment).addJsonPatch(
    podSeccomp,
    JsonPatch.add('/spec/template/spec/volumes/-', {
      name: 'waiter-api-access',
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardApi: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }),
    JsonPatch.add('/spec/template/spec/initContainers/0/volumeMounts/-', {
      name: 'waiter-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true,
    }),
  );

  const service = deployment.exposeViaService({
    name,
    serviceType: kplus.ServiceType.CLUSTER_IP,
    ports: [{ port: PORT, targetPort: PORT, name: 'http' }],
  });
  service.metadata.addAnnotation('migrated-service.cdk8s.io/image-tag', tag);
  for (const [k, v] of Object.entries(labels)) service.metadata.addLabel(k, v);
}

export function build(variant: Variant, n: number): App {
  const { app, chart, shared } = newChart();
  const add = variant === 'library' ? libraryService : handService;
  for (let i = 0; i < n; i++) add(chart, shared, i);
  return app;
}

// ---------------------------------------------------------------------------------------------

// Equivalence: the two variants must synthesize the same objects
// ---------------------------------------------------------------------------------------------

/** Objects of a YAML stream, keys sorted recursively, as canonical JSON strings keyed by kind/name. */
export function canonicalObjects(app: App): Map<string, string> {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortKeys((v as any)[k])]));
    }
    return v;
  };
  const out = new Map<string, string>();
  for (const chart of app.charts) {
    for (const obj of chart.toJson()) {
      out.set(`${obj.kind}/${obj.metadata?.name}`, JSON.stringify(sortKeys(obj)));
    }
  }
  return out;
}

/** Returns a one-line verdict; throws when the variants do not produce the same objects. */
export function verifyEquivalence(n: number): string {
  const yaml = { library: build('library', n).synthYaml(), hand: build('hand', n).synthYaml() };
  if (yaml.library === yaml.hand) {
    return `N=${n}: library and hand-written YAML are byte-identical (${Buffer.byteLength(yaml.library)} bytes)`;
  }
  const lib = canonicalObjects(build('library', n));
  const hand = canonicalObjects(build('hand', n));
  const problems: string[] = [];
  for (const k of new Set([...lib.keys(), ...hand.keys()])) {
    if (!lib.has(k)) problems.push(`only hand-written: ${k}`);
    else if (!hand.has(k)) problems.push(`only library: ${k}`);
    else if (lib.get(k) !== hand.get(k)) problems.push(`differs: ${k}`);
  }
  const sizeDiff = Math.abs(yaml.library.length - yaml.hand.length) / yaml.hand.length;
  if (problems.length > 0 || sizeDiff > 0.03) {
    throw new Error(`N=${n}: the hand-written variant does not produce the library's objects; the comparison ` +
      `would be meaningless:\n  ${problems.join('\n  ')}\n  YAML sizes ${yaml.library.length} vs ${yaml.hand.length}`);
  }
  return `WARNING N=${n}: same objects after normalizing, but the YAML text differs (object order?); sizes ` +
    `${yaml.library.length} vs ${yaml.hand.length} bytes`;
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------
