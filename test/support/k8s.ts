/**
 * Test support: synthesize charts, pick objects, validate them against the Kubernetes schemas
 * (kubernetes-models) and against the "restricted" Pod Security Standard.
 */
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { MigratedService, MigratedServiceProps, MigrationTool } from '../../src';
import { MIGRATE_WRAPPER_SCRIPT } from '../../src/history/history-scripts';

export type Manifest = { apiVersion: string; kind: string; metadata: any; [key: string]: any };

/** Props every test starts from; override what the test is about. */
export function baseProps(overrides: Partial<MigratedServiceProps> = {}): MigratedServiceProps {
  return {
    image: 'registry.example.com/myapp',
    imageTag: 'v1.2.3',
    migration: { tool: MigrationTool.prisma() },
    ...overrides,
  };
}

/** GIVEN a chart in namespace `myapp`, WHEN `build` adds constructs, THEN these objects are synthesized. */
export function synth(build: (chart: Chart) => void, namespace = 'myapp'): Manifest[] {
  const app = new App();
  const chart = new Chart(app, 'test', { namespace });
  build(chart);
  return app.charts.flatMap(c => c.toJson()) as Manifest[];
}

/** Synthesize one MigratedService with `baseProps(overrides)`. */
export function synthService(overrides: Partial<MigratedServiceProps> = {}, id = 'myapp'): Manifest[] {
  return synth(chart => new MigratedService(chart, id, baseProps(overrides)));
}

/** Synthesize the whole app to one YAML string (what `cdk8s synth` writes). */
export function synthYaml(build: (chart: Chart) => void): string {
  const app = new App();
  build(new Chart(app, 'test', { namespace: 'myapp' }));
  return app.synthYaml();
}

/**
 * The migration lock's and the migration history's ServiceAccount, Role and RoleBinding (on by
 * default). `all()` and `one()` leave them out, so a test about the waiter's or the post-rollout's
 * RBAC reads only those; test/migration-lock.test.ts and test/history.test.ts are about these.
 */
export function isLockObject(m: Manifest): boolean {
  return m.metadata?.labels?.['app.kubernetes.io/component'] === 'migration-lock';
}

export function isHistoryObject(m: Manifest): boolean {
  return m.metadata?.labels?.['app.kubernetes.io/component'] === 'migration-history';
}

export function lockObjects(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter(m => m.kind === kind && isLockObject(m));
}

export function historyObjects(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter(m => m.kind === kind && isHistoryObject(m));
}

export function all(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter(m => m.kind === kind && !isLockObject(m) && !isHistoryObject(m));
}

export function one(manifests: Manifest[], kind: string): Manifest {
  const found = all(manifests, kind);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  }
  return found[0];
}

/** Pod specs of every workload, with the kind that owns them. */
export function podSpecs(manifests: Manifest[]): { owner: string; spec: any }[] {
  return manifests
    .filter(m => ['Deployment', 'Job', 'StatefulSet', 'DaemonSet'].includes(m.kind))
    .map(m => ({ owner: `${m.kind}/${m.metadata.name}`, spec: m.spec.template.spec }));
}

export function initContainer(manifests: Manifest[]): any | undefined {
  return (one(manifests, 'Deployment').spec.template.spec.initContainers ?? [])[0];
}

/**
 * The migration tool's argv in a migrate container that runs it through the history's wrapper
 * (`[shell, '-c', MIGRATE_WRAPPER_SCRIPT, 'migrate', ...tool]`, the default). Throws when the
 * command is not wrapped so, so a test that reads the tool's argv also proves the wrapper is there.
 */
export function toolCommand(container: any, shell = '/bin/sh'): string[] {
  const command: string[] = container.command ?? [];
  const [sh, dashC, script, name] = command;
  if (sh !== shell || dashC !== '-c' || script !== MIGRATE_WRAPPER_SCRIPT || name !== 'migrate') {
    throw new Error(`container ${container.name} does not run its tool through the history's wrapper in ${shell}: ${JSON.stringify(command.slice(0, 2))}…`);
  }
  return command.slice(4);
}

const MODELS: { [key: string]: new (data: any) => { validate(): void } } = {
  'apps/v1/Deployment': appsV1.Deployment,
  'batch/v1/Job': batchV1.Job,
  'v1/ServiceAccount': coreV1.ServiceAccount,
  'v1/Service': coreV1.Service,
  'v1/ConfigMap': coreV1.ConfigMap,
  'v1/Secret': coreV1.Secret,
  'rbac.authorization.k8s.io/v1/Role': rbacV1.Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': rbacV1.RoleBinding,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** Validate each object against its Kubernetes schema; throws naming the object on failure. */
export function validateSchemas(manifests: Manifest[]): void {
  for (const m of manifests) {
    const Model = MODELS[`${m.apiVersion}/${m.kind}`];
    if (!Model) {
      throw new Error(`no schema registered for ${m.apiVersion} ${m.kind}`);
    }
    try {
      new Model(m).validate();
    } catch (e) {
      throw new Error(`${m.kind}/${m.metadata?.name} does not match the Kubernetes schema: ${(e as Error).message}`);
    }
  }
}

const RESTRICTED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** The security context every container of this library must carry itself (restricted PSS + read-only root). */
export const RESTRICTED_CONTAINER = {
  privileged: false,
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * The checks of the "restricted" Pod Security Standard (which includes "baseline"), as the
 * PodSecurity admission controller applies them to a pod spec. Returns the violations.
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export function restrictedViolations(spec: any): string[] {
  const v: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push('host namespaces');
  for (const vol of spec.volumes ?? []) {
    const type = Object.keys(vol).find(k => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.includes(type)) v.push(`volume ${vol.name} has type ${type}`);
  }
  if (pod.runAsUser === 0) v.push('pod runAsUser 0');
  if (pod.seccompProfile && !['RuntimeDefault', 'Localhost'].includes(pod.seccompProfile.type)) v.push('pod seccomp');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const name = `container ${c.name}`;
    if (sc.privileged) v.push(`${name} privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${name} allowPrivilegeEscalation is not false`);
    const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (runAsNonRoot !== true) v.push(`${name} runAsNonRoot is not true`);
    if (sc.runAsUser === 0) v.push(`${name} runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) v.push(`${name} seccompProfile is ${seccomp}`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) v.push(`${name} does not drop ALL capabilities`);
    const add: string[] = sc.capabilities?.add ?? [];
    if (add.some(cap => cap !== 'NET_BIND_SERVICE')) v.push(`${name} adds capabilities ${add}`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${name} hostPort`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${name} procMount`);
    if (sc.windowsOptions?.hostProcess) v.push(`${name} hostProcess`);
  }
  return v;
}

/** A ConfigMap and Secret to share env from. */
export function configAndSecret(chart: Chart): { config: kplus.ConfigMap; secret: kplus.Secret } {
  const config = new kplus.ConfigMap(chart, 'config', { metadata: { name: 'myapp-config' }, data: { LOG_LEVEL: 'info' } });
  const secret = new kplus.Secret(chart, 'secret', { metadata: { name: 'myapp-db' }, stringData: { DATABASE_URL: 'postgres://x' } });
  return { config, secret };
}
