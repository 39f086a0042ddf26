import { COMPONENT_LABEL, COMPONENTS, CONTAINERS, MANAGED_BY, MANAGED_BY_LABEL, SKIPPED_ANNOTATION } from '../facts';
import { kubectlScriptSetup } from '../kubectl-script';

/**
 * The migration history is one ConfigMap per service, `<service>-migration-history`, created by
 * the first migration that succeeds and written only by the library's containers. Its key `log`
 * holds one line per event, oldest first:
 *
 * `SEQ|EVENT|TAG|TIME|DETAIL`
 *
 * - `migrated`: TAG's migration succeeded at TIME; DETAIL is the Job's name.
 * - `contracted`: TAG's post-rollout (contract) migration succeeded; DETAIL is the Job's name.
 * - `allowed`: someone allowed rolling back to TAG past the contract steps up to SEQ number
 *   DETAIL's first word; the rest of DETAIL is their reason.
 *
 * SEQ counts up by one per line. Tags cannot contain `|`, so every field but the last is plain.
 *
 * @internal
 */
export const HISTORY_KEY = 'log';

/**
 * The files the Job's containers share on the pod's writable /tmp (an emptyDir, mode 0777):
 * the history as the check read it (resourceVersion, then the log), why the run is skipped, and
 * the migrate container's exit code.
 *
 * @internal
 */
export const HISTORY_FILES = {
  read: '/tmp/.migration-history',
  skip: '/tmp/.migration-skip',
  exit: '/tmp/.migration-exit',
  /** The migrate wrapper's own: the running tool's pid, its exit code, whether it hit the lock timeout. */
  toolPid: '/tmp/.migration-tool-pid',
  toolExit: '/tmp/.migration-tool-exit',
  lockTimeout: '/tmp/.migration-lock-timeout',
};

/**
 * The jsonpath of one read of the history: its resourceVersion (empty when it does not exist),
 * then the log.
 */
const READ_JSONPATH = '{.metadata.resourceVersion}{"\\n"}{.data.log}';

/**
 * `read_history` reads the history ConfigMap `$hist` into `$history` (resourceVersion on the
 * first line, then the log; empty when it does not exist yet), retrying errors for about 60 s (a
 * refusal ends the script at once); `split_history` sets `$version` and `$log` from `$history`.
 */
const READ_HISTORY = `split_history() {
  version=\${history%%
*}
  log=\${history#*
}
  [ "$log" = "$history" ] && log=
  return 0
}
read_history() {
  tries=0
  while :; do
    if out=$(kubectl get configmap "$hist" -o jsonpath='${READ_JSONPATH}' --request-timeout=20s 2>&1); then
      history=$out
      return 0
    fi
    case $out in
      *NotFound*|*"not found"*) history=; return 0 ;;
      *Forbidden*|*forbidden*|*Unauthorized*)
        echo "migration history: access refused to configmap $hist: $out" >&2
        exit 1 ;;
    esac
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "migration history: cannot read configmap $hist: $out" >&2
      exit 1
    fi
    sleep 2
  done
}
`;

/**
 * The check a migration Job makes before it runs (under the migration lock, so nothing writes the
 * history meanwhile): has this tag's step already succeeded? If so it writes why to the skip file,
 * and the migrate container says it and exits 0 without running the tool. It always leaves the
 * history it read for the record container. POSIX sh only.
 *
 * Environment: MIGRATION_HISTORY (the ConfigMap), MIGRATION_TAG, MIGRATION_STEP (`migrated` or
 * `contracted`).
 *
 * @internal
 */
export const HISTORY_CHECK_SCRIPT = `set -u
hist=$MIGRATION_HISTORY
tag=$MIGRATION_TAG
step=$MIGRATION_STEP
${kubectlScriptSetup(CONTAINERS.historyCheck)}${READ_HISTORY}
read_history
printf '%s\\n' "$history" >${HISTORY_FILES.read}
split_history
at= job= newest=
while IFS='|' read -r seq event etag when detail; do
  [ "$event" = migrated ] && newest=$etag
  [ "$event" = "$step" ] && [ "$etag" = "$tag" ] && at=$when job=$detail
done <<EOF
$log
EOF
if [ -z "$at" ]; then
  echo "migration history: $step $tag not recorded; running it"
  exit 0
fi
if [ "$step" = contracted ]; then
  why="the post-rollout migration of $tag ran at $at (Job $job); not running it again"
elif [ -n "$newest" ] && [ "$newest" != "$tag" ]; then
  why="$tag migrated at $at; the schema has since been migrated by $newest; not running $tag's migration again"
else
  why="$tag migrated at $at (Job $job); not running its migration again"
fi
echo "migration history: $why"
printf '%s\\n' "$why" >${HISTORY_FILES.skip}
`;

