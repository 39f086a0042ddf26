import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { resolveAlerts, ResolvedAlerts } from './alerts';
import { Delivery, DeliverySpec } from './delivery';
import { MigratedServiceError } from './errors';
import type { MigratedServiceProps } from './migrated-service';
import { MigrationLock, MigrationLockSpec } from './migration-lock';
import { checkCommand, MigrationTool } from './migration-tool';
import { isMutableTag } from './mutable-tag';
import { PostRolloutOptions } from './post-rollout';
import { MIGRATION_RESOURCES, SERVICE_RESOURCES } from './resources';
import { checkId, RunAsOptions } from './security';
import { defaultStartupProbe } from './startup';
import { VersionKey, fitName, isLabelValue } from './version-key';
import { KUBECTL_IMAGE, Waiter } from './waiter';

/** Longest service name: a Service name is a DNS-1035 label. Derived names are cut to fit (fitName). */
const MAX_NAME_LENGTH = 63;
/** Annotation that carries the verbatim tag (label values cannot hold every OCI tag). */
export const IMAGE_TAG_ANNOTATION = 'migrated-service.cdk8s.io/image-tag';

/**
 * One run of a migration command in its own Job, validated and defaulted: what the migration Job
 * and the post-rollout Job share.
 *
 * @internal
 */
export interface MigrationRun {
  readonly image: string;
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
}

/**
 * The migration Job, validated and defaulted.
 *
 * @internal
 */
export interface ResolvedMigration extends MigrationRun {
  readonly tool?: MigrationTool;
  readonly ttlAfterFinished?: Duration;
}

/**
 * The post-rollout migration Job, validated and defaulted.
 *
 * @internal
 */
export interface ResolvedPostRollout extends MigrationRun {
  /** `<name>-post-<tag>`, or the stable `<name>-post` for hook targets. */
  readonly jobName: string;
  /** Name of its ServiceAccount, Role and RoleBinding. */
  readonly rbacName: string;
  readonly rolloutTimeoutSeconds: number;
  readonly waiterImage: string;
  readonly waiterRunAsUser?: number;
}

/**
 * The service container and its pods, validated and defaulted.
 *
 * @internal
 */
export interface ResolvedServiceContainer {
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly port?: number;
  readonly resources: kplus.ContainerResources;
  readonly readiness?: kplus.Probe;
  readonly liveness?: kplus.Probe;
  readonly startup?: kplus.Probe;
  readonly runAs: RunAsOptions;
  readonly readOnlyRootFilesystem: boolean;
}

/**
 * `MigratedServiceProps` after validation, with every default applied: what the construct builds
 * from. Every synth-time error about a prop is thrown while making it, before any object exists.
 *
 * @internal
 */
export interface ResolvedProps {
  /** The construct path, for error messages. */
  readonly path: string;
  readonly name: string;
  readonly key: VersionKey;
  readonly jobName: string;
  readonly delivery: DeliverySpec;
  readonly waiter: Waiter;
  /** The migration lock; undefined with `MigrationLock.none()`. */
  readonly lock?: MigrationLockSpec;
  readonly migration: ResolvedMigration;
  /** The post-rollout Job, when asked for. */
  readonly postRollout?: ResolvedPostRollout;
  /** The alerts, when asked for. */
  readonly alerts?: ResolvedAlerts;
  readonly container: ResolvedServiceContainer;
  readonly replicas: number;
  readonly serviceType: kplus.ServiceType;
  readonly progressDeadline: Duration;
  readonly strategy: kplus.DeploymentStrategy;
  readonly automountServiceAccountToken: boolean;
  readonly fsGroup?: number;
  readonly imagePullSecret?: kplus.ISecret;
  /** Labels of every object and pod. */
  readonly labels: { [key: string]: string };
  /** Annotations of every versioned object and pod: the verbatim tag. */
  readonly annotations: { [key: string]: string };
  readonly envFrom: kplus.EnvFrom[];
  readonly envVariables: { [name: string]: kplus.EnvValue };
}

/**
 * Fail with a `MigratedServiceError` naming the prop of the MigratedService at `path`.
 *
 * @internal
 */
export type Fail = (prop: string, value: unknown, fix: string) => never;

