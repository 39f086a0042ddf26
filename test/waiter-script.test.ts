/**
 * Runs the kubectl waiter's script (KUBECTL_WAIT_SCRIPT) under real POSIX shells (/bin/sh, dash,
 * busybox sh), with a stub `kubectl` (test/support/stub-kubectl.js) first on PATH. The stub replays
 * lines recorded from real kubectl 1.28 against a real cluster (test/support/kubectl-recordings/,
 * re-recorded by test/support/record-kubectl.ts) on a timeline, and answers only the exact calls the
 * recordings were made with.
 *
 * Every run is checked for leftovers: the script runs in its own process group, and once it has
 * exited no live process may remain in that group (its watch must be killed), and its FIFO must be
 * gone. The stub is a single process with no children, so whatever is left is the script's.
 *
 * Bounds are generous (LATENCY_MS); the real gate latency is measured on the cluster by
 * bench/rollout.bench.ts. To check that nothing here depends on timing, run the file 20 times in a
 * row beside two CPU-bound processes (on 2026-11-21: 20 of 20 passed on 2 cores at a load average
 * of 7 to 16, about 90 s a run):
 *
 *   node -e 'for(;;){}' & h1=$!; node -e 'for(;;){}' & h2=$!
 *   for i in $(seq 20); do npx jest test/waiter-script.test.ts --silent --coverage=false || break; done
 *   kill $h1 $h2
 *
 * Before this stub, a test here failed about one run in four under load with `sleep 30` leaked.
 * The cause was in the script, not the test: its timer subshell was killed right after it was
 * forked; a forked shell that has not yet reset the TERM trap it inherited drops the signal, and then
 * starts its `sleep`. The script now has no timer (kubectl's --request-timeout bounds the watch),
 * and kills its watch only after reading a line from it.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KUBECTL_WAIT_SCRIPT } from '../src/waiter';
import { getArgs, readRecording, RECORDED_JOB, watchArgs } from './support/record-kubectl';
import { Shell, shells } from './support/shells';

const STUB = path.join(__dirname, 'support', 'stub-kubectl.js');
const JOB = RECORDED_JOB;

/** How soon after the stub printed the Job's final state the script must have exited (it exits in
 * milliseconds; the bound leaves room for a loaded machine and is far below any polling interval). */
const LATENCY_MS = 3000;

interface Output {
  readonly lines: { stream: 'stdout' | 'stderr'; text: string }[];
  readonly code: number;
}

const recording = readRecording;

/** The watch lines (stdout) of a recording, in order. */
const watchLines = (name: string) => recording(name).timed.filter(l => l.stream === 'stdout');
/** The one recorded line that starts with `prefix`. */
function lineOf(name: string, prefix: string): string {
  const found = watchLines(name).filter(l => l.text.startsWith(prefix));
  if (found.length === 0) throw new Error(`${name}.txt has no line starting with ${prefix}`);
  return found[found.length - 1].text;
}

const RUNNING = lineOf('watch-existing-running', 'ADDED|');
const COMPLETE = lineOf('watch-complete', 'MODIFIED|1|True|');
const FAILED_PFP = lineOf('watch-failed-pod-failure-policy', 'MODIFIED|||True|');
const TARGET_PFP = lineOf('watch-failed-pod-failure-policy', 'MODIFIED|||||True|');

type Event = { at: number; line: string } | { at: number; end: true };

/** The stdout lines of recording `name` as events at half their recorded times, less `lead` ms. */
function replay(name: string, lead: number): Event[] {
  return watchLines(name).map(l => ({ at: Math.max(0, Math.round(l.at / 2) - lead), line: l.text }));
}

interface Scenario {
  readonly events: Event[];
  readonly timeoutSeconds: number;
  /** Minimum seconds between two watches (the script's third argument); the default is 30. */
  readonly spacingSeconds?: number;
  readonly getRefused?: Output;
  readonly watchRefused?: Output;
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly startedAt: number;
  readonly exitedAt: number;
  /** Arguments of each kubectl call, in order, and when it was made. */
  readonly calls: string[][];
  /** Lines the stub's watches printed, with when. */
  readonly emitted: { at: number; line: string }[];
  /** Live processes left in the script's process group after it exited. */
  readonly leaked: string[];
  /** Files the script left in its TMPDIR. */
  readonly leftovers: string[];
}

