/**
 * The history's shell parts, run under sh, dash and busybox sh: the waiter's verdict (held or not,
 * checked against the CLI's model of the same rule on many generated histories), and the migrate
 * wrapper (the tool runs unless the check said skip; its exit code is handed on).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import { shells } from './support/shells';
import { holdingContract, parseHistory } from '../src/history/history-log';
import { HISTORY_FILES, HISTORY_VERDICT, MIGRATE_WRAPPER_SCRIPT } from '../src/history/history-scripts';

const runnable = shells().filter(s => !s.skip);

/** Runs the waiter's verdict on `log` for `tag` in `shell`: [verdict, why]. */
function verdict(argv: string[], log: string, tag: string): [string, string] {
  const script = `${HISTORY_VERDICT}\ntag=$1 svc=shop\nhistory_verdict\nprintf '%s\\n%s\\n' "$verdict" "$why"\n`;
  const r = spawnSync(argv[0], [...argv.slice(1), '-c', script, 'verdict', tag], { input: log, encoding: 'utf-8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const [v, why] = r.stdout.split('\n');
  return [v, why];
}

const LOG = [
  '1|migrated|v1|2026-12-01T10:00:00Z|shop-migrate-v1',
  '2|migrated|v2|2026-12-02T10:00:00Z|shop-migrate-v2',
  '3|contracted|v2|2026-12-02T10:05:00Z|shop-post-v2',
  '4|migrated|v3|2026-12-03T10:00:00Z|shop-migrate-v3',
].join('\n') + '\n';

describe.each(runnable.map(s => [s.label, s.argv!] as const))('the waiter\'s verdict under %s', (_label, argv) => {
  test('GIVEN a tag that migrated and no newer contract step THEN pass', () => {
    expect(verdict(argv, LOG, 'v2')).toEqual(['pass', 'v2 migrated at 2026-12-02T10:00:00Z (migration history)']);
    expect(verdict(argv, LOG, 'v3')[0]).toBe('pass');
  });

  test('GIVEN a newer tag\'s contract step after the tag migrated THEN held, naming the step and the override', () => {
    const [v, why] = verdict(argv, LOG, 'v1');
    expect(v).toBe('held');
    expect(why).toBe('rolling back to v1 is held: the post-rollout (contract) migration of v2 ran at 2026-12-02T10:05:00Z, ' +
      'after v1 migrated (at 2026-12-01T10:00:00Z), and v1\'s code may read what it removed; to allow this rollback: ' +
      'npx cdk8s-migrated-service allow-rollback shop --to v1 -n <namespace>');
  });

  test('GIVEN an allowed line covering the contract step THEN pass; a later contract step holds again', () => {
    const allowed = `${LOG}5|allowed|v1|2026-12-04T00:00:00Z|3 incident 42\n`;
    expect(verdict(argv, allowed, 'v1')[0]).toBe('pass');
    const again = `${allowed}6|migrated|v4|2026-12-05T00:00:00Z|j\n7|contracted|v4|2026-12-05T00:01:00Z|p\n`;
    expect(verdict(argv, again, 'v1')[0]).toBe('held');
  });

  test('GIVEN a tag the history does not know (or an empty history) THEN no verdict: wait for the Job', () => {
    expect(verdict(argv, LOG, 'v9')[0]).toBe('');
    expect(verdict(argv, '', 'v1')[0]).toBe('');
  });

  test('the shell verdict and the allow-rollback CLI\'s model agree on generated histories', () => {
    const tags = ['v1', 'v2', 'v3', 'v4'];
    const event = fc.record({ event: fc.constantFrom('migrated', 'contracted', 'allowed'), tag: fc.constantFrom(...tags), until: fc.nat(12) });
    fc.assert(fc.property(fc.array(event, { maxLength: 12 }), fc.constantFrom(...tags), (events, tag) => {
      const log = events.map((e, i) => `${i + 1}|${e.event}|${e.tag}|2026-12-0${1 + (i % 9)}T00:00:00Z|${e.event === 'allowed' ? `${e.until} why` : 'job'}`).join('\n');
      const lines = parseHistory(log);
      const migrated = lines.some(l => l.event === 'migrated' && l.tag === tag);
      const model = !migrated ? '' : holdingContract(lines, tag) ? 'held' : 'pass';
      expect(verdict(argv, log ? `${log}\n` : '', tag)[0]).toBe(model);
    }), { numRuns: 40 });
  });
});

describe.each(runnable.map(s => [s.label, s.argv!] as const))('the migrate wrapper under %s', (_label, argv) => {
  // The wrapper's files live in /tmp in the pod; here in a directory of their own.
  let dir: string;
  let script: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wrapper-'));
    script = MIGRATE_WRAPPER_SCRIPT.split('/tmp/').join(`${dir}/`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (...tool: string[]) => spawnSync(argv[0], [...argv.slice(1), '-c', script, 'migrate', ...tool], { encoding: 'utf-8' });
  const exitFile = () => fs.readFileSync(path.join(dir, path.basename(HISTORY_FILES.exit)), 'utf-8');

  test('GIVEN no skip file WHEN the tool succeeds THEN it ran, with its arguments, and 0 is handed on', () => {
    const r = run('sh', '-c', 'echo "ran with $1"', 'tool', 'up');
    expect({ status: r.status, out: r.stdout, exit: exitFile() }).toEqual({ status: 0, out: 'ran with up\n', exit: '0\n' });
  });

  test('GIVEN no skip file WHEN the tool fails THEN its exit code is the container\'s and is handed on', () => {
    const r = run('sh', '-c', 'echo broken >&2; exit 3');
    expect({ status: r.status, err: r.stderr, exit: exitFile() }).toEqual({ status: 3, err: 'broken\n', exit: '3\n' });
  });

  test('GIVEN the tool runs WHEN the container gets SIGTERM (an eviction) THEN the tool gets it too, and its exit code is handed on', async () => {
    const ready = path.join(dir, 'ready');
    const tool = `trap 'echo got TERM; exit 7' TERM; touch ${ready}; while :; do sleep 0.1; done`;
    const child = spawn(argv[0], [...argv.slice(1), '-c', script, 'migrate', 'sh', '-c', tool], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', d => { out += d; });
    const ended = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
    // No clock: wait for the tool to say it is running, however long a busy machine takes.
    while (!fs.existsSync(ready)) await new Promise(r => setTimeout(r, 20));
    child.kill('SIGTERM');
    expect({ code: await ended, out, exit: exitFile() }).toEqual({ code: 7, out: 'got TERM\n', exit: '7\n' });
  }, 30_000);

  test('GIVEN the check wrote a skip file THEN the tool does not run, the reason is printed and 0 handed on', () => {
    fs.writeFileSync(path.join(dir, path.basename(HISTORY_FILES.skip)), 'v1 migrated at T; not running its migration again\n');
    const r = run('sh', '-c', 'echo THE TOOL RAN');
    expect({ status: r.status, out: r.stdout, exit: exitFile() })
      .toEqual({ status: 0, out: 'v1 migrated at T; not running its migration again\n', exit: '0\n' });
  });
});
