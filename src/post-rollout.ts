import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigrationTool } from './migration-tool';
import { restrictedContainerSecurity, RunAsOptions, TMP_PATH } from './security';
import { KUBECTL_UID, WAITER_RESOURCES } from './waiter';

/**
 * A second migration of the same tag that runs only once the release has fully rolled out: the
 * "contract" step of an expand/contract schema change (drop the old column, tighten a constraint),
 * which must never run while a pod of the previous version is left. See docs/expand-contract.md.
 */
export interface PostRolloutOptions extends RunAsOptions {
  /**
   * The image repository, without tag or digest: it is always tagged with `imageTag`.
   *
   * @default - the migration image (`migration.image`, else `image`)
   */
  readonly image?: string;

  /**
   * The migration tool preset that gives the command, e.g. a preset pointed at the directory of
   * the contract migrations (`MigrationTool.golangMigrate({ dir: '/migrations/post' })`).
   *
   * @default - none; then `command` is required
   */
  readonly tool?: MigrationTool;

  /**
   * The command that applies the post-rollout migrations. Overrides the tool's command.
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
   * Retries before the Job fails. With 0, a non-zero exit fails the Job at once with a condition
   * naming the container and the exit code, as for the migration Job.
   *
   * @default 0
   */
  readonly backoffLimit?: number;

  /**
   * Upper bound on the post-rollout migration's run time (`activeDeadlineSeconds`), counted from
   * the Job's start, so it includes the wait for the rollout: set it above `rolloutTimeout`.
   *
   * @default - no deadline
   */
  readonly activeDeadline?: Duration;

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

  /**
   * Clear the lock the post-rollout tool leaves behind when a run is killed, as
   * `migration.clearStaleToolLock` does for the migration Job (safe only under the migration lock).
   *
   * @default - true when the tool has an `unlockCommand` and the migration lock is on
   */
  readonly clearStaleToolLock?: boolean;

  /**
   * Resources of the post-rollout migration container. Passing it replaces all of the defaults.
   *
   * @default - those of the migration Job
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Give the container `HOME=/tmp` on a writable emptyDir (npm/npx-based tools need it).
   *
   * @default - the tool's need (true for Prisma, Knex, TypeORM, Sequelize)
   */
  readonly writableHome?: boolean;
}

/** The init container of the post-rollout Job. */
export const ROLLOUT_WAITER_NAME = 'wait-for-rollout';

/**
 * The rollout waiter init container.
 *
 * @internal
 */
export function rolloutWaiter(image: string, uid: number | undefined, tag: string, timeoutSeconds: number,
  first: string, tmp: kplus.VolumeMount): kplus.ContainerProps {
  return {
    name: ROLLOUT_WAITER_NAME,
    image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    // Workloads gated later are appended to this command (waitForRolloutOf).
    command: ['sh', '-c', ROLLOUT_WAIT_SCRIPT, ROLLOUT_WAITER_NAME, tag, `${timeoutSeconds}`, first],
    envVariables: { HOME: kplus.EnvValue.fromValue(TMP_PATH) },
    volumeMounts: [tmp],
    resources: WAITER_RESOURCES,
    securityContext: restrictedContainerSecurity({ runAsUser: uid ?? KUBECTL_UID, runAsGroup: uid ?? KUBECTL_UID }),
  };
}

/**
 * Append a workload to the ones the post-rollout Job waits for: its `kind/name` to the waiter's
 * arguments, and `get` on it (by name) to the post-rollout Role.
 *
 * @internal
 */
export function waitForRolloutOf(job: kplus.Job, role: kplus.Role, name: string, kind: string): void {
  ApiObject.of(job).addJsonPatch(JsonPatch.add('/spec/template/spec/initContainers/0/command/-', `${kind}/${name}`));
  role.allow(['get'], { apiGroup: 'apps', resourceType: `${kind}s`, resourceName: name });
}

/**
 * The rollout waiter. Arguments: TAG TIMEOUT_SECONDS KIND/NAME... POSIX sh, kubectl, sed.
 *
 * A workload has rolled out `TAG` when its pod template carries the tag annotation, its
 * generation is observed, every replica is updated and available (a StatefulSet: on the update
 * revision; a DaemonSet: on every node it should run on), and every pod its selector matches,
 * terminating ones included, carries the tag: no pod of the previous version is left. Polls every
 * 2 s (two `get`s per workload). Exit 0: all rolled out. Exit 1: a Deployment's progress deadline
 * passed, access was denied, or the timeout passed.
 *
 * @internal
 */
