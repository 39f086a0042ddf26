## `read_history` reads the history ConfigMap `$hist` into `$history` (resourceVersion on the
## first line, then the log; empty when it does not exist yet), retrying errors for about 60 s (a
## refusal ends the script at once); `split_history` sets `$version` and `$log` from `$history`.
# The history check uses only $log, the record container both.
# shellcheck disable=SC2034
split_history() {
  version=${history%%
*}
  log=${history#*
}
  [ "$log" = "$history" ] && log=
  return 0
}
read_history() {
  tries=0
  while :; do
    if out=$(kubectl get configmap "$hist" -o jsonpath='{.metadata.resourceVersion}{"\n"}{.data.@@HISTORY_KEY@@}' --request-timeout=20s 2>&1); then
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
