import { COMPONENT_LABEL, COMPONENTS, CONTAINERS, jsonPathKey, LOCK_LABEL } from '../facts';
import { renderScript } from '../script-file';

/**
 * What one read of the service's Lease, migration Jobs and pods prints, one line per object:
 * `Kind|name|uid|creationTimestamp|component|Complete|Failed|owner uid|phase|lock running since|resourceVersion|holder`.
 * For a Job `owner uid`, `phase` and `lock running since` are empty; for a pod the condition fields
 * are, and `owner uid` is its Job's (the `controller-uid` label the Job controller sets).
 * `lock running since` is set while the pod's `migration-lock` init container runs. `holder` is a
 * Lease's holderIdentity (empty for the others, whose resourceVersion is not used).
 *
 * @internal
 */
export const LOCK_READ_JSONPATH = '{range .items[*]}{.kind}|{.metadata.name}|{.metadata.uid}'
  + `|{.metadata.creationTimestamp}|{.metadata.labels.${jsonPathKey(COMPONENT_LABEL)}}`
  + '|{.status.conditions[?(@.type=="Complete")].status}'
  + '|{.status.conditions[?(@.type=="Failed")].status}'
  + '|{.metadata.labels.controller-uid}|{.status.phase}'
  + `|{.status.initContainerStatuses[?(@.name=="${CONTAINERS.lock}")].state.running.startedAt}`
  + '|{.metadata.resourceVersion}|{.spec.holderIdentity}{"\\n"}{end}';

/**
 * The migration lock: `sh/migration-lock.sh`, whose header says what it does.
 *
 * @internal
 */
export const MIGRATION_LOCK_SCRIPT = renderScript('migration-lock.sh', {
  SCRIPT: CONTAINERS.lock,
  READ_JSONPATH: LOCK_READ_JSONPATH,
  LOCK_LABEL,
  POST_ROLLOUT_COMPONENT: COMPONENTS.postRollout,
});
