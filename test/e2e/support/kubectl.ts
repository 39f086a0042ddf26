/**
 * kubectl against the e2e cluster: a sync and an async wrapper, restricted namespaces, server-side
 * apply with strict validation, and polling waits that print diagnostics when they give up.
 */
import { execFile, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { Cluster, ensureCluster } from './cluster';

export interface KubectlOptions {
  /** Text for stdin. */
  readonly input?: string;
  /** Return a non-zero result instead of throwing. @default false */
  readonly allowFail?: boolean;
  /** Kill kubectl after this long. @default 120_000 */
  readonly timeoutMs?: number;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cluster(): Cluster {
  const found = ensureCluster();
  if (!found.cluster) throw new Error(`no cluster: ${found.skip}`);
  return found.cluster;
}

function fail(args: string[], r: KubectlResult): never {
  throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
}

/** Run kubectl synchronously. Throws on a non-zero exit unless `allowFail`. */
export function kubectl(args: string[], options: KubectlOptions = {}): KubectlResult {
  const c = cluster();
  const r = spawnSync(c.kubectlBin, ['--kubeconfig', c.kubeconfig, ...args], {
    input: options.input, encoding: 'utf-8', timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024,
  });
  const result = { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  if (result.code !== 0 && !options.allowFail) fail(args, result);
  return result;
}

/** Run kubectl without blocking the event loop (for work that overlaps a rollout). */
export function kubectlAsync(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const c = cluster();
  return new Promise((resolve, reject) => {
    const child = execFile(c.kubectlBin, ['--kubeconfig', c.kubeconfig, ...args],
      { encoding: 'utf-8', timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as any).code === 'number' ? (error as any).code : -1) : 0;
        const result = { code, stdout, stderr };
        if (code !== 0 && !options.allowFail) {
          try { fail(args, result); } catch (e) { reject(e); }
        } else {resolve(result);}
      });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** `kubectl get ... -o json`, parsed; undefined when it does not exist. */
export function getJson(args: string[]): any | undefined {
  const r = kubectl(['get', ...args, '-o', 'json'], { allowFail: true });
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    fail(['get', ...args], r);
  }
  return JSON.parse(r.stdout);
}

/** Pod Security labels: restricted is enforced, and also warned and audited. */
export const RESTRICTED_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};

/**
 * Create a namespace `<prefix>-<random>` under the restricted Pod Security Standard and return
 * its name. Prefixes start with the branch name (e2e-...).
 */
export function createNamespace(prefix: string): string {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63);
  const manifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...RESTRICTED_LABELS, 'app.kubernetes.io/part-of': 'cdk8s-migrated-service-e2e' } },
  };
  kubectl(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  // The ServiceAccount controller creates "default"; pods need it before they can be created.
  waitForSync(`ServiceAccount default in ${name}`, () => kubectl(['get', 'sa', 'default', '-n', name], { allowFail: true }).code === 0,
    { timeoutMs: 60_000 });
  return name;
}

/** Delete a namespace without waiting for its finalization (the next test need not wait). */
export function deleteNamespace(name: string): void {
  kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found'], { allowFail: true });
}

export interface ApplyOptions {
  /** Field manager of the server-side apply. @default "cdk8s-migrated-service-e2e" */
  readonly fieldManager?: string;
  /** `--dry-run=server`: admission and validation only. @default false */
  readonly dryRun?: boolean;
  /** Throw when kubectl prints a warning (Pod Security, unknown fields, deprecations). @default true */
  readonly noWarnings?: boolean;
}

/**
 * Server-side apply of YAML/JSON into `namespace`, with strict field validation. Returns kubectl's
 * output; by default a warning on stderr is an error, since it means the manifests are not clean.
 */
export function apply(manifests: string, namespace: string, options: ApplyOptions = {}): KubectlResult {
  const args = applyArgs(namespace, options);
  return checkWarnings(args, kubectl(args, { input: manifests }), options);
}