/**
 * What the migrate container runs in the migration image: the tool, unless the history check
 * found this step already done; its exit code goes to the exit file for the record container.
 * Arguments: the tool's command and arguments. Needs a POSIX \`sh\` in the image (its builtins,
 * and \`sleep\` between retries). The tool runs as a child, not by \`exec\`, so that its exit
 * code can be written; the shell is the container's PID 1, which ignores signals it does not trap,
 * so it passes SIGTERM and SIGINT on: an evicted or deleted migration stops when the kubelet says
 * so, not after the grace period (a retry pod of the same Job may take the migration lock as soon
 * as it starts).
 *
 * The tool's stdout and stderr pass through line by line, each to its own stream, watched for
 * PostgreSQL's "canceling statement due to lock timeout". When the tool failed with it, it runs
 * again after \`LOCK_TIMEOUT_BACKOFF\` seconds (doubling, up to 60), at most
 * \`LOCK_TIMEOUT_RETRIES\` times (unset: never). Any other failure, or a signal, ends the run; a
 * signal during the backoff ends its \`sleep\` too, whenever it comes.
 *
 * @internal
 */
export const MIGRATE_WRAPPER_SCRIPT = `if [ -f ${HISTORY_FILES.skip} ]; then
  read -r why <${HISTORY_FILES.skip}
  echo "$why"
  echo 0 >${HISTORY_FILES.exit}
  exit 0
fi
retries=\${LOCK_TIMEOUT_RETRIES:-0}
delay=\${LOCK_TIMEOUT_BACKOFF:-5}
stop=
pause=
forward() {
  stop=1
  pid=
  [ -s ${HISTORY_FILES.toolPid} ] && read -r pid <${HISTORY_FILES.toolPid}
  [ -z "$pid" ] || kill "-$1" "$pid" 2>/dev/null
  [ -z "$pause" ] || kill "$pause" 2>/dev/null
}
trap 'forward TERM' TERM
trap 'forward INT' INT
watch() {
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\\n' "$line"
    case $line in *'due to lock timeout'*) echo 1 >${HISTORY_FILES.lockTimeout} ;; esac
  done
}
run() {
  { { "$@" 2>&1 >&3 3>&- &
      echo "$!" >${HISTORY_FILES.toolPid}
      wait "$!"
      echo "$?" >${HISTORY_FILES.toolExit}
    } | watch >&2
  } 3>&1 | watch
}
attempt=0
while :; do
  : >${HISTORY_FILES.lockTimeout}
  : >${HISTORY_FILES.toolPid}
  : >${HISTORY_FILES.toolExit}
  run "$@" &
  child=$!
  while :; do
    wait "$child"
    # A trapped signal ends the wait early (rc > 128): wait again until the tool has ended.
    kill -0 "$child" 2>/dev/null || break
  done
  rc=
  read -r rc <${HISTORY_FILES.toolExit}
  [ -n "$rc" ] || rc=1
  [ "$rc" -ne 0 ] && [ -s ${HISTORY_FILES.lockTimeout} ] && [ -z "$stop" ] || break
  if [ "$attempt" -ge "$retries" ]; then
    [ "$retries" -eq 0 ] || echo "migration cancelled by the lock timeout $((attempt + 1)) times; giving up (lockTimeoutRetries: $retries)" >&2
    break
  fi
  attempt=$((attempt + 1))
  echo "migration cancelled by the lock timeout; running it again in \${delay}s (retry $attempt of $retries)" >&2
  sleep "$delay" &
  pause=$!
  # A signal before pause was set found no sleep to end: end it here, or the wait would last.
  [ -z "$stop" ] || kill "$pause" 2>/dev/null
  wait "$pause"
  pause=
  [ -z "$stop" ] || break
  delay=$((delay * 2))
  [ "$delay" -le 60 ] || delay=60
done
echo "$rc" >${HISTORY_FILES.exit}
exit "$rc"
`;

