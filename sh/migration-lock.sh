## The migration lock. Arguments: SERVICE LEASE DEADLINE_SECONDS [MIN_SECONDS_BETWEEN_WATCHES, default 5].
## Environment: JOB_NAME and JOB_UID of the pod's own Job. POSIX sh only (busybox sh, dash).
##
## Mutual exclusion comes from one Lease, taken by compare-and-swap (`kubectl replace` at the
## resourceVersion that was read, or `kubectl create`): its holder is `<job>/<job uid>`. The holder
## needs no renewal: it holds the lock while any pod of its Job is not Succeeded or Failed
## (terminating pods included), read from the pods themselves, so a killed or deleted migration
## frees the lock without waiting for a lease to expire, and a retry pod of the holder's Job takes
## it again.
##
## Order comes from the Jobs: among the service's unfinished migration Jobs (a post-rollout Job
## only once its pod waits at the lock, since it first waits for the rollout), the one created
## first (creationTimestamp, then name) goes next. The lease is read before the Jobs and pods, so a
## holder that took it meanwhile changes its resourceVersion and the swap fails: one kubectl run
## lists `leases,jobs,pods` by the lock's label, one type after the other in that order (the Lease
## carries the label): one kubectl start-up (about 0.15 s) less than reading the Lease by name.
##
## While it waits it holds one watch on the service's migration pods and reads again after each
## change (a pod's own ADDED events are ignored: a new pod is newer, and its changes follow as
## MODIFIED); the watch ends every 300 s by itself and is started again at most every
## MIN_SECONDS_BETWEEN_WATCHES. 10 s before DEADLINE_SECONDS (the Job's activeDeadline, 0 for
## none) have passed it gives up and exits 1 with who holds the lock.
##
## Exit 0: the lock is this Job's. Exit 1: refused access, gave up, or an API error that persisted.
set -u
svc=$1
lease=$2
limit=$3
spacing=${4:-5}
me="$JOB_NAME/$JOB_UID"
selector="@@LOCK_LABEL@@=$svc"
fmt='@@READ_JSONPATH@@'
started=$(date +%s)
give_up=0
[ "$limit" -gt 0 ] && give_up=$((started + limit - 10))
#@ include kubectl-setup.sh

refused() {
  case $1 in
    *Forbidden*|*forbidden*|*Unauthorized*)
      echo "migration lock: access refused (the lock needs list on leases, jobs and pods, watch on pods, update on lease $lease, create on leases): $1" >&2
      exit 1 ;;
  esac
}

said=
errors=0
say() {
  [ "$1" = "$said" ] && return 0
  said=$1
  echo "$1"
}

# take: one attempt. Returns 0 when the lock is ours, 1 when another migration goes first (said
# why), 2 when the lease changed under us or kubectl failed (try again).
take() {
  # One kubectl run lists the types in the order given, one after the other: the lease first, so a
  # holder that takes it after this read changes its resourceVersion and our swap fails.
  objects=$(kubectl get leases,jobs,pods -l "$selector" -o jsonpath="$fmt" --request-timeout=30s 2>&1) || {
    refused "$objects"; echo "migration lock: reading the lease and the migrations of $svc: $objects" >&2; return 2; }
  # The Lease (none yet: the swap creates it).
  version='' holder=''
  while IFS='|' read -r kind name uid created component complete failed owner phase at_lock rv holds; do
    if [ "$kind" = Lease ] && [ "$name" = "$lease" ]; then
      version=$rv holder=$holds
    fi
  done <<EOF
$objects
EOF
  # Pods: which Jobs have one (live: not Succeeded or Failed, terminating included; waiting: at the lock).
  live=' ' waiting=' ' seen=' '
  while IFS='|' read -r kind name uid created component complete failed owner phase at_lock rv holds; do
    [ "$kind" = Pod ] || continue
    seen="$seen$owner "
    case $phase in Succeeded|Failed) continue ;; esac
    live="$live$owner "
    [ -n "$at_lock" ] && waiting="$waiting$owner "
  done <<EOF
