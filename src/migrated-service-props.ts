import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { AlertOptions } from './alerts/alert-options';
import { Delivery } from './delivery';
import { MigrationHistory } from './history/migration-history';
import { MigrationLock } from './lock/migration-lock';
import { RunAsOptions } from './pod/security';
import { PostRolloutOptions } from './post-rollout/options';
import { MigrationOptions } from './run/options';
import { Waiter } from './waiter';

/**
 * Props of `MigratedService`.
 */
export interface MigratedServiceProps extends RunAsOptions {
  /**
   * The service image repository, without tag or digest, e.g. `registry.example.com/myapp`.
   */
  readonly image: string;

  /**
   * The one key of the release: the image tag (`v1.2.3`) or digest (`sha256:<64 hex>`). The
   * service image, the migration image, the Job name, the waiter's target and the Role's
   * `resourceNames` all derive from it.
   */
  readonly imageTag: string;

  /**
   * Accept an `imageTag` that registries conventionally move to a new image (`latest`, `stable`,
   * `main`, `master`, `edge`, `nightly`, `dev`, … compared case-insensitively). Such a tag is
   * refused by default: the Job is named after the tag, so a re-pushed `latest` keeps the Job
   * name and its migration never runs again. Set this only when every push of the tag really is
   * a new tag for your pipeline (e.g. a throwaway dev cluster that you reset). Digests are always
   * accepted.
   *
   * @default false
   */
  readonly allowMutableTag?: boolean;

  /** The migration Job. */
  readonly migration: MigrationOptions;

  /**
   * The service name: names the Deployment, ServiceAccount and Service as it is, and starts the
   * names of the Job (`<name>-migrate-<tag>`) and the Role. A DNS-1035 label of at most 63
   * characters; a derived name that would pass 63 is cut and ends in a hash of what it stands for.
   *
   * @default - the construct id
   */
  readonly name?: string;

  /**
   * Number of pods.
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * The port the service listens on. With it, a ClusterIP Service of the same name is created.
   *
   * @default - no port, no Service
   */
  readonly port?: number;

  /**
   * Service type of the Service created for `port`.
   *
   * @default ServiceType.CLUSTER_IP
   */
  readonly serviceType?: kplus.ServiceType;

  /**
   * Environment from ConfigMaps and Secrets, shared by the migration Job and the service, so both
   * talk to the same database.
   *
   * @default - none
   */
  readonly envFrom?: kplus.EnvFrom[];

  /**
   * Environment variables, shared by the migration Job and the service.
   *
   * @default - none
   */
  readonly envVariables?: { [name: string]: kplus.EnvValue };

  /**
   * How pods wait for the migration.
   *
   * @default Waiter.kubectl() (measured against Waiter.k8sWaitFor(): docs/waiters.md)
   */
  readonly waiter?: Waiter;

  /**
   * How the manifests are delivered.
   *
   * @default Delivery.flux()
   */
  readonly delivery?: Delivery;

  /**
   * The service container's command (entrypoint).
   *
   * @default - the image's entrypoint
   */
  readonly command?: string[];

  /**
   * The service container's arguments.
   *
   * @default - the image's cmd
   */
  readonly args?: string[];

  /**
   * Resources of the service container. Passing it replaces all of the defaults.
   *
   * @default - requests cpu 100m and memory 256Mi, limit memory 512Mi, no CPU limit (docs/resources.md)
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Readiness probe of the service container.
   *
   * @default - none
   */
  readonly readiness?: kplus.Probe;

  /**
   * Liveness probe of the service container.
   *
   * @default - none
   */
  readonly liveness?: kplus.Probe;

  /**
   * Startup probe of the service container.
   *
   * @default - a TCP probe on `port` when it is set, every 1 s for up to 300 failures: a service
   * gets 5 minutes to start listening and is marked started (Ready, with no readiness probe)
   * within about a second of listening; else none
   */
  readonly startup?: kplus.Probe;

  /**
   * Extra labels for every object and pod, those of workloads passed to `gate()` included (where they do not set the key).
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * Secret with registry credentials for pulling the images (`imagePullSecrets`).
   *
   * @default - none
   */
  readonly imagePullSecret?: kplus.ISecret;