/** Live (not zombie) processes in process group `pgid`, from /proc. */
function groupMembers(pgid: number): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) !== pgid || state === 'Z' || state === 'X') continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      // exited meanwhile
    }
    found.push(`${entry} ${cmd.slice(0, 80)}`);
  }
  return found;
}

/** Process groups of scripts still running; killed after each test whatever happened. */
const running = new Set<number>();
afterEach(() => {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
});

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Wait for `promise`, at most `ms`; leaves no timer behind. */
async function atMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>(resolve => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

async function runScript(shell: Shell, scenario: Scenario): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waiter-script-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh\nexec '${process.execPath}' '${STUB}' "$@"\n`, { mode: 0o755 });
    const startedAt = Date.now();
    fs.writeFileSync(path.join(dir, 'scenario.json'), JSON.stringify({
      job: JOB,
      get: { found: recording('get-found'), notFound: recording('get-not-found') },
      getRefused: scenario.getRefused,
      watchRefused: scenario.watchRefused,
      watchArgs: watchArgs(JOB, 0).map(a => a.replace('--request-timeout=0s', '--request-timeout=<seconds>s')),
      events: scenario.events,
    }));
    const [cmd, ...args] = shell.argv!;
    const scriptArgs = [JOB, `${scenario.timeoutSeconds}`, ...(scenario.spacingSeconds ? [`${scenario.spacingSeconds}`] : [])];
    // detached: its own process group, to find and kill everything it started.
    const child = spawn(cmd, [...args, '-c', KUBECTL_WAIT_SCRIPT, 'wait-for-migration', ...scriptArgs], {
      env: { PATH: `${bin}${path.delimiter}${process.env.PATH}`, STUB_KUBECTL_DIR: dir, TMPDIR: dir, HOME: dir, LC_ALL: 'C' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pgid = child.pid!;
    running.add(pgid);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', d => { stdout += d; });
    child.stderr!.on('data', d => { stderr += d; });
    const killGroup = () => {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // group already empty
      }
    };
    const closed = new Promise<void>(resolve => child.on('close', () => resolve()));
    let exitedAt = 0;
    try {
      // Below jest's own timeout, so a hung script is killed here and reported with its output.
      const hardLimit = Math.min((scenario.timeoutSeconds + 10) * 1000, SCRIPT_TEST_MS - 5000);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        const timer = setTimeout(() => {
          killGroup();
          reject(new Error(`script still running after ${hardLimit} ms; stdout: ${stdout}; stderr: ${stderr}`));
        }, hardLimit);
        child.on('exit', (c, s) => {
          exitedAt = Date.now();
          clearTimeout(timer);
          resolve([c, s]);
        });
      });
      // A leftover child holding stdout/stderr open would keep 'close' from coming.
      await atMost(closed, 3000);
      // Give killed children a moment to die before calling them leaked.
      let leaked = groupMembers(pgid);
      for (let i = 0; i < 100 && leaked.length > 0; i++) {
        await sleep(50);
        leaked = groupMembers(pgid);
      }
      const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '');
      const lines = (f: string) => read(f).split('\n').filter(l => l !== '');
      return {
        code,
        signal,
        stdout,
        stderr,
        startedAt,
        exitedAt,
        calls: lines('calls').map(l => JSON.parse(l)),
        emitted: lines('emitted').map(l => ({ at: Number(l.slice(0, l.indexOf(' '))), line: l.slice(l.indexOf(' ') + 1) })),
        leaked,
        leftovers: fs.readdirSync(dir).filter(f => f.startsWith('wait-for-migration')),
      };
    } finally {
      killGroup();
      running.delete(pgid);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const isWatch = (args: string[]) => args.includes('--watch');
const watches = (run: Run) => run.calls.filter(isWatch);

/** When the stub's watch printed `line`; fails if no watch printed it. */
function emittedAt(run: Run, line: string): number {
  const event = run.emitted.find(e => e.line === line);
  if (!event) throw new Error(`no watch printed ${JSON.stringify(line)}; watch lines: ${JSON.stringify(run.emitted)}`);
  return event.at;
}

function expectCleanExit(run: Run): void {
  expect(run.signal).toBeNull();
  expect(run.leaked).toEqual([]);
  expect(run.leftovers).toEqual([]);
}

/** The script's first read and its watches are the calls the recordings were made with. */
function expectRecordedCalls(run: Run): void {
  expect(run.calls[0]).toEqual(getArgs(JOB));
  for (const call of watches(run)) {
    const seconds = /^--request-timeout=(\d+)s$/.exec(call[call.length - 1])?.[1];
    expect(call).toEqual(watchArgs(JOB, Number(seconds)));
  }
}

const SCRIPT_TEST_MS = 30_000;
/** "At once": well below the 30 s timeout those scenarios use, with room for a loaded machine. */
const AT_ONCE_MS = 10_000;
const canRun = process.platform === 'linux'; // the leak check reads /proc

describe.each(shells())('KUBECTL_WAIT_SCRIPT under $label', (shell: Shell) => {
  const maybe = canRun && !shell.skip ? test : test.skip;
  if (shell.skip) {
    test.skip(`skipped: ${shell.skip}`, () => undefined);
  }

  maybe('GIVEN the recorded life of a Job, from before it exists to Complete WHEN it waits THEN it says so and passes on the Complete line', async () => {
    // Recorded: created at ~1.3 s, Complete at ~6.9 s, deleted at ~9.5 s; replayed twice as fast.
    const run = await runScript(shell, { events: replay('watch-complete', 300), timeoutSeconds: 30 });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`migration Job ${JOB} does not exist yet; waiting for it to be created`);
    expect(run.stdout).toContain(`migration Job ${JOB} complete`);
    const completedAt = emittedAt(run, COMPLETE);
    expect(run.exitedAt).toBeGreaterThanOrEqual(completedAt);
    expect(run.exitedAt - completedAt).toBeLessThan(LATENCY_MS);
    // One read and one watch for the whole wait.
    expect(run.calls).toHaveLength(2);
    expect(watches(run)).toHaveLength(1);
    expectRecordedCalls(run);
    // The watch is bounded by the script's timeout, not by a timer process (29 s when a second
    // boundary passed before the watch started: date +%s).
    expect(watches(run)[0][watches(run)[0].length - 1]).toMatch(/^--request-timeout=(29|30)s$/);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a Job that is already complete WHEN it starts THEN it passes on the watch\'s first line', async () => {
    const run = await runScript(shell, { events: replay('watch-existing-complete', 1000), timeoutSeconds: 30 });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`migration Job ${JOB} complete`);
    expect(run.stdout).not.toContain('does not exist');
    expect(run.exitedAt - run.startedAt).toBeLessThan(AT_ONCE_MS);
    expect(watches(run)).toHaveLength(1);
    expectRecordedCalls(run);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a running Job WHEN it fails under the podFailurePolicy THEN it exits 1 on FailureTarget, logging the container and exit code', async () => {
    const run = await runScript(shell, { events: replay('watch-failed-pod-failure-policy', 300), timeoutSeconds: 30 });

    expect(run.code).toBe(1);
    const message = TARGET_PFP.split('|')[7];
    expect(message).toMatch(/^Container migrate for pod \S+ failed with exit code 3 matching FailJob rule at index 1$/);
    expect(run.stderr).toContain(`migration Job ${JOB} failed: PodFailurePolicy: ${message}`);
    expect(run.stdout).not.toContain('complete');
    // FailureTarget comes before Failed: the script does not wait for Failed.
    expect(run.exitedAt - emittedAt(run, TARGET_PFP)).toBeLessThan(LATENCY_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a Job that already failed under the podFailurePolicy WHEN it starts THEN it exits 1 at once with the Failed reason and message', async () => {
    const run = await runScript(shell, { events: [{ at: 0, line: FAILED_PFP }], timeoutSeconds: 30 });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`migration Job ${JOB} failed: PodFailurePolicy: ${FAILED_PFP.split('|')[8]}`);
    expect(run.exitedAt - run.startedAt).toBeLessThan(AT_ONCE_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe.each([
    ['watch-failed-backoff-limit', 'BackoffLimitExceeded: Job has reached the specified backoff limit'],
    ['watch-failed-deadline', 'DeadlineExceeded: Job was active longer than specified deadline'],
  ])('GIVEN the recorded %s WHEN it waits THEN it exits 1 on the Failed line with the reason and message', async (name, message) => {
    const run = await runScript(shell, { events: replay(name, 300), timeoutSeconds: 30 });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`migration Job ${JOB} failed: ${message}`);
    expect(run.exitedAt - emittedAt(run, lineOf(name, 'MODIFIED|||True|'))).toBeLessThan(LATENCY_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN the recorded deletion of a running Job that is re-created WHEN it waits THEN it says so, keeps watching and passes', async () => {
    const run = await runScript(shell, { events: replay('watch-deleted-running', 0), timeoutSeconds: 30 });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`migration Job ${JOB} was deleted; waiting for it to be created again`);
    const complete = lineOf('watch-deleted-running', 'MODIFIED|1|True|');
    expect(run.exitedAt - emittedAt(run, complete)).toBeLessThan(LATENCY_MS);
    expect(watches(run)).toHaveLength(1);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a Job that is deleted after it completed WHEN a new pod starts THEN the DELETED line does not pass the gate', async () => {
    // The recorded DELETED line still carries Complete=True: only a Job that exists may pass.
    const deleted = lineOf('watch-complete', 'DELETED|');
    expect(deleted).toMatch(/^DELETED\|1\|True\|/);
    const run = await runScript(shell, { events: [{ at: 0, line: RUNNING }, { at: 500, line: deleted }], timeoutSeconds: 5 });

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('was deleted');
    expect(run.stderr).toContain(`timed out after 5s waiting for migration Job ${JOB}`);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN no Job ever WHEN the timeout (3 s) passes THEN it exits 1, saying it timed out, with its watch bounded by that timeout', async () => {
    const run = await runScript(shell, { events: [], timeoutSeconds: 3 });

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('does not exist yet');
    expect(run.stderr).toContain(`timed out after 3s waiting for migration Job ${JOB}`);
    const elapsed = run.exitedAt - run.startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(3000 + AT_ONCE_MS);
    // 3 s, or 2 s when a second boundary passed before the watch started (date +%s).
    expect(watches(run)[0][watches(run)[0].length - 1]).toMatch(/^--request-timeout=[23]s$/);
    expectRecordedCalls(run);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe.each([
    ['a Role with get only', undefined, 'watch-forbidden', 'Forbidden'],
    ['no Role', 'get-forbidden', 'watch-forbidden', 'Forbidden'],
    ['a rejected token', 'get-unauthorized', 'watch-unauthorized', 'Unauthorized'],
  ])('GIVEN %s WHEN it starts THEN it exits 1 at once, saying it cannot read the Job and what it needs', async (_what, get, watch, word) => {
    const run = await runScript(shell, {
      events: [{ at: 0, line: RUNNING }],
      timeoutSeconds: 30,
      getRefused: get ? recording(get) : undefined,
      watchRefused: recording(watch),
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot read migration Job ${JOB} (the waiter needs get, list and watch on it): `);
    expect(run.stderr).toContain(recording(watch).lines[0].text);
    expect(run.stderr).toContain(word);
    expect(run.exitedAt - run.startedAt).toBeLessThan(AT_ONCE_MS);
    expect(watches(run)).toHaveLength(1);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  // Synthetic, derived from the recorded Complete line: Complete without a succeeded pod is not a
  // pass, so the service never starts on a migration that did not run.
  maybe('GIVEN Complete=True with succeeded empty WHEN nothing changes THEN it never passes and times out', async () => {
    const line = COMPLETE.replace('MODIFIED|1|', 'MODIFIED||');
    const run = await runScript(shell, { events: [{ at: 0, line }], timeoutSeconds: 3 });

    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('complete');
    expect(run.stderr).toContain(`timed out after 3s waiting for migration Job ${JOB}`);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN the API server closes the watch WHEN the Job completes later THEN it watches again, no sooner than the spacing, and passes', async () => {
    const run = await runScript(shell, {
      events: [{ at: 0, line: RUNNING }, { at: 500, end: true }, { at: 3500, line: COMPLETE }],
      timeoutSeconds: 30,
      spacingSeconds: 2,
    });

    expect(run.code).toBe(0);
    expect(watches(run)).toHaveLength(2);
    const [first, second] = run.emitted.filter(e => e.line.startsWith('ADDED|'));
    expect(second.at - first.at).toBeGreaterThanOrEqual(1000); // whole seconds: date +%s
    expect(run.exitedAt - emittedAt(run, COMPLETE)).toBeLessThan(LATENCY_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN watches that end at once WHEN it waits 6 s with a spacing of 2 s THEN it opens at most 4 watches (a bounded request rate)', async () => {
    const ends: Event[] = [{ at: 0, line: RUNNING }];
    for (let at = 50; at < 8000; at += 50) ends.push({ at, end: true });
    const run = await runScript(shell, { events: ends, timeoutSeconds: 6, spacingSeconds: 2 });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('timed out after 6s');
    expect(watches(run).length).toBeGreaterThanOrEqual(2);
    expect(watches(run).length).toBeLessThanOrEqual(4);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);
});
