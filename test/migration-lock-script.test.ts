/**
 * The migration lock's script (MIGRATION_LOCK_SCRIPT) under real POSIX shells, with a stub
 * `kubectl` (test/support/stub-lock-kubectl.js) first on PATH that answers with what real kubectl
 * printed (test/support/kubectl-recordings/lock/, recorded on the local cluster), or with lines of
 * the same shape built by `job()` and `pod()`. The real-cluster behaviour is test/e2e/lock.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { shells } from './support/shells';
import { LOCK_READ_JSONPATH, MIGRATION_LOCK_SCRIPT } from '../src/lock/migration-lock-script';

interface Out { readonly stdout?: string; readonly stderr?: string; readonly code?: number }
interface Scenario { readonly read: Out[]; readonly swap?: Out[]; readonly watch?: Out[] }
interface Call { readonly kind: string; readonly args: string[]; readonly stdin?: string }

const RECORDINGS = path.join(__dirname, 'support', 'kubectl-recordings', 'lock');
const recorded = (name: string): Out & { args: string[] } => JSON.parse(fs.readFileSync(path.join(RECORDINGS, `${name}.json`), 'utf-8'));

// The recorded release (record-lock-kubectl.ts): v1 migrating, v2 waiting at the lock.
const V1 = { name: 'web-migrate-v1', uid: 'e9f4b74b-b7c0-4c67-b875-857fa5e1d675' };
const V2 = { name: 'web-migrate-v2', uid: 'd349157d-b367-4648-b836-183ac5f48150' };

/** A Job line as LOCK_READ_JSONPATH prints it. */
function job(name: string, uid: string, created: string, o: { component?: string; complete?: boolean; failed?: boolean } = {}): string {
  return `Job|${name}|${uid}|${created}|${o.component ?? 'migration'}|${o.complete ? 'True' : ''}|${o.failed ? 'True' : ''}||||700|`;
}
/** A pod line of Job `owner`; `atLock` while its migration-lock container runs. */
function pod(owner: string, phase: string, atLock = false, component = 'migration'): string {
  return `Pod|${owner}-pod|pod-${owner}|2026-12-05T02:07:17Z|${component}|||${owner}|${phase}|${atLock ? '2026-12-05T02:07:18Z' : ''}|701|`;
}
/** A Lease line: the service's (`name` web-migration-lock) at `version`, held by `holder` (`job/uid`, or empty). */
function lease(version: string, holder: string, name = 'web-migration-lock'): string {
  return `Lease|${name}|lease-uid|2026-12-05T02:00:00Z|||||||${version}|${holder}`;
}
const read = (...lines: string[]): Out => ({ stdout: `${lines.join('\n')}\n`, code: 0 });
const CREATED = { stdout: 'lease.coordination.k8s.io/web-migration-lock created\n', code: 0 };
const REPLACED = { stdout: 'lease.coordination.k8s.io/web-migration-lock replaced\n', code: 0 };
/** The watch reports one change and ends. */
const CHANGE = { stdout: 'ADDED\nMODIFIED\n', code: 0 };

/** The real `date`, for the formats the test clock does not answer. */
const DATE = spawnSync('sh', ['-c', 'command -v date'], { encoding: 'utf-8' }).stdout.trim();

/**
 * `clock`: a stand-in `date` whose `+%s` stays at one second until the script starts its first
 * watch, then 100 s later, so a deadline falls between the first read and the watch whatever the
 * machine's load (with the real clock a 1 s budget could end before the first read).
 */
