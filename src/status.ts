/**
 * `cdk8s-migrated-service status <name> -n <namespace>`: judges the newest release of a service
 * from what kubectl reads with the user's kubeconfig. A release is a list of parts (the migration
 * Job, the service Deployment, each workload gated by it, the post-rollout Job), each judged done,
 * waiting or failed by a check of its own (RELEASE_CHECKS); the release is done when every part
 * is. Reads only (`get`/`list` on Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
 * CronJobs and pods, `get` on pods/log). Exit codes: EXIT_CODES; JSON shape: StatusJson.
 *
 * Not part of the construct API (not exported from the package index).
 */
import { spawnSync } from 'child_process';
import { historyConfigMapName, HistoryLine, holdingContract, parseHistory, SKIPPED_ANNOTATION } from './history/history-log';
import { GATED_BY_LABEL, IMAGE_TAG_ANNOTATION as TAG, POST_ROLLOUT_JOB_ANNOTATION, RECORD_CONTAINER } from './release-markers';

/** Init containers that hold a pod until the migration succeeded. */
const WAITERS = ['wait-for-migration', 'check-migration'];

/** The exit codes, each one thing a CI step can act on. */
export const EXIT_CODES = {
  /** Every part of the newest release is done. */
  done: 0,
  /** A part failed (a Job's Failed condition, a rollout past its progress deadline). */
  failed: 1,
  /** Bad arguments. */
  usage: 2,
  /** kubectl could not reach or read the cluster (refused, forbidden, no kubectl, bad kubeconfig). */
  unreadable: 3,
  /** Not done yet, nothing failed (without --wait). */
  waiting: 4,
  /** --wait: the timeout passed while the release was still not done. */
  timedOut: 5,
} as const;

/** One kubectl call's outcome. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
/** kubectl with its arguments (global flags such as --kubeconfig are added by whoever made it). */
export type Kubectl = (args: string[]) => KubectlResult;

