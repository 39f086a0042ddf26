/**
 * The status CLI, fast: kubectl's answers recorded from the real cluster by test/e2e/status.test.ts
 * (RECORD_STATUS=1 npx projen e2e -- test/e2e/status.test.ts) are replayed, and the CLI must print
 * what it printed there, on the same streams, and exit the same way. Plus --wait's loop on
 * replayed answers, the argument handling, and the gated kinds the e2e does not release.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { CliIo, EXIT_CODES, Kubectl, KubectlResult, main, USAGE } from '../src/status';

const DIR = join(__dirname, 'support', 'status-recordings');
const recordings = readdirSync(DIR).filter(f => f.endsWith('.json')).sort();
const load = (file: string) => JSON.parse(readFileSync(join(DIR, file), 'utf-8'));

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  /** The global flags the kubectl factory was given. */
  readonly flags: string[][];
  readonly sleeps: number[];
}

function run(argv: string[], kubectl: Kubectl = () => { throw new Error('kubectl must not be called'); }, clock?: () => number): Run {
  const out: string[] = [];
  const err: string[] = [];
  const flags: string[][] = [];
  const sleeps: number[] = [];
  let t = 0;
  const io: CliIo = {
    kubectl: f => { flags.push(f); return kubectl; },
    out: l => out.push(l),
    err: l => err.push(l),
    sleep: ms => { sleeps.push(ms); t += ms; },
    now: clock ?? (() => t),
  };
  return { code: main(argv, io), out, err, flags, sleeps };
}

/** kubectl answering from a recording in its order (each call must be the recorded one). */
function inOrder(recording: any): Kubectl {
  const calls = [...recording.calls];
  return args => {
    const next = calls.shift();
    expect(args).toEqual(next?.args);
    return next.result;
  };
}

/** kubectl answering from recordings by arguments (the last answer to each). */
function byArgs(...recordingsInTurn: { recording: any; calls: number }[]): Kubectl {
  let n = 0;
  return args => {
    let at = n++;
    for (const { recording, calls } of recordingsInTurn) {
      if (at < calls || calls < 0) {
        const answers = new Map<string, KubectlResult>(recording.calls.map((c: any) => [JSON.stringify(c.args), c.result]));
        const a = answers.get(JSON.stringify(args));
        if (!a) throw new Error(`unexpected kubectl ${args.join(' ')}`);
        return a;
      }
      at -= calls;
    }
    throw new Error('no more answers');
  };
}

describe('status CLI (replayed from the real cluster)', () => {
  test('every scenario was recorded', () => {
    expect(recordings).toEqual(['broken.json', 'contract.json', 'forbidden.json', 'gone.json', 'healthy-wait.json', 'held.json',
      'refused.json', 'unreachable.json', 'waiting.json']);
  });

  test.each(recordings)('GIVEN kubectl\'s answers (and the clock) of %s WHEN status THEN the same output, streams and exit code as on the cluster', file => {
    const recording = load(file);
    const clock = [...recording.clock];
    const r = run(recording.argv, inOrder(recording), () => clock.shift());
    expect(r.out).toEqual(recording.out);
    expect(r.err).toEqual(recording.err);
    expect(r.code).toBe(recording.code);
  });

  test('exit codes: 0 done, 1 failed (migration, contract step), 3 refused or unreachable, 4 not done (held, running, missing Job)', () => {
    const codes = Object.fromEntries(recordings.map(f => [f, load(f).code]));
    expect(codes).toEqual({
      'broken.json': 1,
      'contract.json': 1,
      'forbidden.json': 3,
      'gone.json': 4,
      'healthy-wait.json': 0,
      'held.json': 4,
      // Every RoleBinding left out: the migration's lock was refused too and, recorded after it gave
      // up, the Job had failed (recorded while it still retried, this is 4; the e2e test accepts both).
      'refused.json': 1,
      'unreachable.json': 3,
      'waiting.json': 4,
    });
    expect(EXIT_CODES).toEqual({ done: 0, failed: 1, usage: 2, unreadable: 3, waiting: 4, timedOut: 5 });
  });

  test('the done release names every part done: migration, service, gated worker, post-rollout', () => {
    const { out } = load('healthy-wait.json');
    expect(out.filter((l: string) => l.startsWith('['))).toEqual([
      expect.stringMatching(/^\[done\] migration Job healthy-migrate-v1: succeeded$/),
      '[done] service Deployment healthy: 1 of 1 pods updated, 1 available',
      '[done] gated Deployment healthy-worker: 1 of 1 pods updated, 1 available',
      expect.stringMatching(/^\[done\] post-rollout Job healthy-post-v1: succeeded$/),
    ]);
  });
});

