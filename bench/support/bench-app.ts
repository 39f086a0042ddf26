/**
 * The app every rollout bench part releases: busybox httpd on port 8080 (uid 1000), one image per
 * tag; its migration runs in the same image. Shared by the library's releases and the peers'.
 */
import { buildImage, getJson, kubectl, rolledOut, SMALL_RESOURCES, waitFor } from '../../test/e2e/support';

export const APP = 'registry.example.com/rollout-bench';
export const APP_PORT = 8080;
export const APP_UID = 1000;
/** Requests small enough for ten new pods beside ten old ones on the 2-core node. */
export const SMALL = SMALL_RESOURCES;
/** The migration every release runs: 3 s of "work". */
export const MIGRATION = 'echo migrating; sleep 3; echo migrated';

/** One tag of the app: the service and its migration share the image. */
export function appImage(tag: string): void {
  buildImage({ name: `${APP}:${tag}`, contents: { '/www/index.html': `${tag}\n` }, cmd: ['httpd', '-f', '-p', `${APP_PORT}`, '-h', '/www'] });
}

/** The Deployment's pods of `tag` that are not being deleted (not the migration Job's). */
export const podsOf = (ns: string, tag: string): any[] => (getJson(['pods', '-n', ns])?.items ?? [])
  .filter((p: any) => p.metadata.labels?.['pod-template-hash'] && p.spec.containers[0].image.endsWith(`:${tag}`) && !p.metadata.deletionTimestamp);

/** Every one of `replicas` new pods of `tag` is Ready. */
export const allReady = (ns: string, tag: string, replicas: number): boolean => {
  const pods = podsOf(ns, tag);
  return pods.length === replicas && pods.every(p => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
};

/** The latest Ready condition time of the new pods of `tag` (epoch ms, 1 s resolution). */
export const lastReadyOf = (ns: string, tag: string): number => Math.max(...podsOf(ns, tag)
  .map(p => Date.parse(p.status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime)));

/**
 * The node takes at most 60 pods, and other jobs share it: at `replicas` of 10 and more only the
 * configuration being released keeps its pods (five Deployments of ten, their surge and the Job
 * would not fit). `park` scales a Deployment to 0 after its release and waits until its pods are
 * gone; `unpark` brings its last release back to `replicas` Ready pods, the old pods its next
 * release replaces.
 */
export const parks = (replicas: number): boolean => replicas >= 10;

const templatePods = (ns: string): any[] => (getJson(['pods', '-n', ns])?.items ?? []).filter((p: any) => p.metadata.labels?.['pod-template-hash']);

export async function park(ns: string, deployment: string): Promise<void> {
  kubectl(['scale', 'deployment', deployment, '-n', ns, '--replicas=0']);
  await waitFor(`${deployment} in ${ns} scaled to 0`, () => templatePods(ns).every(p => p.metadata.deletionTimestamp), { namespace: ns, intervalMs: 250 });
  // busybox httpd as PID 1 ignores SIGTERM: without this each pod would hold its slot for 30 s.
  kubectl(['delete', 'pods', '-n', ns, '-l', 'pod-template-hash', '--grace-period=1', '--wait=false'], { allowFail: true });
  await waitFor(`${deployment} pods in ${ns} gone`, () => templatePods(ns).length === 0, { namespace: ns, intervalMs: 500, timeoutMs: 120_000 });
}

export async function unpark(ns: string, deployment: string, tag: string, replicas: number): Promise<void> {
  kubectl(['scale', 'deployment', deployment, '-n', ns, `--replicas=${replicas}`]);
  await waitFor(`${deployment} in ${ns} back to ${replicas}`, () => rolledOut(ns, deployment) && allReady(ns, tag, replicas),
    { namespace: ns, intervalMs: 500, timeoutMs: 300_000 });
}
