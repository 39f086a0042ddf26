/**
 * Rollout benchmark (issue 10 items 5 and 7): each waiter on the real cluster, in the same run.
 *
 *   npx projen rollout-bench [-- options]
 *
 * 1. Rollouts: per round, for `Waiter.k8sWaitFor()` and `Waiter.kubectl()` (alternating which goes
 *    first), `kubectl apply` of a new tag of the same app (2 replicas, a migration that sleeps 3 s),
 *    timed from the apply to the last new pod Ready, split into
 *      migration  Job created -> Job Complete           (as seen by a watch from this process)
 *      gate       Job Complete -> the first new pod's waiter exited 0 (its last log line's timestamp)
 *      pod start  that waiter's exit -> that pod Ready
 *      total      apply -> every new pod Ready (the second new pod starts after the first is Ready)
 *    Medians over the rounds, and each figure as a ratio to k8s-wait-for's.
 * 2. Behaviour: a Job with no status yet (created suspended), a failed Job, a deleted Job; what the
 *    waiter of a new pod does, read from its container state and log.
 * 3. API requests a minute per waiting pod: the waiter images with kubectl replaced by a wrapper
 *    that runs it with -v=6 and appends its request lines to a file in the pod's /tmp, read from
 *    the node (local cluster only), over a window while the migration runs.
 *
 * 4. Overhead beyond the migration (issue 21 item 7): apply -> every new pod Ready minus the
 *    migration's own run, at 2 and at 10 replicas, for "before" (cdk8s-plus' startup probe, TCP
 *    every 10 s with 3 failures, set explicitly, and its 25%/25% rolling update), "probe only" (the
 *    current probe, the old strategy), "after" (the current defaults) and "after, no lock" (the
 *    defaults with MigrationLock.none(): the lock's share), all in this run, each as a ratio to
 *    "before". Times are the cluster's own: the Job's creationTimestamp (the apply), the lock's and
 *    the migrate container's startedAt/finishedAt, the Job's Complete condition, the new pods'
 *    waiter and app containers and their Ready condition (1 s resolution); a second table splits
 *    the "after" releases into those steps. "after, no history" (MigrationHistory.none()) shows the
 *    migration history's share (issue 27).
 * 5. Peers (issue 29 item 6, bench/peer-bench.ts): the library against the seed pattern written by
 *    hand and CI sequencing (bench/peers.ts), alternating order, at 2 and 10 replicas: apply -> every
 *    new pod Ready on the cluster's timestamps, and library / peer.
 *
 * Options: --rounds 5 (after one warm-up), --window 120 (seconds counted), --skip-requests,
 * --skip-behaviour, --overhead-rounds 2, --skip-overhead, --only-overhead, --peer-rounds 3,
 * --skip-peers, --only-peers, --skip-waiters (parts 1-3), --markdown (rewrites the blocks between the rollout-bench,
 * rollout-overhead and rollout-peers markers in docs/performance.md). Uses namespaces
 * waiter-bench-*, overhead-bench-* and peer-bench-*, deleted at the end. Not run by CI.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { peerComparison } from './peer-bench';
import { MigratedService, MigratedServiceProps, MigrationHistory, MigrationLock, Waiter } from '../src';
import { APP, appImage, MIGRATION, podsOf, SMALL } from './support/bench-app';
import { flag, loadAverage, option, writeMarkdownBlock } from './support/cli';
import { JobWatch, median, PodWatch, timestampedLog } from './support/observe';
import { countingImage, requestLines, summarize } from './support/requests';
import { alternatingRounds } from './support/rounds';
import {
  apply, createNamespace, deleteNamespace, ensureCluster, getJson, kubectl, LOCAL_K8S_HOME, objectsOf,
  rolledOut, synthYaml, waitFor,
} from '../test/e2e/support';

const DOC = path.resolve(__dirname, '..', 'docs', 'performance.md');

interface WaiterUnderTest {
  readonly label: string;
  readonly make: (image?: string) => Waiter;
  /** Its image with kubectl replaced by the request-counting wrapper. */
  countingImage?: string;
  ns: string;
}

const WAITERS: WaiterUnderTest[] = [
  { label: 'k8s-wait-for', make: image => Waiter.k8sWaitFor({ image }), ns: '' },
  { label: 'kubectl', make: image => Waiter.kubectl({ image, timeout: Duration.minutes(10) }), ns: '' },
];

