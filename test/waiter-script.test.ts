/**
 * Runs the kubectl waiter's script (KUBECTL_WAIT_SCRIPT) under real POSIX shells, with a stub
 * `kubectl` (test/support/stub-kubectl.sh) first on PATH that replays a Job's life on a timeline.
 *
 * Every run is checked for leftovers: the script runs in its own process group, and once it has
 * exited no live process may remain in that group (the watch and its timer must be killed), and
 * its FIFO must be gone.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KUBECTL_WAIT_SCRIPT } from '../src/waiter';

const STUB = path.join(__dirname, 'support', 'stub-kubectl.sh');
const JOB = 'myapp-migrate-v1-2-3-e3cad1a6f9';
/** The jsonpath the script must ask kubectl for (one line per Job state). */
const FMT = '{.status.succeeded}|{range .status.conditions[*]}{.type}={.status}={.reason}={.message};{end}{"\\n"}';

// Lines as kubectl prints them with FMT (checked against kubectl 1.32's jsonpath printer).
const RUNNING = '|';
const COMPLETE = '1|SuccessCriteriaMet=True=CompletionsReached=Reached expected number of succeeded pods;' +
  'Complete=True=CompletionsReached=Reached expected number of succeeded pods;';
/** Before Kubernetes 1.31 the Complete condition had no reason or message. */
const COMPLETE_PRE_1_31 = '1|Complete=True==;';
const BACKOFF = 'BackoffLimitExceeded=Job has reached the specified backoff limit';
const FAILED = `|FailureTarget=True=${BACKOFF};Failed=True=${BACKOFF};`;

/** How soon after the Job's final state reaches the script it must have exited. */
const LATENCY_MS = 1500;

interface Shell {
  readonly label: string;
  readonly argv?: string[];
  readonly skip?: string;
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** /bin/sh always; dash and busybox sh when installed and not the same binary as /bin/sh. */
function shells(): Shell[] {
  const seen = new Set<string>();
  const candidates: { label: string; file?: string; argv: (file: string) => string[] }[] = [
    { label: '/bin/sh', file: fs.existsSync('/bin/sh') ? '/bin/sh' : undefined, argv: f => [f] },
    { label: 'dash', file: onPath('dash'), argv: f => [f] },
    // The chainguard kubectl image's sh is busybox.
    { label: 'busybox sh', file: onPath('busybox'), argv: f => [f, 'sh'] },
  ];
  return candidates.map(c => {
    if (!c.file) return { label: c.label, skip: 'not installed' };
    const real = fs.realpathSync(c.file);
    const label = `${c.label} (${path.basename(real)})`;
    if (seen.has(real)) return { label, skip: 'same binary as above' };
    seen.add(real);
    return { label, argv: c.argv(c.file) };
  });
}

interface Scenario {
  /** [ms after start, state]: a jsonpath line or !NotFound, !Forbidden, !Unauthorized, !EndWatch. */
  readonly timeline: [number, string][];
  readonly timeoutSeconds: number;
  /** Refuse --watch, as a Role with only `get` would. */
  readonly watchForbidden?: boolean;
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly startedAt: number;
  readonly exitedAt: number;
  /** Arguments of each kubectl call, in order. */
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
    // A wrapper, so the stub needs no executable bit in git.
    fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh\nexec /bin/sh '${STUB}' "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'job'), `${JOB}\n`);
    fs.writeFileSync(path.join(dir, 'timeline'), scenario.timeline.map(([at, s]) => `${at} ${s}\n`).join(''));
    if (scenario.watchForbidden) fs.writeFileSync(path.join(dir, 'watch-forbidden'), '');

