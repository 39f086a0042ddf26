import { Duration } from 'cdk8s';

/**
 * Alerts for the release: a `monitoring.coreos.com/v1` PrometheusRule (kube-prometheus-stack) whose
 * expressions read kube-state-metrics v2.x (STABLE metrics only: `kube_job_failed`,
 * `kube_job_status_start_time`, `kube_job_status_active`, `kube_pod_owner`,
 * `kube_replicaset_owner`, `kube_job_owner`, `kube_pod_init_container_status_running`,
 * `_waiting` and `_ready`). Every expression names the exact Job of this tag and the exact workloads gated by
 * this service, never a name prefix, so another service whose name starts the same and older
 * tags' Jobs never fire them.
 *
 * Alerts: `MigrationFailed` (critical) when this tag's migration Job failed;
 * `MigrationRunningLong` (warning) when it has run longer than `migrationRunningFor`;
 * `ReleaseHeld` (warning) when a pod of the service or of a gated workload has waited in the
 * waiter init container longer than `heldFor`; `PostRolloutMigrationFailed` and
 * `PostRolloutMigrationRunningLong` for the post-rollout Job when there is one.
 */
export interface AlertOptions {
  /**
   * Extra labels on every alert, for Alertmanager routing (`team`, `severity`, ...). A `severity`
   * here replaces the default severity of every alert.
   *
   * @default - only `severity` (`critical` for failed migrations, `warning` for the rest), `service` and `image_tag`
   */
  readonly labels?: { [name: string]: string };

  /**
   * Labels of the PrometheusRule object itself, for the Prometheus Operator's `ruleSelector`
   * (kube-prometheus-stack selects `release: <its release name>` by default).
   *
   * @default - the service's labels only
   */
  readonly ruleLabels?: { [key: string]: string };

  /**
   * A runbook URL, added as the `runbook_url` annotation of every alert.
   *
   * @default - no runbook_url annotation
   */
  readonly runbookUrl?: string;

  /**
   * How long the migration Job may run before `MigrationRunningLong` fires. Must be below
   * `migration.activeDeadline` when that is set, so the alert comes before the kill. The run time
   * counts from the Job's start, so it includes any wait of the Job's pod before the migration
   * proper (scheduling, an image pull, or an init container such as a lock that waits for another
   * migration of the same service): set it above your longest migration plus such waits.
   *
   * @default - 80 % of migration.activeDeadline when set, else 15 minutes
   */
  readonly migrationRunningFor?: Duration;

  /**
   * How long a pod may wait in the waiter init container before `ReleaseHeld` fires.
   *
   * @default Duration.minutes(15)
   */
  readonly heldFor?: Duration;

  /**
   * How long the post-rollout Job may run (its wait for the rollout included) before
   * `PostRolloutMigrationRunningLong` fires. Must be below `postRollout.activeDeadline` when set.
   *
   * @default - 80 % of postRollout.activeDeadline when set, else postRollout.rolloutTimeout plus 15 minutes
   */
  readonly postRolloutRunningFor?: Duration;
}