function run(shell: string[], scenario: Scenario, me: { name: string; uid: string }, limit = 0, clock = false) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-script-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    if (clock) {
      fs.writeFileSync(path.join(bin, 'date'), [
        '#!/bin/sh',
        `[ "$*" != +%s ] && exec "${DATE}" "$@"`,
        `if grep -q '"kind":"watch"' "${path.join(dir, 'calls')}" 2>/dev/null; then echo 1000100; else echo 1000000; fi`,
        '',
      ].join('\n'), { mode: 0o755 });
    }
    fs.writeFileSync(path.join(bin, 'kubectl'),
      `#!/bin/sh\nexec "${process.execPath}" "${path.join(__dirname, 'support', 'stub-lock-kubectl.js')}" "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'scenario.json'), JSON.stringify(scenario));
    const r = spawnSync(shell[0], [...shell.slice(1), '-c', MIGRATION_LOCK_SCRIPT, 'migration-lock', 'web', 'web-migration-lock', `${limit}`, '0'], {
      env: {
        PATH: `${bin}${path.delimiter}${process.env.PATH}`,
        TMPDIR: dir,
        HOME: dir,
        LC_ALL: 'C',
        STUB_KUBECTL_DIR: dir,
        JOB_NAME: me.name,
        JOB_UID: me.uid,
      },
      encoding: 'utf-8',
      timeout: 20_000,
    });
    if (process.env.DEBUG_LOCK) console.log(r.stdout, r.stderr, fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf-8') : '');
    const callsFile = path.join(dir, 'calls');
    const calls: Call[] = fs.existsSync(callsFile)
      ? fs.readFileSync(callsFile, 'utf-8').split('\n').filter(l => l).map(l => JSON.parse(l)) : [];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, kinds: calls.map(c => c.kind) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(shells())('the migration lock script under $label', ({ argv, skip }) => {
  const sh = argv ?? [];
  const t = skip ? test.skip : test;

  t('GIVEN no Lease yet and no other migration WHEN it starts THEN it creates the Lease, labelled, with itself as holder: two kubectl runs, no watch', () => {
    const r = run(sh, { read: [read(job(V1.name, V1.uid, '2026-12-05T02:07:17Z'), pod(V1.uid, 'Pending', true))], swap: [CREATED] }, V1);
    expect(r.status).toBe(0);
    expect(r.kinds).toEqual(['read', 'swap']);
    expect(r.calls[0].args).toEqual(['get', 'leases,jobs,pods', '-l', 'migrated-service.cdk8s.io/migration-lock=web', '-o', `jsonpath=${LOCK_READ_JSONPATH}`, '--request-timeout=30s']);
    expect(r.calls[1].args.slice(0, 3)).toEqual(['create', '-f', '-']);
    expect(r.calls[1].stdin).toContain(`holderIdentity: "${V1.name}/${V1.uid}"`);
    expect(r.calls[1].stdin).toContain('labels: {"migrated-service.cdk8s.io/migration-lock": "web"}');
    expect(r.calls[1].stdin).not.toContain('resourceVersion');
    expect(r.stdout).toMatch(/migration lock of web taken by web-migrate-v1 after \d+s/);
  });

  t('GIVEN what kubectl printed while v1 migrated and v2 waited WHEN v2 starts THEN it waits for v1; once v1\'s pod succeeded it takes the Lease at the resourceVersion it read', () => {
    const held = recorded('read-held-one-running-one-waiting');
    // The recorded read once both were done, with the Lease still as v1 left it (in the recording v2 had taken it).
    const heldLease = held.stdout!.split('\n')[0];
    expect(heldLease).toMatch(new RegExp(`^Lease\\|web-migration-lock\\|.*\\|64353\\|${V1.name}/${V1.uid}$`));
    const bothDone = { ...recorded('read-both-done'), stdout: recorded('read-both-done').stdout!.replace(/^Lease\|.*$/m, heldLease) };
    const r = run(sh, { read: [held, held, bothDone], watch: [CHANGE], swap: [REPLACED] }, V2);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('waiting for migration web-migrate-v1 of web: it holds the lock');
    // One read before the watch, one when the watch is established (its first ADDED), one on the change.
    expect(r.kinds).toEqual(['read', 'watch', 'read', 'read', 'swap']);
    const swap = r.calls[r.calls.length - 1];
    expect(swap.args.slice(0, 3)).toEqual(['replace', '-f', '-']);
    expect(swap.stdin).toContain('resourceVersion: "64353"');
    expect(swap.stdin).toContain(`holderIdentity: "${V2.name}/${V2.uid}"`);
    expect(r.calls[0].args).toEqual(held.args.concat('--request-timeout=30s'));
    expect(r.calls[1].args.slice(0, 6)).toEqual(['get', 'pods', '-l', 'migrated-service.cdk8s.io/migration-lock=web', '--watch', '--output-watch-events']);
  });

  t('GIVEN the swap conflicts (another migration took the Lease first) THEN it reads again', () => {
    const mine = [job(V1.name, V1.uid, '2026-12-05T02:07:17Z'), pod(V1.uid, 'Pending', true)];
    const r = run(sh, { read: [read(lease('10', ''), ...mine), read(lease('11', ''), ...mine)], swap: [recorded('replace-conflict'), REPLACED] }, V1);
    expect(r.status).toBe(0);
    expect(r.kinds).toEqual(['read', 'swap', 'read', 'swap']);
    expect(r.calls[1].stdin).toContain('resourceVersion: "10"');
    expect(r.calls[3].stdin).toContain('resourceVersion: "11"');
    expect(r.stderr).toBe('');
  });

  t('GIVEN two Jobs created in the same second THEN the one with the smaller name goes first and the other waits for it', () => {
    const both = read(lease('5', ''), job('web-migrate-b', 'uid-b', '2026-12-05T02:00:00Z'), job('web-migrate-a', 'uid-a', '2026-12-05T02:00:00Z'),
      pod('uid-a', 'Pending', true), pod('uid-b', 'Pending', true));
    const a = run(sh, { read: [both], swap: [REPLACED] }, { name: 'web-migrate-a', uid: 'uid-a' });
    expect(a.status).toBe(0);
    const b = run(sh, { read: [both], watch: [{ stderr: 'Error from server (Forbidden): pods is forbidden\n', code: 1 }] },
      { name: 'web-migrate-b', uid: 'uid-b' });
    expect(b.stdout).toContain('waiting for migration web-migrate-a of web: it was created first');
    expect(b.kinds).not.toContain('swap');
  });

  t('GIVEN an older Job created but without a pod yet THEN it still goes first (apply order, not pod order)', () => {
    const r = run(sh, {
      read: [read(lease('5', ''), job('web-migrate-v1', 'uid-1', '2026-12-05T02:00:00Z'), job(V2.name, V2.uid, '2026-12-05T02:00:01Z'), pod(V2.uid, 'Pending', true))],
      watch: [{ stderr: 'Error from server (Forbidden): pods is forbidden\n', code: 1 }],
    }, V2);
    expect(r.stdout).toContain('waiting for migration web-migrate-v1 of web: it was created first');
  });

  (skip ? test.skip : test).each([
    ['failed (Failed=True)', job('web-migrate-v1', 'uid-1', '2026-12-05T02:00:00Z', { failed: true }), pod('uid-1', 'Running')],
    ['complete', job('web-migrate-v1', 'uid-1', '2026-12-05T02:00:00Z', { complete: true }), pod('uid-1', 'Succeeded')],
    ['ended but not yet marked (all its pods Failed)', job('web-migrate-v1', 'uid-1', '2026-12-05T02:00:00Z'), pod('uid-1', 'Failed')],
    ['a post-rollout Job still waiting for its rollout', job('web-post-v1', 'uid-1', '2026-12-05T02:00:00Z', { component: 'post-rollout-migration' }),
      pod('uid-1', 'Pending', false, 'post-rollout-migration')],
  ])('GIVEN an older Job that is %s and does not hold the Lease THEN the newer one takes the lock', (_what, older, olderPod) => {
    const r = run(sh, { read: [read(lease('5', ''), older, job(V2.name, V2.uid, '2026-12-05T02:00:01Z'), olderPod, pod(V2.uid, 'Pending', true))], swap: [REPLACED] }, V2);
    expect(r.status).toBe(0);
    expect(r.kinds).toEqual(['read', 'swap']);
  });

  t('GIVEN an older post-rollout Job whose pod waits at the lock THEN it goes first', () => {
    const r = run(sh, {
      read: [read(lease('5', ''), job('web-post-v1', 'uid-1', '2026-12-05T02:00:00Z', { component: 'post-rollout-migration' }), job(V2.name, V2.uid, '2026-12-05T02:00:01Z'),
        pod('uid-1', 'Pending', true, 'post-rollout-migration'), pod(V2.uid, 'Pending', true))],
      watch: [{ stderr: 'Error from server (Forbidden): pods is forbidden\n', code: 1 }],
    }, V2);
    expect(r.stdout).toContain('waiting for migration web-post-v1 of web: it was created first');
  });

  t('GIVEN the holder\'s Job was deleted but its pod still terminates (phase Running) THEN the lock is still held', () => {
    const r = run(sh, {
      read: [read(lease('5', 'web-migrate-v1/uid-1'), job(V2.name, V2.uid, '2026-12-05T02:00:01Z'), pod('uid-1', 'Running'), pod(V2.uid, 'Pending', true))],
      watch: [{ stderr: 'Error from server (Forbidden): pods is forbidden\n', code: 1 }],
    }, V2);
    expect(r.stdout).toContain('waiting for migration web-migrate-v1 of web: it holds the lock');
    expect(r.kinds).not.toContain('swap');
  });

  t('GIVEN the Lease still names its own Job (a retry pod after a failed one) THEN it takes it again', () => {
    const r = run(sh, {
      read: [read(lease('5', `${V2.name}/${V2.uid}`), job('web-migrate-v1', 'uid-1', '2026-12-05T02:00:00Z'), job(V2.name, V2.uid, '2026-12-05T02:00:01Z'), pod('uid-1', 'Pending', true), pod(V2.uid, 'Pending', true))],
      swap: [REPLACED],
    }, V2);
    expect(r.status).toBe(0);
  });

  t('GIVEN the API refuses the read (recorded Forbidden) THEN it exits 1 naming what the lock needs', () => {
    const r = run(sh, { read: [recorded('read-forbidden')] }, V1);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^migration lock: access refused \(the lock needs list on leases, jobs and pods, watch on pods, update on lease web-migration-lock, create on leases\): Error from server \(Forbidden\)/m);
    expect(r.stderr).toContain('cannot list resource "leases"');
    expect(r.stderr).toContain('cannot list resource "jobs"');
    expect(r.kinds).toEqual(['read']);
  });

  t('GIVEN another Lease that carries the lock\'s label THEN only the service\'s own Lease counts', () => {
    const r = run(sh, {
      read: [read(lease('4', 'web-migrate-v1/uid-1', 'other-lease'), lease('5', ''), job(V2.name, V2.uid, '2026-12-05T02:00:01Z'), pod('uid-1', 'Running'), pod(V2.uid, 'Pending', true))],
      swap: [REPLACED],
    }, V2);
    expect(r.status).toBe(0);
    expect(r.calls[1].stdin).toContain('resourceVersion: "5"');
  });

  t('GIVEN the holder keeps the lock past the deadline THEN it gives up 10 s before it, exits 1 and says who held it', () => {
    const held = read(lease('5', 'web-migrate-v1/uid-1'), job(V2.name, V2.uid, '2026-12-05T02:00:01Z'), pod('uid-1', 'Running'), pod(V2.uid, 'Pending', true));
    // A deadline of 11 s: it gives up 1 s after it started, which the test clock places after the
    // first read and at the watch; each watch ends at once.
    const r = run(sh, { read: [held], watch: [{ stdout: 'ADDED\n', code: 0 }] }, V2, 11, true);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/migration lock: gave up after 100s, before the Job's activeDeadline \(11 s\); last state: waiting for migration web-migrate-v1 of web: it holds the lock/);
    expect(r.kinds).toEqual(['read', 'watch']);
  });
});