/** @internal */
export function failFor(path: string): Fail {
  return (prop, value, fix) => {
    throw new MigratedServiceError(`${prop} of MigratedService "${path}"`, value, fix);
  };
}

/**
 * Validate `props` and apply every default.
 *
 * @param path the construct path, for error messages
 * @param id the construct id, the default name
 * @internal
 */
export function resolveProps(path: string, id: string, props: MigratedServiceProps): ResolvedProps {
  const fail = failFor(path);
  if (!props || typeof props !== 'object') {
    fail('props', props, 'pass { image, imageTag, migration }');
  }

  // --- the one key and the names derived from it ---
  const key = VersionKey.of(props.imageTag, `imageTag of MigratedService "${path}"`);
  if (!key.isDigest && isMutableTag(key.value) && props.allowMutableTag !== true) {
    fail('imageTag', key.value, `"${key.value}" is a tag that is conventionally moved to a new image, and the ` +
      `migration Job is named after the tag (${props.name ?? id}-migrate-${key.value}): a re-pushed "${key.value}" ` +
      'keeps the Job name, so its migration never runs again. Tag each build immutably (e.g. "v1.2.3" or the ' +
      'commit SHA) or pass the digest; set allowMutableTag: true only if you accept that');
  }
  const name = props.name ?? id;
  checkName(name, props.name === undefined, fail);
  checkRepository('image', props.image, fail);
  if (props.migration === null || typeof props.migration !== 'object') { // typeof: undefined too
    fail('migration', props.migration, 'pass migration: { tool: MigrationTool.prisma() } or { command: [...] }');
  }
  const migration = props.migration;
  if (migration.image !== undefined) {
    checkRepository('migration.image', migration.image, fail);
    if (key.isDigest && migration.image !== props.image) {
      fail('migration.image', migration.image, `imageTag is a digest (${key.value}), which names one image in one ` +
        'repository, so a separate migration image cannot share it; tag both images with one tag instead, ' +
        'or run the migration from the service image (drop migration.image)');
    }
  }

  const delivery = (props.delivery ?? Delivery.flux())._bind();
  const waiter = props.waiter ?? Waiter.kubectl();
  if (props.migrationLock !== undefined && !(props.migrationLock instanceof MigrationLock)) {
    fail('migrationLock', props.migrationLock, 'pass MigrationLock.lease() (the default) or MigrationLock.none()');
  }
  const lock = (props.migrationLock ?? MigrationLock.lease())._bind(name);
  const locked = lock !== undefined;
  const jobName = delivery.versionedJobName ? key.nameWithPrefix(`${name}-migrate`) : fitName(`${name}-migrate`);

  // --- the rest ---
  const command = jobCommand('migration', migration, path, fail,
    'MigrationTool.prisma()', '["npm", "run", "migrate"]');
  if (props.command !== undefined) checkCommand(`command of MigratedService "${path}"`, props.command);
  if (props.args !== undefined) checkStrings('args', props.args, fail);
  checkInt('replicas', props.replicas, 0, 1000, fail);
  checkInt('port', props.port, 1, 65535, fail);
  checkInt('migration.backoffLimit', migration.backoffLimit, 0, 100, fail);
  checkId('runAsUser', props.runAsUser, fail);
  checkId('runAsGroup', props.runAsGroup, fail);
  checkId('migration.runAsUser', migration.runAsUser, fail);
  checkId('migration.runAsGroup', migration.runAsGroup, fail);
  checkId('fsGroup', props.fsGroup, fail);
  checkLabels(props.labels, fail);
  checkEnvNames(props.envVariables, fail);
  checkDuration('migration.activeDeadline', migration.activeDeadline, fail);
  checkDuration('migration.ttlAfterFinished', migration.ttlAfterFinished, fail);
  checkDuration('progressDeadline', props.progressDeadline, fail);
  if (props.serviceType !== undefined && props.port === undefined) {
    fail('serviceType', props.serviceType.toString(), 'a Service is only created when port is set; set port or drop serviceType');
  }
  if (migration.ttlAfterFinished !== undefined && (waiter.kind === 'k8s-wait-for' || waiter.kind === 'kubectl')) {
    fail('migration.ttlAfterFinished', `${migration.ttlAfterFinished.toSeconds()}s`,
      `the ${waiter.kind} waiter reads the Job, so pods started after the TTL deleted it never start ` +
      '(and Flux would re-create the Job and run the migration again); drop ttlAfterFinished ' +
      '(pruning removes old Jobs) or use waiter: Waiter.schemaCheck()');
  }

  const postRollout = props.postRollout === undefined ? undefined
    : resolvePostRollout(props.postRollout, props, key, name, delivery.versionedJobName, fail, path, locked);
  const alerts = props.alerts === undefined ? undefined : resolveAlerts(props.alerts, {
    migrationDeadline: migration.activeDeadline,
    postRollout: postRollout && { deadline: postRollout.activeDeadline, rolloutTimeoutSeconds: postRollout.rolloutTimeoutSeconds },
  }, fail);
  if (props.alerts?.ruleLabels !== undefined) checkLabels(props.alerts.ruleLabels, (prop, value, fix) => fail(`alerts.ruleLabels${prop.slice('labels'.length)}`, value, fix));

  return {
    path,
    name,
    key,
    jobName,
    delivery,
    waiter,
    lock,
    migration: {
      image: key.imageFor(migration.image ?? props.image),
      tool: migration.tool,
      command: command!,
      args: migration.args,
      backoffLimit: migration.backoffLimit ?? 0,
      activeDeadline: migration.activeDeadline,
      ttlAfterFinished: migration.ttlAfterFinished,
      resources: migration.resources ?? MIGRATION_RESOURCES,
      runAs: {
        runAsUser: migration.runAsUser ?? props.runAsUser,
        runAsGroup: migration.runAsGroup ?? props.runAsGroup,
      },
      writableHome: migration.writableHome ?? migration.tool?.needsWritableHome ?? false,
      unlockCommand: unlockCommand('migration', migration, locked, fail),
    },
    postRollout,
    alerts,
    container: {
      image: key.imageFor(props.image),
      command: props.command,
      args: props.args,
      port: props.port,
      resources: props.resources ?? SERVICE_RESOURCES,
      readiness: props.readiness,
      liveness: props.liveness,
      startup: props.startup ?? (props.port !== undefined ? defaultStartupProbe(props.port) : undefined),
      runAs: { runAsUser: props.runAsUser, runAsGroup: props.runAsGroup },
      readOnlyRootFilesystem: props.readOnlyRootFilesystem !== false,
    },
    replicas: props.replicas ?? 2,
    serviceType: props.serviceType ?? kplus.ServiceType.CLUSTER_IP,
    progressDeadline: props.progressDeadline ?? defaultProgressDeadline(migration.activeDeadline),
    strategy: props.strategy ?? defaultStrategy(),
    automountServiceAccountToken: props.automountServiceAccountToken ?? false,
    fsGroup: props.fsGroup,
    imagePullSecret: props.imagePullSecret,
    labels: {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/version': key.labelValue,
      'app.kubernetes.io/managed-by': 'cdk8s-migrated-service',
      ...props.labels,
    },
    annotations: { [IMAGE_TAG_ANNOTATION]: key.value },
    envFrom: props.envFrom ?? [],
    envVariables: props.envVariables ?? {},
  };
}

