/**
 * `cdk8s-migrated-service allow-rollback`: what it appends to the history, and when it refuses.
 * The real run (a held rollback released by it) is in test/e2e/rollback.test.ts.
 */
import * as fs from 'fs';
import { allowRollback, main } from '../src/allow-rollback';
import { holdingContract, parseHistory } from '../src/history/history-log';
import { Kubectl, KubectlResult } from '../src/status';

const LOG = [
  '1|migrated|v1|2026-12-01T10:00:00Z|shop-migrate-v1',
  '2|migrated|v2|2026-12-02T10:00:00Z|shop-migrate-v2',
  '3|contracted|v2|2026-12-02T10:05:00Z|shop-post-v2',
].join('\n') + '\n';

/** A kubectl that holds one ConfigMap and answers get and replace as the API server does. */
function fakeKubectl(log: string | undefined, conflicts = 0): { kubectl: Kubectl; written: () => any; calls: string[][] } {
  let cm: any = log === undefined ? undefined : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-migration-history', resourceVersion: '7' }, data: { log } };
  const calls: string[][] = [];
  const kubectl: Kubectl = (args): KubectlResult => {
    calls.push(args);
    if (args[0] === 'get') {
      return cm ? { code: 0, stdout: JSON.stringify(cm), stderr: '' }
        : { code: 1, stdout: '', stderr: 'Error from server (NotFound): configmaps "shop-migration-history" not found' };
    }
    const sent = JSON.parse(fs.readFileSync(args[2], 'utf-8'));
    if (conflicts-- > 0) {
      cm = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(Number(cm.metadata.resourceVersion) + 1) } };
      return { code: 1, stdout: '', stderr: 'Error from server (Conflict): error when replacing: the object has been modified' };
    }
    cm = sent;
    return { code: 0, stdout: 'configmap/shop-migration-history replaced', stderr: '' };
  };
  return { kubectl, written: () => cm, calls };
}
const NOW = () => new Date('2026-12-07T12:00:00.123Z');

test('GIVEN a rollback to v1 held by v2\'s contract step WHEN allowed THEN one allowed line past that step, with the reason, by compare-and-swap', () => {
  const k = fakeKubectl(LOG);
  const r = allowRollback(k.kubectl, 'shop', 'prod', 'v1', 'incident 42', NOW);
  expect(r).toEqual({ code: 0, lines: ['allowed rolling back shop to v1 past the post-rollout migration of v2 (at 2026-12-02T10:05:00Z); recorded as: 4|allowed|v1|2026-12-07T12:00:00Z|3 incident 42'] });
  expect(k.written().data.log).toBe(`${LOG}4|allowed|v1|2026-12-07T12:00:00Z|3 incident 42\n`);
  expect(k.written().metadata.resourceVersion).toBe('7');
  expect(holdingContract(parseHistory(k.written().data.log), 'v1')).toBeUndefined();
});

test('GIVEN the history changed meanwhile WHEN allowed THEN it reads again and swaps at the new version', () => {
  const k = fakeKubectl(LOG, 1);
  expect(allowRollback(k.kubectl, 'shop', 'prod', 'v1', 'why', NOW).code).toBe(0);
  expect(k.calls.map(c => c[0])).toEqual(['get', 'replace', 'get', 'replace']);
  expect(k.written().metadata.resourceVersion).toBe('8');
});

test('a reason cannot break the line format: newlines and | become spaces', () => {
  const k = fakeKubectl(LOG);
  allowRollback(k.kubectl, 'shop', 'prod', 'v1', 'a|b\nc', NOW);
  expect(k.written().data.log.trim().split('\n').pop()).toBe('4|allowed|v1|2026-12-07T12:00:00Z|3 a b c');
});

test('GIVEN nothing holds the rollback WHEN allowed THEN 0 and nothing written', () => {
  const k = fakeKubectl(LOG);
  expect(allowRollback(k.kubectl, 'shop', 'prod', 'v2', 'why', NOW)).toEqual({ code: 0, lines: [expect.stringContaining('a rollback to v2 is not held')] });
  expect(k.calls.map(c => c[0])).toEqual(['get']);
});

test('GIVEN a tag that never migrated, or no history THEN 1, saying so', () => {
  expect(allowRollback(fakeKubectl(LOG).kubectl, 'shop', 'prod', 'v9', 'why', NOW))
    .toEqual({ code: 1, lines: ['v9 has not migrated according to the history of shop: there is no rollback to it to allow'] });
  expect(allowRollback(fakeKubectl(undefined).kubectl, 'shop', 'prod', 'v1', 'why', NOW).code).toBe(1);
});

test('the CLI: usage errors exit 2 on stderr, --help exits 0 on stdout', () => {
  const out: string[] = [];
  const err: string[] = [];
  const k = fakeKubectl(LOG).kubectl;
  expect(main(['allow-rollback', 'shop', '-n', 'prod'], k, l => out.push(l), l => err.push(l))).toBe(2);
  expect(err.pop()).toMatch(/^usage: cdk8s-migrated-service allow-rollback <name> --to <tag> -n <namespace>/);
  expect(main(['allow-rollback', '--help'], k, l => out.push(l), l => err.push(l))).toBe(0);
  expect(out.pop()).toMatch(/^usage:/);
  expect(main(['allow-rollback', 'shop', '--to', 'v1', '-n', 'prod', '--reason', 'x'], k, l => out.push(l), l => err.push(l))).toBe(0);
  expect(out.pop()).toContain('allowed rolling back shop to v1');
});