function release(w: WaiterUnderTest, tag: string, migration: string, waiterImage?: string): { yaml: string; jobName: string } {
  let jobName = '';
  const yaml = synthYaml(w.ns, chart => {
    jobName = new MigratedService(chart, 'bench', {
      image: APP,
      imageTag: tag,
      replicas: 2,
      port: 8080,
      runAsUser: 1000,
      resources: SMALL,
      waiter: w.make(waiterImage),
      migration: { command: ['sh', '-c', migration], resources: SMALL },
    }).jobName;
  });
  return { yaml, jobName };
}

interface Sample { migration: number; gate: number; podStart: number; total: number }

async function rollout(w: WaiterUnderTest, tag: string): Promise<Sample> {
  const { yaml, jobName } = release(w, tag, MIGRATION);
  const job = new JobWatch(w.ns, jobName);
  const pods = new PodWatch(w.ns);
  try {
    await new Promise(resolve => setTimeout(resolve, 1000)); // both watches open
    const t0 = Date.now();
    apply(yaml, w.ns);
    await waitFor(`${w.label} ${tag} rolled out`, () => job.completed && rolledOut(w.ns, 'bench'), { namespace: w.ns, intervalMs: 250 });
    await waitFor('every Ready seen', () => {
      const hash = podsOf(w.ns, tag)[0]?.metadata.labels['pod-template-hash'];
      return pods.readyTimes(hash).size >= 2;
    }, { intervalMs: 100, timeoutMs: 30_000 });
    const newPods = podsOf(w.ns, tag);
    const ready = pods.readyTimes(newPods[0].metadata.labels['pod-template-hash']);
    const exits = newPods.map(p => {
      const log = timestampedLog(w.ns, p.metadata.name, 'wait-for-migration');
      return { name: p.metadata.name, exit: log[log.length - 1].at };
    }).sort((a, b) => a.exit - b.exit);
    const first = exits[0];
    return {
      migration: job.completed! - job.created!,
      gate: first.exit - job.completed!,
      podStart: ready.get(first.name)! - first.exit,
      total: Math.max(...ready.values()) - t0,
    };
  } finally {
    job.stop();
    pods.stop();
  }
}

/** What the waiter of a new pod does for `seconds`: exits, restarts, and its last log line. */
async function observeWaiter(w: WaiterUnderTest, tag: string, seconds: number, since: number): Promise<string> {
  await new Promise(resolve => setTimeout(resolve, seconds * 1000));
  const [pod] = podsOf(w.ns, tag).filter(p => Date.parse(p.metadata.creationTimestamp) >= since - 1000);
  if (!pod) return 'no new pod';
  const s = pod.status.initContainerStatuses?.[0] ?? {};
  const term = s.state?.terminated ?? s.lastState?.terminated;
  const log = timestampedLog(w.ns, pod.metadata.name, 'wait-for-migration', !s.state?.terminated && !!s.lastState?.terminated);
  const last = log.length ? log[log.length - 1].text.slice(0, 160) : '(no log)';
  const state = s.state?.running ? 'running' : s.state?.waiting?.reason ?? (s.state?.terminated ? `exited ${s.state.terminated.exitCode}` : '?');
  return `${state}; restarts ${s.restartCount ?? 0}${term ? `; exit ${term.exitCode}` : ''}; app started: ${pod.status.containerStatuses?.[0]?.state?.running ? 'yes' : 'no'}; log: "${last}"`;
}

