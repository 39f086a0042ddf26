/**
 * The history's shell parts, run under sh, dash and busybox sh: the waiter's verdict (held or not,
 * checked against the CLI's model of the same rule on many generated histories), and the migrate
 * wrapper (the tool runs unless the check said skip; its exit code is handed on; a lock timeout is
 * run again when the environment asks for retries).
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

  test('GIVEN a tool that writes to both streams THEN each line reaches its own stream, a last line without newline too', () => {
    const r = run('sh', '-c', 'echo out1; echo err1 >&2; echo out2; printf err2 >&2');
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toEqual({ status: 0, out: 'out1\nout2\n', err: 'err1\nerr2\n' });
  });

  describe('retries of a lock timeout', () => {
    /** A tool that prints PostgreSQL's lock timeout and fails its first `failures` runs, counting its runs in a file. */
    const flaky = (failures: number, message = 'ERROR:  canceling statement due to lock timeout') => {
      const count = path.join(dir, 'runs');
      return ['sh', '-c', `n=$(cat ${count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n >${count}; echo "run $n"; ` +
        `if [ $n -le ${failures} ]; then echo '${message}' >&2; exit 1; fi; echo migrated`];
    };
    const runs = () => Number(fs.readFileSync(path.join(dir, 'runs'), 'utf-8'));
    const withRetries = (retries: string | undefined, tool: string[]) => spawnSync(argv[0], [...argv.slice(1), '-c', script, 'migrate', ...tool], {
      encoding: 'utf-8',
      env: { PATH: process.env.PATH, ...(retries === undefined ? {} : { LOCK_TIMEOUT_RETRIES: retries, LOCK_TIMEOUT_BACKOFF: '1' }) },
    });

    test('GIVEN two lock timeouts and 3 retries THEN the third run migrates, after waits of 1 s and 2 s, and 0 is handed on', () => {
      const r = withRetries('3', flaky(2));
      expect({ status: r.status, runs: runs(), out: r.stdout, exit: exitFile() })
        .toEqual({ status: 0, runs: 3, out: 'run 1\nrun 2\nrun 3\nmigrated\n', exit: '0\n' });
      expect(r.stderr).toBe([
        'ERROR:  canceling statement due to lock timeout',
        'migration cancelled by the lock timeout; running it again in 1s (retry 1 of 3)',
        'ERROR:  canceling statement due to lock timeout',
        'migration cancelled by the lock timeout; running it again in 2s (retry 2 of 3)',
      ].join('\n') + '\n');
    }, 30_000);

    test('GIVEN a lock timeout every time THEN it gives up after the last retry with the tool\'s exit code, saying so', () => {
      const r = withRetries('1', flaky(9));
      expect({ status: r.status, runs: runs(), exit: exitFile() }).toEqual({ status: 1, runs: 2, exit: '1\n' });
      expect(r.stderr).toMatch(/migration cancelled by the lock timeout 2 times; giving up \(lockTimeoutRetries: 1\)\n$/);
    }, 30_000);

    test('GIVEN a failure that is not a lock timeout THEN it is not retried', () => {
      const r = withRetries('3', flaky(1, 'ERROR:  relation "widgets" does not exist'));
      expect({ status: r.status, runs: runs(), err: r.stderr }).toEqual({ status: 1, runs: 1, err: 'ERROR:  relation "widgets" does not exist\n' });
    });

    test('GIVEN no retries in the environment (the default of tools that cannot retry) THEN a lock timeout fails at once, as before', () => {
      const r = withRetries(undefined, flaky(1));
      expect({ status: r.status, runs: runs(), err: r.stderr }).toEqual({ status: 1, runs: 1, err: 'ERROR:  canceling statement due to lock timeout\n' });
    });

    test('GIVEN it waits to retry WHEN the container gets SIGTERM THEN it ends with the failed run\'s exit code and runs nothing more', async () => {
      const child = spawn(argv[0], [...argv.slice(1), '-c', script, 'migrate', ...flaky(9)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH, LOCK_TIMEOUT_RETRIES: '3', LOCK_TIMEOUT_BACKOFF: '120' },
      });
      let err = '';
      child.stderr.on('data', d => { err += d; });
      const ended = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
      // No clock: wait until it says it waits to retry. Were the signal lost, the test would time out.
      while (!err.includes('running it again in 120s')) await new Promise(r => setTimeout(r, 20));
      child.kill('SIGTERM');
      expect({ code: await ended, runs: runs(), exit: exitFile() }).toEqual({ code: 1, runs: 1, exit: '1\n' });
    }, 30_000);
  });

  test('GIVEN the check wrote a skip file THEN the tool does not run, the reason is printed and 0 handed on', () => {
    fs.writeFileSync(path.join(dir, path.basename(HISTORY_FILES.skip)), 'v1 migrated at T; not running its migration again\n');
    const r = run('sh', '-c', 'echo THE TOOL RAN');
    expect({ status: r.status, out: r.stdout, exit: exitFile() })
      .toEqual({ status: 0, out: 'v1 migrated at T; not running its migration again\n', exit: '0\n' });
  });
});