describe('status --wait on replayed answers', () => {
  const waiting = load('waiting.json');
  const done = load('healthy-wait.json');
  const argv = (...more: string[]) => ['status', waiting.name, '-n', waiting.namespace, ...more];

  test('GIVEN a release that is not done, then done WHEN --wait THEN it returns 0 at the first judgement that is done', () => {
    const r = run(argv('--wait', '--timeout', '1m'), byArgs({ recording: waiting, calls: waiting.calls.length }, { recording: done, calls: -1 }));
    expect(r.code).toBe(0);
    expect(r.sleeps).toEqual([2000]);
    expect(r.out[r.out.length - 1]).toBe('release v1 is done');
    expect(r.err).toEqual([expect.stringMatching(/^\[0s\] release v1 is not done yet: migration Job healthy-migrate-v1: running/)]);
  });

  test('GIVEN a release that stays held WHEN --wait --timeout 10s THEN 5 after 10 s, the last report on stdout, the timeout on stderr', () => {
    const held = load('held.json');
    const r = run(['status', held.name, '-n', held.namespace, '--wait', '--timeout', '10s'], byArgs({ recording: held, calls: -1 }));
    expect(r.code).toBe(EXIT_CODES.timedOut);
    expect(r.sleeps).toEqual([2000, 2000, 2000, 2000, 2000]);
    expect(r.out).toEqual(held.out);
    expect(r.err[0]).toMatch(/^\[0s\] release v1 is not done yet: gated Deployment held-worker: /);
    expect(r.err).toHaveLength(2); // the same progress is said once
    expect(r.err[1]).toMatch(/^timed out after 10s: release v1 is not done yet: gated Deployment held-worker/);
  });

  test.each(['broken.json', 'contract.json'])('GIVEN a failed release (%s) WHEN --wait THEN 1 at once, no sleep', file => {
    const rec = load(file);
    const r = run(['status', rec.name, '-n', rec.namespace, '--wait'], byArgs({ recording: rec, calls: -1 }));
    expect(r.code).toBe(EXIT_CODES.failed);
    expect(r.sleeps).toEqual([]);
  });

  test('GIVEN the command is refused WHEN --wait THEN 3 at once (RBAC does not heal by waiting)', () => {
    const rec = load('forbidden.json');
    const r = run(['status', rec.name, '-n', rec.namespace, '--wait'], byArgs({ recording: rec, calls: -1 }));
    expect(r.code).toBe(EXIT_CODES.unreadable);
    expect(r.sleeps).toEqual([]);
  });

  test('GIVEN an unreachable cluster WHEN --wait --timeout 4s THEN it keeps trying, then 3 with kubectl\'s words', () => {
    const rec = load('unreachable.json');
    const r = run(['status', rec.name, '-n', rec.namespace, '--wait', '--timeout', '4s'], byArgs({ recording: rec, calls: -1 }));
    expect(r.code).toBe(EXIT_CODES.unreadable);
    expect(r.sleeps).toEqual([2000, 2000]);
    expect(r.err.join('\n')).toMatch(/was refused/);
  });
});

