/**
 * Shell fragments shared by the scripts that run kubectl inside a pod (the kubectl waiter and the
 * migration lock). POSIX sh only.
 */

/**
 * In a pod, kubectl falls back to its in-cluster config only when no client flag is given, and a
 * watch needs `--request-timeout`: this writes that config as a kubeconfig to `$config` (which
 * the script names, under its writable TMPDIR) and exports KUBECONFIG. `tokenFile` is re-read as
 * the kubelet rotates the projected token.
 *
 */
const IN_CLUSTER_KUBECONFIG = `# In a pod, kubectl falls back to its in-cluster config only when no client flag is given, and the
# watch needs --request-timeout: write that config as a kubeconfig (tokenFile is re-read as the
# kubelet rotates the token).
sa=/var/run/secrets/kubernetes.io/serviceaccount
if [ -z "\${KUBECONFIG:-}" ] && [ -n "\${KUBERNETES_SERVICE_HOST:-}" ] && [ -r "$sa/token" ]; then
  host=$KUBERNETES_SERVICE_HOST
  case $host in *:*) host="[$host]" ;; esac
  cat >"$config" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: in-cluster, cluster: {server: "https://$host:\${KUBERNETES_SERVICE_PORT:-443}", certificate-authority: $sa/ca.crt}}]
users: [{name: waiter, user: {tokenFile: $sa/token}}]
contexts: [{name: in-cluster, context: {cluster: in-cluster, user: waiter, namespace: "$(cat "$sa/namespace")"}}]
current-context: in-cluster
EOF
  export KUBECONFIG="$config"
fi

`;

/**
 * The opening every in-pod kubectl script shares, after its own variables: the names of its FIFO
 * and kubeconfig under TMPDIR (`name.PID`), a `cleanup` on exit that kills the running watch
 * (`$watcher`) and removes both files, and the in-cluster kubeconfig.
 *
 * @param name the script's name, used in its file names
 * @internal
 */
export function kubectlScriptSetup(name: string): string {
  return `fifo="\${TMPDIR:-/tmp}/${name}.$$"
config="\${TMPDIR:-/tmp}/${name}.$$.kubeconfig"
watcher=
cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  rm -f "$fifo" "$config"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

${IN_CLUSTER_KUBECONFIG}`;
}