/**
 * The record container, beside the migrate container: it prunes old finished Jobs of the service
 * while the migration runs (JOB_HISTORY_LIMIT: how many finished ones to keep, this one counting;
 * empty: none are deleted), waits for the migrate container's exit code, and when the step
 * succeeded appends it to the history (compare-and-swap on the resourceVersion the check read,
 * read again on a conflict). A skipped run annotates its Job with why. POSIX sh only.
 *
 * Environment: MIGRATION_HISTORY, MIGRATION_TAG, MIGRATION_STEP, HISTORY_SELECTOR (the label
 * selector of the service's Jobs of this step), HISTORY_LIMIT (lines kept), JOB_HISTORY_LIMIT,
 * JOB_NAME, POD_NAME.
 *
 * If the migrate container ends without writing its exit code (an image without \`sh\`: the
 * container cannot start), the pod's own status says it: it is read every 5 s.
 *
 * Exit 0: recorded, nothing to record, or the migration failed (the Job fails on the migrate
 * container's exit code). Exit 1: the history could not be written for about 2 minutes; the Job's
 * podFailurePolicy ignores that exit, and the next pod finds the step unrecorded and runs it again,
 * which a tool does as a no-op.
 *
 * @internal
 */
export const RECORD_SCRIPT = `set -u
hist=$MIGRATION_HISTORY
tag=$MIGRATION_TAG
step=$MIGRATION_STEP
${kubectlScriptSetup(CONTAINERS.record)}${READ_HISTORY}
prune() {
  keep=$JOB_HISTORY_LIMIT
  out=$(kubectl get jobs -l "$HISTORY_SELECTOR" --sort-by=.metadata.creationTimestamp --request-timeout=20s \\
    -o jsonpath='{range .items[*]}{.metadata.name}|{.status.conditions[?(@.type=="Complete")].status}{.status.conditions[?(@.type=="Failed")].status}{"\\n"}{end}' 2>&1) || {
    echo "migration history: listing the finished Jobs to prune: $out" >&2; return 0; }
  finished=0
  while IFS='|' read -r name done; do
    case $done in *True*) finished=$((finished + 1)) ;; esac
  done <<EOF
$out
EOF
  # This Job finishes too: keep JOB_HISTORY_LIMIT - 1 of the others.
  extra=$((finished - keep + 1))
  [ "$extra" -gt 0 ] || return 0
  old=
  while IFS='|' read -r name done; do
    [ "$extra" -gt 0 ] || break
    [ "$name" = "$JOB_NAME" ] && continue
    case $done in *True*) old="$old $name"; extra=$((extra - 1)) ;; esac
  done <<EOF
$out
EOF
  # shellcheck disable=SC2086
  out=$(kubectl delete jobs $old --wait=false --request-timeout=20s 2>&1) \\
    && echo "migration history: deleted finished Jobs$old (keeping $keep)" \\
    || echo "migration history: deleting finished Jobs$old: $out" >&2
}

# exit_code: the migrate container's exit code, or empty while it runs.
exit_code() {
  rc=
  [ -f ${HISTORY_FILES.exit} ] && read -r rc <${HISTORY_FILES.exit}
  return 0
}

[ -n "\${JOB_HISTORY_LIMIT:-}" ] && prune
polls=0
while :; do
  exit_code
  [ -n "$rc" ] && break
  polls=$((polls + 1))
  if [ "$polls" -ge 25 ]; then
    polls=0
    ended=$(kubectl get pods --field-selector "metadata.name=$POD_NAME" --request-timeout=20s \\
      -o jsonpath='{.items[0].status.containerStatuses[?(@.name=="migrate")].state.terminated.exitCode}' 2>/dev/null) || ended=
    exit_code
    [ -n "$rc" ] && break
    if [ -n "$ended" ]; then
      echo "migration history: the migrate container ended with code $ended without running the history's wrapper (no sh in its image?); nothing recorded" >&2
      exit 0
    fi
  fi
  sleep 0.2
done

if [ -f ${HISTORY_FILES.skip} ]; then
  read -r why <${HISTORY_FILES.skip}
  printf '%s' "$why" >/dev/termination-log 2>/dev/null
  out=$(kubectl annotate job "$JOB_NAME" --overwrite "${SKIPPED_ANNOTATION}=$why" --request-timeout=20s 2>&1) \\
    || echo "migration history: annotating Job $JOB_NAME: $out" >&2
  exit 0
fi
if [ "$rc" != 0 ]; then
  echo "migration history: the $step step of $tag failed (exit code $rc): nothing recorded"
  exit 0
fi

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
history=$(cat ${HISTORY_FILES.read} 2>/dev/null) || history=
tries=0
while :; do
  split_history
  # The lines to keep (the newest HISTORY_LIMIT - 1), then the new one.
  count=0 last=0
  while IFS='|' read -r seq rest; do
    [ -n "$seq" ] || continue
    count=$((count + 1)) last=$seq
  done <<EOF
$log
EOF
  skip=$((count - HISTORY_LIMIT + 1))
  body=
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    if [ "$skip" -gt 0 ]; then skip=$((skip - 1)); continue; fi
    body="$body    $line
"
  done <<EOF
$log
EOF
  body="$body    $((last + 1))|$step|$tag|$now|$JOB_NAME"
  if [ -z "$version" ]; then verb=create rv=; else verb=replace rv="
  resourceVersion: \\"$version\\""; fi
  if out=$(kubectl "$verb" -f - --validate=false --request-timeout=20s 2>&1 <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: "$hist"$rv
  labels: {"${MANAGED_BY_LABEL}": "${MANAGED_BY}", "${COMPONENT_LABEL}": "${COMPONENTS.history}"}
data:
  ${HISTORY_KEY}: |
$body
EOF
); then
    echo "migration history: recorded $step $tag at $now"
    exit 0
  fi
  case $out in
    *Forbidden*|*forbidden*|*Unauthorized*)
      echo "migration history: access refused writing configmap $hist: $out" >&2
      exit 1 ;;
    *AlreadyExists*|*Conflict*|*modified*) ;;
    *) echo "migration history: writing configmap $hist: $out" >&2; sleep 2 ;;
  esac
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "migration history: gave up writing configmap $hist after $tries attempts" >&2
    exit 1
  fi
  read_history
done
`;

