/**
 * `cdk8s-migrated-service status <name> -n <namespace>`: judges the newest release of a service
 * from what kubectl reads with the user's kubeconfig (release.ts), and says it as text or JSON with
 * an exit code a CI step can act on (cli.ts). Reads only (`get`/`list` on Deployments, ReplicaSets,
 * StatefulSets, DaemonSets, Jobs, CronJobs, ConfigMaps and pods, `get` on pods/log). Exit codes:
 * EXIT_CODES; JSON shape: StatusJson.
 *
 * Not part of the construct API (not exported from the package index).
 */
export * from './cli';
export * from './kubectl';
export * from './release';
