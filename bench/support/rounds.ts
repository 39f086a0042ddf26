/**
 * The rounds of a rollout comparison, shared by the overhead part and the peers part: each
 * contender in its own namespace at each size, one warm-up release (its pods are the "old" ones of
 * round 1), then `tags.length - 1` releases alternating the contenders' order per round. A size's
 * namespaces are deleted before the next size starts (the node takes at most 60 pods).
 */
import { park, parks, unpark } from './bench-app';
import { createNamespace, deleteNamespace } from '../../test/e2e/support';

/** The Deployment every contender releases. */
const DEPLOYMENT = 'bench';

/** Release `tags[round]` of `contender` at `replicas` in `ns`; round 0 is the warm-up. */
export type Release<C> = (contender: C, ns: string, replicas: number, tag: string, round: number) => Promise<void>;

export async function alternatingRounds<C>(contenders: C[], prefix: string, sizes: number[], tags: string[], release: Release<C>): Promise<void> {
  for (const replicas of sizes) {
    const namespaces: string[] = [];
    try {
      const nss = contenders.map(c => {
        const ns = createNamespace(`${prefix}-${replicas}`);
        namespaces.push(ns);
        return { c, ns };
      });
      for (const { c, ns } of nss) {
        await release(c, ns, replicas, tags[0], 0);
        if (parks(replicas)) await park(ns, DEPLOYMENT);
      }
      for (let round = 1; round < tags.length; round++) {
        const order = round % 2 ? nss : [...nss].reverse();
        for (const { c, ns } of order) {
          if (parks(replicas)) await unpark(ns, DEPLOYMENT, tags[round - 1], replicas);
          await release(c, ns, replicas, tags[round], round);
          if (parks(replicas)) await park(ns, DEPLOYMENT);
        }
      }
    } finally {
      for (const ns of namespaces) deleteNamespace(ns);
    }
  }
}
