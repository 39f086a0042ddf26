## The kubectl waiter. Arguments: JOB_NAME TIMEOUT_SECONDS [MIN_SECONDS_BETWEEN_WATCHES, default 30].
## POSIX sh only (busybox sh, dash).
##
## One `kubectl get jobs --field-selector metadata.name=JOB --watch` follows the Job from before it
## exists to after it is deleted: its list returns the current state (as ADDED), then one line per
## change. The API server authorizes a list or watch with a `metadata.name` field selector as a
## request for that name, so a Role with `resourceNames: [JOB]` allows it. kubectl writes into a FIFO
## that this shell reads line by line, so it acts on a line as soon as kubectl prints it.
##
## Exit 0: the Job is Complete with at least one succeeded pod. Exit 1: the Job failed (its reason and
## message are logged), access was refused, or TIMEOUT_SECONDS passed.
##
## No timer process: `--request-timeout` makes kubectl end the watch at the deadline by itself. The
## only child is the watch, and it is killed only after it printed a line, so it has long been
## running kubectl, not a shell that was just forked. (A forked shell can lose a signal that arrives
## before it resets the traps it inherited, and a timer subshell would leak its `sleep` that way.)
set -u
job=$1
timeout=$2
spacing=${3:-30}
deadline=$(($(date +%s) + timeout))
fmt='@@WATCH_JSONPATH@@'
#@ include kubectl-setup.sh

fail() {
  echo "migration Job $job failed: $1: $2" >&2
  exit 1
}

# decide LINE: exit 0 on success, exit 1 on failure or refused access, return otherwise.
decide() {
  case $1 in
    ADDED\|*|MODIFIED\|*)
      IFS='|' read -r kind succeeded complete failed failed_reason target target_reason target_message failed_message <<EOF
$1
EOF
      [ "$failed" = True ] && fail "$failed_reason" "$failed_message"
      # FailureTarget: the Job controller decided the Job fails and is ending its pods.
      [ "$target" = True ] && fail "$target_reason" "$target_message"
      if [ "$complete" = True ] && [ "${succeeded:-0}" -ge 1 ] 2>/dev/null; then
        echo "migration Job $job complete"
        exit 0
      fi
      [ "$kind" = ADDED ] && echo "migration Job $job exists and has not succeeded yet; watching it" ;;
    DELETED\|*)
      if [ -n "${MIGRATION_HISTORY:-}" ]; then
        # Deleted once it succeeded (pruned, a TTL): the history may say so.
        log=$(kubectl get configmap "$hist" -o jsonpath='{.data.@@HISTORY_KEY@@}' --request-timeout=10s 2>/dev/null) && [ -n "$log" ] && from_history "$log"
      fi
      echo "migration Job $job was deleted; waiting for it to be created again" ;;
    *Forbidden*|*forbidden*|*Unauthorized*)
      echo "cannot read migration Job $job (the waiter needs get, list and watch on it): $1" >&2
      exit 1 ;;
    *)
      echo "kubectl: $1" >&2 ;;
  esac
  return 0
}

#@ include history-verdict.sh

# from_history LOG: exit 0 when the history shows this tag migrated; wait while a rollback past a
# newer tag's contract step is held (reading the history every 5 s), exit 1 at the deadline.
from_history() {
  printf '%s\n' "$1" >"$fifo.log"
  history_verdict <"$fifo.log"
  rm -f "$fifo.log"
  case $verdict in
    pass) echo "$why; not waiting for Job $job"; exit 0 ;;
    held)
      echo "$why" >&2
      while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 5
        log=$(kubectl get configmap "$hist" -o jsonpath='{.data.@@HISTORY_KEY@@}' --request-timeout=10s 2>&1) || continue
        printf '%s\n' "$log" >"$fifo.log"
        history_verdict <"$fifo.log"
        rm -f "$fifo.log"
        [ "$verdict" = pass ] && { echo "rollback to $tag allowed: $why"; exit 0; }
      done
      echo "timed out after ${timeout}s: $why" >&2
      exit 1 ;;
  esac
}

echo "waiting up to ${timeout}s for migration Job $job"
if [ -n "${MIGRATION_HISTORY:-}" ]; then
  hist=$MIGRATION_HISTORY tag=$MIGRATION_TAG svc=$SERVICE_NAME
  # One read of the history and the Job: a tag that already migrated needs no Job.
  first=$(kubectl get "configmap/$hist" "job/$job" -o jsonpath='{range .items[*]}{.kind}{"\n"}{.data.@@HISTORY_KEY@@}{"\n"}{end}' \
    --request-timeout=10s 2>&1)
  log='' section=''
  while IFS= read -r line; do
    case $line in
      ConfigMap) section=log ;;
      Job) section= ;;
      *) [ "$section" = log ] && log="$log$line
" ;;
    esac
  done <<EOF
$first
EOF
  # A refusal here is said by the watch below, which is refused too.
  [ -n "$log" ] && from_history "$log"
  case $first in
    *"jobs.batch \"$job\" not found"*) echo "migration Job $job does not exist yet; waiting for it to be created" ;;
  esac
else
  case $(kubectl get job "$job" -o name --request-timeout=10s 2>&1) in
    *NotFound*) echo "migration Job $job does not exist yet; waiting for it to be created" ;;
  esac
fi
while :; do
  started=$(date +%s)
  left=$((deadline - started))
  if [ "$left" -le 0 ]; then
    echo "timed out after ${timeout}s waiting for migration Job $job" >&2
    exit 1
  fi
  #@ define WATCH
  kubectl get jobs --field-selector "metadata.name=$job" --watch --output-watch-events \
    -o jsonpath="$fmt" --request-timeout="${left}s"
  #@ end
  #@ define ON_LINE
  decide "$line"
  #@ end
  #@ include fifo-watch.sh
  # The watch ended: deadline, the API server closed it, or an error. Start the next one at most
  # every $spacing s, so that even a watch that keeps ending costs at most 2 requests per $spacing s.
  pause=$((started + spacing - $(date +%s)))
  left=$((deadline - $(date +%s)))
  [ "$pause" -gt "$left" ] && pause=$left
  [ "$pause" -gt 0 ] && sleep "$pause"
done
