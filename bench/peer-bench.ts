/**
 * Part 5 of the rollout bench (issue 29 item 6): the library against what a user would write
 * instead (bench/peers.ts), in the same run, alternating their order per round, at 2 and 10
 * replicas. Each release is timed on the cluster's own timestamps (1 s resolution): the migration
 * Job's creationTimestamp (the apply; for CI sequencing the first of its two applies) to the
 * latest Ready condition of the new pods.
 */
import { MigratedService } from '../src';
import { ciSequencing, PEER_DEPLOYMENT, PeerManifests, PeerRelease, seedPattern } from './peers';
import { allReady, APP, APP_PORT, APP_UID, appImage, lastReadyOf, MIGRATION, SMALL } from './support/bench-app';
import { loadAverage } from './support/cli';
import { median } from './support/observe';
import { alternatingRounds } from './support/rounds';
import {
  applyAsync, conditionsOf, getJson, kubectlAsync, rolledOut, synthYaml, waitFor,
} from '../test/e2e/support';

interface Contender {
  readonly label: string;
  /** Release `r` and return its Job's name once every new pod is Ready. */
  readonly release: (r: PeerRelease) => Promise<string>;
}

/** Apply the Job and the Deployment together (the library, the seed pattern). */
async function applyTogether(r: PeerRelease, m: PeerManifests): Promise<string> {
  await applyAsync(m.applies.join('---\n'), r.namespace);
  return m.jobName;
}

const CONTENDERS: Contender[] = [
  {
    label: 'library (current defaults)',
    release: r => {
      let jobName = '';
      const yaml = synthYaml(r.namespace, chart => {
        jobName = new MigratedService(chart, PEER_DEPLOYMENT, {
          image: APP,
          imageTag: r.tag,
          replicas: r.replicas,
          port: APP_PORT,
          runAsUser: APP_UID,
          resources: SMALL,
          migration: { command: ['sh', '-c', MIGRATION], resources: SMALL },
        }).jobName;
      });
      return applyTogether(r, { jobName, applies: [yaml] });
    },
  },
  { label: 'seed pattern (k8s-wait-for, by hand)', release: r => applyTogether(r, seedPattern(r)) },
  {
    label: 'CI sequencing (kubectl wait, then apply)',
    release: async r => {
      const m = ciSequencing(r);
      await applyAsync(m.applies[0], r.namespace);
      await kubectlAsync(['wait', '--for=condition=complete', `job/${m.jobName}`, '-n', r.namespace, '--timeout=600s'], { timeoutMs: 610_000 });
      await applyAsync(m.applies[1], r.namespace);
      return m.jobName;
    },
  },
];
const LIBRARY = CONTENDERS[0].label;

interface Timing { total: number; migration: number; afterComplete: number }

/** One release, from the Job's creation to the last new pod Ready, on the cluster's clocks. */
async function timed(c: Contender, r: PeerRelease): Promise<Timing> {
  const jobName = await c.release(r);
  await waitFor(`${c.label} ${r.replicas} ${r.tag} rolled out`, () => rolledOut(r.namespace, PEER_DEPLOYMENT) && allReady(r.namespace, r.tag, r.replicas),
    { namespace: r.namespace, intervalMs: 500, timeoutMs: 600_000 });
  const job = getJson(['job', jobName, '-n', r.namespace]);
  const [pod] = getJson(['pods', '-n', r.namespace, '-l', `job-name=${jobName}`]).items;
  const run = pod.status.containerStatuses.find((s: any) => s.name === 'migrate').state.terminated;
  const lastReady = lastReadyOf(r.namespace, r.tag);
  return {
    total: lastReady - Date.parse(job.metadata.creationTimestamp),
    migration: Date.parse(run.finishedAt) - Date.parse(run.startedAt),
    afterComplete: lastReady - Date.parse(conditionsOf(job).Complete.lastTransitionTime),
  };
}

/** Seconds: whole, as the cluster stores them, unless a median of an even count halves them. */
const s = (ms: number) => (ms / 1000).toFixed(ms % 1000 ? 1 : 0);

/** Every contender at 2 and 10 replicas, `rounds` measured releases each after a warm-up. */
export async function peerComparison(rounds: number): Promise<string[]> {
  const sizes = [2, 10];
  const tags = Array.from({ length: rounds + 1 }, (_, i) => `p${i}`);
  for (const tag of tags) appImage(tag);
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const loadAtStart = loadAverage();
  const results = new Map<string, Timing[]>();
  await alternatingRounds(CONTENDERS, 'peer-bench', sizes, tags, async (c, namespace, replicas, tag, round) => {
    const t = await timed(c, { namespace, tag, replicas });
    if (!round) return;
    const key = `${c.label}@${replicas}`;
    results.set(key, [...(results.get(key) ?? []), t]);
    process.stdout.write(`peers round ${round} ${c.label} ${replicas} replicas: total ${s(t.total)} s, migration ${s(t.migration)} s\n`);
  });
  const med = (key: string, k: keyof Timing) => median(results.get(key)!.map(t => t[k]));
  const lines = [
    `- date: ${started}; rounds: ${rounds} (+1 warm-up) per contender and size, order alternating per round, medians; load average at start: ${loadAtStart}, at end: ${loadAverage()} (one 2-core node, shared with other jobs)`,
    '- times from the cluster: the migration Job\'s creationTimestamp (the apply) -> the new pods\' latest Ready condition (1 s resolution, so ±1 s); migration: the `migrate` container\'s startedAt -> finishedAt',
    '',
    '| contender | replicas | apply -> all new pods Ready s | every round s | migration s | Job Complete -> all Ready s | library / this |',
    '|:--|--:|--:|:--|--:|--:|--:|',
  ];
  for (const replicas of sizes) {
    for (const c of CONTENDERS) {
      const key = `${c.label}@${replicas}`;
      const ratio = med(`${LIBRARY}@${replicas}`, 'total') / med(key, 'total');
      lines.push(`| ${c.label} | ${replicas} | ${s(med(key, 'total'))} | ${results.get(key)!.map(t => s(t.total)).join(', ')} | ${s(med(key, 'migration'))} | ${s(med(key, 'afterComplete'))} | ${ratio.toFixed(2)} |`);
    }
  }
  lines.push('');
  for (const c of CONTENDERS.slice(1)) {
    const ratio = med(`${LIBRARY}@2`, 'total') / med(`${c.label}@2`, 'total');
    lines.push(`- target at 2 replicas, library / ${c.label} ≤ 1.00: **${ratio <= 1 ? 'met' : 'not met'}** (${ratio.toFixed(2)})`);
  }
  return lines;
}
