/**
 * Running a migration again when PostgreSQL's `lock_timeout` cancelled it: the migrate wrapper
 * (the history's, in the image's `sh`) watches the tool's output for "canceling statement due to
 * lock timeout" and, when the tool failed with it, runs the tool again after a backoff, a bounded
 * number of times. Safe only where the tool runs each migration in a transaction: the cancelled
 * migration then left nothing behind that a second run could apply twice.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { checkDuration, checkInt, Fail } from '../checks';
import { MigrationTool } from '../migration-tool';

/** Retries by default, where the tool makes them safe: with a 3 s timeout, about 45 s in all. */
export const DEFAULT_LOCK_TIMEOUT_RETRIES = 3;
/** The wait before the first retry; it doubles for each next one, up to `MAX_BACKOFF_SECONDS`. */
export const DEFAULT_LOCK_TIMEOUT_BACKOFF = Duration.seconds(5);
const MAX_RETRIES = 10;
const MAX_BACKOFF_SECONDS = 300;

/** The wrapper's environment: how many retries, and the first backoff in seconds. */
const RETRY_ENV = { retries: 'LOCK_TIMEOUT_RETRIES', backoff: 'LOCK_TIMEOUT_BACKOFF' };

/**
 * A run's retries of a lock timeout, resolved: how many (0: none) and the first backoff.
 *
 * @internal
 */
export interface LockTimeoutRetry {
  readonly retries: number;
  readonly backoffSeconds: number;
}

/**
 * What tells the migrate wrapper to retry: its environment (none without retries).
 *
 * @internal
 */
export function retryEnv(retry: LockTimeoutRetry): { [name: string]: kplus.EnvValue } {
  return retry.retries === 0 ? {} : {
    [RETRY_ENV.retries]: kplus.EnvValue.fromValue(`${retry.retries}`),
    [RETRY_ENV.backoff]: kplus.EnvValue.fromValue(`${retry.backoffSeconds}`),
  };
}

/**
 * Validate `<prop>.lockTimeoutRetries` and `<prop>.lockTimeoutRetryBackoff` and apply the
 * default: `DEFAULT_LOCK_TIMEOUT_RETRIES` where the tool is a preset that runs each migration in a
 * transaction, the library sets its lock timeout, and the wrapper runs; no retry otherwise.
 *
 * @param wrapped whether the migrate container runs the tool through the wrapper (the history's)
 * @param lockMs the run's lock timeout (0: the library sets none)
 * @internal
 */
export function resolveLockTimeoutRetry(
  prop: string,
  asked: { lockTimeoutRetries?: number; lockTimeoutRetryBackoff?: Duration },
  tool: MigrationTool | undefined,
  wrapped: boolean,
  lockMs: number,
  fail: Fail,
): LockTimeoutRetry {
  const retriesProp = `${prop}.lockTimeoutRetries`;
  const backoffProp = `${prop}.lockTimeoutRetryBackoff`;
  checkInt(retriesProp, asked.lockTimeoutRetries, 0, MAX_RETRIES, fail);
  checkDuration(backoffProp, asked.lockTimeoutRetryBackoff, fail);
  const fact = tool?._lockTimeoutRetry;
  let retries = asked.lockTimeoutRetries;
  if (retries === undefined) {
    const timeoutSet = lockMs > 0 && tool?._sessionOptionsUnsupported === undefined;
    retries = wrapped && timeoutSet && fact === 'safe' ? DEFAULT_LOCK_TIMEOUT_RETRIES : 0;
  } else if (retries > 0) {
    if (typeof fact === 'object') {
      fail(retriesProp, retries, `MigrationTool.${tool!.name}() cannot retry safely: ${fact.refused}; drop ${retriesProp} ` +
        '(docs/migration-tools.md, "Retrying a lock timeout")');
    }
    if (!wrapped) {
      fail(retriesProp, retries, 'the retry runs in the migrate wrapper, which needs the image\'s shell and comes with the ' +
        `migration history; drop migrationHistory: MigrationHistory.none() or ${retriesProp}`);
    }
  }
  const backoff = asked.lockTimeoutRetryBackoff;
  if (backoff !== undefined) {
    const seconds = backoff.toSeconds();
    if (seconds > MAX_BACKOFF_SECONDS) {
      fail(backoffProp, `${seconds}s`, `give at most ${MAX_BACKOFF_SECONDS} seconds, e.g. Duration.seconds(5)`);
    }
    if (retries === 0) {
      fail(backoffProp, `${seconds}s`, `the run does not retry a lock timeout (${retriesProp} is 0${asked.lockTimeoutRetries === undefined
        ? ` by default for ${tool ? `MigrationTool.${tool.name}()` : 'a command'}` : ''}); drop ${backoffProp}, or set ${retriesProp}`);
    }
  }
  return { retries, backoffSeconds: (backoff ?? DEFAULT_LOCK_TIMEOUT_BACKOFF).toSeconds() };
}
