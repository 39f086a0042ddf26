## What the migrate container runs in the migration image: the tool, unless the history check
## found this step already done; its exit code goes to the exit file for the record container.
## Arguments: the tool's command and arguments. Needs a POSIX `sh` in the image (its builtins,
## and `sleep` between retries). The tool runs as a child, not by `exec`, so that its exit
## code can be written; the shell is the container's PID 1, which ignores signals it does not trap,
## so it passes SIGTERM and SIGINT on: an evicted or deleted migration stops when the kubelet says
## so, not after the grace period (a retry pod of the same Job may take the migration lock as soon
## as it starts).
##
## The tool's stdout and stderr pass through line by line, each to its own stream, watched for
## PostgreSQL's "canceling statement due to lock timeout". When the tool failed with it, it runs
## again after `LOCK_TIMEOUT_BACKOFF` seconds (doubling, up to 60), at most
## `LOCK_TIMEOUT_RETRIES` times (unset: never). Any other failure, or a signal, ends the run; a
## signal during the backoff ends its `sleep` too, whenever it comes.
if [ -f @@SKIP_FILE@@ ]; then
  read -r why <@@SKIP_FILE@@
  echo "$why"
  echo 0 >@@EXIT_FILE@@
  exit 0
fi
retries=${LOCK_TIMEOUT_RETRIES:-0}
delay=${LOCK_TIMEOUT_BACKOFF:-5}
stop=
pause=
forward() {
  stop=1
  pid=
  [ -s @@TOOL_PID_FILE@@ ] && read -r pid <@@TOOL_PID_FILE@@
  [ -z "$pid" ] || kill "-$1" "$pid" 2>/dev/null
  [ -z "$pause" ] || kill "$pause" 2>/dev/null
}
trap 'forward TERM' TERM
trap 'forward INT' INT
watch() {
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
    case $line in *'due to lock timeout'*) echo 1 >@@LOCK_TIMEOUT_FILE@@ ;; esac
  done
}
run() {
  { { "$@" 2>&1 >&3 3>&- &
      echo "$!" >@@TOOL_PID_FILE@@
      wait "$!"
      echo "$?" >@@TOOL_EXIT_FILE@@
    } | watch >&2
  } 3>&1 | watch
}
attempt=0
while :; do
  : >@@LOCK_TIMEOUT_FILE@@
  : >@@TOOL_PID_FILE@@
  : >@@TOOL_EXIT_FILE@@
  run "$@" &
  child=$!
  while :; do
    wait "$child"
    # A trapped signal ends the wait early (rc > 128): wait again until the tool has ended.
    kill -0 "$child" 2>/dev/null || break
  done
  rc=
  read -r rc <@@TOOL_EXIT_FILE@@
  [ -n "$rc" ] || rc=1
  # Run again only after a lock timeout, and never once a signal came.
  if [ "$rc" -eq 0 ] || [ ! -s @@LOCK_TIMEOUT_FILE@@ ] || [ -n "$stop" ]; then break; fi
  if [ "$attempt" -ge "$retries" ]; then
    [ "$retries" -eq 0 ] || echo "migration cancelled by the lock timeout $((attempt + 1)) times; giving up (lockTimeoutRetries: $retries)" >&2
    break
  fi
  attempt=$((attempt + 1))
  echo "migration cancelled by the lock timeout; running it again in ${delay}s (retry $attempt of $retries)" >&2
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
echo "$rc" >@@EXIT_FILE@@
exit "$rc"
