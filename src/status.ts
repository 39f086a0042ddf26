/**
 * `cdk8s-migrated-service status <name> -n <namespace>`: explains the newest release of a service
 * from what kubectl reads with the user's kubeconfig. Reads only (`get`/`list` on Deployments,
 * ReplicaSets, Jobs and pods, `get` on pods/log). Exit 0 only when the newest release is fully
 * rolled out; 1 when it is not; 2 on bad usage; 3 when kubectl was refused or failed.
 *
 * Not part of the construct API (not exported from the package index).
 */
import { spawnSync } from 'child_process';

const TAG_ANNOTATION = 'migrated-service.cdk8s.io/image-tag';
const WAITERS = ['wait-for-migration', 'check-migration'];

/** One kubectl call: its arguments (without --kubeconfig), what it printed, its exit code. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
export type Kubectl = (args: string[]) => KubectlResult;

/** kubectl from PATH ($KUBECTL overrides), with the user's kubeconfig. */
export function realKubectl(bin: string = process.env.KUBECTL ?? 'kubectl'): Kubectl {
  return args => {
    const r = spawnSync(bin, args, { encoding: 'utf-8', timeout: 60_000 });
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

export interface StatusReport {
  readonly code: number;
  readonly lines: string[];
}

/** The report for service `name` in `namespace`. */
export function status(kubectl: Kubectl, name: string, namespace: string): StatusReport {
  const lines: string[] = [];
  const get = (args: string[]): any => {
    const r = kubectl([...args, '-n', namespace, '-o', 'json']);
    if (r.code !== 0) throw new KubectlFailed(args, r);
    return JSON.parse(r.stdout);
  };
  const lastLogLine = (pod: string, container: string): string | undefined => {
    const r = kubectl(['logs', pod, '-c', container, '-n', namespace, '--tail=20']);
    const text = r.code === 0 ? r.stdout : r.stderr;
    return text.split('\n').map(l => l.trim()).filter(Boolean).pop();
  };
  try {
    const deployment = get(['get', 'deployment', name]);
    const tag: string | undefined = deployment.spec.template.metadata?.annotations?.[TAG_ANNOTATION];
    const wanted = deployment.spec.replicas ?? 1;
    const s = deployment.status ?? {};
    lines.push(`service ${name} in namespace ${namespace}: newest tag ${tag ?? '(no tag annotation)'}, ` +
      `${s.updatedReplicas ?? 0} of ${wanted} pods updated, ${s.availableReplicas ?? 0} available`);

    const uid = deployment.metadata.uid;
    const replicaSets = (get(['get', 'replicasets']).items as any[])
      .filter(rs => (rs.metadata.ownerReferences ?? []).some((o: any) => o.uid === uid));
    let oldPods = 0;
    for (const rs of replicaSets) {
      const rsTag = rs.spec.template.metadata?.annotations?.[TAG_ANNOTATION] ?? '?';
      const pods = rs.status?.replicas ?? 0;
      if (pods === 0 && rsTag !== tag) continue;
      if (rsTag !== tag) oldPods += pods;
      lines.push(`  replicaset ${rs.metadata.name}: tag ${rsTag}, ${rs.status?.readyReplicas ?? 0} of ${pods} pods ready`);
    }

    const jobs = (get(['get', 'jobs', '-l', `app.kubernetes.io/name=${name},app.kubernetes.io/component=migration`]).items as any[]);
    const job = jobs.find(j => j.metadata.annotations?.[TAG_ANNOTATION] === tag);
    let jobDone = false;
    if (!job) {
      lines.push(`migration Job of tag ${tag}: missing (not created yet, or deleted: TTL, pruning, a hook delete policy); ` +
        `pods of this tag wait for it. kubectl -n ${namespace} get events --field-selector involvedObject.kind=Job`);
    } else {
      const jobName = job.metadata.name;
      const cond = (type: string) => (job.status?.conditions ?? []).find((c: any) => c.type === type && c.status === 'True');
      const failed = cond('Failed');
      const pods = (get(['get', 'pods', '-l', `job-name=${jobName}`]).items as any[]);
      if (cond('Complete')) {
        jobDone = true;
        lines.push(`migration Job ${jobName}: succeeded`);
      } else if (failed) {
        lines.push(`migration Job ${jobName}: failed: ${failed.reason}: ${failed.message ?? ''}`.trimEnd());
      } else {
        lines.push(`migration Job ${jobName}: running (${job.status?.active ?? 0} active pod)`);
      }
      if (!jobDone) {
        for (const pod of pods) lines.push(...explainPod(pod, lastLogLine, failed !== undefined));
      }
    }

    // Pods of the newest tag that have not passed the waiter: the Deployment's, and those of gated
    // workloads (the same waiter: same image, command and arguments, the same tag annotation).
    const newest = replicaSets.filter(rs => (rs.spec.template.metadata?.annotations?.[TAG_ANNOTATION]) === tag).map(rs => rs.metadata.uid);
    const waiterKey = (spec: any): string | undefined => {
      const w = (spec?.initContainers ?? []).find((c: any) => WAITERS.includes(c.name));
      return w && JSON.stringify([w.name, w.image, w.command ?? [], w.args ?? []]);
    };
    const ours = waiterKey(deployment.spec.template.spec);
    const pods = (get(['get', 'pods']).items as any[]).filter(p => {
      const owners: any[] = p.metadata.ownerReferences ?? [];
      if (owners.some(o => newest.includes(o.uid))) return true;
      return ours !== undefined && p.metadata.annotations?.[TAG_ANNOTATION] === tag && waiterKey(p.spec) === ours;
    });
    for (const pod of pods) {
      const owner = (pod.metadata.ownerReferences ?? [])[0];
      const gated = owner && !newest.includes(owner.uid) ? ` (of ${owner.kind} ${owner.name})` : '';
      for (const c of pod.status?.initContainerStatuses ?? []) {
        if (!WAITERS.includes(c.name) || c.state?.terminated?.exitCode === 0) continue;
        const line = lastLogLine(pod.metadata.name, c.name);
        lines.push(`  pod ${pod.metadata.name}${gated}: held in init container ${c.name}` +
          `${c.restartCount ? ` (${c.restartCount} restarts)` : ''}: ${line ?? '(no log yet)'}`);
        // A crash-looping waiter: why its last run ended is in that run's log. Asked for even when
        // the pod status shows no restart yet (the kubelet reports the restart a moment later).
        const previous = kubectl(['logs', pod.metadata.name, '-c', c.name, '-n', namespace, '--tail=20', '--previous']);
        const previousLine = previous.code === 0 ? previous.stdout.split('\n').map(l => l.trim()).filter(Boolean).pop() : undefined;
        if (previousLine) {
          const exit = c.lastState?.terminated?.exitCode;
          lines.push(`    its previous run${exit === undefined ? '' : ` exited with code ${exit}`}: ${previousLine}`);
        }
      }
    }

    const rolledOut = jobDone && tag !== undefined && (s.observedGeneration ?? 0) >= deployment.metadata.generation &&
      (s.updatedReplicas ?? 0) === wanted && (s.availableReplicas ?? 0) === wanted && oldPods === 0;
    lines.push(rolledOut ? `release ${tag} is fully rolled out` : `release ${tag} is not rolled out`);
    return { code: rolledOut ? 0 : 1, lines };
  } catch (e) {
    if (!(e instanceof KubectlFailed)) throw e;
    const forbidden = /forbidden/i.test(e.message);
    lines.push(`kubectl ${e.args.join(' ')} -n ${namespace}: ${e.message}`);
    if (forbidden) {
      lines.push(`refused: this command needs get and list on deployments, replicasets, jobs and pods, and get on pods/log, in namespace ${namespace}`);
    }
    return { code: 3, lines };
  }
}

/** A migration pod: where it is (an init container that waits, the migrate container) and its last word. */
function explainPod(pod: any, lastLogLine: (pod: string, container: string) => string | undefined, failed: boolean): string[] {
  const name = pod.metadata.name;
  for (const c of pod.status?.initContainerStatuses ?? []) {
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.state?.running || c.state?.waiting || c.state?.terminated) {
      return [`  pod ${name}: in init container ${c.name}: ${lastLogLine(name, c.name) ?? '(no log yet)'}`];
    }
  }
  const out: string[] = [];
  for (const c of pod.status?.containerStatuses ?? []) {
    const t = c.state?.terminated ?? (failed ? c.lastState?.terminated : undefined);
    if (t) {
      const message = (t.message ?? '').split('\n').map((l: string) => l.trim()).filter(Boolean).pop() ?? lastLogLine(name, c.name);
      out.push(`  pod ${name}: container ${c.name} exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}: ${message ?? '(no log)'}`);
    } else if (c.state?.running) {
      out.push(`  pod ${name}: container ${c.name} running since ${c.state.running.startedAt}: ${lastLogLine(name, c.name) ?? '(no log yet)'}`);
    } else if (c.state?.waiting) {
      out.push(`  pod ${name}: container ${c.name} waiting: ${c.state.waiting.reason}${c.state.waiting.message ? `: ${c.state.waiting.message}` : ''}`);
    }
  }
  return out;
}

/** The CLI: parses argv, prints the report, returns the exit code. */
export function main(argv: string[], kubectl: Kubectl = realKubectl(), print: (line: string) => void = l => console.log(l)): number {
  const usage = 'usage: cdk8s-migrated-service status <name> -n <namespace>';
  const [command, ...rest] = argv;
  let name: string | undefined;
  let namespace: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-n' || a === '--namespace') {namespace = rest[++i];} else if (a.startsWith('--namespace=')) {namespace = a.slice('--namespace='.length);} else if (name === undefined && !a.startsWith('-')) {name = a;} else { print(`unexpected argument ${JSON.stringify(a)}; ${usage}`); return 2; }
  }
  if (command !== 'status' || !name || !namespace) {
    print(usage);
    return 2;
  }
  const report = status(kubectl, name, namespace);
  report.lines.forEach(print);
  return report.code;
}
