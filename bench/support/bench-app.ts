/**
 * The app every rollout bench part releases: busybox httpd on port 8080 (uid 1000), one image per
 * tag; its migration runs in the same image. Shared by the library's releases and the peers'.
 */
import { getJson, SMALL_RESOURCES, buildImage } from '../../test/e2e/support';

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
