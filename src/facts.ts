/**
 * The names the library's objects, its in-pod scripts and its CLI (status, allow-rollback) agree
 * on: labels, annotations, component values and container names. Each is written here once;
 * scripts get them rendered into their text. No imports: the CLI reads them without loading the
 * construct library.
 */

/** The recommended labels the library sets (and reads back). @internal */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** @internal */
export const VERSION_LABEL = 'app.kubernetes.io/version';
/** @internal */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Its value on every object of the library. @internal */
export const MANAGED_BY = 'cdk8s-migrated-service';
/** @internal */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/**
 * A label or annotation key as a kubectl JSONPath field name: its dots escaped.
 *
 * @internal
 */
export function jsonPathKey(key: string): string {
  return key.replace(/\./g, '\\.');
}

/**
 * The `app.kubernetes.io/component` values: the service's pods (in its selector), the two
 * migration Jobs (the lock orders a post-rollout Job by it; the status command finds each Job by
 * it), and the lock's and the history's RBAC objects and ConfigMap.
 *
 * @internal
 */
export const COMPONENTS = {
  server: 'server',
  migration: 'migration',
  postRollout: 'post-rollout-migration',
  lock: 'migration-lock',
  history: 'migration-history',
} as const;

/**
 * On a migration Job and its pods, valued with the service name: the migration lock finds the
 * service's Jobs by it.
 *
 * @internal
 */
export const LOCK_LABEL = 'migrated-service.cdk8s.io/migration-lock';

/**
 * On a migration Job and its pods when the service has a migration history, valued with the
 * service name: the record container finds the service's finished Jobs by it to prune them.
 *
 * @internal
 */
export const HISTORY_LABEL = 'migrated-service.cdk8s.io/migration-history';

/**
 * On a Job whose run was skipped because the history shows its step done: why, for `kubectl
 * describe` and the status command.
 *
 * @internal
 */
export const SKIPPED_ANNOTATION = 'migrated-service.cdk8s.io/skipped';

/**
 * The containers the library adds, by name: the status command reads their states and logs, the
 * Job's podFailurePolicy names them, kubectl-based scripts name themselves by them.
 *
 * @internal
 */
export const CONTAINERS = {
  /** The migration tool, in a migration or post-rollout Job. */
  migrate: 'migrate',
  /** Records a success in the migration history, beside `migrate`. */
  record: 'record-migration',
  /** Takes the migration lock (and reads the history after it). */
  lock: 'migration-lock',
  /** Reads the history when there is no lock container to do it. */
  historyCheck: 'migration-history',
  /** Clears the tool's own stale lock, after the migration lock. */
  clearToolLock: 'clear-tool-lock',
  /** The post-rollout Job's wait for the rollout of its tag. */
  rolloutWaiter: 'wait-for-rollout',
  /** The kubectl and k8s-wait-for waiters of a gated pod. */
  jobWaiter: 'wait-for-migration',
  /** The schema-check waiter of a gated pod. */
  schemaCheck: 'check-migration',
} as const;

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
 * The migration history is one ConfigMap per service, `<service>-migration-history`, created by
 * the first migration that succeeds and written only by the library's containers. Its key `log`
 * holds one line per event, oldest first:
 *
 * `SEQ|EVENT|TAG|TIME|DETAIL`
 *
 * - `migrated`: TAG's migration succeeded at TIME; DETAIL is the Job's name.
 * - `contracted`: TAG's post-rollout (contract) migration succeeded; DETAIL is the Job's name.
 * - `allowed`: someone allowed rolling back to TAG past the contract steps up to SEQ number
 *   DETAIL's first word; the rest of DETAIL is their reason.
 *
 * SEQ counts up by one per line. Tags cannot contain `|`, so every field but the last is plain.
 */
export const HISTORY_KEY = 'log';
