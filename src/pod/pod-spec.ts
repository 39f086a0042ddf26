import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';

/**
 * Where a Deployment, StatefulSet, DaemonSet or Job keeps its pod spec (JSON pointer).
 *
 * @internal
 */
export const POD_SPEC_PATH = '/spec/template/spec';

/**
 * Where a CronJob keeps its pod spec.
 *
 * @internal
 */
export const CRONJOB_POD_SPEC_PATH = '/spec/jobTemplate/spec/template/spec';

/**
 * The init containers, then the containers, of a synthesized pod spec.
 *
 * @internal
 */
export function podContainers(spec: any): any[] {
  return [...spec.initContainers ?? [], ...spec.containers ?? []];
}

/** Where the writable emptyDir is mounted; also HOME for tools that need one. */
export const TMP_PATH = '/tmp';

/** Where kubectl and client libraries look for in-cluster credentials. */
const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Lifetime of a projected API token; the kubelet refreshes it before it expires. */
const API_TOKEN_SECONDS = 3600;
/** The projected-token volume of the init containers that use the API. */
const API_ACCESS_VOLUME = 'waiter-api-access';

/**
 * The value at a JSON pointer (of plain keys) in `json`, or undefined.
 *
 * @internal
 */
export function valueAt(json: any, pointer: string): any {
  let at: any = json;
  for (const key of pointer.split('/').slice(1)) at = at?.[key];
  return at;
}

/**
 * A small writable emptyDir for `/tmp` (and HOME where a tool needs one) under a read-only root
 * filesystem.
 *
 * @internal
 */
export function tmpVolume(scope: Construct, id: string, name: string = 'tmp'): kplus.Volume {
  return kplus.Volume.fromEmptyDir(scope, id, name, { sizeLimit: Size.mebibytes(256) });
}

/**
 * The mount of a `tmpVolume` at `/tmp`.
 *
 * @internal
 */
export function tmpMount(volume: kplus.Volume): kplus.VolumeMount {
  return { path: TMP_PATH, volume };
}

/**
 * Pod-level hardening cdk8s-plus-28 cannot express: `seccompProfile: RuntimeDefault` on the pod.
 * The restricted standard accepts it on every container instead, but setting it on the pod also
 * covers containers added later through escape hatches.
 *
 * @internal
 */
export function hardenPod(workload: Construct, podSpecPath: string = POD_SPEC_PATH): void {
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add(`${podSpecPath}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }),
  );
}

/**
 * Give some init containers (and only them) credentials for the API server: a projected
 * service-account token, the cluster CA and the namespace, where kubectl looks for them. The pod
 * itself keeps `automountServiceAccountToken` as it is (false unless the user asked). cdk8s-plus-28
 * has no projected volumes, hence the patches (keys in the generated TypeScript spelling: `downwardApi`).
 *
 * @internal
 */
export function mountApiToken(workload: IConstruct, podSpecPath: string, ...initContainerIndices: number[]): void {
  mountApiTokenIn(workload, podSpecPath, initContainerIndices, []);
}

/**
 * `mountApiToken` for chosen init containers and chosen (main) containers.
 *
 * @internal
 */
export function mountApiTokenIn(workload: IConstruct, podSpecPath: string, initContainerIndices: number[], containerIndices: number[]): void {
  const mount = { name: API_ACCESS_VOLUME, mountPath: SERVICE_ACCOUNT_PATH, readOnly: true };
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add(`${podSpecPath}/volumes/-`, {
      name: API_ACCESS_VOLUME,
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: API_TOKEN_SECONDS } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardApi: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }),
    ...initContainerIndices.map(index => JsonPatch.add(`${podSpecPath}/initContainers/${index}/volumeMounts/-`, mount)),
    ...containerIndices.map(index => JsonPatch.add(`${podSpecPath}/containers/${index}/volumeMounts/-`, mount)),
  );
}
