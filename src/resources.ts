import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/**
 * Default requests and limits of the service and migration containers.
 *
 * cdk8s-plus-28 would request 1 CPU and 512Mi per container (limits 1.5 CPU, 2Gi): two replicas,
 * a surge pod and the next release's migration Job then ask for 4 CPUs, and on a 2-core node the
 * Job stays Pending, so the release never starts. Small requests let a release schedule wherever
 * the previous one ran; a memory limit bounds a leak; no CPU limit, because CFS throttling of a
 * busy pod (a migration's burst, a service's start-up) costs latency and buys nothing when
 * requests already share the node fairly. Set `resources` / `migration.resources` for real sizes.
 */
export const SERVICE_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
};

/**
 * The migration container's defaults: like the service's, with room for a tool that loads a
 * whole schema or an ORM (Prisma, Django) in memory.
 */
export const MIGRATION_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
};
