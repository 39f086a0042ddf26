/**
 * One small MigratedService released on the cluster, start to finish: its image built, synthesized
 * through the public API, applied server-side, its migration Job Complete and its Deployment rolled
 * out. For scenarios that need only a service of their own image and a one-line migration
 * (smoke, startup-and-selector); the rollout scenarios use the fixture app instead.
 */
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { buildImage, ImageSpec } from './images';
import { apply, createNamespace, deleteNamespace, jobConditions, rolledOut, waitFor } from './kubectl';
import { synthYaml } from './synth';
import { MigratedService, Waiter } from '../../../src';

/** Requests and limits small enough for many pods on the shared single node. */
export const SMALL_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};

/** The port the small service listens on (its image's command must serve there). */
export const SMALL_SERVICE_PORT = 8080;
/** The UID its containers run as. */
export const SMALL_SERVICE_UID = 1000;

/**
 * A restricted namespace `<prefix>-<random>` for the enclosing describe block: created in its
 * beforeAll, deleted (without waiting) in its afterAll. Returns a getter (the name is known only
 * once beforeAll has run).
 */
export function useNamespace(prefix: string): () => string {
  let ns: string | undefined;
  beforeAll(() => {
    ns = createNamespace(prefix);
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });
  return () => {
    if (!ns) throw new Error(`namespace ${prefix}-* is used before its beforeAll ran`);
    return ns;
  };
}

export interface SmallServiceOptions {
  /** Namespace to release into. */
  readonly namespace: string;
  /** Construct id of the MigratedService. */
  readonly id: string;
  /** Its `name` prop. @default - from the construct id */
  readonly name?: string;
  /** The service's image; its tag is the release's image tag. Built and made available to the node. */
  readonly image: ImageSpec;
  /** The migration's command. */
  readonly migrationCommand: string[];
  /** How long the Deployment may take to roll out after the Job completed. @default waitFor's */
  readonly rolloutTimeoutMs?: number;
}

export interface SmallService {
  /** Name of the Deployment (and Service). */
  readonly name: string;
  /** Name of the migration Job. */
  readonly jobName: string;
}

/**
 * Release a small service with the kubectl waiter and one replica, and wait until its Job is
 * Complete and its Deployment has rolled out (each wait prints the namespace's state on timeout).
 */
export async function releaseSmallService(options: SmallServiceOptions): Promise<SmallService> {
  const image = buildImage(options.image);
  const [repository, tag] = splitTag(image);
  const ns = options.namespace;
  let released: SmallService | undefined;
  const yaml = synthYaml(ns, chart => {
    const svc = new MigratedService(chart, options.id, {
      name: options.name,
      image: repository,
      imageTag: tag,
      replicas: 1,
      port: SMALL_SERVICE_PORT,
      runAsUser: SMALL_SERVICE_UID,
      resources: SMALL_RESOURCES,
      waiter: Waiter.kubectl(),
      migration: { command: options.migrationCommand, resources: SMALL_RESOURCES },
    });
    released = { name: svc.name, jobName: svc.jobName };
  });
  const { name, jobName } = released!;

  apply(yaml, ns);

  await waitFor(`Job ${jobName} Complete`, () => jobConditions(ns, jobName).Complete, { namespace: ns });
  await waitFor(`Deployment ${name} rolled out`, () => rolledOut(ns, name), { namespace: ns, timeoutMs: options.rolloutTimeoutMs });
  return { name, jobName };
}

/** `registry:5000/repo:tag` → [`registry:5000/repo`, `tag`]; the tag is required. */
function splitTag(image: string): [string, string] {
  const colon = image.lastIndexOf(':');
  if (colon <= image.lastIndexOf('/')) throw new Error(`image ${image} has no tag`);
  return [image.slice(0, colon), image.slice(colon + 1)];
}
