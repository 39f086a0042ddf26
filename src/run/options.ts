import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigrationTool } from '../migration-tool';
import { RunAsOptions } from '../pod/security';

/**
 * One run of a migration in a Job of its own: what the migration (`migration`) and the
 * post-rollout migration (`postRollout`) share.
 */
export interface MigrationRunOptions extends RunAsOptions {
  /**
   * The image repository, without tag or digest: it is always tagged with `imageTag`, so the
   * migrations and the service of one release can never disagree.
   *
   * @default - for `migration`, the service image (`image`); for `postRollout`, the migration image
   * (`migration.image`, else `image`)
   */
  readonly image?: string;

  /**
   * The migration tool preset that gives the command (and, for `migration` with
   * `Waiter.schemaCheck()`, the check). For `postRollout`, a preset pointed at the directory of
   * the contract migrations, e.g. `MigrationTool.golangMigrate({ dir: '/migrations/post' })`.
   *
   * @default - none; then `command` is required
   */
  readonly tool?: MigrationTool;

  /**
   * The command that applies the migrations. Overrides the tool's command.
   *
   * @default - the tool's command
   */
  readonly command?: string[];

  /**
   * Extra arguments appended to the command.
   *
   * @default - none
   */
  readonly args?: string[];

  /**
   * Retries before the Job fails. 0 fails fast: a failed migration is rarely fixed by re-running it.
   * Pods evicted by a node drain do not count (the Job's podFailurePolicy ignores DisruptionTarget).
   * With 0, a podFailurePolicy `FailJob` rule fails the Job at once on a non-zero exit of the
   * `migrate` container, with a condition message naming the container and the exit code; above 0
   * that rule is left out, so the retries happen.
   *
   * @default 0
   */
  readonly backoffLimit?: number;

  /**
   * Upper bound on the run time (`activeDeadlineSeconds`), counted from the Job's start. Killing a
   * migration can leave a tool's lock behind (Liquibase lock table, Prisma advisory lock): set it
   * above your longest migration. For `postRollout` it includes the wait for the rollout, so it
   * must be above `postRollout.rolloutTimeout`.
   *
   * @default - no deadline; for `migration`, the Deployment's progress deadline reports a
   * migration that never ends
   */
  readonly activeDeadline?: Duration;

  /**
   * Resources of the migration container. Passing it replaces all of the defaults.
   *
   * @default - for `migration`: requests cpu 100m and memory 256Mi, limit memory 1024Mi, no CPU
   * limit (docs/resources.md); for `postRollout`: those of `migration`
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Give the container (and, for `migration`, a schema-check waiter) `HOME=/tmp` on a writable
   * emptyDir, for tools that write to HOME under the read-only root filesystem (npm/npx does).
   *
   * @default - the tool's need (true for Prisma, Knex, TypeORM, Sequelize)
   */
  readonly writableHome?: boolean;

  /**
   * PostgreSQL's `lock_timeout` for the migration's database session. A DDL statement that waits
   * longer than this for its lock fails the migration with PostgreSQL's "canceling statement due
   * to lock timeout", instead of waiting behind a long transaction while every later query on the
   * table queues behind it (the service stops answering). The old pods keep serving; release again
   * once the blocking transaction is gone. The library sets it in the migrate container's
   * `PGOPTIONS` (`-c lock_timeout=3s`, after the service's own `PGOPTIONS` from `envVariables`),
   * which the clients of every preset except Prisma, Flyway and Liquibase read (docs/migration-tools.md);
   * for those three a non-zero value is refused (set it where the tool reads it instead). A custom
   * tool or `command` gets it too: it takes effect if its client reads `PGOPTIONS` (libpq,
   * node-postgres, lib/pq, recent pgx v5). `Duration.millis(0)` turns it off (the library sets nothing).
   * It bounds every lock wait of the session, including `CREATE INDEX CONCURRENTLY` waiting for old
   * transactions: turn it off in such a migration (`SET lock_timeout = 0`). MySQL: see the docs.
   *
   * @default - 3 seconds (for `postRollout`: the migration's); nothing for Prisma, Flyway, Liquibase
   */
  readonly lockTimeout?: Duration;

  /**
   * PostgreSQL's `statement_timeout` for the migration's database session, set like `lockTimeout`
   * (in `PGOPTIONS`, refused for Prisma, Flyway, Liquibase). It bounds how long one statement may
   * hold its locks, e.g. an `ALTER TABLE` that rewrites the table under `ACCESS EXCLUSIVE`; it
   * also fails a legitimately long backfill or index build, so it is off unless you set it above
   * your longest statement. `Duration.millis(0)` turns it off.
   *
   * @default - none (for `postRollout`: the migration's)
   */
  readonly statementTimeout?: Duration;

  /**
   * How many more times the migration runs when PostgreSQL cancelled it with the lock timeout
   * (the tool failed and printed "canceling statement due to lock timeout"). A blocking
   * transaction that ends within about half a minute then delays the release instead of failing
   * it, and no query waits longer than `lockTimeout` at each attempt. Each retry runs the tool
   * again in the same container, after `lockTimeoutRetryBackoff`, doubling each time. Safe only
   * where the tool runs each migration in a transaction, so a cancelled migration left nothing
   * behind: refused for Sequelize, golang-migrate and Prisma (docs/migration-tools.md says why per
   * preset). Needs the migration history's wrapper (refused with `MigrationHistory.none()`). Any
   * other failure is not retried.
   *
   * @default - 3 for the presets whose tool runs each migration in a transaction and whose
   * lock timeout the library sets (Knex, TypeORM, Alembic, Django, Rails, dbmate, goose, Atlas);
   * 0 for the others, custom tools and `command` (sqitch: its deploy scripts are transactional only
   * if they say `BEGIN;`/`COMMIT;`, so set it yourself), and with `lockTimeout` off
   */
  readonly lockTimeoutRetries?: number;

  /**
   * The wait before the first retry of a lock timeout; it doubles for each next retry, up to 60 s.
   * Whole seconds, at most 300.
   *
   * @default - 5 seconds
   */
  readonly lockTimeoutRetryBackoff?: Duration;

  /**
   * Clear the lock the tool leaves behind when a run is killed (Knex's `migrate:unlock`,
   * Liquibase's `release-locks`), in an init container after the migration lock and before the
   * migration. Safe only because the migration lock guarantees that no other migration of the
   * service runs at that moment: it is refused with `MigrationLock.none()`. Without it, a
   * migration killed mid-run (deadline, eviction, a pruned Job) blocks every later release until
   * someone clears the lock by hand.
   *
   * @default - true when the tool has an `unlockCommand` and the migration lock is on
   */
  readonly clearStaleToolLock?: boolean;
}

/**
 * The migration Job: runs once per image tag, before any pod of that version starts.
 */
export interface MigrationOptions extends MigrationRunOptions {
  /**
   * Delete the finished Job after this long (`ttlSecondsAfterFinished`).
   *
   * Off by default: the migration history's `jobHistoryLimit` keeps a few finished Jobs and
   * deletes older ones without a TTL. Allowed with `Waiter.kubectl()` and the migration history
   * (pods of a tag whose Job is gone start from the history, and a Job that Flux re-creates ends
   * without migrating again, though it still starts a pod every reconciliation), with
   * `Waiter.schemaCheck()` and with `Waiter.none()`; refused with `Waiter.k8sWaitFor()` or without
   * the history, where pods started after the deletion (scale-up, node drain, restart) would never
   * start and a re-created Job would run the migration again.
   *
   * @default - never deleted by TTL
   */
  readonly ttlAfterFinished?: Duration;
}