describe('status -o json: the documented shape', () => {
  test.each(['broken.json', 'healthy-wait.json', 'held.json'])('GIVEN %s WHEN -o json THEN schema v1 with every field, parts as in text', file => {
    const rec = load(file);
    const r = run(['status', rec.name, '-n', rec.namespace, '-o', 'json'], byArgs({ recording: rec, calls: -1 }));
    const json = JSON.parse(r.out.join('\n'));
    expect(Object.keys(json)).toEqual(['schema', 'service', 'namespace', 'tag', 'state', 'exitCode', 'timedOut', 'summary', 'parts']);
    expect(json).toMatchObject({ schema: 'cdk8s-migrated-service/status/v1', service: rec.name, namespace: rec.namespace, tag: 'v1', exitCode: r.code, timedOut: false });
    expect(json.summary).toBe(rec.out[rec.out.length - 1]);
    for (const p of json.parts) {
      expect(Object.keys(p)).toEqual(['role', 'kind', 'name', 'state', 'summary', 'details']);
      expect(rec.out).toContain(`[${p.state}] ${p.role} ${p.kind} ${p.name}: ${p.summary}`);
    }
    expect(json.state).toBe({ 0: 'done', 1: 'failed', 4: 'waiting' }[r.code as 0 | 1 | 4]);
  });

  test('GIVEN the cluster is unreachable WHEN -o json THEN state error with kubectl\'s words, and the same on stderr', () => {
    const rec = load('unreachable.json');
    const r = run(['status', rec.name, '-n', rec.namespace, '-o', 'json'], byArgs({ recording: rec, calls: -1 }));
    const json = JSON.parse(r.out.join('\n'));
    expect(json).toMatchObject({ state: 'error', exitCode: 3, tag: null, parts: [] });
    expect(json.error).toMatch(/was refused/);
    expect(r.err.join('\n')).toBe(json.error);
  });
});

describe('status CLI on a migration pod that waits in an init container', () => {
  test('GIVEN the running migration\'s pod waits in its lock init container WHEN status THEN its name and last line', () => {
    // GIVEN the real answers of the running-migration scenario, its Job's pod in the "migration-lock" init container
    const recording = load('waiting.json');
    const answers = new Map<string, any>(recording.calls.map((c: any) => [JSON.stringify(c.args), c.result]));
    const podsKey = JSON.stringify(['get', 'pods', '-n', recording.namespace, '-o', 'json']);
    const pods = JSON.parse(answers.get(podsKey).stdout);
    const pod = pods.items.find((p: any) => p.metadata.labels?.['job-name']?.startsWith('healthy-migrate'));
    pod.status.initContainerStatuses = [{ name: 'migration-lock', ready: false, restartCount: 0, state: { running: { startedAt: '2026-12-05T03:00:00Z' } } }];
    pod.status.containerStatuses = [{ name: 'migrate', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }];
    answers.set(podsKey, { code: 0, stdout: JSON.stringify(pods), stderr: '' });
    const lockLine = 'waiting for migration Job healthy-migrate-v0 of healthy to finish';
    answers.set(JSON.stringify(['logs', pod.metadata.name, '-c', 'migration-lock', '-n', recording.namespace, '--tail=20']),
      { code: 0, stdout: `lock held by healthy-migrate-v0\n${lockLine}\n`, stderr: '' });
    // WHEN
    const r = run(['status', recording.name, '-n', recording.namespace], args => {
      const a = answers.get(JSON.stringify(args));
      if (!a) throw new Error(`unexpected kubectl ${args.join(' ')}`);
      return a;
    });
    // THEN the wait reads as what it is, and the release is not done
    expect(r.out).toContain(`  pod ${pod.metadata.name}: in init container migration-lock: ${lockLine}`);
    expect(r.out.join('\n')).not.toContain('container migrate running');
    expect(r.code).toBe(EXIT_CODES.waiting);
  });
});

