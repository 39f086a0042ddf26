import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';

/** Where kubectl and client libraries look for in-cluster credentials. */
const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Lifetime of a waiter's projected token; the kubelet refreshes it before it expires. */
const WAITER_TOKEN_SECONDS = 3600;
/** The projected-token volume of a waiter init container. */
const API_ACCESS_VOLUME = 'waiter-api-access';

/**
 * The kinds `MigratedService.gate()` accepts, and where each keeps its pod spec.
 *
 * @internal
 */
export interface GatedKind {
  /** JSON pointer of the pod spec in the synthesized object. */
  readonly podSpecPath: string;
  /**
   * For a kind that rolls out (replicas or one pod per node, replaced on a change): the kind as
   * `kubectl` spells it in `<kind>/<name>`. Undefined for a Job or CronJob, which do not.
   */
  readonly rollout?: string;
}

const POD_SPEC = '/spec/template/spec';

/**
 * The gated kind of `workload`, or undefined for kinds that cannot be gated.
 *
 * @internal
 */
export function gatedKind(workload: IConstruct): GatedKind | undefined {
  if (workload instanceof kplus.Deployment) return { podSpecPath: POD_SPEC, rollout: 'deployment' };
  if (workload instanceof kplus.StatefulSet) return { podSpecPath: POD_SPEC, rollout: 'statefulset' };
  if (workload instanceof kplus.DaemonSet) return { podSpecPath: POD_SPEC, rollout: 'daemonset' };
  if (workload instanceof kplus.Job) return { podSpecPath: POD_SPEC };
  if (workload instanceof kplus.CronJob) return { podSpecPath: '/spec/jobTemplate/spec/template/spec' };
  return undefined;
}

/** Workloads already gated, and by which MigratedService (its construct path). */
const gatedBy = new WeakMap<IConstruct, string>();

/**
 * Who gates `workload`, if anyone.
 *
 * @internal
 */
export function gateOwner(workload: IConstruct): string | undefined {
  return gatedBy.get(workload);
}

/** @internal */
export function markGated(workload: IConstruct, owner: string): void {
  gatedBy.set(workload, owner);
}

/**
 * Why the pods of a synthesized workload could run as root, or undefined when they cannot: the
 * first container (init or regular) that is privileged, runs as UID 0, or is not forced non-root
 * (its own `runAsNonRoot`, else the pod's, must be true).
 *
 * @internal
 */
export function rootReason(podSpec: any): string | undefined {
  const pod = podSpec.securityContext ?? {};
  if (pod.runAsUser === 0) return 'the pod securityContext has runAsUser: 0';
  for (const c of [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) return `container "${c.name}" is privileged`;
    if (sc.runAsUser === 0) return `container "${c.name}" has runAsUser: 0`;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) {
      return `container "${c.name}" has runAsNonRoot: ${JSON.stringify(sc.runAsNonRoot ?? pod.runAsNonRoot ?? null)}`;
    }
  }
  return undefined;
}

/**
 * The pod spec of a synthesized workload.
 *
 * @internal
 */
export function podSpecOf(workload: IConstruct, podSpecPath: string): any {
  let at: any = ApiObject.of(workload).toJson();
  for (const key of podSpecPath.split('/').slice(1)) at = at[key];
  return at;
}

/**
 * Give some init containers (and only them) credentials for the API server: a projected
 * service-account token, the cluster CA and the namespace, where kubectl looks for them. The pod
 * itself keeps `automountServiceAccountToken` as it is (false unless the user asked). cdk8s-plus-28
 * has no projected volumes, hence the patches (keys in the generated TypeScript spelling: `downwardApi`).
 *
 * @internal
 */
export function mountWaiterToken(workload: IConstruct, podSpecPath: string, ...initContainerIndices: number[]): void {
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add(`${podSpecPath}/volumes/-`, {
      name: API_ACCESS_VOLUME,
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: WAITER_TOKEN_SECONDS } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardApi: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }),
    ...initContainerIndices.map(index => JsonPatch.add(`${podSpecPath}/initContainers/${index}/volumeMounts/-`, {
      name: API_ACCESS_VOLUME, mountPath: SERVICE_ACCOUNT_PATH, readOnly: true,
    })),
  );
}