function resolvePostRollout(post: PostRolloutOptions, props: MigratedServiceProps, key: VersionKey, name: string,
  versioned: boolean, fail: Fail, path: string, locked: boolean): ResolvedPostRollout {
  if (post === null || typeof post !== 'object') {
    fail('postRollout', post, 'pass postRollout: { tool: MigrationTool.flyway(...) } or { command: [...] }');
  }
  const repository = post.image ?? props.migration.image ?? props.image;
  if (post.image !== undefined) {
    checkRepository('postRollout.image', post.image, fail);
    if (key.isDigest && post.image !== props.image) {
      fail('postRollout.image', post.image, `imageTag is a digest (${key.value}), which names one image in one ` +
        'repository; tag both images with one tag instead, or run the post-rollout migration from the service image');
    }
  }
  const command = jobCommand('postRollout', post, path, fail,
    'MigrationTool.flyway({ dir: "/flyway/post" })', '["npm", "run", "migrate:post"]');
  checkInt('postRollout.backoffLimit', post.backoffLimit, 0, 100, fail);
  checkDuration('postRollout.activeDeadline', post.activeDeadline, fail);
  checkDuration('postRollout.rolloutTimeout', post.rolloutTimeout, fail);
  checkId('postRollout.runAsUser', post.runAsUser, fail);
  checkId('postRollout.runAsGroup', post.runAsGroup, fail);
  checkId('postRollout.waiterRunAsUser', post.waiterRunAsUser, fail);
  // A blank image also contains whitespace.
  if (post.waiterImage !== undefined && (typeof post.waiterImage !== 'string' || post.waiterImage === '' || /\s/.test(post.waiterImage))) {
    fail('postRollout.waiterImage', post.waiterImage, 'give a full image reference with kubectl and sh, e.g. "registry.example.com/mirror/kubectl:1.34.1"');
  }
  const rolloutTimeoutSeconds = post.rolloutTimeout?.toSeconds() ?? 1800;
  if (post.activeDeadline !== undefined && post.activeDeadline.toSeconds() <= rolloutTimeoutSeconds) {
    fail('postRollout.activeDeadline', `${post.activeDeadline.toSeconds()}s`, 'it counts from the Job\'s start, so it includes the ' +
      `wait for the rollout (postRollout.rolloutTimeout, ${rolloutTimeoutSeconds}s): make it longer than that, or drop it`);
  }
  const migration = props.migration;
  return {
    jobName: versioned ? key.nameWithPrefix(`${name}-post`) : fitName(`${name}-post`),
    rbacName: fitName(`${name}-post-rollout`),
    image: key.imageFor(repository),
    command: command!,
    args: post.args,
    backoffLimit: post.backoffLimit ?? 0,
    activeDeadline: post.activeDeadline,
    rolloutTimeoutSeconds,
    waiterImage: post.waiterImage ?? KUBECTL_IMAGE,
    waiterRunAsUser: post.waiterRunAsUser,
    resources: post.resources ?? migration.resources ?? MIGRATION_RESOURCES,
    runAs: {
      runAsUser: post.runAsUser ?? migration.runAsUser ?? props.runAsUser,
      runAsGroup: post.runAsGroup ?? migration.runAsGroup ?? props.runAsGroup,
    },
    writableHome: post.writableHome ?? post.tool?.needsWritableHome ?? false,
    unlockCommand: unlockCommand('postRollout', post, locked, fail),
  };
}

