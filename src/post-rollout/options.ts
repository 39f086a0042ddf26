import { Duration } from 'cdk8s';
import { MigrationRunOptions } from '../run/options';

/**
 * A second migration of the same tag that runs only once the release has fully rolled out: the
 * "contract" step of an expand/contract schema change (drop the old column, tighten a constraint),
 * which must never run while a pod of the previous version is left. See docs/expand-contract.md.
 */
export interface PostRolloutOptions extends MigrationRunOptions {
  /**
   * How long the init container waits for the rollout of this tag (every replica of the service
   * and of each gated Deployment, StatefulSet and DaemonSet updated and available, no pod of
   * another tag left, terminating ones included). When it passes, or a Deployment reports
   * `ProgressDeadlineExceeded`, the Job fails without running the migration; delete the Job to try
   * again once the rollout is fixed. A gated StatefulSet or DaemonSet with the `OnDelete` update
   * strategy only rolls out when its pods are deleted (docs/expand-contract.md).
   *
   * @default Duration.minutes(30)
   */
  readonly rolloutTimeout?: Duration;

  /**
   * An image with `kubectl` and a POSIX shell (`sh`, `sed`, `date`, `sleep`) for the rollout wait.
   *
   * @default "docker.io/alpine/kubectl:1.34.1" (a versioned tag; mirror it into your registry, see docs/waiters.md#the-image)
   */
  readonly waiterImage?: string;

  /**
   * UID the rollout waiter runs as.
   *
   * @default 65532 (any non-root UID works; the default image needs no particular user)
   */
  readonly waiterRunAsUser?: number;
}