describe('status CLI: gated kinds judged from the cluster\'s objects', () => {
  // The e2e releases a gated Deployment; these are the other kinds gate() accepts, as objects in
  // the shape the API server returns them (status fields per kind), on top of the done release.
  const done = load('healthy-wait.json');
  const ns = done.namespace;
  const tagged = (extra: any = {}) => ({ metadata: { annotations: { 'migrated-service.cdk8s.io/image-tag': 'v1' }, ...extra } });
  const meta = (kind: string, name: string, uid: string) => ({
    apiVersion: kind.endsWith('Job') ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name, namespace: ns, uid, generation: 2, labels: { 'migrated-service.cdk8s.io/gated-by': 'healthy' } },
  });
  function judge(gated: any[], jobs: any[] = []): Run {
    const answers = new Map<string, KubectlResult>(done.calls.map((c: any) => [JSON.stringify(c.args), c.result]));
    const gatedKey = [...answers.keys()].find(k => k.includes('migrated-service.cdk8s.io/gated-by=healthy'))!;
    const existing = JSON.parse(answers.get(gatedKey)!.stdout);
    answers.set(gatedKey, { code: 0, stderr: '', stdout: JSON.stringify({ ...existing, items: [...existing.items, ...gated] }) });
    const jobsKey = JSON.stringify(['get', 'jobs', '-n', ns, '-o', 'json']);
    const allJobs = JSON.parse(answers.get(jobsKey)!.stdout);
    answers.set(jobsKey, { code: 0, stderr: '', stdout: JSON.stringify({ ...allJobs, items: [...allJobs.items, ...jobs] }) });
    return run(['status', 'healthy', '-n', ns], args => {
      const a = answers.get(JSON.stringify(args));
      if (a) return a;
      if (args[0] === 'logs') return { code: 0, stdout: '', stderr: '' };
      throw new Error(`unexpected kubectl ${args.join(' ')}`);
    });
  }
  const line = (r: Run, kind: string) => r.out.find(l => l.includes(`gated ${kind} `) && !l.includes('healthy-worker'));

  test.each([
    ['StatefulSet', { replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, currentRevision: 'a', updateRevision: 'a' }, 0, '[done] gated StatefulSet db: 2 of 2 pods updated, 2 available'],
    ['StatefulSet', { replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2, currentRevision: 'a', updateRevision: 'b' }, 4, '[waiting] gated StatefulSet db: 1 of 2 pods updated, 2 available, revision a updating to b'],
    ['StatefulSet', { replicas: 2 }, { observedGeneration: 1 }, 4, '[waiting] gated StatefulSet db: generation 2 not observed yet'],
    ['DaemonSet', {}, { observedGeneration: 2, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1 }, 0, '[done] gated DaemonSet db: 1 of 1 pods updated, 1 available'],
    ['DaemonSet', {}, { observedGeneration: 2, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 0 }, 4, '[waiting] gated DaemonSet db: 1 of 1 pods updated, 0 available'],
    ['Deployment', { replicas: 1 }, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "db-1" has timed out progressing.' }] }, 1,
      '[failed] gated Deployment db: ProgressDeadlineExceeded: ReplicaSet "db-1" has timed out progressing.'],
  ])('GIVEN a gated %s (spec %j, status %j) WHEN status THEN exit %d and %s', (kind, spec, status, code, expected) => {
    const r = judge([{ ...meta(kind, 'db', 'uid-db'), spec: { ...spec, template: tagged() }, status }]);
    expect(line(r, kind)).toBe(expected);
    expect(r.code).toBe(code);
  });

  test('GIVEN a gated Deployment still at the previous tag WHEN status THEN waiting: not applied yet', () => {
    const r = judge([{ ...meta('Deployment', 'db', 'uid-db'), spec: { replicas: 1, template: { metadata: { annotations: { 'migrated-service.cdk8s.io/image-tag': 'v0' } } } }, status: { observedGeneration: 2 } }]);
    expect(line(r, 'Deployment')).toMatch(/^\[waiting\] gated Deployment db: its pod template is at tag v0, not v1: not applied yet/);
    expect(r.code).toBe(4);
  });

  test.each([
    [[{ type: 'Complete', status: 'True' }], 0, '[done] gated Job report: succeeded'],
    [[{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }], 1,
      '[failed] gated Job report: failed: BackoffLimitExceeded: Job has reached the specified backoff limit'],
    [[], 4, '[waiting] gated Job report: running (1 active pod)'],
  ])('GIVEN a gated Job of this tag with conditions %j WHEN status THEN exit %d and %s', (conditions, code, expected) => {
    const r = judge([{ ...meta('Job', 'report', 'uid-report'), spec: { template: tagged() }, status: { active: conditions.length ? 0 : 1, conditions } }]);
    expect(line(r, 'Job')).toBe(expected);
    expect(r.code).toBe(code);
  });

  test('GIVEN a gated Job of an older tag WHEN status THEN it is not part of this release', () => {
    const r = judge([{ ...meta('Job', 'report-v0', 'uid-r0'), spec: { template: { metadata: { annotations: { 'migrated-service.cdk8s.io/image-tag': 'v0' } } } }, status: { conditions: [{ type: 'Failed', status: 'True', reason: 'x' }] } }]);
    expect(line(r, 'Job')).toBeUndefined();
    expect(r.code).toBe(0);
  });

  const cron = (tag: string) => ({ ...meta('CronJob', 'nightly', 'uid-cron'), spec: { jobTemplate: { spec: { template: { metadata: { annotations: { 'migrated-service.cdk8s.io/image-tag': tag } } } } } } });
  const run_ = (name: string, created: string, conditions: any[]) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: created, ownerReferences: [{ uid: 'uid-cron', kind: 'CronJob', name: 'nightly' }] },
    spec: { template: tagged() },
    status: { conditions },
  });
  test.each([
    ['no run yet', [], 0, '[done] gated CronJob nightly: at tag v1, no run yet'],
    ['its newest run at this tag failed', [run_('nightly-1', '2026-01-01T00:00:00Z', [{ type: 'Complete', status: 'True' }]), run_('nightly-2', '2026-01-02T00:00:00Z', [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }])], 1,
      '[failed] gated CronJob nightly: its run Job nightly-2 failed: DeadlineExceeded: Job was active longer than specified deadline'],
    ['its newest run succeeded', [run_('nightly-1', '2026-01-01T00:00:00Z', [{ type: 'Complete', status: 'True' }])], 0, '[done] gated CronJob nightly: at tag v1, last run Job nightly-1 succeeded'],
  ])('GIVEN a gated CronJob at this tag, %s (runs %j) WHEN status THEN exit %d and %s', (_what, jobs, code, expected) => {
    const r = judge([cron('v1')], jobs as any[]);
    expect(line(r, 'CronJob')).toBe(expected);
    expect(r.code).toBe(code);
  });
  test('GIVEN a gated CronJob at the previous tag WHEN status THEN waiting: not applied yet', () => {
    const r = judge([cron('v0')]);
    expect(line(r, 'CronJob')).toBe('[waiting] gated CronJob nightly: its job template is at tag v0, not v1: not applied yet');
    expect(r.code).toBe(4);
  });
});

