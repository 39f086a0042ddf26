## The rollout waiter. Arguments: TAG TIMEOUT_SECONDS KIND/NAME... POSIX sh, kubectl, sed.
##
## A workload has rolled out `TAG` when its pod template carries the tag annotation, its
## generation is observed, every replica is updated and available (a StatefulSet: on the update
## revision; a DaemonSet: on every node it should run on), and every pod its selector matches,
## terminating ones included, carries the tag: no pod of the previous version is left. Polls every
## 2 s (two `get`s per workload). Exit 0: all rolled out. Exit 1: a Deployment's progress deadline
## passed, access was denied, or the timeout passed.
set -u
tag=$1
timeout=$2
shift 2
start=$(date +%s)
ann='@@TAG_ANNOTATION_KEY@@'
fmt="{.metadata.generation}|{.status.observedGeneration}|{.spec.replicas}|{.status.replicas}|{.status.updatedReplicas}|{.status.availableReplicas}|{.status.desiredNumberScheduled}|{.status.updatedNumberScheduled}|{.status.numberAvailable}|{.status.currentRevision}|{.status.updateRevision}|{.spec.template.metadata.annotations.$ann}|{.status.conditions[?(@.type==\"Progressing\")].reason}|{.spec.selector.matchLabels}"
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
    state="$ref: its pod template is at ${ptag:-no tag}, waiting for $tag to be applied"
    return 1
  fi
  if [ "${observed:-0}" -lt "${gen:-1}" ]; then
    state="$ref: generation $gen not observed yet"
    return 1
  fi
  if [ "$progress" = ProgressDeadlineExceeded ]; then
    echo "rollout of $ref to $tag failed: ProgressDeadlineExceeded; the post-rollout migration does not run" >&2
    exit 1
  fi
  case ${ref%%/*} in
    daemonset)
      want=${dwant:-0} updated=${dupdated:-0} available=${davailable:-0} have=${dwant:-0} ;;
    statefulset)
      if [ "$current" != "$update" ]; then
        state="$ref: revision $current, updating to $update"
        return 1
      fi ;;
  esac
  want=${want:-1}
  if [ "${updated:-0}" -ne "$want" ] || [ "${available:-0}" -ne "$want" ] || [ "${have:-0}" -ne "$want" ]; then
    state="$ref: ${updated:-0} of $want updated, ${available:-0} available, ${have:-0} in all"
    return 1
  fi
  sel=$(printf '%s' "$selector" | sed -e 's/[{}"]//g' -e 's/:/=/g')
  if ! pods=$(kubectl get pods -l "$sel" -o jsonpath="{range .items[*]}{.metadata.name}={.metadata.annotations.$ann}{\"\\n\"}{end}" 2>&1); then
    state="cannot list the pods of $ref: $pods"
    case $pods in
      *Forbidden*|*forbidden*) echo "$state" >&2; exit 1 ;;
    esac
    return 1
  fi
  total=0 old=0
  for p in $pods; do
    total=$((total + 1))
    [ "${p#*=}" = "$tag" ] || old=$((old + 1))
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
    echo "timed out after ${timeout}s waiting for the rollout of $tag: $state" >&2
    exit 1
  fi
  sleep 2
done
