import { ApiObject } from 'cdk8s';
import { GATED_BY_LABEL } from '../facts';
import { podContainers, TMP_PATH, valueAt } from '../pod/pod-spec';

/**
 * cdk8s-plus' own container resources (1 CPU / 512Mi requested, 1.5 CPU / 2Gi limits), as it
 * synthesizes them when the user sets none: the library cannot tell them from a user's choice of
 * the same values, so a gated workload with exactly these gets the library's defaults instead.
 *
 * @internal
 */
export const CDK8S_PLUS_RESOURCES = { limits: { cpu: '1500m', memory: '2048Mi' }, requests: { cpu: '1000m', memory: '512Mi' } };

/**
 * The progress deadline cdk8s-plus writes on every Deployment (and Kubernetes' own default when
 * none is set): counted as unset, like its resources, so a gated Deployment gets the service's.
 *
 * @internal
 */
export const CDK8S_PLUS_PROGRESS_DEADLINE_SECONDS = 600;

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
  /** The gating service's name: the value of `GATED_BY_LABEL` on the object itself. */
  readonly gatedBy: string;
  /** The service's progress deadline, for a Deployment with none or cdk8s-plus' default. */
  readonly progressDeadlineSeconds: number;
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
  // The labels go on every object along the path: the workload, a CronJob's Job template, the pod
  // template (each sits just before a "/spec" of the pointer).
  const segments = podSpecPath.split('/');
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] !== 'spec') continue;
    const owner = valueAt(json, segments.slice(0, i).join('/'));
    owner.metadata = owner.metadata ?? {};
    owner.metadata.labels = { ...edits.labels, ...owner.metadata.labels };
  }
  json.metadata.labels[GATED_BY_LABEL] = edits.gatedBy;
  if (json.apiVersion === 'apps/v1' && json.kind === 'Deployment') {
    const given = json.spec.progressDeadlineSeconds;
    if (given === undefined || given === CDK8S_PLUS_PROGRESS_DEADLINE_SECONDS) {
      json.spec.progressDeadlineSeconds = edits.progressDeadlineSeconds;
    }
  }
  const template = valueAt(json, podSpecPath.slice(0, -'/spec'.length));
  template.metadata.annotations = { ...template.metadata.annotations, ...edits.podAnnotations };

  const sc = podSpec.securityContext = podSpec.securityContext ?? {};
  if (sc.seccompProfile?.type !== 'Localhost') sc.seccompProfile = { type: 'RuntimeDefault' };

  const volumes: any[] = podSpec.volumes = podSpec.volumes ?? [];
  let needTmp = edits.initContainers.length > 0;
  for (const c of podContainers(podSpec)) {
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
    if (c.securityContext?.readOnlyRootFilesystem === true && !mounts.some(m => m.mountPath === TMP_PATH)) {
      c.volumeMounts = [...mounts, { mountPath: TMP_PATH, name: edits.tmpVolume.name }];
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
