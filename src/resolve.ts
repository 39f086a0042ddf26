import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { resolveAlerts, ResolvedAlerts } from './alerts/alerts';
import { checkDuration, checkEnvNames, checkInt, checkLabels, checkRepository, checkStrings, Fail, failFor } from './checks';
import { Delivery, DeliverySpec } from './delivery';
import { IMAGE_TAG_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, VERSION_LABEL } from './facts';
import { MigrationHistory, MigrationHistorySpec } from './history/migration-history';
import { MigrationLock, MigrationLockSpec } from './lock/migration-lock';
import type { MigratedServiceProps } from './migrated-service-props';
import { checkCommand } from './migration-tool';
import { isMutableTag } from './mutable-tag';
import { checkId, RunAsOptions } from './pod/security';
import { resolvePostRollout, ResolvedPostRollout } from './post-rollout/resolve';
import { MIGRATION_RESOURCES, SERVICE_RESOURCES } from './resources';
import { MigrationRun, resolveRun } from './run/resolve';
import { DEFAULT_LOCK_TIMEOUT } from './run/session-timeouts';
import { defaultStartupProbe } from './startup';
import { VersionKey, fitName } from './version-key';
import { Waiter } from './waiter';

/** Longest service name: a Service name is a DNS-1035 label. Derived names are cut to fit (fitName). */
const MAX_NAME_LENGTH = 63;
/**
 * The migration Job, validated and defaulted.
 *
 * @internal
 */
export interface ResolvedMigration extends MigrationRun {
  readonly ttlAfterFinished?: Duration;
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
  /** The migration history; undefined with `MigrationHistory.none()`. */
  readonly history?: MigrationHistorySpec;
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
  const delivery = (props.delivery ?? Delivery.flux())._bind(fail);
  const waiter = props.waiter ?? Waiter.kubectl();
  if (!(waiter instanceof Waiter)) {
    fail('waiter', waiter, 'pass Waiter.kubectl() (the default), Waiter.k8sWaitFor(), Waiter.schemaCheck() or Waiter.none()');
  }
  if (props.migrationLock !== undefined && !(props.migrationLock instanceof MigrationLock)) {
    fail('migrationLock', props.migrationLock, 'pass MigrationLock.lease() (the default) or MigrationLock.none()');
  }
  const lock = (props.migrationLock ?? MigrationLock.lease())._bind(name, fail);
  if (props.migrationHistory !== undefined && !(props.migrationHistory instanceof MigrationHistory)) {
    fail('migrationHistory', props.migrationHistory, 'pass MigrationHistory.configMap() (the default) or MigrationHistory.none()');
  }
  const history = (props.migrationHistory ?? MigrationHistory.configMap())._bind(name, delivery.versionedJobName, fail);
  const locked = lock !== undefined;
  const jobName = delivery.versionedJobName ? key.nameWithPrefix(`${name}-migrate`) : fitName(`${name}-migrate`);

  // --- the runs: the migration, then the post-rollout migration with the migration's defaults ---
  const migrationRepository = props.migration?.image ?? props.image;
  const runContext = {
    path, key, serviceRepository: props.image, locked, wrapped: history !== undefined, serviceEnv: props.envVariables ?? {}, fail,
  };
  const migration: ResolvedMigration = {
    ...resolveRun(props.migration, {
      ...runContext,
      prop: 'migration',
      title: 'migration',
      toolExample: 'MigrationTool.prisma()',
      commandExample: '["npm", "run", "migrate"]',
      defaults: {
        repository: migrationRepository,
        resources: MIGRATION_RESOURCES,
        runAs: { runAsUser: props.runAsUser, runAsGroup: props.runAsGroup },
        sessionTimeouts: { lockMs: DEFAULT_LOCK_TIMEOUT.toMilliseconds(), statementMs: 0 },
      },
    }),
    ttlAfterFinished: props.migration.ttlAfterFinished,
  };
  waiter._check(migration.tool, fail);
  const postRollout = props.postRollout === undefined ? undefined : resolvePostRollout(props.postRollout, {
    ...runContext,
    defaults: {
      repository: migrationRepository,
      resources: migration.resources,
      runAs: migration.runAs,
      sessionTimeouts: migration.sessionTimeouts,
    },
  }, name, delivery.versionedJobName ? key.nameWithPrefix(`${name}-post`) : fitName(`${name}-post`));

  // --- the rest ---
  if (props.command !== undefined) checkCommand(`command of MigratedService "${path}"`, props.command);
  if (props.args !== undefined) checkStrings('args', props.args, fail);
  checkInt('replicas', props.replicas, 0, 1000, fail);
  checkInt('port', props.port, 1, 65535, fail);
  checkId('runAsUser', props.runAsUser, fail);
  checkId('runAsGroup', props.runAsGroup, fail);
  checkId('fsGroup', props.fsGroup, fail);
  checkLabels(props.labels, fail);
  checkEnvNames(props.envVariables, fail);
  checkDuration('migration.ttlAfterFinished', migration.ttlAfterFinished, fail);
  checkDuration('progressDeadline', props.progressDeadline, fail);
  if (props.serviceType !== undefined && props.port === undefined) {
    fail('serviceType', props.serviceType.toString(), 'a Service is only created when port is set; set port or drop serviceType');
  }
  // With the history, the kubectl waiter opens the gate of a migrated tag without its Job, and a
  // re-created Job does not migrate again: a TTL is then harmless.
  if (migration.ttlAfterFinished !== undefined && waiter._jobVerbs !== undefined && !(history && waiter._readsHistory)) {
    fail('migration.ttlAfterFinished', `${migration.ttlAfterFinished.toSeconds()}s`,
      `the ${waiter.kind} waiter reads the Job${history ? ' and not the migration history' : ', and there is no migration history'}, ` +
      'so pods started after the TTL deleted it never start (and Flux would re-create the Job and run the migration again); ' +
      'drop ttlAfterFinished (jobHistoryLimit or pruning removes old Jobs), or use waiter: Waiter.kubectl() with the ' +
      'default MigrationHistory.configMap(), or Waiter.schemaCheck()');
  }

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
    history,
    migration,
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
      readOnlyRootFilesystem: props.readOnlyRootFilesystem ?? true,
    },
    replicas: props.replicas ?? 2,
    serviceType: props.serviceType ?? kplus.ServiceType.CLUSTER_IP,
    progressDeadline: props.progressDeadline ?? defaultProgressDeadline(migration.activeDeadline),
    strategy: props.strategy ?? defaultStrategy(),
    automountServiceAccountToken: props.automountServiceAccountToken ?? false,
    fsGroup: props.fsGroup,
    imagePullSecret: props.imagePullSecret,
    labels: {
      [NAME_LABEL]: name,
      [VERSION_LABEL]: key.labelValue,
      [MANAGED_BY_LABEL]: MANAGED_BY,
      ...props.labels,
    },
    annotations: { [IMAGE_TAG_ANNOTATION]: key.value },
    envFrom: props.envFrom ?? [],
    envVariables: props.envVariables ?? {},
  };
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