/**
 * The kubectl waiter's reading of the history, for a tag: sets \`verdict\` to \`pass\` (the tag's
 * migration succeeded and nothing holds it), \`held\` (a newer tag's contract step ran after it and
 * no one allowed this rollback; \`why\` says which) or empty (not recorded: wait for the Job).
 * Input: the log on standard input; \`$tag\`, \`$svc\` set.
 *
 * Lines are in order, so a tag migrated after ours is newer, and a contract step of a newer tag
 * was run against a schema ours may need.
 *
 * @internal
 */
export const HISTORY_VERDICT = `history_verdict() {
  verdict= why= mine= newer=' ' contract=0 contract_tag= contract_at= allowed=0
  while IFS='|' read -r seq event etag when detail; do
    case $event in
      migrated)
        if [ "$etag" = "$tag" ]; then mine=$when newer=' ' contract=0; else [ -n "$mine" ] && newer="$newer$etag "; fi ;;
      contracted)
        case $newer in *" $etag "*) contract=$seq contract_tag=$etag contract_at=$when ;; esac ;;
      allowed)
        [ "$etag" = "$tag" ] && allowed=\${detail%% *} ;;
    esac
  done
  [ -n "$mine" ] || return 0
  if [ "$contract" -gt "$allowed" ] 2>/dev/null; then
    verdict=held
    why="rolling back to $tag is held: the post-rollout (contract) migration of $contract_tag ran at $contract_at, after $tag migrated (at $mine), and $tag's code may read what it removed; to allow this rollback: npx cdk8s-migrated-service allow-rollback $svc --to $tag -n <namespace>"
  else
    verdict=pass
    why="$tag migrated at $mine (migration history)"
  fi
}
`;
