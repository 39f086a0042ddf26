/**
 * The post-rollout waiter's shell script (ROLLOUT_WAIT_SCRIPT) under /bin/sh. It lives apart from
 * test/post-rollout.test.ts so that mutation testing can leave it out: to Stryker the script is one
 * string literal, and these runs (about 20 s) would otherwise repeat for every static mutant.
 * test/post-rollout.test.ts still runs the synthesized command once, so an emptied script is caught.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROLLOUT_WAIT_SCRIPT } from '../src/post-rollout/rollout-wait';

/**
 * The rollout waiter's script under /bin/sh, with a stub kubectl that answers from files: one
 * jsonpath line per workload (`<kind>_<name>`) and the pods' `name=tag` lines (`pods`).
 */
describe('ROLLOUT_WAIT_SCRIPT', () => {
  const FIELDS = ['gen', 'observed', 'replicas', 'have', 'updated', 'available', 'dwant', 'dupdated', 'davailable', 'current', 'update', 'tag', 'progress', 'selector'];
  type State = Partial<Record<typeof FIELDS[number], string>>;
  const line = (s: State) => FIELDS.map(f => s[f] ?? '').join('|');
  const DONE: State = { gen: '2', observed: '2', replicas: '2', have: '2', updated: '2', available: '2', tag: 'v2', selector: '{"app":"web","tier":"x"}' };

  function run(workloads: { [ref: string]: State | 'Forbidden' }, pods: string[], timeout = 1) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-wait-'));
    fs.writeFileSync(path.join(dir, 'kubectl'), `#!/bin/sh
d=${dir}
echo "$*" >>"$d/calls"
if [ "$2" = pods ]; then cat "$d/pods"; exit 0; fi
f="$d/$(echo "$2" | tr / _)"
[ -f "$f.forbidden" ] && { echo 'Error from server (Forbidden): deployments.apps "x" is forbidden' >&2; exit 1; }
[ -f "$f" ] || { echo "Error from server (NotFound): $2 not found" >&2; exit 1; }
cat "$f"
`, { mode: 0o755 });
    for (const [ref, s] of Object.entries(workloads)) {
      const f = path.join(dir, ref.replace('/', '_'));
      if (s === 'Forbidden') fs.writeFileSync(`${f}.forbidden`, '');
      else fs.writeFileSync(f, line(s));
    }
    fs.writeFileSync(path.join(dir, 'pods'), pods.map(p => `${p}\n`).join(''));
    const r = spawnSync('/bin/sh', ['-c', ROLLOUT_WAIT_SCRIPT, 'wait-for-rollout', 'v2', `${timeout}`, ...Object.keys(workloads)],
      { encoding: 'utf-8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 30_000 });
    const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf-8');
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status, out: r.stdout + r.stderr, calls };
  }

  test('every replica updated and available and every pod at the tag: exit 0, pods listed by the workload\'s selector', () => {
    const r = run({ 'deployment/web': DONE }, ['web-a=v2', 'web-b=v2']);
    expect(r.out).toContain('rollout of v2 complete: deployment/web');
    expect(r.code).toBe(0);
    expect(r.calls).toMatch(/^get pods -l app=web,tier=x -o jsonpath=/m);
  });

  test.each<[string, State, string[], RegExp]>([
    ['an old pod still terminating', DONE, ['web-a=v2', 'web-b=v2', 'web-old=v1'], /3 pods, 1 of them not at v2/],
    ['the template not yet at the tag', { ...DONE, tag: 'v1' }, ['web-a=v1'], /its pod template is at v1, waiting for v2/],
    ['the generation not yet observed', { ...DONE, observed: '1' }, [], /generation 2 not observed yet/],
    ['a replica not yet updated', { ...DONE, updated: '1' }, [], /1 of 2 updated, 2 available, 2 in all/],
    ['a replica not yet available', { ...DONE, available: '1' }, [], /2 of 2 updated, 1 available/],
    ['an old ReplicaSet\'s pod still counted', { ...DONE, have: '3' }, [], /3 in all/],
  ])('%s: it waits, says why, and gives up at the timeout with exit 1', (_what, state, pods, why) => {
    const r = run({ 'deployment/web': state }, pods);
    expect(r.out).toMatch(why);
    expect(r.out).toMatch(/timed out after 1s waiting for the rollout of v2/);
    expect(r.code).toBe(1);
  });

  test('a Deployment past its progress deadline: exit 1 at once, the migration does not run', () => {
    const r = run({ 'deployment/web': { ...DONE, updated: '1', progress: 'ProgressDeadlineExceeded' } }, [], 600);
    expect(r.out).toMatch(/rollout of deployment\/web to v2 failed: ProgressDeadlineExceeded/);
    expect(r.code).toBe(1);
  });

  test('Forbidden: exit 1 at once with the error', () => {
    const r = run({ 'deployment/web': 'Forbidden' }, [], 600);
    expect(r.out).toMatch(/cannot read deployment\/web: .*forbidden/);
    expect(r.code).toBe(1);
  });

  test('a StatefulSet must be on its update revision; a DaemonSet on every node it should run on', () => {
    const sts = { ...DONE, current: 'store-1', update: 'store-2' };
    expect(run({ 'statefulset/store': sts }, ['s-0=v2']).out).toMatch(/revision store-1, updating to store-2/);
    expect(run({ 'statefulset/store': { ...sts, current: 'store-2' } }, ['s-0=v2']).code).toBe(0);
    const ds: State = { gen: '1', observed: '1', dwant: '3', dupdated: '2', davailable: '3', tag: 'v2', selector: '{"app":"agent"}' };
    expect(run({ 'daemonset/agent': ds }, []).out).toMatch(/2 of 3 updated/);
    expect(run({ 'daemonset/agent': { ...ds, dupdated: '3' } }, ['a=v2']).code).toBe(0);
  });

  test('several workloads: it passes only when the last one has rolled out', () => {
    const r = run({ 'deployment/web': DONE, 'deployment/worker': { ...DONE, available: '0' } }, ['web-a=v2']);
    expect(r.out).toMatch(/deployment\/worker: 2 of 2 updated, 0 available/);
    expect(r.code).toBe(1);
  });
});