/** `apply` without blocking the event loop (several applies can run at once). */
export async function applyAsync(manifests: string, namespace: string, options: ApplyOptions = {}): Promise<KubectlResult> {
  const args = applyArgs(namespace, options);
  return checkWarnings(args, await kubectlAsync(args, { input: manifests }), options);
}

function applyArgs(namespace: string, options: ApplyOptions): string[] {
  const args = ['apply', '--server-side', `--field-manager=${options.fieldManager ?? 'cdk8s-migrated-service-e2e'}`,
    '--validate=strict', '-n', namespace, '-f', '-'];
  if (options.dryRun) args.push('--dry-run=server');
  return args;
}

function checkWarnings(args: string[], r: KubectlResult, options: ApplyOptions): KubectlResult {
  if ((options.noWarnings ?? true) && /warning/i.test(r.stderr)) {
    throw new Error(`kubectl ${args.join(' ')} printed warnings:\n${r.stderr}`);
  }
  return r;
}

export interface WaitOptions {
  /** Give up after this long. Generous by default: the machine is shared. @default 240_000 */
  readonly timeoutMs?: number;
  /** Poll interval. @default 1_000 */
  readonly intervalMs?: number;
  /** Namespace whose state to print when the wait gives up. */
  readonly namespace?: string;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function giveUp(what: string, options: WaitOptions, last: unknown): never {
  const state = options.namespace ? `\n${diagnostics(options.namespace)}` : '';
  const lastText = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${(options.timeoutMs ?? 240_000) / 1000}s waiting for ${what} (last: ${lastText})${state}`);
}

/**
 * Poll `check` until it returns a truthy value (returned). Errors thrown by `check` count as "not
 * yet". On timeout it throws with the namespace's events, pods and logs.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 240_000);
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) giveUp(what, options, last);
    await sleep(options.intervalMs ?? 1_000);
  }
}

/** `waitFor` for code that cannot be async. */
export function waitForSync<T>(what: string, check: () => T, options: WaitOptions = {}): NonNullable<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 240_000);
  let last: unknown;
  for (;;) {
    try {
      last = check();
      if (last) return last as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) giveUp(what, options, last);
    sleepSync(options.intervalMs ?? 1_000);
  }
}

/** Events, workloads, pods, and the last log lines of every container in `namespace`. */
export function diagnostics(namespace: string): string {
  const section = (title: string, args: string[]): string => {
    const r = kubectl(args, { allowFail: true, timeoutMs: 30_000 });
    return `--- ${title}\n${r.stdout}${r.stderr}`;
  };
  const parts = [
    section('events', ['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']),
    section('jobs, deployments, replicasets, pods', ['get', 'jobs,deployments,replicasets,pods', '-n', namespace, '-o', 'wide']),
  ];
  const pods = getJson(['pods', '-n', namespace])?.items ?? [];
  for (const pod of pods) {
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => c.name);
    const statuses = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])]
      .map((s: any) => `${s.name}: ${JSON.stringify(s.state)} restarts=${s.restartCount}`).join('\n');
    parts.push(`--- pod ${pod.metadata.name} phase=${pod.status.phase}\n${statuses}`);
    for (const c of containers) {
      parts.push(section(`logs ${pod.metadata.name} ${c}`, ['logs', '-n', namespace, pod.metadata.name, '-c', c, '--tail=20']));
    }
  }
  return parts.join('\n');
}

/** A Job's state as the Job controller reports it. */
export function jobConditions(namespace: string, job: string): { [type: string]: any } {
  const j = getJson(['job', job, '-n', namespace]);
  const out: { [type: string]: any } = {};
  for (const c of j?.status?.conditions ?? []) if (c.status === 'True') out[c.type] = c;
  return out;
}

/** True when the Deployment is Available and every replica is updated, ready and current. */
export function rolledOut(namespace: string, deployment: string): boolean {
  const d = getJson(['deployment', deployment, '-n', namespace]);
  if (!d) return false;
  const s = d.status ?? {};
  const want = d.spec.replicas ?? 1;
  return s.observedGeneration >= d.metadata.generation && (s.updatedReplicas ?? 0) === want &&
    (s.readyReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want;
}
