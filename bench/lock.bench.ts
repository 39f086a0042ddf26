/**
 * Migration lock benchmark (#18): what the lock costs a release when nothing else migrates, and
 * what a waiting migration asks of the API server.
 *
 *   npx projen lock-bench [-- options]
 *
 * 1. Cost: per round, a release of a new tag with `MigrationLock.none()` and one with
 *    `MigrationLock.lease()` (alternating which goes first), each in its own namespace, timed on
 *    the cluster's own clocks from the pod's `Scheduled` event (µs) to the first line the `migrate`
 *    container logs (container runtime timestamp, ns): the lock's cost is the difference of the
 *    medians. The Deployment has 0 replicas: only the Job runs.
 * 2. Waiting: a migration that holds the lock for the window + 60 s, then a second release whose
 *    lock container runs a kubectl wrapper that logs each API request (-v=6) into its /tmp; its
 *    requests at start-up and during the window (local cluster only).
 *
 * Options: --rounds 5 (after one warm-up), --window 60 (seconds counted), --skip-requests,
 * --markdown (rewrites the block between the lock-bench markers in docs/performance.md).
 * Namespaces lock-bench-*, deleted at the end. Not run by CI.
 */
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Delivery, MigratedService, MigrationLock } from '../src';
import { flag, loadAverage, option, writeMarkdownBlock } from './support/cli';
import { median, timestampedLog } from './support/observe';
import { countingImage, requestLines, summarize } from './support/requests';
import {
  apply, buildImage, createNamespace, deleteNamespace, ensureCluster, getJson, kubectl, SMALL_RESOURCES as SMALL, synthYaml, waitFor,
} from '../test/e2e/support';

const DOC = path.resolve(__dirname, '..', 'docs', 'performance.md');
const APP = 'registry.example.com/lock-bench';

interface Mode { readonly label: string; readonly lock: (image?: string) => MigrationLock; ns: string }
const MODES: Mode[] = [
  { label: 'none', lock: () => MigrationLock.none(), ns: '' },
  { label: 'lease', lock: image => MigrationLock.lease({ image }), ns: '' },
];

