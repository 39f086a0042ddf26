/**
 * Judging a release: a list of parts (the migration Job, the rollback, the service Deployment,
 * each workload gated by it, the post-rollout Job), each judged done, waiting or failed by a check
 * of its own (RELEASE_CHECKS); the release is done when every part is.
 */
import { ClusterView, Kubectl, KubectlFailed, lastLine } from './kubectl';
import {
  COMPONENT_LABEL, COMPONENTS, CONTAINERS, GATED_BY_LABEL, HISTORY_KEY, IMAGE_TAG_ANNOTATION as TAG, NAME_LABEL, POST_ROLLOUT_JOB_ANNOTATION,
  SKIPPED_ANNOTATION,
} from '../facts';
import { historyConfigMapName, HistoryLine, holdingContract, parseHistory } from '../history/history-log';

/** Init containers that hold a pod until the migration succeeded. */
const WAITERS: string[] = [CONTAINERS.jobWaiter, CONTAINERS.schemaCheck];

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
  const job = jobsOf(r, COMPONENTS.migration).find(j => j.metadata.annotations?.[TAG] === r.tag);
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
    return cm && parseHistory(cm.data?.[HISTORY_KEY] ?? '');
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
  const job = jobsOf(r, COMPONENTS.postRollout).find(j => j.metadata.name === name);
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
  return r.view.list('jobs').filter(j => j.metadata.labels?.[NAME_LABEL] === r.name &&
    j.metadata.labels?.[COMPONENT_LABEL] === component);
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
    if (c.name === CONTAINERS.record && c.state?.terminated?.exitCode === 0) continue;
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

/**
 * The line of a migration's last words that names a lock timeout (PostgreSQL's "canceling statement
 * due to lock timeout", MySQL's "Lock wait timeout exceeded"), wherever the tool printed it: it
 * says why better than the stack trace that often follows it.
 */
function lockTimeoutLine(text: string): string | undefined {
  return text.split('\n').map(l => l.trim()).find(l => /lock timeout|lock wait timeout/i.test(l));
}
