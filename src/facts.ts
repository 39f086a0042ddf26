/**
 * The labels and annotations by which the status command (src/status.ts) finds the parts of a
 * release on the cluster. No imports: the CLI reads them without loading the construct library.
 */

/**
 * The verbatim image tag, on every versioned object and pod of a release.
 *
 * @internal
 */
export const IMAGE_TAG_ANNOTATION = 'migrated-service.cdk8s.io/image-tag';

/**
 * The label `gate()` puts on a gated workload (the object itself, not its pods: adding it does not
 * roll them), valued with the gating service's name:
 * `kubectl get deployments,statefulsets,daemonsets,jobs,cronjobs -l <label>=<name>` finds them.
 *
 * @internal
 */
export const GATED_BY_LABEL = 'migrated-service.cdk8s.io/gated-by';

/**
 * On the service's Deployment (the object, not its pods) when the release has a post-rollout
 * migration: that Job's name, so the status command knows the release has one before it exists
 * (a Helm post-upgrade hook is created only after the rollout).
 *
 * @internal
 */
export const POST_ROLLOUT_JOB_ANNOTATION = 'migrated-service.cdk8s.io/post-rollout-job';

/**
 * The migration Job's container beside `migrate` that records a success in the migration history.
 *
 * @internal
 */
export const RECORD_CONTAINER = 'record-migration';
