import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { retryEnv } from './lock-timeout-retry';
import { MigrationRun } from './resolve';
import { COMPONENT_LABEL, CONTAINERS, HISTORY_LABEL, LOCK_LABEL } from '../facts';
import { HISTORY_CHECK_SCRIPT, MIGRATE_WRAPPER_SCRIPT, RECORD_SCRIPT } from '../history/history-scripts';
import { MigrationHistorySpec } from '../history/migration-history';
import { LOCK_RESOURCES, MigrationLockSpec } from '../lock/migration-lock';
import { hardenPod, mountApiTokenIn, POD_SPEC_PATH, TMP_PATH, tmpMount, tmpVolume } from '../pod/pod-spec';
import { restrictedContainerSecurity } from '../pod/security';
import { KUBECTL_IMAGE, KUBECTL_UID } from '../waiter';


/**
 * What every migration Job of a service shares with the service's own pods.
 *
 * @internal
 */
export interface ReleasePod {
  readonly serviceName: string;
  /** Labels of every object and pod. */
  readonly labels: { [key: string]: string };
  /** Annotations of every versioned object and pod: the verbatim tag. */
  readonly annotations: { [key: string]: string };
  readonly envFrom: kplus.EnvFrom[];
  readonly envVariables: { [name: string]: kplus.EnvValue };
  readonly fsGroup?: number;
  readonly imagePullSecret?: kplus.ISecret;
  /** The migration lock; undefined with `MigrationLock.none()`. */
  readonly lock?: MigrationLockSpec;
  /** The migration history; undefined with `MigrationHistory.none()`. */
  readonly history?: MigrationHistorySpec;
  /** The release's tag, as the history records it. */
  readonly tag: string;
}

/**
 * What differs between the migration Job and the post-rollout Job.
 *
 * @internal
 */
export interface MigrationJobSpec {
  readonly name: string;
  /** Its `app.kubernetes.io/component` label. */
  readonly component: string;
  /** What the history records when it succeeded: `migrated` or `contracted`. */
  readonly step: 'migrated' | 'contracted';
  /** The delivery target's annotations for this Job (hooks, sync waves). */
  readonly annotations: { [key: string]: string };
  readonly run: MigrationRun;
  readonly ttlAfterFinished?: Duration;
  /** Only a Job whose init containers use the API has one: its token is mounted in those alone. */
  readonly serviceAccount?: kplus.IServiceAccount;
  /** The Job's own init containers, first; given the mount of the writable /tmp. */
  readonly initContainers?: (tmp: kplus.VolumeMount) => kplus.ContainerProps[];
  /** Indices of the init containers above that get a token. */
  readonly tokenFor?: number[];
  /** The construct id of its /tmp volume. */
  readonly tmpId: string;
}

/**
 * A migration Job: one run of `spec.run` in its image, never restarted, saying why it failed, in
 * a hardened pod with the writable /tmp (and HOME there when the tool needs one), after the Job's
 * own init containers, then the migration lock, then the clearing of the tool's stale lock.
 *
 * @internal
 */
