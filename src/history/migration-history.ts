import { checkInt, Fail } from '../checks';
import { historyConfigMapName } from './history-log';

/** Options for `MigrationHistory.configMap()`. */
export interface ConfigMapMigrationHistoryOptions {
  /**
   * How many events the history keeps (a migration, a post-rollout migration, an allowed
   * rollback: one line each); the oldest go first. A rollback to a tag whose line is gone runs its
   * migration again, as without a history.
   *
   * @default 100
   */
  readonly limit?: number;

  /**
   * How many finished migration Jobs of the service are kept (the newest, this release's
   * included), and as many finished post-rollout Jobs, like a Deployment's
   * `revisionHistoryLimit`: with versioned Job names (`Delivery.flux()`, `Delivery.kubectl()`)
   * nothing else removes them when `kubectl apply` has no `--prune` or Flux has `prune: false`.
   * The history keeps the facts, so a deleted Job is never needed again. Older finished Jobs are
   * deleted by the record container while the next migration runs; unfinished Jobs never are.
   *
   * Deleting them needs `delete` on Jobs in the namespace (the API cannot limit it by name), in
   * the record container only. Hook targets (`Delivery.helm()`, `Delivery.argoCd()`) keep one Job
   * name that their hook delete policy replaces: no Job is deleted and no such permission granted.
   *
   * @default 3
   */
  readonly jobHistoryLimit?: number;

  /**
   * Keep every finished Job (no pruning, no `delete` permission): for pipelines that prune
   * (`kubectl apply --prune`, Flux `prune: true`) or clean up Jobs themselves.
   *
   * @default false
   */
  readonly keepAllJobs?: boolean;

  /**
   * The migration image's POSIX shell. The migrate container runs the tool through it (builtins
   * only) so that a step the history shows as done is skipped and the tool's exit code reaches
   * the record container. An image without a shell cannot use the history: build it from a base
   * with one, or pass `MigrationHistory.none()`.
   *
   * @default "/bin/sh"
   */
  readonly shell?: string;
}

/**
 * What the history adds to a service, resolved.
 *
 * @internal
 */
export interface MigrationHistorySpec {
  /** The ConfigMap, `<service>-migration-history`. */
  readonly configMapName: string;
  readonly limit: number;
  /** Finished Jobs to keep; undefined: none are deleted. */
  readonly jobHistoryLimit?: number;
  readonly shell: string;
}

/**
 * How a service remembers which tags migrated, so that going back is as safe as going forward.
 *
 * Delivery tools re-create old Jobs (Flux's revert after garbage collection, an Argo CD Git
 * revert, `kubectl apply --prune`) and delete them (TTLs, pruning, Argo CD's rollback). With the
 * history a tag's migration (and its post-rollout migration) succeeds at most once per service:
 * a re-created Job ends Complete without running the tool and says why, and the kubectl waiter
 * opens the gate of a tag that already migrated even when its Job is gone. Rolling back past a
 * newer tag's contract step is held until someone allows it (`npx cdk8s-migrated-service
 * allow-rollback`). See docs/rollbacks.md.
 */
export abstract class MigrationHistory {
  /**
   * The default: a ConfigMap per service, `<service>-migration-history`, created by the first
   * migration that succeeds and written only by the migration Jobs' `record-migration` container
   * (and by `allow-rollback`). No delivery tool owns it, so none prunes it.
   */
  public static configMap(options: ConfigMapMigrationHistoryOptions = {}): MigrationHistory {
    return new ConfigMapMigrationHistory(options);
  }

  /**
   * No history: a re-created Job runs its migration again, and pods of a tag whose Job is gone
   * wait for it. For migration images without a shell.
   */
  public static none(): MigrationHistory {
    return new NoMigrationHistory();
  }

  /** `config-map` or `none`. */
  public abstract readonly kind: string;

  protected constructor() {}

  /** @internal */
  public abstract _bind(serviceName: string, versionedJobs: boolean, fail: Fail): MigrationHistorySpec | undefined;
}

class ConfigMapMigrationHistory extends MigrationHistory {
  public readonly kind = 'config-map';

  constructor(private readonly options: ConfigMapMigrationHistoryOptions) {
    super();
  }

  public _bind(serviceName: string, versionedJobs: boolean, fail: Fail): MigrationHistorySpec {
    const o = this.options;
    checkInt('migrationHistory.limit', o.limit, 10, 1000, fail);
    checkInt('migrationHistory.jobHistoryLimit', o.jobHistoryLimit, 1, 100, fail);
    if (o.keepAllJobs !== undefined && typeof o.keepAllJobs !== 'boolean') {
      fail('migrationHistory.keepAllJobs', o.keepAllJobs, 'pass true or false');
    }
    if (o.keepAllJobs === true && o.jobHistoryLimit !== undefined) {
      fail('migrationHistory.jobHistoryLimit', o.jobHistoryLimit, 'keepAllJobs: true keeps every Job; set one of the two');
    }
    if (o.shell !== undefined && (typeof o.shell !== 'string' || !/^\/[^\s]*$/.test(o.shell))) {
      fail('migrationHistory.shell', o.shell, 'give the absolute path of a POSIX shell in the migration image, e.g. "/bin/sh"');
    }
    return {
      configMapName: historyConfigMapName(serviceName),
      limit: o.limit ?? 100,
      jobHistoryLimit: versionedJobs && o.keepAllJobs !== true ? o.jobHistoryLimit ?? 3 : undefined,
      shell: o.shell ?? '/bin/sh',
    };
  }
}

class NoMigrationHistory extends MigrationHistory {
  public readonly kind = 'none';
  public _bind(): undefined {
    return undefined;
  }
}
