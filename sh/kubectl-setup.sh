## The opening every in-pod kubectl script shares, after its own variables: the names of its FIFO
## and kubeconfig under TMPDIR (`SCRIPT.$$`), a `cleanup` on exit that kills the running watch
## (`$watcher`) and removes both files, and the in-cluster kubeconfig. In a pod's command Kubernetes
## turns `$$` into `$`, so there the names end in `.$`: each script runs once per pod, and its name
## keeps it apart from the others sharing /tmp. Run by hand or by the tests, `$$` is the shell's PID.
fifo="${TMPDIR:-/tmp}/@@SCRIPT@@.$$"
config="${TMPDIR:-/tmp}/@@SCRIPT@@.$$.kubeconfig"
watcher=
cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  rm -f "$fifo" "$config"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# In a pod, kubectl falls back to its in-cluster config only when no client flag is given, and the
# watch needs --request-timeout: write that config as a kubeconfig (tokenFile is re-read as the
# kubelet rotates the token).
sa=/var/run/secrets/kubernetes.io/serviceaccount
if [ -z "${KUBECONFIG:-}" ] && [ -n "${KUBERNETES_SERVICE_HOST:-}" ] && [ -r "$sa/token" ]; then
  host=$KUBERNETES_SERVICE_HOST
  case $host in *:*) host="[$host]" ;; esac
  cat >"$config" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: in-cluster, cluster: {server: "https://$host:${KUBERNETES_SERVICE_PORT:-443}", certificate-authority: $sa/ca.crt}}]
users: [{name: waiter, user: {tokenFile: $sa/token}}]
contexts: [{name: in-cluster, context: {cluster: in-cluster, user: waiter, namespace: "$(cat "$sa/namespace")"}}]
current-context: in-cluster
EOF
  export KUBECONFIG="$config"
fi