/**
 * The tool's unlock command when `<prop>.clearStaleToolLock` asks for it (by default: when the tool
 * has one and the migration lock is on). Clearing is safe only while nothing else migrates.
 */
function unlockCommand(prop: string, run: { tool?: MigrationTool; clearStaleToolLock?: boolean }, locked: boolean,
  fail: Fail): string[] | undefined {
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

function defaultProgressDeadline(activeDeadline: Duration | undefined): Duration {
  const floor = 600;
  const seconds = activeDeadline ? Math.max(floor, activeDeadline.toSeconds() + 300) : floor;
  return Duration.seconds(seconds);
}


/**
 * Service names must be DNS-1035 labels (a Service name must start with a letter).
 *
 * @internal
 */
export function checkName(name: string, fromId: boolean, fail: Fail): void {
  const prop = fromId ? 'name (taken from the construct id)' : 'name';
  const suggestion = String(name).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '')
    .slice(0, MAX_NAME_LENGTH).replace(/-+$/, '');
  const fix = fromId ? ` Pass name: "${suggestion || 'myapp'}" or change the id.` : '';
  if (typeof name !== 'string' || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    fail(prop, name, `it must be lowercase letters, digits and "-", start with a letter and end with a letter or digit (a DNS-1035 label).${fix}`);
  }
  if (name.length > MAX_NAME_LENGTH) {
    fail(prop, name, `it is ${name.length} characters; a Service name (a DNS-1035 label) is at most ${MAX_NAME_LENGTH}.${fix}`);
  }
}

