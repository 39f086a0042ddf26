/**
 * Timing a rollout from outside: watches that stamp each Job and pod event with the time this
 * process received it, and the container log timestamps the node's runtime writes. On a one-node
 * cluster both use the same clock; elsewhere they differ by the node's clock skew.
 */
import { ChildProcess, spawn } from 'child_process';
import { ensureCluster, kubectl } from '../../test/e2e/support';

/** A watch whose lines are stamped with the time they arrived (epoch ms). */
class StampedWatch {
  public readonly lines: { at: number; line: string }[] = [];
  private readonly child: ChildProcess;

  constructor(args: string[]) {
    const c = ensureCluster().cluster;
    if (!c) throw new Error('no cluster');
    this.child = spawn(c.kubectlBin, ['--kubeconfig', c.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let rest = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      const at = Date.now();
      rest += d.toString('utf8');
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        this.lines.push({ at, line: rest.slice(0, i) });
        rest = rest.slice(i + 1);
      }
    });
  }

  public stop(): void {
    this.child.kill();
  }
}

/** When the Job `name` was first seen created, Complete and Failed (epoch ms, as received). */
export class JobWatch extends StampedWatch {
  constructor(namespace: string, name: string) {
    super(['get', 'jobs', '-n', namespace, '--field-selector', `metadata.name=${name}`, '--watch', '--output-watch-events',
      '-o', 'jsonpath={.type}|{.object.status.conditions[?(@.type=="Complete")].status}|{.object.status.conditions[?(@.type=="Failed")].status}{"\\n"}']);
  }

  public get created(): number | undefined {
    return this.lines.find(l => l.line.startsWith('ADDED|'))?.at;
  }

  public get completed(): number | undefined {
    return this.lines.find(l => l.line.split('|')[1] === 'True')?.at;
  }

  public get failed(): number | undefined {
    return this.lines.find(l => l.line.split('|')[2] === 'True')?.at;
  }
}

/** When each pod (by name) was first seen Ready, with its pod-template-hash. */
export class PodWatch extends StampedWatch {
  constructor(namespace: string) {
    super(['get', 'pods', '-n', namespace, '--watch', '--output-watch-events',
      '-o', 'jsonpath={.type}|{.object.metadata.name}|{.object.metadata.labels.pod-template-hash}|{.object.status.conditions[?(@.type=="Ready")].status}{"\\n"}']);
  }

  /** First time each pod of `templateHash` was seen Ready. */
  public readyTimes(templateHash: string): Map<string, number> {
    const ready = new Map<string, number>();
    for (const { at, line } of this.lines) {
      const [, name, hash, status] = line.split('|');
      if (hash === templateHash && status === 'True' && !ready.has(name)) ready.set(name, at);
    }
    return ready;
  }
}

/** Log lines of a container with the runtime's timestamps (epoch ms, sub-ms dropped). */
export function timestampedLog(namespace: string, pod: string, container: string, previous = false): { at: number; text: string }[] {
  const r = kubectl(['logs', '-n', namespace, pod, '-c', container, '--timestamps', ...(previous ? ['--previous'] : [])], { allowFail: true });
  return r.stdout.split('\n').filter(l => l).map(l => {
    const space = l.indexOf(' ');
    return { at: Date.parse(l.slice(0, space)), text: l.slice(space + 1) };
  });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
