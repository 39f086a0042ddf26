/**
 * The history's log as data, for the CLI (status, allow-rollback): the same rules as the shell that
 * reads it in the pods (src/history/history-scripts.ts; test/history-scripts.test.ts checks that
 * both agree). Light on imports: the CLI loads it without the construct library.
 */
import { fitName } from '../version-key';

/**
 * The history ConfigMap of a service.
 *
 * @internal
 */
export function historyConfigMapName(serviceName: string): string {
  return fitName(`${serviceName}-migration-history`);
}

/** The events of a history log, oldest first. */
export interface HistoryLine {
  readonly seq: number;
  readonly event: string;
  readonly tag: string;
  readonly at: string;
  readonly detail: string;
}

/** Parses the history's `log` (see src/history/history-scripts.ts). */
export function parseHistory(log: string): HistoryLine[] {
  return log.split('\n').filter(l => l.trim()).map(line => {
    const [seq, event, tag, at, ...rest] = line.split('|');
    return { seq: Number(seq), event, tag, at, detail: rest.join('|') };
  });
}

/** The contract step that holds a rollback to `tag`, or undefined (also when `tag` never migrated). */
export function holdingContract(lines: HistoryLine[], tag: string): HistoryLine | undefined {
  let mine = false;
  let newer = new Set<string>();
  let contract: HistoryLine | undefined;
  let allowed = 0;
  for (const l of lines) {
    if (l.event === 'migrated') {
      if (l.tag === tag) {
        mine = true;
        newer = new Set();
        contract = undefined;
      } else if (mine) {
        newer.add(l.tag);
      }
    } else if (l.event === 'contracted' && newer.has(l.tag)) {
      contract = l;
    } else if (l.event === 'allowed' && l.tag === tag) {
      allowed = Number(l.detail.split(' ')[0]);
    }
  }
  return mine && contract && contract.seq > allowed ? contract : undefined;
}