  /**
   * Mount the service's root filesystem read-only. `/tmp` is always a writable emptyDir.
   *
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;

  /**
   * Pod `fsGroup`, for volumes the service must write to.
   *
   * @default - none
   */
  readonly fsGroup?: number;

  /**
   * Give the service container a token for the Kubernetes API (`automountServiceAccountToken`).
   * A waiter that reads the API (`Waiter.kubectl()`, the default) gets its own projected token
   * either way; `Waiter.schemaCheck()` and `Waiter.none()` get none, so with this false nothing
   * in the pod has a token.
   *
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;

  /**
   * A second migration of the same tag that runs only after the Deployment and every workload
   * gated with `gate()` fully rolled out to this tag (every replica updated and available, no pod
   * of another tag left): the "contract" step of an expand/contract schema change. Delivered as a
   * Helm `post-install,post-upgrade` hook, an Argo CD `PostSync` hook, or (Flux, kubectl) a Job
   * whose init container waits for the rollout; the wait runs in every target. It never runs when
   * the rollout does not complete. See docs/expand-contract.md.
   *
   * @default - no post-rollout migration
   */
  readonly postRollout?: PostRolloutOptions;

  /**
   * How the service's migrations are kept from running at the same time: overlapping releases
   * (two pipelines, a sync during a rollout, a re-created Job) migrate one after the other, in the
   * order their Jobs were created, and the post-rollout migration of one tag never overlaps the
   * migration of the next. Turn it off only where nothing can start two migrations at once (see
   * `MigrationLock.none()`).
   *
   * @default MigrationLock.lease()
   */
  readonly migrationLock?: MigrationLock;

  /**
   * How the service remembers which tags migrated, so that a rollback never runs an old migration
   * again and is never held by a Job that is gone: a tag whose migration (or post-rollout
   * migration) already succeeded skips it when its Job is re-created, the kubectl waiter opens the
   * gate of such a tag from the history, and rolling back past a newer tag's contract step is held
   * until `npx cdk8s-migrated-service allow-rollback` allows it. It also keeps only the newest
   * finished Jobs (`jobHistoryLimit`). See docs/rollbacks.md.
   *
   * Needs a POSIX `sh` in the migration image (the migrate container runs the tool through it).
   *
   * @default MigrationHistory.configMap()
   */
  readonly migrationHistory?: MigrationHistory;

  /**
   * How long a rollout may make no progress before the Deployment reports
   * `ProgressDeadlineExceeded`: this is how a migration that never completes shows up.
   *
   * @default - 10 minutes, or the migration's activeDeadline plus 5 minutes if that is longer
   */
  readonly progressDeadline?: Duration;

  /**
   * How the Deployment replaces old pods with new ones.
   *
   * The default starts every new pod at once, next to the old ones (`maxSurge` 100%), and stops
   * an old pod only when a new one is Ready (`maxUnavailable` 0). The new pods wait at the gate
   * while the migration runs, so they all start the moment it completes: a rollout then costs one
   * pod start beyond the migration whatever the replica count, where cdk8s-plus' default (25% /
   * 25%) starts them in waves (measured in docs/performance.md). The price is up to twice the
   * pods' requests for the length of the rollout; where the cluster cannot hold that, the extra
   * pods stay Pending until old pods go, or pass e.g.
   * `DeploymentStrategy.rollingUpdate({ maxSurge: PercentOrAbsolute.percent(25) })`.
   *
   * @default DeploymentStrategy.rollingUpdate({ maxSurge: PercentOrAbsolute.percent(100), maxUnavailable: PercentOrAbsolute.absolute(0) })
   */
  readonly strategy?: kplus.DeploymentStrategy;

  /**
   * Alerts for this release, as a `monitoring.coreos.com/v1` PrometheusRule (for the Prometheus
   * Operator / kube-prometheus-stack, reading kube-state-metrics v2.x): this tag's migration
   * failed or runs long, pods of the service or of a gated workload are held in the waiter, and
   * the same Job alerts for the post-rollout migration. See `AlertOptions` and docs/troubleshooting.md.
   *
   * @default - no PrometheusRule
   */
  readonly alerts?: AlertOptions;
}
