import { ApiObject, JsonPatch } from 'cdk8s';
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

/** What `gate()` accepts, by the `apiVersion` and `kind` of the object the workload synthesizes. */
const GATED_KINDS: { [apiVersionAndKind: string]: GatedKind } = {
  'apps/v1 Deployment': { podSpecPath: POD_SPEC, rollout: 'deployment' },
  'apps/v1 StatefulSet': { podSpecPath: POD_SPEC, rollout: 'statefulset' },
  'apps/v1 DaemonSet': { podSpecPath: POD_SPEC, rollout: 'daemonset' },
  'batch/v1 Job': { podSpecPath: POD_SPEC },
  'batch/v1 CronJob': { podSpecPath: '/spec/jobTemplate/spec/template/spec' },
};

/** The accepted kinds, for error messages. */
export const GATED_KINDS_TEXT = 'a Deployment, StatefulSet or DaemonSet (apps/v1), or a Job or CronJob (batch/v1)';

/**
 * The API object `workload` synthesizes: itself if it is one, else its default child (as cdk8s-plus
 * constructs of any version and imported `Kube*` classes have), or undefined if it has none.
 * Recognized by shape rather than `instanceof`, so an app whose cdk8s is another copy works too.
 *
 * @internal
 */
export function apiObjectOf(workload: IConstruct | undefined): ApiObject | undefined {
  let at: any = workload;
  for (let depth = 0; at && depth < 8; depth++) {
    if (at instanceof ApiObject || (typeof at.apiVersion === 'string' && typeof at.kind === 'string' &&
      typeof at.toJson === 'function' && typeof at.addJsonPatch === 'function')) {
      return at as ApiObject;
    }
    at = at.node?.defaultChild;
  }
  return undefined;
}

/**
 * The gated kind of `workload` (found by the `apiVersion` and `kind` it synthesizes), or undefined
 * for kinds that cannot be gated.
 *
 * @internal
 */
export function gatedKind(workload: IConstruct | undefined): GatedKind | undefined {
  const obj = apiObjectOf(workload);
  return obj ? GATED_KINDS[`${obj.apiVersion} ${obj.kind}`] : undefined;
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
  return valueAt(apiObjectOf(workload)!.toJson(), podSpecPath);
}

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

/**
 * cdk8s-plus' own container resources (1 CPU / 512Mi requested, 1.5 CPU / 2Gi limits), as it
 * synthesizes them when the user sets none: the library cannot tell them from a user's choice of
 * the same values, so a gated workload with exactly these gets the library's defaults instead.
 *
 * @internal
 */
export const CDK8S_PLUS_RESOURCES = { limits: { cpu: '1500m', memory: '2048Mi' }, requests: { cpu: '1000m', memory: '512Mi' } };

/**
 * Whether an image reference names a tag other than `latest`, or a digest: only such images may
 * be pulled `IfNotPresent`, as a node's cached copy is the one meant.
 *
 * @internal
 */
export function isPinnedImage(image: unknown): boolean {
  if (typeof image !== 'string') return false;
  if (image.includes('@')) return true;
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  return colon >= 0 && lastPart.slice(colon + 1) !== 'latest';
}

/** What `gate()` adds to a workload's synthesized object. @internal */
export interface GateEdits {
  /** The service's labels: added to the object and its pods where the key is not set. */
  readonly labels: { [key: string]: string };
  /** Annotations set on the pod template (the tag: a new tag always rolls the pods). */
  readonly podAnnotations: { [key: string]: string };
  /** The library's container resources (JSON), for containers without any or with cdk8s-plus' own. */
  readonly resources: any;
  /** The writable /tmp emptyDir volume (JSON). */
  readonly tmpVolume: any;
  /** Init containers (JSON) to put first. */
  readonly initContainers: any[];
  /** Volumes the init containers need besides `tmpVolume` (JSON). */
  readonly volumes: any[];
  /** The ServiceAccount to run under when the pod names none (and then no automounted token). */
  readonly serviceAccountName?: string;
}

/**
 * Apply `edits` to the pod spec at `podSpecPath` of a synthesized workload, in the API's own
 * spelling (the object is final: cdk8s-plus, `Kube*` and raw `ApiObject` alike).
 *
 * @internal
 */
export function applyGateEdits(json: any, podSpecPath: string, edits: GateEdits): any {
  const podSpec = valueAt(json, podSpecPath);
  if (!podSpec) return json;
  const template = valueAt(json, podSpecPath.slice(0, -'/spec'.length));
  json.metadata = json.metadata ?? {};
  json.metadata.labels = { ...edits.labels, ...json.metadata.labels };
  template.metadata = template.metadata ?? {};
  template.metadata.labels = { ...edits.labels, ...template.metadata.labels };
  template.metadata.annotations = { ...template.metadata.annotations, ...edits.podAnnotations };

  const sc = podSpec.securityContext = podSpec.securityContext ?? {};
  if (sc.seccompProfile?.type !== 'Localhost') sc.seccompProfile = { type: 'RuntimeDefault' };

  const volumes: any[] = podSpec.volumes = podSpec.volumes ?? [];
  let needTmp = edits.initContainers.length > 0;
  for (const c of [...podSpec.initContainers ?? [], ...podSpec.containers ?? []]) {
    const r = c.resources;
    if (!r || Object.keys(r).length === 0 || JSON.stringify(r) === JSON.stringify(CDK8S_PLUS_RESOURCES)) {
      c.resources = JSON.parse(JSON.stringify(edits.resources));
    }
    if ((c.imagePullPolicy === undefined || c.imagePullPolicy === 'Always') && isPinnedImage(c.image)) {
      c.imagePullPolicy = 'IfNotPresent';
    }
    // The restricted standard's container rules, where the container says nothing (cdk8s-plus
    // sets allowPrivilegeEscalation but drops no capabilities unless told).
    const csc = c.securityContext = c.securityContext ?? {};
    if (csc.allowPrivilegeEscalation === undefined && csc.privileged !== true) csc.allowPrivilegeEscalation = false;
    if (csc.capabilities?.drop === undefined) csc.capabilities = { ...csc.capabilities, drop: ['ALL'] };
    const mounts: any[] = c.volumeMounts ?? [];
    if (c.securityContext?.readOnlyRootFilesystem === true && !mounts.some(m => m.mountPath === '/tmp')) {
      c.volumeMounts = [...mounts, { mountPath: '/tmp', name: edits.tmpVolume.name }];
      needTmp = true;
    }
  }
  if (needTmp) volumes.push(edits.tmpVolume);
  volumes.push(...edits.volumes);
  if (volumes.length === 0) delete podSpec.volumes;

  if (edits.initContainers.length > 0) {
    podSpec.initContainers = [...edits.initContainers, ...podSpec.initContainers ?? []];
  }
  if (edits.serviceAccountName && !podSpec.serviceAccountName) {
    podSpec.serviceAccountName = edits.serviceAccountName;
    podSpec.automountServiceAccountToken = false;
  }
  return json;
}

/**
 * Have `obj` synthesize with `edit` applied to its final JSON, after its own patches and (for
 * generated `Kube*` classes) the conversion to the API's spelling: the one place where objects of
 * every origin look the same.
 *
 * @internal
 */
export function editAtSynth(obj: ApiObject, edit: (json: any) => any): void {
  const toJson = obj.toJson.bind(obj);
  Object.defineProperty(obj, 'toJson', { value: () => edit(toJson()), configurable: true, writable: true });
}