export function createMigrationJob(scope: Construct, id: string, spec: MigrationJobSpec, pod: ReleasePod): kplus.Job {
  const run = spec.run;
  const labels: { [key: string]: string } = { ...pod.labels, [COMPONENT_LABEL]: spec.component };
  if (pod.lock) labels[LOCK_LABEL] = pod.serviceName;
  if (pod.history) labels[HISTORY_LABEL] = pod.serviceName;
  const tmp = tmpVolume(scope, spec.tmpId);
  // The run's own environment (its session timeouts in PGOPTIONS) over the service's.
  const env: { [name: string]: kplus.EnvValue } = { ...pod.envVariables, ...run.env };
  if (run.writableHome) env.HOME = kplus.EnvValue.fromValue(TMP_PATH);
  const initContainers = spec.initContainers?.(tmpMount(tmp)) ?? [];
  const needToken = [...spec.tokenFor ?? []];
  const history = pod.history && historyRun(pod.history, spec, pod);
  if (pod.lock) {
    needToken.push(initContainers.length);
    const lock = pod.lock.container(run.activeDeadline?.toSeconds() ?? 0, tmpMount(tmp));
    // Under the lock, so nothing writes the history between this check and the record.
    initContainers.push(history ? history.afterLock(lock) : lock);
  } else if (history) {
    needToken.push(initContainers.length);
    initContainers.push(history.checkContainer(tmpMount(tmp)));
  }
  if (run.unlockCommand) {
    // Under the lock, before the run: the tool's own lock left by a killed run is stale.
    initContainers.push({ ...runContainer(run, pod, env, tmp), name: CONTAINERS.clearToolLock, command: run.unlockCommand, args: undefined });
  }
  const job = new kplus.Job(scope, id, {
    metadata: {
      name: spec.name,
      labels,
      annotations: { ...pod.annotations, ...spec.annotations },
    },
    podMetadata: { labels, annotations: pod.annotations },
    backoffLimit: run.backoffLimit,
    activeDeadline: run.activeDeadline,
    ttlAfterFinished: spec.ttlAfterFinished,
    restartPolicy: kplus.RestartPolicy.NEVER,
    serviceAccount: spec.serviceAccount,
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true, fsGroup: pod.fsGroup },
    dockerRegistryAuth: pod.imagePullSecret,
    initContainers,
    containers: history
      ? [history.wrap(runContainer(run, pod, env, tmp)), history.recordContainer(tmpMount(tmp))]
      : [runContainer(run, pod, env, tmp)],
  });
  hardenPod(job);
  sayWhyOnFailure(job, CONTAINERS.migrate, run.backoffLimit, history !== undefined);
  if (needToken.length > 0 || history) mountApiTokenIn(job, POD_SPEC_PATH, needToken, history ? [1] : []);
  return job;
}

/** The history's parts of one Job: the check, the wrapped migrate container, the record container. */
/**
 * The opening of the lock-then-check script: shellcheck, seeing the lock's KUBECONFIG set in its
 * subshell, would warn that the check loses it; the check sets its own.
 */
const LOCK_THEN_CHECK = '# shellcheck disable=SC2030,SC2031\n';

function historyRun(history: MigrationHistorySpec, spec: MigrationJobSpec, pod: ReleasePod) {
  const env = {
    MIGRATION_HISTORY: kplus.EnvValue.fromValue(history.configMapName),
    MIGRATION_TAG: kplus.EnvValue.fromValue(pod.tag),
    MIGRATION_STEP: kplus.EnvValue.fromValue(spec.step),
  };
  const image = pod.lock?.image ?? KUBECTL_IMAGE;
  const uid = pod.lock?.uid ?? KUBECTL_UID;
  const kubectlContainer = (
    name: string, script: string, tmp: kplus.VolumeMount, more: { [name: string]: kplus.EnvValue } = {},
  ): kplus.ContainerProps => ({
    name,
    image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: ['sh', '-c', script, name],
    envVariables: {
      HOME: kplus.EnvValue.fromValue(TMP_PATH),
      TMPDIR: kplus.EnvValue.fromValue(TMP_PATH),
      ...env,
      ...more,
    },
    volumeMounts: [tmp],
    resources: LOCK_RESOURCES,
    securityContext: restrictedContainerSecurity({ runAsUser: uid, runAsGroup: uid }),
  });
  return {
    /**
     * The lock container, then the check in the same container: no second container start. The
     * lock runs in a subshell so that its `exit 0` ends only the lock; each sets its own KUBECONFIG.
     */
    afterLock: (lock: kplus.ContainerProps): kplus.ContainerProps => ({
      ...lock,
      command: [lock.command![0], lock.command![1], `${LOCK_THEN_CHECK}(\n${lock.command![2]}) || exit\n${HISTORY_CHECK_SCRIPT}`, ...lock.command!.slice(3)],
      envVariables: { ...lock.envVariables, ...env },
    }),
    checkContainer: (tmp: kplus.VolumeMount) => kubectlContainer(CONTAINERS.historyCheck, HISTORY_CHECK_SCRIPT, tmp),
    /** The migrate container runs the tool through the wrapper, in the image's shell; the wrapper retries lock timeouts. */
    wrap: (container: kplus.ContainerProps): kplus.ContainerProps => ({
      ...container,
      command: [history.shell, '-c', MIGRATE_WRAPPER_SCRIPT, CONTAINERS.migrate, ...container.command!],
      envVariables: { ...container.envVariables, ...retryEnv(spec.run.lockTimeoutRetry) },
    }),
    recordContainer: (tmp: kplus.VolumeMount) => kubectlContainer(CONTAINERS.record, RECORD_SCRIPT, tmp, {
      HISTORY_SELECTOR: kplus.EnvValue.fromValue(`${HISTORY_LABEL}=${pod.serviceName},${COMPONENT_LABEL}=${spec.component}`),
      HISTORY_LIMIT: kplus.EnvValue.fromValue(`${history.limit}`),
      JOB_HISTORY_LIMIT: kplus.EnvValue.fromValue(`${history.jobHistoryLimit ?? ''}`),
      JOB_NAME: kplus.EnvValue.fromValue(spec.name),
      POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
    }),
  };
}

