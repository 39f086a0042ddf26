/**
 * Counting the API requests of an in-pod kubectl: an image whose `kubectl` is a wrapper that runs
 * the real one with -v=6 and appends its request lines to a file in the pod's /tmp emptyDir, read
 * from the node (local cluster only).
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildImage, ImageSpec, LOCAL_K8S_DIR } from '../../test/e2e/support';

const LOG = 'kubectl-requests.log';

/**
 * The wrapper, at the path the image's scripts call kubectl by. kubectl -v=6 logs one line per API
 * request on stderr: all of its stderr is appended to a file in the pod's /tmp as it comes, and
 * what is not a log line (kubectl's own errors, which the scripts read) still reaches stderr.
 */
const WRAPPER = `#!/bin/sh
err=/tmp/kubectl-stderr.$$
mkfifo "$err"
tee -a /tmp/${LOG} <"$err" | grep -v '^[IWE][0-9][0-9][0-9][0-9] ' >&2 &
/usr/local/lib/kubectl.real -v=6 "$@" 2>"$err"
rc=$?
wait
rm -f "$err"
exit $rc
`;

/** Build `spec` with the local kubectl as /usr/local/lib/kubectl.real and the wrapper at `kubectlPath`. */
export function countingImage(spec: ImageSpec, kubectlPath: string): string {
  const kubectlBin = fs.realpathSync(path.join(LOCAL_K8S_DIR, 'bin', 'kubectl'));
  return buildImage({
    ...spec,
    files: [`${kubectlBin}:/usr/local/lib/kubectl.real`, ...spec.files ?? []],
    contents: { ...spec.contents, [kubectlPath]: WRAPPER },
  });
}

/** The request lines the init container `container` of `pod` has logged so far. */
export function requestLines(pod: any, container: string): string[] {
  const c = pod.spec.initContainers.find((x: any) => x.name === container);
  const mount = c.volumeMounts.find((m: any) => m.mountPath === '/tmp');
  const file = path.join(LOCAL_K8S_DIR, 'kubelet', 'root', 'pods', pod.metadata.uid, 'volumes', 'kubernetes.io~empty-dir', mount.name, LOG);
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(l => /round_trippers\.go:\d+\] [A-Z]+ https?:/.test(l));
}

/** `N× VERB /path` per kind of request (namespaces and names replaced by NS and NAME). */
export function summarize(lines: string[]): string {
  const kinds = new Map<string, number>();
  for (const l of lines) {
    const m = /\] ([A-Z]+) https?:\/\/[^/]+(\/[^?\s]*)(\?\S*)?/.exec(l)!;
    const what = `${m[1]} ${m[2].replace(/\/namespaces\/[^/]+/, '/namespaces/NS').replace(/\/(jobs|leases)\/[^/]+$/, '/$1/NAME')}` +
      `${(m[3] ?? '').includes('watch=true') ? ' (watch)' : ''}`;
    kinds.set(what, (kinds.get(what) ?? 0) + 1);
  }
  return [...kinds.entries()].map(([k, n]) => `${n}× ${k}`).join(', ');
}
