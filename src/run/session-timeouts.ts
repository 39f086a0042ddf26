/**
 * PostgreSQL's `lock_timeout` and `statement_timeout` for the migration's database session, set
 * through `PGOPTIONS`, the variable every client the presets use reads at connect time (libpq:
 * psql, sqitch, psycopg2, the pg gem; node-postgres; lib/pq; recent pgx v5), sending it as the
 * startup packet's `options` ("-c name=value"), which the server applies to the whole session.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Fail } from '../checks';
import { MigrationTool } from '../migration-tool';

/**
 * The default `lock_timeout`: a read queued behind the waiting `ALTER TABLE` waits at most this
 * long, below the 5 s and more of common client and load-balancer timeouts (requests slow down,
 * they do not fail), yet far above the lock waits of ordinary sub-second transactions, so a
 * migration gives up only behind a long one (squawk's guidance: 1-5 s).
 */
export const DEFAULT_LOCK_TIMEOUT = Duration.seconds(3);

/** The environment variable the timeouts go in. */
export const SESSION_OPTIONS_ENV = 'PGOPTIONS';

/** PostgreSQL's largest timeout, in milliseconds (an int GUC). */
const MAX_MS = 2_147_483_647;

/**
 * The timeouts a run asks for, in milliseconds (0: the library sets nothing).
 *
 * @internal
 */
export interface SessionTimeouts {
  readonly lockMs: number;
  readonly statementMs: number;
}

/**
 * What a run asked for and what it inherits, resolved: the timeouts (inherited by the
 * post-rollout run) and the migrate container's environment that carries them.
 *
 * @internal
 */
export interface ResolvedSessionTimeouts {
  readonly timeouts: SessionTimeouts;
  readonly env: { [name: string]: kplus.EnvValue };
}

/**
 * Validate `<prop>.lockTimeout` and `<prop>.statementTimeout`, apply the defaults (`inherited`:
 * the library's for the migration, the migration's for the post-rollout run) and render
 * `PGOPTIONS`, after the service's own `PGOPTIONS` if it sets one in `envVariables`.
 *
 * A tool whose client does not read `PGOPTIONS` (it says why) gets nothing; asking it for a
 * timeout explicitly is refused, so no one believes in a timeout that is not there.
 *
 * @internal
 */
export function resolveSessionTimeouts(
  prop: string,
  asked: { lockTimeout?: Duration; statementTimeout?: Duration },
  tool: MigrationTool | undefined,
  inherited: SessionTimeouts,
  serviceEnv: { [name: string]: kplus.EnvValue },
  fail: Fail,
): ResolvedSessionTimeouts {
  const lock = millis(`${prop}.lockTimeout`, asked.lockTimeout, fail);
  const statement = millis(`${prop}.statementTimeout`, asked.statementTimeout, fail);
  const timeouts = { lockMs: lock ?? inherited.lockMs, statementMs: statement ?? inherited.statementMs };
  const unsupported = tool?._sessionOptionsUnsupported;
  if (unsupported !== undefined) {
    for (const [name, ms] of [['lockTimeout', lock], ['statementTimeout', statement]] as const) {
      if (ms) {
        fail(`${prop}.${name}`, `${ms}ms`, `MigrationTool.${tool!.name}() cannot take it: ${unsupported}. ` +
          `Drop ${prop}.${name} (or pass Duration.millis(0)) and set the timeout where the tool reads it ` +
          '(docs/migration-tools.md, "Lock timeouts")');
      }
    }
    return { timeouts, env: {} };
  }
  const options = [
    ...timeouts.lockMs ? [`-c lock_timeout=${render(timeouts.lockMs)}`] : [],
    ...timeouts.statementMs ? [`-c statement_timeout=${render(timeouts.statementMs)}`] : [],
  ];
  if (options.length === 0) return { timeouts, env: {} };
  const own = serviceEnv[SESSION_OPTIONS_ENV];
  if (own !== undefined && own.value === undefined) {
    fail(`envVariables.${SESSION_OPTIONS_ENV}`, '(from a Secret or ConfigMap)', `the ${prop} container sets ` +
      `${SESSION_OPTIONS_ENV} to "${options.join(' ')}" (${prop}.lockTimeout, ${prop}.statementTimeout) and cannot ` +
      'add it to a value it cannot see; give a plain value, or turn both timeouts off with Duration.millis(0)');
  }
  // The service's options first: PostgreSQL applies -c settings in order, so the run's win.
  const value = [...own?.value ? [own.value] : [], ...options].join(' ');
  return { timeouts, env: { [SESSION_OPTIONS_ENV]: kplus.EnvValue.fromValue(value) } };
}

/** A timeout in whole milliseconds, or undefined when not given. */
function millis(prop: string, value: Duration | undefined, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof (value as any).toMilliseconds !== 'function') {
    fail(prop, value, 'pass a Duration, e.g. Duration.seconds(3), or Duration.millis(0) to turn it off');
  }
  const ms = value.toMilliseconds({ integral: false });
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_MS) {
    fail(prop, `${ms}ms`, `it must be a whole number of milliseconds from 0 (off) to ${MAX_MS}, e.g. Duration.seconds(3)`);
  }
  return ms;
}

/** PostgreSQL's spelling: whole seconds as "3s", anything else in "ms". */
function render(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
