#!/bin/sh
# Stand-in for `kubectl get job NAME [--watch] -o jsonpath=FMT`, used by test/waiter-script.test.ts.
# It replays a Job's life from the scenario directory $STUB_KUBECTL_DIR:
#   job        name of the Job that exists (any other name is NotFound, as on a real cluster)
#   t0         epoch milliseconds the timeline starts at
#   timeline   lines "<ms after t0> <state>"; a state is a jsonpath line (`1|Complete=True==;`),
#              !NotFound, !Forbidden, !Unauthorized, or !EndWatch (the API server closes the watch)
#   watch-forbidden   when present, --watch is refused (a Role with `get` only)
# It appends to `calls` (one line per call: pid, then each argument after a \037 separator) and,
# per watch event, to `emitted` ("<epoch ms> <line>").
# Like a real watch it prints the current state, then each change, then stays open.

dir=${STUB_KUBECTL_DIR:?STUB_KUBECTL_DIR is not set}

{ printf '%s' "$$"; for a in "$@"; do printf '\037%s' "$a"; done; echo; } >>"$dir/calls"

now_ms() {
  ns=$(date +%s%N)
  echo $((ns / 1000000))
}

# Sleep $1 ms; a TERM during the sleep kills the sleep too, so nothing outlives the stub.
pause() {
  sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))" &
  wait $!
}
trap 'kill $! 2>/dev/null; exit 143' TERM

if [ "$#" -lt 3 ] || [ "$1" != get ] || [ "$2" != job ]; then
  echo "stub kubectl: unexpected call: $*" >&2
  exit 2
fi
name=$3
shift 3
watch=false
output=
while [ "$#" -gt 0 ]; do
  case $1 in
    --watch|-w) watch=true ;;
    -o) output=${2-}; shift ;;
    *) echo "stub kubectl: unexpected flag: $1" >&2; exit 2 ;;
  esac
  shift
done
case $output in
  jsonpath=*) ;;
  *) echo "stub kubectl: expected -o jsonpath=..., got: $output" >&2; exit 2 ;;
esac

refuse() {
  case $1 in
    '!Forbidden'|forbidden-watch)
      verb=get; [ "$1" = forbidden-watch ] && verb=watch
      echo "Error from server (Forbidden): jobs.batch \"$name\" is forbidden: User \"system:serviceaccount:myapp:myapp\" cannot $verb resource \"jobs\" in API group \"batch\" in the namespace \"myapp\"" >&2 ;;
    '!Unauthorized')
      echo 'error: You must be logged in to the server (Unauthorized)' >&2 ;;
    *)
      echo "Error from server (NotFound): jobs.batch \"$name\" not found" >&2 ;;
  esac
  exit 1
}

t0=$(cat "$dir/t0")
elapsed=$(($(now_ms) - t0))
state='!NotFound'
# The current state: the last one at or before now (!EndWatch is an event, not a state).
while read -r at line; do
  [ "$at" -le "$elapsed" ] && [ "$line" != '!EndWatch' ] && state=$line
done <"$dir/timeline"
[ "$name" = "$(cat "$dir/job")" ] || state='!NotFound'

case $state in
  '!'*) refuse "$state" ;;
esac

if [ "$watch" = false ]; then
  printf '%s\n' "$state"
  exit 0
fi
[ -e "$dir/watch-forbidden" ] && refuse forbidden-watch

# Logged before it is printed: the waiter may kill the stub as soon as it reads the line.
emit() {
  echo "$(now_ms) $1" >>"$dir/emitted"
  printf '%s\n' "$1"
}

emit "$state"
while read -r at line; do
  [ "$at" -le "$elapsed" ] && continue
  wait_ms=$((t0 + at - $(now_ms)))
  [ "$wait_ms" -gt 0 ] && pause "$wait_ms"
  case $line in
    '!EndWatch') exit 0 ;;
    '!'*) ;; # a deleted or unreadable Job sends no line the waiter could act on
    *) emit "$line" ;;
  esac
done <"$dir/timeline"
# A real watch stays open until the server ends it.
exec sleep 600