/**
 * A failed migration says why where people look first. The container keeps the end of its log as
 * its termination message (`FallbackToLogsOnError`: shown by `kubectl describe pod` and in the
 * pod status, after the pod's logs are gone). The podFailurePolicy ignores pods killed by a node
 * drain (`DisruptionTarget`), so backoffLimit 0 does not fail the migration for good; and, when no
 * retries were asked for, fails the Job at once on a non-zero exit of `container`, with a condition
 * message that names the container and the exit code (reason `PodFailurePolicy`). With
 * `backoffLimit` above 0 that rule would cancel the retries, so it is left out.
 *
 * cdk8s-plus-28 has neither field: patches, in the generated TypeScript spelling.
 */
function sayWhyOnFailure(job: kplus.Job, container: string, backoffLimit: number, recorded: boolean): void {
  const rules: object[] = [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }];
  if (backoffLimit === 0) {
    // onPodConditions: [] because the 1.26-1.28 OpenAPI schema marks it required (kubectl's client-side
    // validation and offline schema checkers refuse the rule without it); the API server accepts both.
    rules.push({ action: 'FailJob', onExitCodes: { containerName: container, operator: 'NotIn', values: [0] }, onPodConditions: [] });
  }
  if (recorded) {
    // The migration succeeded but its record could not be written: the next pod finds the step
    // unrecorded and runs it again, which the tool does as a no-op. Not a failure of the migration.
    rules.push({ action: 'Ignore', onExitCodes: { containerName: CONTAINERS.record, operator: 'In', values: [1] }, onPodConditions: [] });
  }
  ApiObject.of(job).addJsonPatch(
    JsonPatch.add(`${POD_SPEC_PATH}/containers/0/terminationMessagePolicy`, 'FallbackToLogsOnError'),
    JsonPatch.add('/spec/podFailurePolicy', { rules }),
  );
}

/** The container that runs `run`'s command in its image, with the service's environment. */
function runContainer(run: MigrationRun, pod: ReleasePod, env: { [name: string]: kplus.EnvValue }, tmp: kplus.Volume): kplus.ContainerProps {
  return {
    name: CONTAINERS.migrate,
    image: run.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: run.command,
    args: run.args,
    envFrom: pod.envFrom,
    envVariables: env,
    resources: run.resources,
    volumeMounts: [tmpMount(tmp)],
    securityContext: restrictedContainerSecurity(run.runAs),
  };
}
