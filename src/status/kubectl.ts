/**
 * How the status command reads the cluster: kubectl with the user's kubeconfig, and one snapshot
 * of what it read per judgement.
 */
import { spawnSync } from 'child_process';

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
export class KubectlFailed extends Error {
  constructor(readonly args: string[], readonly result: KubectlResult) {
    super(result.stderr.trim().split('\n').filter(l => l.trim()).pop() ?? `kubectl ${args.join(' ')} exited ${result.code}`);
  }
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

/** The last line of `text` that is not blank. */
export function lastLine(text: string): string | undefined {
  return text.split('\n').map(l => l.trim()).filter(Boolean).pop();
}