/** A repository reference without tag or digest: `[host[:port]/]path`, lowercase path components. */
const REPOSITORY = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)\/)?[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** @internal */
export function checkRepository(prop: string, image: unknown, fail: Fail): void {
  if (typeof image !== 'string' || image.trim() === '') {
    fail(prop, image, 'pass the image repository without a tag, e.g. "registry.example.com/myapp"');
  }
  const value = image as string;
  const lastSegment = value.slice(value.lastIndexOf('/') + 1);
  if (value.includes('@')) {
    fail(prop, value, `it contains a digest; pass the repository "${value.split('@')[0]}" and put the digest in imageTag`);
  }
  if (lastSegment.includes(':')) {
    const [repo, tag] = [value.slice(0, value.lastIndexOf(':')), value.slice(value.lastIndexOf(':') + 1)];
    fail(prop, value, `it contains a tag; pass the repository "${repo}" and the tag "${tag}" as imageTag`);
  }
  if (value.length > 255 || !REPOSITORY.test(value)) {
    fail(prop, value, 'it is not a valid image repository: [host[:port]/]path with lowercase path components of ' +
      '[a-z0-9] separated by ".", "_", "__" or "-", e.g. "registry.example.com/team/myapp"');
  }
}

/**
 * The command of a migration Job (`migration` or `postRollout`): its own, else its tool's; checked
 * with its args.
 */
function jobCommand(prop: string, job: { tool?: MigrationTool; command?: string[]; args?: string[] }, path: string,
  fail: Fail, toolExample: string, commandExample: string): string[] {
  const command = job.command ?? job.tool?.command;
  if (command === undefined) {
    fail(prop, '{ no tool, no command }',
      `set ${prop}.tool (e.g. ${toolExample}) or ${prop}.command (e.g. ${commandExample})`);
  }
  checkCommand(`${prop}.command of MigratedService "${path}"`, command);
  if (job.args !== undefined) checkStrings(`${prop}.args`, job.args, fail);
  return command as string[];
}

/** @internal */
export function checkStrings(prop: string, value: unknown, fail: Fail): void {
  if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) {
    fail(prop, value, 'pass a list of strings, e.g. ["--verbose"]');
  }
}

/** @internal */
export function checkInt(prop: string, value: number | undefined, min: number, max: number, fail: Fail): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(prop, value, `it must be a whole number from ${min} to ${max}`);
  }
}

/** @internal */
export function checkDuration(prop: string, value: Duration | undefined, fail: Fail): void {
  if (value === undefined) return;
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 1) {
    fail(prop, `${seconds}s`, 'it must be a whole number of seconds, at least 1, e.g. Duration.minutes(10)');
  }
}

/** Kubernetes accepts env var names of this shape (a C identifier plus "-" and "."). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** @internal */
export function checkEnvNames(env: { [name: string]: kplus.EnvValue } | undefined, fail: Fail): void {
  for (const name of Object.keys(env ?? {})) {
    if (!ENV_NAME.test(name)) {
      fail('envVariables key', name, 'an environment variable name is letters, digits, "_", "-" and ".", not starting with a digit, e.g. "DATABASE_URL"');
    }
  }
}

const LABEL_KEY = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** @internal */
export function checkLabels(labels: { [key: string]: string } | undefined, fail: Fail): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    // The DNS prefix, before the "/", is at most 253 characters (the index of the "/", -1 without one).
    if (!LABEL_KEY.test(k) || k.indexOf('/') > 253) {
      fail('labels key', k, 'a label key is an optional DNS prefix and "/" and a name of at most 63 characters ' +
        '([A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]), e.g. "team" or "example.com/team"');
    }
    if (typeof v !== 'string' || !isLabelValue(v)) {
      fail(`labels["${k}"]`, v, 'a label value is at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric');
    }
    if (k === 'app.kubernetes.io/name' || k === 'app.kubernetes.io/version') {
      fail('labels key', k, 'this label is set by MigratedService from name and imageTag; set those props instead');
    }
  }
}

/**
 * Every new pod at once, no old pod stopped before a new one is Ready (see `strategy`).
 *
 * @internal
 */
export function defaultStrategy(): kplus.DeploymentStrategy {
  return kplus.DeploymentStrategy.rollingUpdate({
    maxSurge: kplus.PercentOrAbsolute.percent(100),
    maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
  });
}
