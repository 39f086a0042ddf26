/**
 * `cdk8s-migrated-service allow-rollback <name> --to <tag> -n <namespace> [--reason <text>]`: the
 * emergency override for a rollback that the migration history holds because a newer tag's
 * post-rollout (contract) migration ran after `<tag>` migrated. It appends an `allowed` line to the
 * history (compare-and-swap on its resourceVersion), which the held pods' waiters read within 5 s.
 * It allows the contract steps recorded so far: a later one holds the rollback again.
 *
 * Needs `get` and `update` on the ConfigMap `<name>-migration-history`. Not part of the construct
 * API (not exported from the package index).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HISTORY_KEY } from './facts';
import { historyConfigMapName, holdingContract, parseHistory } from './history/history-log';
import { Kubectl, realKubectl } from './status';

/** Appends an `allowed` line for `tag`; returns what to print and the exit code. */
export function allowRollback(kubectl: Kubectl, name: string, namespace: string, tag: string, reason: string,
  now: () => Date = () => new Date()): { code: number; lines: string[] } {
  const cm = historyConfigMapName(name);
  for (let attempt = 0; attempt < 5; attempt++) {
    const got = kubectl(['get', 'configmap', cm, '-n', namespace, '-o', 'json']);
    if (got.code !== 0) {
      return { code: /NotFound|not found/.test(got.stderr) ? 1 : 3, lines: [`kubectl get configmap ${cm} -n ${namespace}: ${got.stderr.trim()}`] };
    }
    const obj = JSON.parse(got.stdout);
    const log: string = obj.data?.[HISTORY_KEY] ?? '';
    const lines = parseHistory(log);
    if (!lines.some(l => l.event === 'migrated' && l.tag === tag)) {
      return { code: 1, lines: [`${tag} has not migrated according to the history of ${name}: there is no rollback to it to allow`] };
    }
    const contract = holdingContract(lines, tag);
    if (!contract) {
      return { code: 0, lines: [`a rollback to ${tag} is not held: no contract step of a newer tag ran after it (or it is allowed already)`] };
    }
    const seq = (lines[lines.length - 1]?.seq ?? 0) + 1;
    const detail = `${contract.seq} ${reason}`.replace(/[\r\n|]+/g, ' ').trim();
    const line = `${seq}|allowed|${tag}|${now().toISOString().replace(/\.\d+Z$/, 'Z')}|${detail}`;
    obj.data = { ...obj.data, [HISTORY_KEY]: `${log.replace(/\n*$/, '\n')}${line}\n` };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allow-rollback-')), 'history.json');
    fs.writeFileSync(file, JSON.stringify(obj));
    const put = kubectl(['replace', '-f', file, '-n', namespace]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    if (put.code === 0) {
      return { code: 0, lines: [`allowed rolling back ${name} to ${tag} past the post-rollout migration of ${contract.tag} (at ${contract.at}); recorded as: ${line}`] };
    }
    if (!/Conflict|modified/.test(put.stderr)) {
      return { code: 3, lines: [`kubectl replace configmap ${cm} -n ${namespace}: ${put.stderr.trim()}`] };
    }
  }
  return { code: 3, lines: [`the history ${cm} kept changing: try again`] };
}

/** The CLI: parses argv, prints, returns the exit code. */
export function main(argv: string[], kubectl: Kubectl = realKubectl(), print: (line: string) => void = l => console.log(l),
  printError: (line: string) => void = l => console.error(l)): number {
  const usage = 'usage: cdk8s-migrated-service allow-rollback <name> --to <tag> -n <namespace> [--reason <text>]';
  let name: string | undefined;
  let namespace: string | undefined;
  let tag: string | undefined;
  let reason = '';
  const rest = argv.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-h' || a === '--help') { print(usage); return 0; }
    if (a === '-n' || a === '--namespace') {namespace = rest[++i];} else if (a === '--to') {tag = rest[++i];} else if (a === '--reason') {reason = rest[++i] ?? '';} else if (name === undefined && !a.startsWith('-')) {name = a;} else { printError(`unexpected argument ${JSON.stringify(a)}; ${usage}`); return 2; }
  }
  if (argv[0] !== 'allow-rollback' || !name || !namespace || !tag) {
    printError(usage);
    return 2;
  }
  const result = allowRollback(kubectl, name, namespace, tag, reason || 'allowed with allow-rollback');
  result.lines.forEach(result.code === 0 ? print : printError);
  return result.code;
}