/** kubectl from PATH ($KUBECTL overrides), with `flags` (e.g. --kubeconfig, --context) before each call's arguments. */
export function realKubectl(bin: string = process.env.KUBECTL ?? 'kubectl', flags: string[] = []): Kubectl {
  return args => {
    const r = spawnSync(bin, [...flags, ...args], { encoding: 'utf-8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) return { code: 127, stdout: '', stderr: `${bin}: ${r.error.message}` };
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  };
}

/** Why kubectl failed, in its own words; `Forbidden` kept as the API server said it. */
class KubectlFailed extends Error {
  constructor(readonly args: string[], readonly result: KubectlResult) {
    super(result.stderr.trim().split('\n').filter(l => l.trim()).pop() ?? `kubectl ${args.join(' ')} exited ${result.code}`);
  }
}

/** What a part (and the release) is: done, not done yet, or failed for good. */
export type PartState = 'done' | 'waiting' | 'failed';

/** One part of a release, judged. */
export interface ReleasePart {
  /** What it is to the release: `migration`, `service`, `gated`, `post-rollout`. */
  readonly role: string;
  /** Its Kubernetes kind. */
  readonly kind: string;
  readonly name: string;
  readonly state: PartState;
  /** One line: why it is in that state. */
  readonly summary: string;
  /** Its pods' (or ReplicaSets') own words: a container's exit code and last log line, a waiter's last line. */
  readonly details: string[];
}

/** The newest release of a service, judged. */
export interface ReleaseStatus {
  readonly service: string;
  readonly namespace: string;
  /** The newest tag (the service Deployment's pod template); undefined when unknown. */
  readonly tag?: string;
  readonly state: PartState;
  /** Every part, in release order. */
  readonly parts: ReleasePart[];
  /** One line: done, or the first failed part, or the first part not done. */
  readonly summary: string;
}

/**
 * What the cluster holds, read once per judgement: every check reads from the same snapshot, and
 * each list is asked for once however many checks need it.
 */
export class ClusterView {
  private readonly cache = new Map<string, any>();
  constructor(private readonly kubectl: Kubectl, readonly namespace: string) {}

  /** `kubectl <args> -n <namespace> -o json`, parsed; throws KubectlFailed. */
  public get(args: string[]): any {
    const key = JSON.stringify(args);
    if (!this.cache.has(key)) {
      const r = this.kubectl([...args, '-n', this.namespace, '-o', 'json']);
      if (r.code !== 0) throw new KubectlFailed(args, r);
      this.cache.set(key, JSON.parse(r.stdout));
    }
    return this.cache.get(key);
  }

  /** The object, or undefined when kubectl says NotFound. */
  public find(kind: string, name: string): any | undefined {
    try {
      return this.get(['get', kind, name]);
    } catch (e) {
      if (e instanceof KubectlFailed && /\(NotFound\)/.test(e.message)) return undefined;
      throw e;
    }
  }

  /** Every object of these kinds in the namespace (with `-l selector` when given). */
  public list(kinds: string, selector?: string): any[] {
    return this.get(selector ? ['get', kinds, '-l', selector] : ['get', kinds]).items;
  }

  /** The last non-empty line a container printed (of its previous run with `previous`). */
  public lastLogLine(pod: string, container: string, previous = false): string | undefined {
    const r = this.kubectl(['logs', pod, '-c', container, '-n', this.namespace, '--tail=20', ...previous ? ['--previous'] : []]);
    if (previous && r.code !== 0) return undefined;
    const line = lastLine(r.code === 0 ? r.stdout : r.stderr);
    // What kubectl prints (exit 0) for a run whose log the kubelet no longer has: no last words.
    return previous && line?.startsWith('unable to retrieve container logs') ? undefined : line;
  }
}

/** What a check is given: the service, its newest tag and Deployment, and the cluster. */
export interface ReleaseContext {
  readonly name: string;
  readonly tag: string;
  readonly deployment: any;
  readonly view: ClusterView;
}

/** A check judges some parts of the release (none, when the release has no such part). */
export type ReleaseCheck = (release: ReleaseContext) => ReleasePart[];

/** The release's parts in the order they happen; a new kind of part is a new check here. */
export const RELEASE_CHECKS: ReleaseCheck[] = [migrationJob, rollback, serviceDeployment, gatedWorkloads, postRolloutJob];

/**
 * Judge the newest release of service `name` (or the release of `expectedTag`); throws
 * KubectlFailed when the cluster cannot be read.
 */
export function releaseStatus(kubectl: Kubectl, name: string, namespace: string, expectedTag?: string): ReleaseStatus {
  const view = new ClusterView(kubectl, namespace);
  const deployment = view.find('deployment', name);
  // --tag: the release CI just shipped, which a GitOps controller may not have applied yet.
  const tag: string | undefined = deployment && (expectedTag ?? deployment.spec.template.metadata?.annotations?.[TAG]);
  if (!deployment || tag === undefined) {
    const part: ReleasePart = !deployment
      ? {
        role: 'service',
        kind: 'Deployment',
        name,
        state: 'waiting',
        details: [],
        summary: `not found in namespace ${namespace} (not applied yet, or another name or namespace)`,
      }
      : {
        role: 'service',
        kind: 'Deployment',
        name,
        state: 'failed',
        details: [],
        summary: `its pod template has no ${TAG} annotation: not the Deployment of a MigratedService`,
      };
    return judged(name, namespace, undefined, [part]);
  }
  const release: ReleaseContext = { name, tag, deployment, view };
  return judged(name, namespace, tag, RELEASE_CHECKS.flatMap(check => check(release)));
}

function judged(service: string, namespace: string, tag: string | undefined, parts: ReleasePart[]): ReleaseStatus {
  const failed = parts.find(p => p.state === 'failed');
  const waiting = parts.find(p => p.state === 'waiting');
  const release = `release ${tag ?? `of ${service}`}`;
  const title = (p: ReleasePart) => `${p.role} ${p.kind} ${p.name}: ${p.summary}`;
  const summary = failed ? `${release} failed: ${title(failed)}`
    : waiting ? `${release} is not done yet: ${title(waiting)}`
      : `${release} is done`;
  return { service, namespace, tag, state: failed ? 'failed' : waiting ? 'waiting' : 'done', parts, summary };
}

// --- the checks ---

/** The migration Job of the newest tag; a tag the history shows migrated needs none. */
function migrationJob(r: ReleaseContext): ReleasePart[] {
  const job = jobsOf(r, 'migration').find(j => j.metadata.annotations?.[TAG] === r.tag);
  const migrated = lastOf(historyOf(r), 'migrated', r.tag);
  if (!job && migrated) {
    return [{
      role: 'migration',
      kind: 'Job',
      name: migrated.detail,
      state: 'done',
      details: [],
      summary: `migrated at ${migrated.at} (migration history); the Job is gone (pruned, a TTL, deleted), which holds no pod`,
    }];
  }
  if (!job) {
    return [{
      role: 'migration',
      kind: 'Job',
      name: `of tag ${r.tag}`,
      state: 'waiting',
      details: [],
      summary: 'missing (not created yet, or deleted: TTL, pruning, a hook delete policy); pods of this tag wait for it. ' +
        `kubectl -n ${r.view.namespace} get events --field-selector involvedObject.kind=Job`,
    }];
  }
  return [withSkip(judgeJob(r, 'migration', job), job)];
}

/**
 * Whether the newest tag is a rollback (a newer tag migrated after it), where the schema stands,
 * and whether the history holds it (a newer tag's contract step ran after it).
 */
function rollback(r: ReleaseContext): ReleasePart[] {
  const history = historyOf(r);
  const mine = lastOf(history, 'migrated', r.tag);
  const newest = history?.filter(l => l.event === 'migrated').pop();
  if (!history || !mine || !newest || newest.seq <= mine.seq) return [];
  const contract = holdingContract(history, r.tag);
  const part = { role: 'rollback', kind: 'ConfigMap', name: historyConfigMapName(r.name), details: [] };
  if (contract) {
    return [{
      ...part,
      state: 'failed',
      summary: `rolling back to ${r.tag} (from ${newest.tag}) is held: the post-rollout (contract) migration of ${contract.tag} ` +
        `ran at ${contract.at}, after ${r.tag} migrated (at ${mine.at}), and ${r.tag}'s code may read what it removed; ` +
        `to allow it: npx cdk8s-migrated-service allow-rollback ${r.name} --to ${r.tag} -n ${r.view.namespace}`,
    }];
  }
  return [{
    ...part,
    state: 'done',
    summary: `${r.tag} is a rollback from ${newest.tag}: the schema stands at ${newest.tag}'s migration (at ${newest.at}); ` +
      `${r.tag} migrated at ${mine.at} and does not migrate again`,
  }];
}

/** The service's migration history, or undefined (none yet, `MigrationHistory.none()`, or not readable). */
function historyOf(r: ReleaseContext): HistoryLine[] | undefined {
  try {
    const cm = r.view.find('configmap', historyConfigMapName(r.name));
    return cm && parseHistory(cm.data?.log ?? '');
  } catch (e) {
    if (e instanceof KubectlFailed) return undefined; // e.g. no get on configmaps: judged without it
    throw e;
  }
}

/** The last line of `event` for `tag`. */
function lastOf(history: HistoryLine[] | undefined, event: string, tag: string): HistoryLine | undefined {
  return history?.filter(l => l.event === event && l.tag === tag).pop();
}

/** A Job whose run the history skipped says so. */
function withSkip(part: ReleasePart, job: any): ReleasePart {
  const skipped: string | undefined = job.metadata.annotations?.[SKIPPED_ANNOTATION];
  return skipped && part.state === 'done' ? { ...part, summary: `succeeded without running the tool: ${skipped}` } : part;
}

/** The service's own Deployment. */
function serviceDeployment(r: ReleaseContext): ReleasePart[] {
  return [judgeRollout(r, 'service', r.deployment)];
}

/** Every workload gated by the service (found by the label gate() puts on it). */
function gatedWorkloads(r: ReleaseContext): ReleasePart[] {
  const workloads = r.view.list('deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch', `${GATED_BY_LABEL}=${r.name}`);
  return workloads.flatMap((w): ReleasePart[] => {
    switch (w.kind) {
      case 'Job':
        // A gated Job of an older tag is an older release's (its pod template cannot change).
        return templateTag(w) === r.tag ? [judgeJob(r, 'gated', w)] : [];
      case 'CronJob':
        return [judgeCronJob(r, w)];
      default:
        return [judgeRollout(r, 'gated', w)];
    }
  });
}

/** The post-rollout Job, when the release has one (the Deployment names it). */
function postRolloutJob(r: ReleaseContext): ReleasePart[] {
  const name: string | undefined = r.deployment.metadata.annotations?.[POST_ROLLOUT_JOB_ANNOTATION];
  if (!name) return [];
  const job = jobsOf(r, 'post-rollout-migration').find(j => j.metadata.name === name);
  if (!job || job.metadata.annotations?.[TAG] !== r.tag) {
    const older = job ? ` (the Job ${name} there is of tag ${job.metadata.annotations?.[TAG] ?? '(none)'})` : '';
    return [{
      role: 'post-rollout',
      kind: 'Job',
      name,
      state: 'waiting',
      details: [],
      summary: `not created yet for tag ${r.tag}${older}`,
    }];
  }
  return [withSkip(judgeJob(r, 'post-rollout', job), job)];
}

// --- how each kind of part is judged ---

/** The service's Jobs of one component (`migration`, `post-rollout-migration`). */
function jobsOf(r: ReleaseContext, component: string): any[] {
  return r.view.list('jobs').filter(j => j.metadata.labels?.['app.kubernetes.io/name'] === r.name &&
    j.metadata.labels?.['app.kubernetes.io/component'] === component);
}

/** A Job: done when Complete, failed when Failed; its pods' own words otherwise. */
function judgeJob(r: ReleaseContext, role: string, job: any): ReleasePart {
  const part = { role, kind: 'Job', name: job.metadata.name };
  const cond = (type: string) => (job.status?.conditions ?? []).find((c: any) => c.type === type && c.status === 'True');
  if (cond('Complete')) return { ...part, state: 'done', summary: 'succeeded', details: [] };
  const failed = cond('Failed');
  const pods = ownedBy(r.view.list('pods'), [job]);
  const details = pods.flatMap(p => explainPod(r.view, p, true));
  if (failed) return { ...part, state: 'failed', summary: `failed: ${failed.reason}: ${failed.message ?? ''}`.trimEnd(), details };
  return { ...part, state: 'waiting', summary: `running (${job.status?.active ?? 0} active pod)`, details };
}

/** A Deployment, StatefulSet or DaemonSet: done when every replica is at the tag and available and no other pod is left. */
function judgeRollout(r: ReleaseContext, role: string, w: any): ReleasePart {
  const part = { role, kind: w.kind, name: w.metadata.name };
  const ptag = templateTag(w);
  if (ptag !== r.tag) {
    return {
      ...part,
      state: 'waiting',
      details: [],
      summary: `its pod template is at tag ${ptag ?? '(none)'}, not ${r.tag}: ` +
      'not applied yet (if it is no longer part of the release, delete it)',
    };
  }
  const replicaSets = w.kind === 'Deployment' ? ownedBy(r.view.list('replicasets'), [w]) : [];
  const pods = ownedBy(r.view.list('pods'), w.kind === 'Deployment' ? replicaSets : [w]);
  const newPods = pods.filter(p => p.metadata.annotations?.[TAG] === r.tag && !isReady(p));
  const details = [
    ...replicaSets.flatMap(rs => {
      const rsTag = templateTag(rs) ?? '?';
      const count = rs.status?.replicas ?? 0;
      return count === 0 && rsTag !== r.tag ? [] : [`  replicaset ${rs.metadata.name}: tag ${rsTag}, ${rs.status?.readyReplicas ?? 0} of ${count} pods ready`];
    }),
    ...newPods.flatMap(p => explainPod(r.view, p, false)),
  ];
  const s = w.status ?? {};
  if ((s.observedGeneration ?? 0) < w.metadata.generation) {
    return { ...part, state: 'waiting', details, summary: `generation ${w.metadata.generation} not observed yet` };
  }
  const progress = (s.conditions ?? []).find((c: any) => c.type === 'Progressing');
  if (progress?.reason === 'ProgressDeadlineExceeded') {
    return { ...part, state: 'failed', details, summary: `ProgressDeadlineExceeded: ${progress.message ?? ''}`.trimEnd() };
  }
  const [want, updated, available] = w.kind === 'DaemonSet'
    ? [s.desiredNumberScheduled ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0]
    : [w.spec.replicas ?? 1, s.updatedReplicas ?? 0, s.availableReplicas ?? 0];
  const others = pods.filter(p => p.metadata.annotations?.[TAG] !== r.tag).length;
  const counts = `${updated} of ${want} pods updated, ${available} available`;
  if (w.kind === 'StatefulSet' && s.currentRevision !== s.updateRevision) {
    return { ...part, state: 'waiting', details, summary: `${counts}, revision ${s.currentRevision} updating to ${s.updateRevision}` };
  }
  if (updated < want || available < want || others > 0) {
    const held = newPods.filter(isHeld).length;
    return {
      ...part,
      state: 'waiting',
      details,
      summary: `${counts}${held ? `, ${held} held in the waiter` : ''}${others ? `, ${others} pods of another tag left` : ''}`,
    };
  }
  return { ...part, state: 'done', details, summary: counts };
}

/**
 * A CronJob: done once its template is at the tag, unless the newest run it started at this tag
 * failed (failed) or its pods are held (waiting).
 */
function judgeCronJob(r: ReleaseContext, w: any): ReleasePart {
  const part = { role: 'gated', kind: 'CronJob', name: w.metadata.name };
  const ptag = w.spec.jobTemplate?.spec?.template?.metadata?.annotations?.[TAG];
  if (ptag !== r.tag) {
    return { ...part, state: 'waiting', details: [], summary: `its job template is at tag ${ptag ?? '(none)'}, not ${r.tag}: not applied yet` };
  }
  const runs = ownedBy(r.view.list('jobs'), [w]).filter(j => templateTag(j) === r.tag)
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
  const last = runs[runs.length - 1];
  if (!last) return { ...part, state: 'done', details: [], summary: `at tag ${r.tag}, no run yet` };
  const run = judgeJob(r, 'gated', last);
  const held = ownedBy(r.view.list('pods'), [last]).some(isHeld);
  if (run.state === 'failed') return { ...part, state: 'failed', details: run.details, summary: `its run Job ${last.metadata.name} ${run.summary}` };
  if (held) return { ...part, state: 'waiting', details: run.details, summary: `its run Job ${last.metadata.name} is held` };
  return { ...part, state: 'done', details: [], summary: `at tag ${r.tag}, last run Job ${last.metadata.name} ${run.state === 'done' ? 'succeeded' : 'running'}` };
}

function templateTag(w: any): string | undefined {
  return w.spec?.template?.metadata?.annotations?.[TAG];
}

function ownedBy(items: any[], owners: any[]): any[] {
  const uids = new Set(owners.map(o => o.metadata.uid));
  return items.filter(o => (o.metadata.ownerReferences ?? []).some((ref: any) => uids.has(ref.uid)));
}

/** Whether a pod has not passed its waiter init container yet. */
function isHeld(pod: any): boolean {
  return (pod.status?.initContainerStatuses ?? []).some((c: any) => WAITERS.includes(c.name) && c.state?.terminated?.exitCode !== 0);
}

function isReady(pod: any): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function lastLine(text: string): string | undefined {
  return text.split('\n').map(l => l.trim()).filter(Boolean).pop();
}

/**
 * Where a pod is and its own last words: the init container it is in (a waiter's last line, and
 * its previous run's when it crash-loops), or each container that exited or waits. Running
 * containers are shown for Jobs (`running` true), whose progress is their log.
 */
function explainPod(view: ClusterView, pod: any, running: boolean): string[] {
  const name = pod.metadata.name;
  for (const c of pod.status?.initContainerStatuses ?? []) {
    if (c.state?.terminated?.exitCode === 0) continue;
    if (!(c.state?.running || c.state?.waiting || c.state?.terminated)) continue;
    const waiter = WAITERS.includes(c.name);
    const lines = [`  pod ${name}: ${waiter ? 'held in' : 'in'} init container ${c.name}` +
      `${c.restartCount ? ` (${c.restartCount} restarts)` : ''}: ${view.lastLogLine(name, c.name) ?? '(no log yet)'}`];
    // A crash-looping container: why its last run ended is in that run's log. Asked of a waiter
    // even when the pod shows no restart yet (the kubelet reports the restart a moment later).
    if (waiter || c.restartCount) {
      const previous = view.lastLogLine(name, c.name, true);
      const exit = c.lastState?.terminated?.exitCode;
      if (previous) lines.push(`    its previous run${exit === undefined ? '' : ` exited with code ${exit}`}: ${previous}`);
    }
    return lines;
  }
  const phase = pod.status?.phase;
  if (phase === 'Pending' && !(pod.status?.containerStatuses ?? []).length && !(pod.status?.initContainerStatuses ?? []).length) {
    const scheduled = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled' && c.status !== 'True');
    return [`  pod ${name}: pending${scheduled ? `: ${scheduled.reason}: ${scheduled.message ?? ''}`.trimEnd() : ''}`];
  }
  const out: string[] = [];
  for (const c of pod.status?.containerStatuses ?? []) {
    // The history's record container ended as it should: its words add nothing to the migration's.
    if (c.name === RECORD_CONTAINER && c.state?.terminated?.exitCode === 0) continue;
    const t = c.state?.terminated ?? (c.state?.running ? undefined : c.lastState?.terminated);
    if (c.state?.waiting && !t) {
      out.push(`  pod ${name}: container ${c.name} waiting: ${c.state.waiting.reason}${c.state.waiting.message ? `: ${c.state.waiting.message}` : ''}`);
    } else if (t) {
      const why = c.state?.waiting ? `${c.state.waiting.reason} (${c.restartCount} restarts), last run ` : '';
      const message = lockTimeoutLine(t.message ?? '') ?? lastLine(t.message ?? '') ?? view.lastLogLine(name, c.name, Boolean(c.state?.waiting));
      out.push(`  pod ${name}: container ${c.name} ${why}exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}: ${message ?? '(no log)'}`);
    } else if (c.state?.running && (running || !c.ready)) {
      out.push(`  pod ${name}: container ${c.name} running since ${c.state.running.startedAt}${c.ready || running ? '' : ', not ready'}: ` +
        `${view.lastLogLine(name, c.name) ?? '(no log yet)'}`);
    }
  }
  return out;
}

// --- the command line ---

/**
 * `-o json`: the shape is stable; fields may be added, none removed or changed in meaning.
 * `schema` names this version.
 */
export interface StatusJson {
  readonly schema: 'cdk8s-migrated-service/status/v1';
  readonly service: string;
  readonly namespace: string;
  /** The newest tag, null when unknown (no Deployment yet, or the cluster could not be read). */
  readonly tag: string | null;
  /** `done`, `waiting`, `failed`, or `error` (the cluster could not be read: see `error`). */
  readonly state: PartState | 'error';
  /** The exit code of the command (EXIT_CODES). */
  readonly exitCode: number;
  /** --wait: whether the timeout passed. */
  readonly timedOut: boolean;
  readonly summary: string;
  /** Every part in release order: role, kind, name, state, summary, details. */
  readonly parts: ReleasePart[];
  /** When state is `error`: kubectl's own words. */
  readonly error?: string;
}

/** What the CLI talks to; tests replace each. */
export interface CliIo {
  /** kubectl with these global flags (--kubeconfig, --context). */
  readonly kubectl: (flags: string[]) => Kubectl;
  /** stdout: the report. */
  readonly out: (line: string) => void;
  /** stderr: errors, usage mistakes, --wait's progress. */
  readonly err: (line: string) => void;
  readonly sleep: (ms: number) => void;
  /** Milliseconds, for --timeout. */
  readonly now: () => number;
}

export const USAGE = `usage: cdk8s-migrated-service status <name> -n <namespace> [--wait [--timeout <duration>]] [-o text|json]
                                     [--tag <tag>] [--kubeconfig <file>] [--context <name>]

Judges the newest release of MigratedService <name>: its migration Job, its Deployment, every
workload gated by it and its post-rollout Job. Reads only, with your kubeconfig.

  -n, --namespace <ns>   the service's namespace (required)
  --wait                 poll every 2 s until the release is done or a part has failed
  --timeout <duration>   with --wait: give up after this long (e.g. 90s, 15m, 1h; default 15m)
  -o, --output <format>  text (default) or json (a stable shape, see docs/troubleshooting.md)
  --tag <tag>            judge the release of this image tag, not the one on the Deployment: until
                         it is applied (e.g. by Flux or Argo CD) the release is not done
  --kubeconfig <file>    kubeconfig to use (default: kubectl's, $KUBECONFIG)
  --context <name>       kubeconfig context to use
  -h, --help             this text

Exit codes: 0 done, 1 failed, 2 usage, 3 cannot reach or read the cluster, 4 not done yet,
5 --wait timed out.`;

const POLL_MS = 2_000;
const DEFAULT_TIMEOUT_S = 15 * 60;

interface Options {
  readonly name: string;
  readonly namespace: string;
  readonly wait: boolean;
  readonly timeoutS: number;
  readonly json: boolean;
  readonly flags: string[];
  readonly tag?: string;
}

function defaultIo(): CliIo {
  return {
    kubectl: flags => realKubectl(undefined, flags),
    out: l => console.log(l),
    err: l => console.error(l),
    sleep: ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms),
    now: () => Date.now(),
  };
}

/** The CLI: parses argv, prints the report, returns the exit code. */
export function main(argv: string[], io: Partial<CliIo> = {}): number {
  const cli: CliIo = { ...defaultIo(), ...io };
  const parsed = parseArgs(argv);
  if (parsed === 'help') {
    cli.out(USAGE);
    return EXIT_CODES.done;
  }
  if (typeof parsed === 'string') {
    cli.err(`${parsed}\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  const kubectl = cli.kubectl(parsed.flags);
  const start = cli.now();
  let lastProgress = '';
  for (;;) {
    let report: ReleaseStatus | KubectlFailed;
    try {
      report = releaseStatus(kubectl, parsed.name, parsed.namespace, parsed.tag);
    } catch (e) {
      if (!(e instanceof KubectlFailed)) throw e;
      report = e;
    }
    const elapsedS = Math.floor((cli.now() - start) / 1000);
    const timedOut = parsed.wait && elapsedS >= parsed.timeoutS;
    const refused = report instanceof KubectlFailed && /forbidden|unauthorized/i.test(report.message);
    const settled = !(report instanceof KubectlFailed) && report.state !== 'waiting';
    if (!parsed.wait || settled || timedOut || refused) {
      return print(cli, parsed, report, timedOut);
    }
    // Waiting (or the cluster briefly unreachable): say so when it changes, on stderr.
    const progress = report instanceof KubectlFailed ? `cannot read the cluster: ${report.message}` : report.summary;
    if (progress !== lastProgress) cli.err(`[${elapsedS}s] ${progress}`);
    lastProgress = progress;
    cli.sleep(Math.min(POLL_MS, Math.max(0, parsed.timeoutS * 1000 - (cli.now() - start))));
  }
}

function print(cli: CliIo, o: Options, report: ReleaseStatus | KubectlFailed, timedOut: boolean): number {
  if (report instanceof KubectlFailed) {
    const lines = [`kubectl ${report.args.join(' ')} -n ${o.namespace}: ${report.message}`];
    if (/forbidden/i.test(report.message)) {
      lines.push('refused: this command needs get and list on deployments, replicasets, statefulsets, daemonsets, jobs, ' +
        `cronjobs and pods, and get on pods/log, in namespace ${o.namespace}`);
    }
    lines.forEach(cli.err);
    if (o.json) {
      cli.out(JSON.stringify(statusJson(o, undefined, EXIT_CODES.unreadable, timedOut, lines.join('\n')), null, 2));
    }
    return EXIT_CODES.unreadable;
  }
  const code = report.state === 'done' ? EXIT_CODES.done : report.state === 'failed' ? EXIT_CODES.failed
    : timedOut ? EXIT_CODES.timedOut : EXIT_CODES.waiting;
  if (o.json) {
    cli.out(JSON.stringify(statusJson(o, report, code, timedOut), null, 2));
  } else {
    cli.out(`service ${report.service} in namespace ${report.namespace}: newest tag ${report.tag ?? '(unknown)'}`);
    for (const p of report.parts) {
      cli.out(`[${p.state}] ${p.role} ${p.kind} ${p.name}: ${p.summary}`);
      p.details.forEach(cli.out);
    }
    cli.out(report.summary);
  }
  if (timedOut && code === EXIT_CODES.timedOut) cli.err(`timed out after ${o.timeoutS}s: ${report.summary}`);
  return code;
}

function statusJson(o: Options, report: ReleaseStatus | undefined, exitCode: number, timedOut: boolean, error?: string): StatusJson {
  return {
    schema: 'cdk8s-migrated-service/status/v1',
    service: o.name,
    namespace: o.namespace,
    tag: report?.tag ?? null,
    state: report?.state ?? 'error',
    exitCode,
    timedOut,
    summary: report?.summary ?? `cannot read the cluster: ${error}`,
    // Each part's fields in one order, whatever order the check wrote them in.
    parts: (report?.parts ?? []).map(p => ({ role: p.role, kind: p.kind, name: p.name, state: p.state, summary: p.summary, details: p.details })),
    ...error === undefined ? {} : { error },
  };
}

/** DNS-1035 (a service name), DNS-1123 (a namespace). */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The options, 'help', or what is wrong. */
function parseArgs(argv: string[]): Options | 'help' | string {
  if (argv.includes('-h') || argv.includes('--help') || argv[0] === 'help') return 'help';
  const [command, ...rest] = argv;
  if (command !== 'status') return command === undefined ? 'missing command "status"' : `unknown command ${JSON.stringify(command)}`;
  const values: { [flag: string]: string } = {};
  let name: string | undefined;
  let wait = false;
  const withValue: { [flag: string]: string } = {
    '-n': 'namespace',
    '--namespace': 'namespace',
    '--timeout': 'timeout',
    '-o': 'output',
    '--output': 'output',
    '--kubeconfig': 'kubeconfig',
    '--context': 'context',
    '--tag': 'tag',
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('-') && eq > 0 ? a.slice(0, eq) : a;
    if (withValue[flag]) {
      const value = flag === a ? rest[++i] : a.slice(eq + 1);
      if (value === undefined || value === '') return `${flag} needs a value`;
      values[withValue[flag]] = value;
    } else if (a === '--wait') {
      wait = true;
    } else if (name === undefined && !a.startsWith('-')) {
      name = a;
    } else {
      return `unexpected argument ${JSON.stringify(a)}`;
    }
  }
  if (!name) return 'missing <name>';
  if (!SERVICE_NAME.test(name)) return `invalid <name> ${JSON.stringify(name)}: a service name is a DNS-1035 label (lowercase letters, digits and "-", at most 63)`;
  const namespace = values.namespace;
  if (!namespace) return 'missing -n <namespace>';
  if (!NAMESPACE.test(namespace)) return `invalid namespace ${JSON.stringify(namespace)}: a namespace is a DNS-1123 label`;
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') return `invalid output ${JSON.stringify(output)}: text or json`;
  if (values.timeout !== undefined && !wait) return '--timeout needs --wait';
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : parseDuration(values.timeout);
  if (timeoutS === undefined) return `invalid --timeout ${JSON.stringify(values.timeout)}: e.g. 90s, 15m, 1h or 1h30m`;
  const flags = [
    ...values.kubeconfig ? ['--kubeconfig', values.kubeconfig] : [],
    ...values.context ? ['--context', values.context] : [],
  ];
  return { name, namespace, wait, timeoutS, json: output === 'json', flags, tag: values.tag };
}

/** `90`, `90s`, `15m`, `1h30m` → seconds; undefined when not a duration. */
function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/**
 * The line of a migration's last words that names a lock timeout (PostgreSQL's "canceling statement
 * due to lock timeout", MySQL's "Lock wait timeout exceeded"), wherever the tool printed it: it
 * says why better than the stack trace that often follows it.
 */
function lockTimeoutLine(text: string): string | undefined {
  return text.split('\n').map(l => l.trim()).find(l => /lock timeout|lock wait timeout/i.test(l));
}