export const ROLLOUT_WAIT_SCRIPT = `set -u
tag=$1
timeout=$2
shift 2
start=$(date +%s)
ann='migrated-service\\.cdk8s\\.io/image-tag'
fmt="{.metadata.generation}|{.status.observedGeneration}|{.spec.replicas}|{.status.replicas}|{.status.updatedReplicas}|{.status.availableReplicas}|{.status.desiredNumberScheduled}|{.status.updatedNumberScheduled}|{.status.numberAvailable}|{.status.currentRevision}|{.status.updateRevision}|{.spec.template.metadata.annotations.$ann}|{.status.conditions[?(@.type==\\"Progressing\\")].reason}|{.spec.selector.matchLabels}"
state=

# rolled_out KIND/NAME: return 0 when every replica is updated to this tag and available and no
# pod of another tag is left (terminating ones included); 1 while not; exit 1 when it failed.
rolled_out() {
  ref=$1
  if ! out=$(kubectl get "$ref" -o jsonpath="$fmt" 2>&1); then
    state="cannot read $ref: $out"
    case $out in
      *Forbidden*|*forbidden*|*Unauthorized*) echo "$state" >&2; exit 1 ;;
    esac
    return 1
  fi
  IFS='|' read -r gen observed want have updated available dwant dupdated davailable current update ptag progress selector <<END
$out
END
  if [ "$ptag" != "$tag" ]; then
    state="$ref: its pod template is at \${ptag:-no tag}, waiting for $tag to be applied"
    return 1
  fi
  if [ "\${observed:-0}" -lt "\${gen:-1}" ]; then
    state="$ref: generation $gen not observed yet"
    return 1
  fi
  if [ "$progress" = ProgressDeadlineExceeded ]; then
    echo "rollout of $ref to $tag failed: ProgressDeadlineExceeded; the post-rollout migration does not run" >&2
    exit 1
  fi
  case \${ref%%/*} in
    daemonset)
      want=\${dwant:-0} updated=\${dupdated:-0} available=\${davailable:-0} have=\${dwant:-0} ;;
    statefulset)
      if [ "$current" != "$update" ]; then
        state="$ref: revision $current, updating to $update"
        return 1
      fi ;;
  esac
  want=\${want:-1}
  if [ "\${updated:-0}" -ne "$want" ] || [ "\${available:-0}" -ne "$want" ] || [ "\${have:-0}" -ne "$want" ]; then
    state="$ref: \${updated:-0} of $want updated, \${available:-0} available, \${have:-0} in all"
    return 1
  fi
  sel=$(printf '%s' "$selector" | sed -e 's/[{}"]//g' -e 's/:/=/g')
  if ! pods=$(kubectl get pods -l "$sel" -o jsonpath="{range .items[*]}{.metadata.name}={.metadata.annotations.$ann}{\\"\\\\n\\"}{end}" 2>&1); then
    state="cannot list the pods of $ref: $pods"
    case $pods in
      *Forbidden*|*forbidden*) echo "$state" >&2; exit 1 ;;
    esac
    return 1
  fi
  total=0 old=0
  for p in $pods; do
    total=$((total + 1))
    [ "\${p#*=}" = "$tag" ] || old=$((old + 1))
  done
  if [ "$old" -gt 0 ]; then
    state="$ref: $total pods, $old of them not at $tag (old pods still running or terminating)"
    return 1
  fi
  return 0
}

echo "waiting for $* to roll out $tag"
last=
while :; do
  pending=
  for ref in "$@"; do
    if ! rolled_out "$ref"; then
      pending=$ref
      break
    fi
  done
  if [ -z "$pending" ]; then
    echo "rollout of $tag complete: $*"
    exit 0
  fi
  if [ "$state" != "$last" ]; then
    echo "$state"
    last=$state
  fi
  if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
    echo "timed out after \${timeout}s waiting for the rollout of $tag: $state" >&2
    exit 1
  fi
  sleep 2
done
`;