describe('status CLI arguments', () => {
  test.each([[['--help']], [['status', '--help']], [['status', 'web', '-h']], [['help']]])('GIVEN %j WHEN run THEN the usage on stdout, exit 0', argv => {
    const r = run(argv);
    expect(r).toMatchObject({ code: 0, out: [USAGE], err: [] });
  });
  test.each([
    [[], 'missing command "status"'],
    [['status'], 'missing <name>'],
    [['status', 'web'], 'missing -n <namespace>'],
    [['stat', 'web', '-n', 'shop'], 'unknown command "stat"'],
    [['status', '-n', 'shop'], 'missing <name>'],
    [['status', 'web', 'api', '-n', 'shop'], 'unexpected argument "api"'],
    [['status', 'Web_1', '-n', 'shop'], 'invalid <name> "Web_1": a service name is a DNS-1035 label (lowercase letters, digits and "-", at most 63)'],
    [['status', 'web', '-n', 'Shop'], 'invalid namespace "Shop": a namespace is a DNS-1123 label'],
    [['status', 'web', '-n', 'shop', '-o', 'yaml'], 'invalid output "yaml": text or json'],
    [['status', 'web', '-n', 'shop', '--timeout', '5m'], '--timeout needs --wait'],
    [['status', 'web', '-n', 'shop', '--wait', '--timeout', 'soon'], 'invalid --timeout "soon": e.g. 90s, 15m, 1h or 1h30m'],
    [['status', 'web', '-n'], '-n needs a value'],
    [['status', 'web', '-n', 'shop', '--kubeconfig='], '--kubeconfig needs a value'],
  ])('GIVEN %j WHEN run THEN what is wrong and the usage on stderr, exit 2, no kubectl', (argv, problem) => {
    expect(run(argv)).toMatchObject({ code: 2, out: [], err: [`${problem}\n${USAGE}`] });
  });

  test('GIVEN --kubeconfig, --context and --namespace=, in any order WHEN run THEN kubectl gets the flags and reads that namespace', () => {
    const seen: string[][] = [];
    const r = run(['status', '--context=prod', 'web', '--namespace=shop', '--kubeconfig', '/ci/kubeconfig', '-o=json'], args => {
      seen.push(args);
      return { code: 1, stdout: '', stderr: 'Error from server (NotFound): deployments.apps "web" not found\n' };
    });
    expect(r.flags).toEqual([['--kubeconfig', '/ci/kubeconfig', '--context', 'prod']]);
    expect(seen).toEqual([['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']]);
    expect(JSON.parse(r.out.join('\n')).state).toBe('waiting');
  });

  test('GIVEN no such Deployment WHEN status THEN not done yet (4): not applied yet, or another name or namespace', () => {
    const r = run(['status', 'web', '-n', 'shop'], () => ({ code: 1, stdout: '', stderr: 'Error from server (NotFound): deployments.apps "web" not found\n' }));
    expect(r).toMatchObject({
      code: 4,
      err: [],
      out: [
        'service web in namespace shop: newest tag (unknown)',
        '[waiting] service Deployment web: not found in namespace shop (not applied yet, or another name or namespace)',
        'release of web is not done yet: service Deployment web: not found in namespace shop (not applied yet, or another name or namespace)',
      ],
    });
  });

  test('GIVEN no kubectl on PATH WHEN status THEN 3 with why, on stderr', () => {
    const r = run(['status', 'web', '-n', 'shop'], () => ({ code: 127, stdout: '', stderr: 'kubectl: spawnSync kubectl ENOENT' }));
    expect(r).toMatchObject({ code: 3, out: [], err: ['kubectl get deployment web -n shop: kubectl: spawnSync kubectl ENOENT'] });
  });
});

