/**
 * The label `gate()` puts on a gated workload (the object itself, not its pods: adding it does not
 * roll them), valued with the gating service's name: how the status command finds the workloads a
 * release holds (`kubectl get deployments,statefulsets,daemonsets,jobs,cronjobs -l <label>=<name>`).
 * No imports: the status CLI reads it without loading the construct library.
 *
 * @internal
 */
export const GATED_BY_LABEL = 'migrated-service.cdk8s.io/gated-by';
