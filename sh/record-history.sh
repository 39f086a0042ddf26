## The record container, beside the migrate container: it prunes old finished Jobs of the service
## while the migration runs (JOB_HISTORY_LIMIT: how many finished ones to keep, this one counting;
## empty: none are deleted), waits for the migrate container's exit code, and when the step
## succeeded appends it to the history (compare-and-swap on the resourceVersion the check read,
## read again on a conflict). A skipped run annotates its Job with why. POSIX sh only.
##
## Environment: MIGRATION_HISTORY, MIGRATION_TAG, MIGRATION_STEP, HISTORY_SELECTOR (the label
## selector of the service's Jobs of this step), HISTORY_LIMIT (lines kept), JOB_HISTORY_LIMIT,
## JOB_NAME, POD_NAME.
##
## If the migrate container ends without writing its exit code (an image without `sh`: the
## container cannot start), the pod's own status says it: it is read every 5 s.
##
## Exit 0: recorded, nothing to record, or the migration failed (the Job fails on the migrate
## container's exit code). Exit 1: the history could not be written for about 2 minutes; the Job's
## podFailurePolicy ignores that exit, and the next pod finds the step unrecorded and runs it again,
## which a tool does as a no-op.
set -u
hist=$MIGRATION_HISTORY
tag=$MIGRATION_TAG
step=$MIGRATION_STEP
#@ include kubectl-setup.sh

#@ include read-history.sh

prune() {
  keep=$JOB_HISTORY_LIMIT
  out=$(kubectl get jobs -l "$HISTORY_SELECTOR" --sort-by=.metadata.creationTimestamp --request-timeout=20s \
    -o jsonpath='{range .items[*]}{.metadata.name}|{.status.conditions[?(@.type=="Complete")].status}{.status.conditions[?(@.type=="Failed")].status}{"\n"}{end}' 2>&1) || {
    echo "migration history: listing the finished Jobs to prune: $out" >&2; return 0; }
  finished=0
  while IFS='|' read -r name state; do
    case $state in *True*) finished=$((finished + 1)) ;; esac
  done <<EOF
$out
EOF
  # This Job finishes too: keep JOB_HISTORY_LIMIT - 1 of the others.
  extra=$((finished - keep + 1))
  [ "$extra" -gt 0 ] || return 0
  old=
  while IFS='|' read -r name state; do
    [ "$extra" -gt 0 ] || break
    [ "$name" = "$JOB_NAME" ] && continue
    case $state in *True*) old="$old $name"; extra=$((extra - 1)) ;; esac
  done <<EOF
$out
EOF
  # shellcheck disable=SC2086
  out=$(kubectl delete jobs $old --wait=false --request-timeout=20s 2>&1) \
    && echo "migration history: deleted finished Jobs$old (keeping $keep)" \
    || echo "migration history: deleting finished Jobs$old: $out" >&2
}

# exit_code: the migrate container's exit code, or empty while it runs.
exit_code() {
  rc=
  [ -f @@EXIT_FILE@@ ] && read -r rc <@@EXIT_FILE@@
  return 0
}

[ -n "${JOB_HISTORY_LIMIT:-}" ] && prune
polls=0
while :; do
  exit_code
  [ -n "$rc" ] && break
  polls=$((polls + 1))
  if [ "$polls" -ge 25 ]; then
    polls=0
    ended=$(kubectl get pods --field-selector "metadata.name=$POD_NAME" --request-timeout=20s \
      -o jsonpath='{.items[0].status.containerStatuses[?(@.name=="@@MIGRATE_CONTAINER@@")].state.terminated.exitCode}' 2>/dev/null) || ended=
    exit_code
    [ -n "$rc" ] && break
    if [ -n "$ended" ]; then
      echo "migration history: the migrate container ended with code $ended without running the history's wrapper (no sh in its image?); nothing recorded" >&2
      exit 0
    fi
  fi
  sleep 0.2
done

if [ -f @@SKIP_FILE@@ ]; then
  read -r why <@@SKIP_FILE@@
  printf '%s' "$why" >/dev/termination-log 2>/dev/null
  out=$(kubectl annotate job "$JOB_NAME" --overwrite "@@SKIPPED_ANNOTATION@@=$why" --request-timeout=20s 2>&1) \
    || echo "migration history: annotating Job $JOB_NAME: $out" >&2
  exit 0
fi
if [ "$rc" != 0 ]; then
  echo "migration history: the $step step of $tag failed (exit code $rc): nothing recorded"
  exit 0
fi

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
history=$(cat @@READ_FILE@@ 2>/dev/null) || history=
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
  resourceVersion: \"$version\""; fi
  if out=$(kubectl "$verb" -f - --validate=false --request-timeout=20s 2>&1 <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: "$hist"$rv
  labels: {"@@MANAGED_BY_LABEL@@": "@@MANAGED_BY@@", "@@COMPONENT_LABEL@@": "@@HISTORY_COMPONENT@@"}
data:
  @@HISTORY_KEY@@: |
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
