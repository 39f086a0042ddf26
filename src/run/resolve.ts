import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { checkDuration, checkInt, checkRepository, checkStrings, Fail } from '../checks';
import { checkCommand, MigrationTool } from '../migration-tool';
import { LockTimeoutRetry, resolveLockTimeoutRetry } from './lock-timeout-retry';
import { checkId, RunAsOptions } from '../pod/security';
import { VersionKey } from '../version-key';
import { MigrationRunOptions } from './options';
import { resolveSessionTimeouts, SessionTimeouts } from './session-timeouts';

/**
 * One run of a migration command in its own Job, validated and defaulted: what the migration Job
 * and the post-rollout Job share.
 *
 * @internal
 */
export interface MigrationRun {
  readonly image: string;
  readonly tool?: MigrationTool;
  readonly command: string[];
  readonly args?: string[];
  readonly backoffLimit: number;
  readonly activeDeadline?: Duration;
  readonly resources: kplus.ContainerResources;
  readonly runAs: RunAsOptions;
  /** `HOME=/tmp` on the writable emptyDir. */
  readonly writableHome: boolean;
  /** The tool's unlock command when its stale lock is cleared before the run. */
  readonly unlockCommand?: string[];
  /** The lock and statement timeouts asked for (the post-rollout run inherits them). */
  readonly sessionTimeouts: SessionTimeouts;
  /** How often a run cancelled by the lock timeout runs again (0: never), and the first wait before it. */
  readonly lockTimeoutRetry: LockTimeoutRetry;
  /** The migrate container's own environment (PGOPTIONS with the timeouts), over the service's. */
  readonly env: { [name: string]: kplus.EnvValue };
}

/**
 * What a run takes from its surroundings: the prop it is, the release and the defaults it
 * inherits (the post-rollout run inherits the migration's).
 *
 * @internal
 */
export interface RunContext {
  /** The prop, for messages: `migration` or `postRollout`. */
  readonly prop: string;
  /** What it is called in messages: `migration` or `post-rollout migration`. */
  readonly title: string;
  /** Examples for the error when neither tool nor command is given. */
  readonly toolExample: string;
  readonly commandExample: string;
  /** The construct path, for messages. */
  readonly path: string;
  readonly key: VersionKey;
  /** The service image repository. */
  readonly serviceRepository: string;
  /** The repository, resources, user and session timeouts when the run sets none. */
  readonly defaults: {
    readonly repository: string;
    readonly resources: kplus.ContainerResources;
    readonly runAs: RunAsOptions;
    readonly sessionTimeouts: SessionTimeouts;
  };
  /** The service's `envVariables` (its own PGOPTIONS is kept). */
  readonly serviceEnv: { [name: string]: kplus.EnvValue };
  /** Whether the migration lock is on (a tool's stale lock may then be cleared). */
  readonly locked: boolean;
  /** Whether the migrate container runs the tool through the history's wrapper (which can retry). */
  readonly wrapped: boolean;
  readonly fail: Fail;
}

/**
 * Validate the options of one run and apply its defaults; each check is written here once, for
 * both runs.
 *
 * @internal
 */
export function resolveRun(run: MigrationRunOptions, ctx: RunContext): MigrationRun {
  const { prop, key } = ctx;
  const fail: Fail = ctx.fail; // typed, so that TypeScript knows it never returns
  if (run === null || typeof run !== 'object') { // typeof: undefined too
    fail(prop, run, `pass ${prop}: { tool: ${ctx.toolExample} } or { command: [...] }`);
  }
  if (run.image !== undefined) {
    checkRepository(`${prop}.image`, run.image, fail);
    if (key.isDigest && run.image !== ctx.serviceRepository) {
      fail(`${prop}.image`, run.image, `imageTag is a digest (${key.value}), which names one image in one ` +
        `repository, so a separate ${ctx.title} image cannot share it; tag both images with one tag instead, ` +
        `or run the ${ctx.title} from the service image (drop ${prop}.image)`);
    }
  }
  const command = run.command ?? run.tool?.command;
  if (command === undefined) {
    fail(prop, '{ no tool, no command }', `set ${prop}.tool (e.g. ${ctx.toolExample}) or ${prop}.command (e.g. ${ctx.commandExample})`);
  }
  checkCommand(`${prop}.command of MigratedService "${ctx.path}"`, command);
  if (run.args !== undefined) checkStrings(`${prop}.args`, run.args, fail);
  checkInt(`${prop}.backoffLimit`, run.backoffLimit, 0, 100, fail);
  checkDuration(`${prop}.activeDeadline`, run.activeDeadline, fail);
  checkId(`${prop}.runAsUser`, run.runAsUser, fail);
  checkId(`${prop}.runAsGroup`, run.runAsGroup, fail);
  const session = resolveSessionTimeouts(prop, run, run.tool, ctx.defaults.sessionTimeouts, ctx.serviceEnv, fail);
  return {
    image: key.imageFor(run.image ?? ctx.defaults.repository),
    tool: run.tool,
    command,
    args: run.args,
    backoffLimit: run.backoffLimit ?? 0,
    activeDeadline: run.activeDeadline,
    resources: run.resources ?? ctx.defaults.resources,
    runAs: {
      runAsUser: run.runAsUser ?? ctx.defaults.runAs.runAsUser,
      runAsGroup: run.runAsGroup ?? ctx.defaults.runAs.runAsGroup,
    },
    writableHome: run.writableHome ?? run.tool?.needsWritableHome ?? false,
    unlockCommand: unlockCommand(run, ctx),
    sessionTimeouts: session.timeouts,
    lockTimeoutRetry: resolveLockTimeoutRetry(prop, run, run.tool, ctx.wrapped, session.timeouts.lockMs, fail),
    env: session.env,
  };
}

/**
 * The tool's unlock command when `<prop>.clearStaleToolLock` asks for it (by default: when the tool
 * has one and the migration lock is on). Clearing is safe only while nothing else migrates.
 */
function unlockCommand(run: MigrationRunOptions, ctx: RunContext): string[] | undefined {
  const { prop, locked } = ctx;
  const fail: Fail = ctx.fail;
  const asked = run.clearStaleToolLock;
  const command = run.tool?.unlockCommand;
  if (asked === undefined) return locked ? command : undefined;
  if (typeof asked !== 'boolean') {
    fail(`${prop}.clearStaleToolLock`, asked, 'pass true or false');
  }
  if (!asked) return undefined;
  if (!locked) {
    fail(`${prop}.clearStaleToolLock`, true, 'clearing a tool\'s lock is safe only while no other migration of the ' +
      'service can run, which the migration lock guarantees; drop migrationLock: MigrationLock.none() or clearStaleToolLock');
  }
  if (!command) {
    fail(`${prop}.clearStaleToolLock`, true, `migration tool ${JSON.stringify(run.tool?.name ?? null)} has no unlock command; ` +
      'use a tool that leaves a lock behind (MigrationTool.knex(), MigrationTool.liquibase()) or MigrationTool.custom({ ..., unlockCommand: [...] })');
  }
  return command;
}