$objects
EOF
  # Jobs: the first by (creationTimestamp, name) among those that may still migrate: unfinished,
  # with a live pod or none yet (all its pods ended: it is finishing, or backing off and loses its
  # turn); a post-rollout Job only while its pod waits here. This Job always counts: it waits here.
  first='' first_key='' found=''
  while IFS='|' read -r kind name uid created component complete failed owner phase at_lock rv holds; do
    [ "$kind" = Job ] || continue
    if [ "$uid" = "$JOB_UID" ]; then
      found=1
    else
      [ "$complete" = True ] && continue
      [ "$failed" = True ] && continue
      case $live in *" $uid "*) ;; *) case $seen in *" $uid "*) continue ;; esac ;; esac
      if [ "$component" = @@POST_ROLLOUT_COMPONENT@@ ]; then
        case $waiting in *" $uid "*) ;; *) continue ;; esac
      fi
    fi
    key="$created|$name"
    if [ -z "$first" ] || [ "$(expr "$key" \< "$first_key")" = 1 ]; then
      first=$name first_key=$key
    fi
  done <<EOF
$objects
EOF
  if [ -z "$found" ]; then
    echo "migration lock: Job $JOB_NAME ($JOB_UID) is not among the migrations of $svc (label $selector)" >&2
    return 2
  fi
  if [ "$holder" != "$me" ]; then
    if [ -n "$holder" ]; then
      case $live in
        *" ${holder#*/} "*) say "waiting for migration ${holder%/*} of $svc: it holds the lock"; return 1 ;;
      esac
    fi
    if [ "$first" != "$JOB_NAME" ]; then
      say "waiting for migration $first of $svc: it was created first"
      return 1
    fi
  fi
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
  if [ -z "$version" ]; then
    verb=create rv=
  else
    verb=replace rv=", resourceVersion: \"$version\""
  fi
  # The label is what the read lists the Lease by. --validate=false: client-side validation would
  # fetch the OpenAPI documents first (about 0.13 s of the lock's cost when nothing else migrates);
  # this Lease is ours and always valid.
  if out=$(kubectl "$verb" -f - --validate=false --request-timeout=30s 2>&1 <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: "$lease"$rv, labels: {"@@LOCK_LABEL@@": "$svc"}}
spec: {holderIdentity: "$me", acquireTime: "$now"}
EOF
); then
    echo "migration lock of $svc taken by $JOB_NAME after $(($(date +%s) - started))s"
    return 0
  fi
  refused "$out"
  # AlreadyExists or Conflict: another migration swapped first; read again.
  case $out in
    *AlreadyExists*)
      # Again and again: the Lease exists but the read by label does not show it (label removed).
      [ "$errors" -ge 2 ] && echo "migration lock: lease $lease exists but has no label $selector: $out" >&2 ;;
    *Conflict*|*modified*) ;;
    *) echo "migration lock: taking lease $lease: $out" >&2 ;;
  esac
  return 2
}

# decide: exit 0 once the lock is ours; return when it is time to wait for a change.
decide() {
  while :; do
    if [ "$give_up" -gt 0 ] && [ "$(date +%s)" -ge "$give_up" ]; then
      echo "migration lock: gave up after $(($(date +%s) - started))s, before the Job's activeDeadline ($limit s); last state: ${said:-no lock read}" >&2
      exit 1
    fi
    take
    case $? in
      0) exit 0 ;;
      1) errors=0; return 0 ;;
    esac
    errors=$((errors + 1))
    if [ "$errors" -ge 30 ]; then
      echo "migration lock: gave up after 30 failed attempts in a row" >&2
      exit 1
    fi
    sleep 1
  done
}

echo "migration lock of $svc for $JOB_NAME"
decide
while :; do
  begun=$(date +%s)
  wait_for=300
  if [ "$give_up" -gt 0 ]; then
    left=$((give_up - begun))
    [ "$left" -lt 1 ] && left=1
    [ "$left" -lt "$wait_for" ] && wait_for=$left
  fi
  listed=
  #@ define WATCH
  kubectl get pods -l "$selector" --watch --output-watch-events -o jsonpath='{.type}{"\n"}' \
    --request-timeout="${wait_for}s"
  #@ end
  #@ define ON_LINE
  case $line in
    ADDED)
      # The watch's first lines list the pods as they are: read once it is established.
      [ -z "$listed" ] && { listed=1; decide; } ;;
    MODIFIED|DELETED) listed=1; decide ;;
    *) refused "$line"; echo "migration lock: kubectl: $line" >&2 ;;
  esac
  #@ end
  #@ include fifo-watch.sh
  decide
  pause=$((begun + spacing - $(date +%s)))
  [ "$pause" -gt 0 ] && sleep "$pause"
done
