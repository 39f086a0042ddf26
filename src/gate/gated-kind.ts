import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { CRONJOB_POD_SPEC_PATH, POD_SPEC_PATH } from '../pod/pod-spec';

/**
 * The kinds `MigratedService.gate()` accepts (the alerts name them so too).
 *
 * @internal
 */
export type GatedKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/**
 * A kind `gate()` accepts, and where it keeps its pod spec.
 *
 * @internal
 */
export interface GatedKind {
  /** The kind, as the object says it (and the alerts name it). */
  readonly kind: GatedKindName;
  /** JSON pointer of the pod spec in the synthesized object. */
  readonly podSpecPath: string;
  /**
   * For a kind that rolls out (replicas or one pod per node, replaced on a change): the kind as
   * `kubectl` spells it in `<kind>/<name>`. Undefined for a Job or CronJob, which do not.
   */
  readonly rollout?: string;
}

/** What `gate()` accepts, by the `apiVersion` and `kind` of the object the workload synthesizes. */
const GATED_KINDS: { [apiVersionAndKind: string]: GatedKind } = {
  'apps/v1 Deployment': { kind: 'Deployment', podSpecPath: POD_SPEC_PATH, rollout: 'deployment' },
  'apps/v1 StatefulSet': { kind: 'StatefulSet', podSpecPath: POD_SPEC_PATH, rollout: 'statefulset' },
  'apps/v1 DaemonSet': { kind: 'DaemonSet', podSpecPath: POD_SPEC_PATH, rollout: 'daemonset' },
  'batch/v1 Job': { kind: 'Job', podSpecPath: POD_SPEC_PATH },
  'batch/v1 CronJob': { kind: 'CronJob', podSpecPath: CRONJOB_POD_SPEC_PATH },
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

/** The construct metadata type that records which MigratedService gates a workload. */
const GATED_BY = 'cdk8s-migrated-service:gated-by';

/**
 * Who gates `workload` (the construct path of a MigratedService), if anyone: kept on the
 * workload's own node, so it lives and dies with the construct tree.
 *
 * @internal
 */
export function gateOwner(workload: IConstruct): string | undefined {
  return workload.node.metadata.find(m => m.type === GATED_BY)?.data;
}

/** @internal */
export function markGated(workload: IConstruct, owner: string): void {
  workload.node.addMetadata(GATED_BY, owner);
}