function appImage(tag: string): void {
  buildImage({ name: `${APP}:${tag}`, contents: { '/www/index.html': `${tag}\n` }, cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'] });
}

function release(ns: string, tag: string, lock: MigrationLock, migration: string): string {
  let job = '';
  apply(synthYaml(ns, chart => {
    job = new MigratedService(chart, 'bench', {
      image: APP,
      imageTag: tag,
      replicas: 0,
      runAsUser: 1000,
      resources: SMALL,
      delivery: Delivery.kubectl(),
      migrationLock: lock,
      migration: { command: ['sh', '-c', migration], resources: SMALL, activeDeadline: Duration.minutes(10) },
    }).jobName;
  }), ns);
  return job;
}

const jobPod = (ns: string, job: string): any => getJson(['pods', '-n', ns, '-l', `job-name=${job}`])?.items[0];

/**
 * ms from the pod's Scheduled event to the migrate container's first log line, once the Job
 * completed; with the lock also where that time goes: scheduled -> the lock script's first line,
 * its first -> last line (the script: reads and the swap), its last line -> migrate's first (the
 * kubelet noticing the init container ended and starting the next).
 */
async function cost(m: Mode, tag: string): Promise<Sample> {
  const job = release(m.ns, tag, m.lock(), 'echo migrating; sleep 1');
  await waitFor(`${m.label} ${tag} complete`, () => getJson(['job', job, '-n', m.ns])?.status?.succeeded === 1, { namespace: m.ns, intervalMs: 250 });
  const pod = jobPod(m.ns, job);
  const events = getJson(['events.events.k8s.io', '-n', m.ns, '--field-selector', `regarding.name=${pod.metadata.name},reason=Scheduled`])?.items ?? [];
  const scheduled = Date.parse(events[0].eventTime);
  const [first] = timestampedLog(m.ns, pod.metadata.name, 'migrate');
  const lock = timestampedLog(m.ns, pod.metadata.name, 'migration-lock');
  if (lock.length === 0) return { total: first.at - scheduled };
  const last = lock[lock.length - 1];
  return {
    total: first.at - scheduled,
    parts: [lock[0].at - scheduled, last.at - lock[0].at, first.at - last.at],
  };
}

interface Sample { readonly total: number; readonly parts?: number[] }

/** The waiting lock's API requests: at start-up, and during `windowSeconds` while another migration holds the lock. */
async function waitingRequests(windowSeconds: number): Promise<string> {
  const ns = createNamespace('lock-bench-wait');
  try {
    const image = countingImage({ name: 'registry.example.com/lock-bench/kubectl-counting:1', entrypoint: '/usr/bin/kubectl' }, '/usr/bin/kubectl');
    const holder = release(ns, 'w1', MigrationLock.lease({ image }), `sleep ${windowSeconds + 60}`);
    await waitFor('holder migrating', () => jobPod(ns, holder)?.status.containerStatuses?.[0]?.state?.running, { namespace: ns, intervalMs: 500 });
    const waiter = release(ns, 'w2', MigrationLock.lease({ image }), 'true');
    const pod = await waitFor('second migration waiting at the lock', () => {
      const p = jobPod(ns, waiter);
      return p && /it holds the lock/.test(kubectl(['logs', '-n', ns, p.metadata.name, '-c', 'migration-lock'], { allowFail: true }).stdout) && p;
    }, { namespace: ns, intervalMs: 500 });
    const before = requestLines(pod, 'migration-lock');
    await new Promise(resolve => setTimeout(resolve, windowSeconds * 1000));
    const during = requestLines(pod, 'migration-lock').slice(before.length);
    return `start-up: ${before.length} (${summarize(before)}); then ${during.length} in ${windowSeconds} s${during.length ? ` (${summarize(during)})` : ''}`;
  } finally {
    deleteNamespace(ns);
  }
}

const s = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const found = ensureCluster();
  if (!found.cluster) throw new Error(`lock-bench needs a cluster: ${found.skip}`);
  const rounds = option('rounds', 5);
  const windowSeconds = option('window', 60);
  const tags = Array.from({ length: rounds + 1 }, (_, i) => `r${i}`);
  for (const tag of [...tags, 'w1', 'w2']) appImage(tag);
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const m of MODES) m.ns = createNamespace(`lock-bench-${m.label}`);
  try {
    for (const m of MODES) await cost(m, tags[0]); // warm-up
    const samples = new Map<string, number[]>(MODES.map(m => [m.label, []]));
    const parts: number[][] = [];
    for (let r = 1; r <= rounds; r++) {
      for (const m of r % 2 ? MODES : [...MODES].reverse()) {
        const sample = await cost(m, tags[r]);
        samples.get(m.label)!.push(sample.total);
        if (sample.parts) parts.push(sample.parts);
        process.stdout.write(`round ${r} ${m.label}: scheduled -> migrate's first line ${s(sample.total)} s` +
          `${sample.parts ? ` (${sample.parts.map(s).join(' + ')})` : ''}\n`);
      }
    }
    const none = median(samples.get('none')!);
    const lease = median(samples.get('lease')!);
    const lines = [
      `- date: ${started}; rounds: ${rounds} (+1 warm-up), medians; cluster: local-k8s, one node, 2 cores; load average at end: ${loadAverage()}`,
      '',
      '| lock | scheduled -> migrate starts, median s | every round s |',
      '|:--|--:|:--|',
      ...MODES.map(m => `| ${m.label} | ${s(median(samples.get(m.label)!))} | ${samples.get(m.label)!.map(s).join(', ')} |`),
      '',
      `- added by the lock when nothing else migrates: **${s(lease - none)} s** (lease / none = ${(lease / none).toFixed(2)})`,
      `- where the lease's time goes (medians): scheduled -> lock script's first line ${s(median(parts.map(p => p[0])))} s; ` +
        `the script (reads, swap) ${s(median(parts.map(p => p[1])))} s; its last line -> migrate's first line ` +
        `(the kubelet starting the next container) ${s(median(parts.map(p => p[2])))} s`,
    ];
    if (!flag('skip-requests')) {
      lines.push(found.cluster.local
        ? `- a waiting migration's API requests (kubectl -v=6 in its lock container): ${await waitingRequests(windowSeconds)}`
        : '- API requests: skipped (needs the local cluster: the counts are read from the node)');
    }
    const text = lines.join('\n');
    process.stdout.write(`\n${text}\n`);
    if (flag('markdown')) writeMarkdownBlock(DOC, 'lock-bench', text);
  } finally {
    for (const m of MODES) if (m.ns) deleteNamespace(m.ns);
  }
}

main().then(() => process.exit(0), e => {
  console.error(e);
  process.exit(1);
});