async function behaviour(w: WaiterUnderTest, tagBase: string): Promise<{ [what: string]: string }> {
  const out: { [what: string]: string } = {};
  // No status yet: the Job exists, suspended, so the Job controller has not started it.
  const suspended = release(w, `${tagBase}-s`, 'sleep 1');
  const objs = objectsOf(suspended.yaml).map(o => (o.kind === 'Job' ? { ...o, spec: { ...o.spec, suspend: true } } : o));
  let since = Date.now();
  apply(objs.map(o => stringify(o)).join('---\n'), w.ns);
  out['Job with no status yet (suspended), 30 s'] = await observeWaiter(w, `${tagBase}-s`, 30, since);
  const job = new JobWatch(w.ns, suspended.jobName);
  kubectl(['patch', 'job', suspended.jobName, '-n', w.ns, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
  await waitFor(`${w.label} resumed release`, () => job.completed && rolledOut(w.ns, 'bench'), { namespace: w.ns });
  job.stop();

  // Failed: the migration exits 3. How soon the first new pod's waiter says so, if it does.
  const failing = release(w, `${tagBase}-f`, 'echo migrating; sleep 1; echo "ERROR: boom" >&2; exit 3');
  const failedJob = new JobWatch(w.ns, failing.jobName);
  since = Date.now();
  apply(failing.yaml, w.ns);
  const observed = observeWaiter(w, `${tagBase}-f`, 45, since);
  await waitFor(`${w.label} Job failed`, () => failedJob.failed, { namespace: w.ns });
  const exited = await waitFor(`${w.label} waiter exit or 40 s`, () => {
    const [pod] = podsOf(w.ns, `${tagBase}-f`);
    const st = pod?.status?.initContainerStatuses?.[0];
    if (st?.state?.terminated || st?.lastState?.terminated) {
      const first = timestampedLog(w.ns, pod.metadata.name, 'wait-for-migration', !st.state.terminated).find(l => / failed: /.test(l.text));
      return first ? `${fmt(first.at - failedJob.failed!)} s after the host saw Failed` : 'exited without a failure line';
    }
    return Date.now() - failedJob.failed! > 40_000 ? 'did not exit within 40 s' : undefined;
  }, { namespace: w.ns, intervalMs: 500 });
  failedJob.stop();
  out['failed Job, 45 s'] = `${await observed}; first exit: ${exited}`;

  // Deleted: back to the last good release, its Job deleted, then a pod replaced.
  apply(release(w, `${tagBase}-s`, 'sleep 1').yaml, w.ns);
  await waitFor(`${w.label} back on ${tagBase}-s`, () => rolledOut(w.ns, 'bench'), { namespace: w.ns });
  kubectl(['delete', 'job', suspended.jobName, '-n', w.ns, '--wait=true']);
  since = Date.now();
  kubectl(['delete', 'pod', podsOf(w.ns, `${tagBase}-s`)[0].metadata.name, '-n', w.ns, '--wait=false']);
  out['deleted Job, new pod, 40 s'] = await observeWaiter(w, `${tagBase}-s`, 40, since);
  return out;
}

/** Images of both waiters with kubectl replaced by a wrapper that logs each API request. */
function countingImages(): void {
  WAITERS[0].countingImage = countingImage({
    name: 'registry.example.com/rollout-bench/k8s-wait-for-counting:1',
    files: [`${execPath('jq')}`, `${path.join(LOCAL_K8S_HOME, 'third-party', 'k8s-wait-for', 'wait_for.sh')}:/usr/local/bin/wait_for.sh`],
    entrypoint: '/usr/local/bin/wait_for.sh',
  }, '/usr/local/bin/kubectl');
  WAITERS[1].countingImage = countingImage({
    name: 'registry.example.com/rollout-bench/kubectl-counting:1',
    entrypoint: '/usr/bin/kubectl',
  }, '/usr/bin/kubectl');
}

function execPath(cmd: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (fs.existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  throw new Error(`${cmd} not on PATH`);
}

async function requestsPerMinute(w: WaiterUnderTest, tag: string, windowSeconds: number): Promise<string> {
  const { yaml } = release(w, tag, `sleep ${windowSeconds + 60}`, w.countingImage);
  apply(yaml, w.ns);
  const pod = await waitFor(`${w.label} waiting pod`, () => {
    const p = podsOf(w.ns, tag).find(x => x.status.initContainerStatuses?.[0]?.state?.running);
    return p && requestLines(p, 'wait-for-migration').length > 0 && p;
  }, { namespace: w.ns, intervalMs: 500 });
  const before = requestLines(pod, 'wait-for-migration');
  await new Promise(resolve => setTimeout(resolve, windowSeconds * 1000));
  const during = requestLines(pod, 'wait-for-migration').slice(before.length);
  const perMinute = (during.length * 60 / windowSeconds).toFixed(1);
  return `${perMinute} a minute (${during.length} in ${windowSeconds} s after the first; start-up: ${before.length}): ${summarize(during)}`;
}

const fmt = (ms: number) => (ms / 1000).toFixed(2);

/** A configuration of the service whose rollout overhead is measured. */
interface OverheadConfig {
  readonly label: string;
  readonly props: (port: number) => Partial<MigratedServiceProps>;
}

/** cdk8s-plus' rolling update (25% / 25%), the Deployment's strategy before issue 21. */
const OLD_STRATEGY = kplus.DeploymentStrategy.rollingUpdate({
  maxSurge: kplus.PercentOrAbsolute.percent(25), maxUnavailable: kplus.PercentOrAbsolute.percent(25),
});
/** cdk8s-plus' default startup probe for a port, the library's before issue 21: every 10 s, 3 failures. */
const OLD_STARTUP = (port: number) => kplus.Probe.fromTcpSocket({ port, failureThreshold: 3, periodSeconds: Duration.seconds(10) });

const OVERHEAD_CONFIGS: OverheadConfig[] = [
  { label: 'before', props: port => ({ startup: OLD_STARTUP(port), strategy: OLD_STRATEGY }) },
  { label: 'probe only', props: () => ({ strategy: OLD_STRATEGY }) },
  { label: 'after', props: () => ({}) },
  // The lock's share of "after": the same defaults without it (what MigrationLock.none() saves).
  { label: 'after, no lock', props: () => ({ migrationLock: MigrationLock.none() }) },
  // The history's share of "after" (issue 27): its record container, the lock's and the waiter's reads.
  { label: 'after, no history', props: () => ({ migrationHistory: MigrationHistory.none() }) },
];

/** The steps of a release, in order, each read from the cluster's timestamps (1 s resolution). */
const STEPS = [
  'Job created -> its pod\'s first container starts',
  // The lock (which reads the history when it is on), or with "no lock" the history's own read.
  'the Job\'s init container runs (lock; "no lock": history read)',
  'it ends -> migrate starts',
  'migrate exits -> Job Complete',
  'of which: migrate exits -> record-migration exits (the history)',
  'Complete -> the last gate (waiter) exits',
  'last gate exits -> last app container starts',
  'last app container starts -> last pod Ready',
  // Not a step of the chain: how long the node takes to start every new pod (they start at apply).
  'beside them: apply -> the last new pod\'s waiter starts',
] as const;

interface Overhead { total: number; migration: number; overhead: number; steps: (number | undefined)[] }

/** One release of `tag` at `replicas`, timed on the cluster's own timestamps. */
async function overheadRollout(ns: string, config: OverheadConfig, replicas: number, tag: string): Promise<Overhead> {
  let jobName = '';
  const yaml = synthYaml(ns, chart => {
    jobName = new MigratedService(chart, 'bench', {
      image: APP,
      imageTag: tag,
      replicas,
      port: 8080,
      runAsUser: 1000,
      resources: SMALL,
      migration: { command: ['sh', '-c', MIGRATION], resources: SMALL },
      ...config.props(8080),
    }).jobName;
  });
  apply(yaml, ns);
  await waitFor(`${config.label} ${replicas} ${tag} rolled out`, () => rolledOut(ns, 'bench') && podsOf(ns, tag).length === replicas
    && podsOf(ns, tag).every(p => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')),
  { namespace: ns, intervalMs: 500, timeoutMs: 600_000 });
  const job = getJson(['job', jobName, '-n', ns]);
  const applied = Date.parse(job.metadata.creationTimestamp);
  const [migratePod] = getJson(['pods', '-n', ns, '-l', `job-name=${jobName}`]).items;
  const run = migratePod.status.containerStatuses.find((c: any) => c.name === 'migrate').state.terminated;
  const migration = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  const pods = podsOf(ns, tag);
  /** The latest of one timestamp over the new pods. */
  const lastOf = (f: (p: any) => string) => Math.max(...pods.map(p => Date.parse(f(p))));
  const lastReady = lastOf(p => p.status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime);
  const init = (migratePod.status.initContainerStatuses ?? [])[0]?.state?.terminated;
  const complete = Date.parse(job.status.conditions.find((c: any) => c.type === 'Complete').lastTransitionTime);
  const gateStart = lastOf(p => p.status.initContainerStatuses[0].state.terminated.startedAt);
  const gateExit = lastOf(p => p.status.initContainerStatuses[0].state.terminated.finishedAt);
  const appStart = lastOf(p => p.status.containerStatuses[0].state.running.startedAt);
  const record = migratePod.status.containerStatuses.find((c: any) => c.name === 'record-migration')?.state.terminated;
  const firstStart = init ? Date.parse(init.startedAt) : Date.parse(run.startedAt);
  const steps = [
    firstStart - applied,
    init ? Date.parse(init.finishedAt) - Date.parse(init.startedAt) : undefined,
    init ? Date.parse(run.startedAt) - Date.parse(init.finishedAt) : undefined,
    complete - Date.parse(run.finishedAt),
    record ? Date.parse(record.finishedAt) - Date.parse(run.finishedAt) : undefined,
    gateExit - complete,
    appStart - gateExit,
    lastReady - appStart,
    gateStart - applied,
  ];
  return { total: lastReady - applied, migration, overhead: lastReady - applied - migration, steps };
}

/** Part 4: every configuration at 2 and 10 replicas, `rounds` measured releases each after a warm-up. */
async function overheads(rounds: number): Promise<string[]> {
  const sizes = [2, 10];
  const tags = Array.from({ length: rounds + 1 }, (_, i) => `o${i}`);
  for (const tag of tags) appImage(tag);
  const results = new Map<string, Overhead[]>();
  await alternatingRounds(OVERHEAD_CONFIGS, 'overhead-bench', sizes, tags, async (c, ns, replicas, tag, round) => {
    const o = await overheadRollout(ns, c, replicas, tag);
    if (!round) return;
    const key = `${c.label}@${replicas}`;
    results.set(key, [...(results.get(key) ?? []), o]);
    process.stdout.write(`overhead round ${round} ${c.label} ${replicas} replicas: total ${fmt(o.total)} s, migration ${fmt(o.migration)} s, overhead ${fmt(o.overhead)} s\n`);
  });
  const med = (key: string, k: 'total' | 'migration' | 'overhead') => median(results.get(key)!.map(o => o[k]));
  const target: { [n: number]: number } = { 2: 3000, 10: 6000 };
  const lines = [
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; rounds: ${rounds} (+1 warm-up) per configuration and size, medians; load average at end: ${loadAverage()}`,
    '- times from the cluster: Job creationTimestamp (apply) -> last new pod\'s Ready condition, minus the `migrate` container\'s startedAt -> finishedAt (all 1 s resolution, so ±1 s)',
    '',
    '| configuration | replicas | total s | migration s | overhead s | overhead, every round s | ratio to before | target s |',
    '|:--|--:|--:|--:|--:|:--|--:|--:|',
  ];
  for (const replicas of sizes) {
    for (const c of OVERHEAD_CONFIGS) {
      const key = `${c.label}@${replicas}`;
      const ratio = med(key, 'overhead') / med(`before@${replicas}`, 'overhead');
      lines.push(`| ${c.label} | ${replicas} | ${fmt(med(key, 'total'))} | ${fmt(med(key, 'migration'))} | ${fmt(med(key, 'overhead'))} | ${results.get(key)!.map(o => fmt(o.overhead)).join(', ')} | ${ratio.toFixed(2)} | ${c.label === 'after' ? `≤ ${target[replicas] / 1000}` : ''} |`);
    }
  }
  // The history's share (issue 27's target: nothing beyond the timestamps' ±1 s).
  lines.push('');
  for (const replicas of sizes) {
    const share = med(`after@${replicas}`, 'overhead') - med(`after, no history@${replicas}`, 'overhead');
    lines.push(`- the migration history's share at ${replicas} replicas ("after" - "after, no history", medians): ${fmt(share)} s; `
      + `target (issue 27) within ±1 s: **${Math.abs(share) <= 1000 ? 'met' : 'not met'}**`);
  }
  // Where the overhead goes, per step, for the current defaults without the lock or the history.
  const shown = OVERHEAD_CONFIGS.filter(c => c.label.startsWith('after'));
  const columns = sizes.flatMap(n => shown.map(c => ({ key: `${c.label}@${n}`, head: `${c.label}, ${n} s` })));
  lines.push('', `| step (medians, each ±1 s) | ${columns.map(c => c.head).join(' | ')} |`, `|:--|${columns.map(() => '--:').join('|')}|`);
  STEPS.forEach((step, i) => {
    const cells = columns.map(({ key }) => {
      const values = results.get(key)!.map(o => o.steps[i]).filter((v): v is number => v !== undefined);
      return values.length ? fmt(median(values)) : '–';
    });
    lines.push(`| ${step} | ${cells.join(' | ')} |`);
  });
  return lines;
}

async function main(): Promise<void> {
  const found = ensureCluster();
  if (!found.cluster) throw new Error(`rollout-bench needs a cluster: ${found.skip}`);
  if (!flag('skip-overhead') && !flag('only-peers')) {
    const text = (await overheads(option('overhead-rounds', 2))).join('\n');
    process.stdout.write(`\n${text}\n`);
    if (flag('markdown')) writeMarkdownBlock(DOC, 'rollout-overhead', text);
  }
  if (!flag('skip-peers') && !flag('only-overhead')) {
    const text = (await peerComparison(option('peer-rounds', 3))).join('\n');
    process.stdout.write(`\n${text}\n`);
    if (flag('markdown')) writeMarkdownBlock(DOC, 'rollout-peers', text);
  }
  if (flag('only-overhead') || flag('only-peers') || flag('skip-waiters')) return;
  const rounds = option('rounds', 5);
  const windowSeconds = option('window', 120);
  const tags = Array.from({ length: rounds + 1 }, (_, i) => `r${i}`);
  for (const tag of [...tags, 'b-s', 'b-f', 'q1']) appImage(tag);
  const version = JSON.parse(kubectl(['version', '-o', 'json']).stdout);
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const w of WAITERS) w.ns = createNamespace(`waiter-bench-${w.label}`);
  try {
    // Warm-up: the Deployment exists, images are in the page cache.
    for (const w of WAITERS) await rollout(w, tags[0]);
    const samples = new Map<string, Sample[]>(WAITERS.map(w => [w.label, []]));
    for (let r = 1; r <= rounds; r++) {
      const order = r % 2 ? WAITERS : [...WAITERS].reverse();
      for (const w of order) {
        const s = await rollout(w, tags[r]);
        samples.get(w.label)!.push(s);
        process.stdout.write(`round ${r} ${w.label}: migration ${fmt(s.migration)} s, gate ${fmt(s.gate)} s, pod start ${fmt(s.podStart)} s, total ${fmt(s.total)} s\n`);
      }
    }
    const keys: (keyof Sample)[] = ['migration', 'gate', 'podStart', 'total'];
    const med = (label: string, k: keyof Sample) => median(samples.get(label)!.map(s => s[k]));
    const lines = [
      `- date: ${started}; rounds: ${rounds} (+1 warm-up), medians; cluster: local-k8s, one node, 2 cores, shared with other jobs`,
      `- kubectl ${version.clientVersion.gitVersion} (in both waiter images), server ${version.serverVersion.gitVersion}; load average at end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      '',
      '| waiter | migration s | gate s | pod start s | total s | gate, every round s |',
      '|:--|--:|--:|--:|--:|:--|',
      ...WAITERS.map(w => `| ${w.label} | ${keys.map(k => fmt(med(w.label, k))).join(' | ')} | ${samples.get(w.label)!.map(s => fmt(s.gate)).join(', ')} |`),
      '',
      '| ratio to k8s-wait-for | migration | gate | pod start | total |',
      '|:--|--:|--:|--:|--:|',
      ...WAITERS.map(w => `| ${w.label} | ${keys.map(k => (med(w.label, k) / med('k8s-wait-for', k)).toFixed(2)).join(' | ')} |`),
    ];
    if (!flag('skip-behaviour')) {
      const results = await Promise.all(WAITERS.map(w => behaviour(w, 'b')));
      lines.push('', '| waiter | situation | what the waiter of a new pod did |', '|:--|:--|:--|');
      WAITERS.forEach((w, i) => Object.entries(results[i]).forEach(([what, got]) => lines.push(`| ${w.label} | ${what} | ${got.replace(/\|/g, '\\|')} |`)));
    }
    if (!flag('skip-requests')) {
      if (!found.cluster.local) {
        lines.push('', '- API requests: skipped (needs the local cluster: the counts are read from the node)');
      } else {
        countingImages();
        const counts = await Promise.all(WAITERS.map(w => requestsPerMinute(w, 'q1', windowSeconds)));
        lines.push('', `| waiter | API requests per waiting pod (kubectl -v=6, ${windowSeconds} s window while the migration runs) |`, '|:--|:--|');
        WAITERS.forEach((w, i) => lines.push(`| ${w.label} | ${counts[i]} |`));
      }
    }
    const text = lines.join('\n');
    process.stdout.write(`\n${text}\n`);
    if (flag('markdown')) writeMarkdownBlock(DOC, 'rollout-bench', text);
  } finally {
    for (const w of WAITERS) if (w.ns) deleteNamespace(w.ns);
  }
}

main().then(() => process.exit(0), e => {
  console.error(e);
  process.exit(1);
});