describe('status CLI: the migration history', () => {
  // The done release of the e2e recordings, with the history ConfigMap and the Jobs replaced by
  // what a rollback leaves on the cluster.
  const done = load('healthy-wait.json');
  const ns = done.namespace;
  const cmKey = JSON.stringify(['get', 'configmap', 'healthy-migration-history', '-n', ns, '-o', 'json']);
  const jobsKey = JSON.stringify(['get', 'jobs', '-n', ns, '-o', 'json']);
  function judge(log: string, jobs: (items: any[]) => any[] = items => items): Run {
    const answers = new Map<string, KubectlResult>(done.calls.map((c: any) => [JSON.stringify(c.args), c.result]));
    answers.set(cmKey, { code: 0, stderr: '', stdout: JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'healthy-migration-history' }, data: { log } }) });
    const all = JSON.parse(answers.get(jobsKey)!.stdout);
    answers.set(jobsKey, { code: 0, stderr: '', stdout: JSON.stringify({ ...all, items: jobs(all.items) }) });
    return run(['status', 'healthy', '-n', ns], args => {
      const a = answers.get(JSON.stringify(args));
      if (a) return a;
      if (args[0] === 'logs') return { code: 0, stdout: '', stderr: '' };
      throw new Error(`unexpected kubectl ${args.join(' ')}`);
    });
  }
  const V1 = '1|migrated|v1|2026-12-01T10:00:00Z|healthy-migrate-v1\n';
  const V2 = '2|migrated|v2|2026-12-02T10:00:00Z|healthy-migrate-v2\n';
  const rollbackLine = (r: Run) => r.out.find(l => l.includes('rollback ConfigMap'));

  test('GIVEN the running tag is the newest that migrated THEN no rollback part; done', () => {
    const r = judge(V1);
    expect(rollbackLine(r)).toBeUndefined();
    expect(r.code).toBe(0);
  });

  test('GIVEN a newer tag migrated after the running one THEN a rollback part says from which tag and where the schema stands; done', () => {
    const r = judge(V1 + V2);
    expect(rollbackLine(r)).toBe('[done] rollback ConfigMap healthy-migration-history: v1 is a rollback from v2: the schema stands at ' +
      'v2\'s migration (at 2026-12-02T10:00:00Z); v1 migrated at 2026-12-01T10:00:00Z and does not migrate again');
    expect(r.code).toBe(0);
  });

  test('GIVEN the newer tag\'s contract step ran THEN the rollback is held: failed, naming the step and the override; allowed THEN done', () => {
    const held = judge(`${V1}${V2}3|contracted|v2|2026-12-02T10:05:00Z|healthy-post-v2\n`);
    expect(rollbackLine(held)).toBe('[failed] rollback ConfigMap healthy-migration-history: rolling back to v1 (from v2) is held: the ' +
      'post-rollout (contract) migration of v2 ran at 2026-12-02T10:05:00Z, after v1 migrated (at 2026-12-01T10:00:00Z), and v1\'s code ' +
      `may read what it removed; to allow it: npx cdk8s-migrated-service allow-rollback healthy --to v1 -n ${ns}`);
    expect(held.code).toBe(1);
    const allowed = judge(`${V1}${V2}3|contracted|v2|2026-12-02T10:05:00Z|healthy-post-v2\n4|allowed|v1|2026-12-02T11:00:00Z|3 incident\n`);
    expect(rollbackLine(allowed)).toMatch(/^\[done\] rollback ConfigMap healthy-migration-history: v1 is a rollback from v2/);
  });

  test('GIVEN the tag\'s Job is gone but the history shows it migrated THEN the migration is done, from the history', () => {
    const r = judge(V1, items => items.filter(j => j.metadata.labels?.['app.kubernetes.io/component'] !== 'migration'));
    expect(r.out).toContain('[done] migration Job healthy-migrate-v1: migrated at 2026-12-01T10:00:00Z (migration history); the Job is gone (pruned, a TTL, deleted), which holds no pod');
    expect(r.code).toBe(0);
  });

  test('GIVEN a Job whose run the history skipped THEN it says so', () => {
    const r = judge(V1 + V2, items => items.map(j => j.metadata.labels?.['app.kubernetes.io/component'] !== 'migration' ? j
      : { ...j, metadata: { ...j.metadata, annotations: { ...j.metadata.annotations, 'migrated-service.cdk8s.io/skipped': 'v1 migrated at T; not running it again' } } }));
    expect(r.out).toContain('[done] migration Job healthy-migrate-v1: succeeded without running the tool: v1 migrated at T; not running it again');
  });
});