    const startedAt = Date.now();
    fs.writeFileSync(path.join(dir, 't0'), `${startedAt}\n`);
    const [cmd, ...args] = shell.argv!;
    // detached: its own process group, to find and kill everything it started.
    const child = spawn(cmd, [...args, '-c', KUBECTL_WAIT_SCRIPT, 'wait-for-migration', JOB, `${scenario.timeoutSeconds}`], {
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
      for (let i = 0; i < 40 && leaked.length > 0; i++) {
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
        calls: lines('calls').map(l => l.split('\x1f').slice(1)),
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

const isWatch = (args: string[]) => args.includes('--watch') || args.includes('-w');

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

const SCRIPT_TEST_MS = 25_000;
const canRun = process.platform === 'linux'; // the stub needs GNU date (%N) and the leak check /proc

describe.each(shells())('KUBECTL_WAIT_SCRIPT under $label', (shell: Shell) => {
  const maybe = canRun && !shell.skip ? test : test.skip;
  if (shell.skip) {
    test.skip(`skipped: ${shell.skip}`, () => undefined);
  }

  maybe('GIVEN a complete Job WHEN it starts THEN it passes at once without watching', async () => {
    const run = await runScript(shell, { timeline: [[0, COMPLETE_PRE_1_31]], timeoutSeconds: 30 });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`migration Job ${JOB} complete`);
    expect(run.exitedAt - run.startedAt).toBeLessThan(3000);
    expect(run.calls).toHaveLength(1);
    expect(run.calls[0].slice(0, 3)).toEqual(['get', 'job', JOB]);
    expect(run.calls[0]).toContain(`jsonpath=${FMT}`);
    expect(isWatch(run.calls[0])).toBe(false);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a running Job WHEN it completes THEN it passes within 1.5 s, through the watch, which stays open', async () => {
    const run = await runScript(shell, { timeline: [[0, RUNNING], [1000, COMPLETE]], timeoutSeconds: 30 });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`migration Job ${JOB} complete`);
    const completedAt = emittedAt(run, COMPLETE);
    expect(run.exitedAt).toBeGreaterThanOrEqual(completedAt);
    expect(run.exitedAt - completedAt).toBeLessThan(LATENCY_MS);
    const watch = run.calls.find(isWatch);
    expect(watch?.slice(0, 3)).toEqual(['get', 'job', JOB]);
    expect(watch).toContain(`jsonpath=${FMT}`);
    // The stub's watch would have stayed open 600 s: the script killed it.
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a running Job WHEN it fails THEN it exits non-zero within 1.5 s with the reason and message', async () => {
    const run = await runScript(shell, { timeline: [[0, RUNNING], [1000, FAILED]], timeoutSeconds: 30 });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`migration Job ${JOB} failed: BackoffLimitExceeded: Job has reached the specified backoff limit`);
    expect(run.stdout).not.toContain('complete');
    expect(run.exitedAt - emittedAt(run, FAILED)).toBeLessThan(LATENCY_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe.each([
    ['FailureTarget (set before Failed since 1.31)', `|FailureTarget=True=${BACKOFF};`,
      'failed: BackoffLimitExceeded: Job has reached the specified backoff limit'],
    ['Failed by activeDeadlineSeconds', '|Failed=True=DeadlineExceeded=Job was active longer than specified deadline;',
      'failed: DeadlineExceeded: Job was active longer than specified deadline'],
  ])('GIVEN a Job that is already %s WHEN it starts THEN it exits non-zero at once with the reason', async (_what, line, message) => {
    const run = await runScript(shell, { timeline: [[0, line]], timeoutSeconds: 30 });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(message);
    expect(run.exitedAt - run.startedAt).toBeLessThan(3000);
    expect(run.calls.filter(isWatch)).toEqual([]);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN no Job yet WHEN it is created and later completes THEN it waits, then passes within 1.5 s', async () => {
    const run = await runScript(shell, {
      timeline: [[0, '!NotFound'], [1000, RUNNING], [3500, COMPLETE]],
      timeoutSeconds: 30,
    });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`waiting for migration Job ${JOB} to be created`);
    expect(isWatch(run.calls[0])).toBe(false);
    expect(run.exitedAt - emittedAt(run, COMPLETE)).toBeLessThan(LATENCY_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN no Job ever WHEN the timeout (3 s) passes THEN it exits non-zero soon after, saying it timed out', async () => {
    const run = await runScript(shell, { timeline: [[0, '!NotFound']], timeoutSeconds: 3 });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`timed out after 3s waiting for migration Job ${JOB}`);
    const elapsed = run.exitedAt - run.startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(5500);
    expect(run.calls.length).toBeGreaterThanOrEqual(2); // it looked again while waiting
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe.each([
    ['Forbidden', '!Forbidden', 'Forbidden'],
    ['Unauthorized', '!Unauthorized', 'Unauthorized'],
  ])('GIVEN the API answers %s WHEN it starts THEN it exits non-zero at once, saying it cannot read the Job', async (_what, state, word) => {
    const run = await runScript(shell, { timeline: [[0, state]], timeoutSeconds: 30 });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`cannot read migration Job ${JOB}`);
    expect(run.stderr).toContain(word);
    expect(run.exitedAt - run.startedAt).toBeLessThan(LATENCY_MS);
    expect(run.calls).toHaveLength(1);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  // Decision: Complete without a succeeded pod is not a pass; the script keeps waiting (bounded by
  // the timeout) and so never starts the service on a migration that did not run.
  maybe('GIVEN Complete=True with succeeded empty WHEN nothing changes THEN it never passes and times out', async () => {
    const run = await runScript(shell, { timeline: [[0, '|Complete=True==;']], timeoutSeconds: 3 });

    expect(run.code).not.toBe(0);
    expect(run.stdout).not.toContain('complete');
    expect(run.stderr).toContain(`timed out after 3s waiting for migration Job ${JOB}`);
    expect(run.exitedAt - run.startedAt).toBeLessThan(5500);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN Complete=True with succeeded empty WHEN a succeeded pod is counted THEN it passes only then', async () => {
    const run = await runScript(shell, {
      timeline: [[0, '|Complete=True==;'], [1000, COMPLETE_PRE_1_31]],
      timeoutSeconds: 30,
    });

    expect(run.code).toBe(0);
    const countedAt = emittedAt(run, COMPLETE_PRE_1_31);
    expect(run.exitedAt).toBeGreaterThanOrEqual(countedAt);
    expect(run.exitedAt - countedAt).toBeLessThan(LATENCY_MS);
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN the API server closes the watch WHEN the Job completes later THEN it watches again and passes', async () => {
    const run = await runScript(shell, {
      timeline: [[0, RUNNING], [500, '!EndWatch'], [2500, COMPLETE]],
      timeoutSeconds: 30,
    });

    expect(run.code).toBe(0);
    expect(run.calls.filter(isWatch).length).toBeGreaterThanOrEqual(2);
    expect(run.exitedAt - emittedAt(run, COMPLETE)).toBeLessThan(LATENCY_MS);
    // The first watch's timeout timer (30 s) must not outlive the script.
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);

  maybe('GIVEN a Role without watch WHEN the Job completes THEN it falls back to reading it every second and passes', async () => {
    const run = await runScript(shell, {
      timeline: [[0, RUNNING], [2500, COMPLETE]],
      timeoutSeconds: 30,
      watchForbidden: true,
    });

    expect(run.code).toBe(0);
    expect(run.exitedAt).toBeGreaterThanOrEqual(run.startedAt + 2500);
    expect(run.exitedAt - (run.startedAt + 2500)).toBeLessThan(2000);
    // One timer per refused watch would pile up: none may be left.
    expectCleanExit(run);
  }, SCRIPT_TEST_MS);
});