describe('status CLI: a migration that gave up on its lock timeout (#28)', () => {
  test('GIVEN the migrate container\'s last words name the lock timeout above a stack trace THEN status shows that line', () => {
    const broken = load('broken.json');
    const answers = new Map<string, KubectlResult>(broken.calls.map((c: any) => [JSON.stringify(c.args), c.result]));
    const podsKey = JSON.stringify(['get', 'pods', '-n', broken.namespace, '-o', 'json']);
    const pods = JSON.parse(answers.get(podsKey)!.stdout);
    const pod = pods.items.find((p: any) => p.metadata.labels?.['job-name']?.startsWith('broken-migrate'));
    const migrate = pod.status.containerStatuses.find((c: any) => c.name === 'migrate');
    // What Knex printed when PostgreSQL cancelled its ALTER TABLE (test/tools/lock-timeout.test.ts).
    migrate.state.terminated.message = 'migration file "20240101000002_size.js" failed\n' +
      'migration failed with error: ALTER TABLE widgets ADD COLUMN size integer - canceling statement due to lock timeout\n' +
      '    at Parser.parseErrorMessage (/node_modules/pg-protocol/dist/parser.js:285:98)\n';
    answers.set(podsKey, { code: 0, stderr: '', stdout: JSON.stringify(pods) });
    const r = run(['status', broken.name, '-n', broken.namespace], args => answers.get(JSON.stringify(args))
      ?? (args[0] === 'logs' ? { code: 0, stdout: '', stderr: '' } : (() => { throw new Error(`unexpected kubectl ${args.join(' ')}`); })()));
    expect(r.out.join('\n')).toContain(`container migrate exited with code ${migrate.state.terminated.exitCode} (Error): migration failed with error: ` +
      'ALTER TABLE widgets ADD COLUMN size integer - canceling statement due to lock timeout');
    expect(r.code).toBe(1);
  });
});
