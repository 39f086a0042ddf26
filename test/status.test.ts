/**
 * The status CLI, fast: kubectl's answers recorded from the real cluster by test/e2e/status.test.ts
 * (RECORD_STATUS=1 npx projen e2e test/e2e/status.test.ts) are replayed, and the CLI must print
 * what it printed there and exit the same way. Plus the argument handling.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { Kubectl, main } from '../src/status';

const DIR = join(__dirname, 'support', 'status-recordings');
const recordings = readdirSync(DIR).filter(f => f.endsWith('.json')).sort();

function replay(file: string): { kubectl: Kubectl; recording: any } {
  const recording = JSON.parse(readFileSync(join(DIR, file), 'utf-8'));
  const calls = [...recording.calls];
  return {
    recording,
    kubectl: args => {
      const next = calls.shift();
      expect(args).toEqual(next?.args);
      return next.result;
    },
  };
}

function run(argv: string[], kubectl: Kubectl = () => { throw new Error('kubectl must not be called'); }) {
  const lines: string[] = [];
  const code = main(argv, kubectl, l => lines.push(l));
  return { code, lines };
}

describe('status CLI (replayed from the real cluster)', () => {
  test('every scenario was recorded', () => {
    expect(recordings).toEqual(['broken.json', 'forbidden.json', 'gone.json', 'healthy.json', 'refused.json', 'slow.json']);
  });

  test.each(recordings)('GIVEN kubectl\'s answers of %s WHEN status THEN the same output and exit code as on the cluster', file => {
    const { kubectl, recording } = replay(file);
    const r = run(['status', recording.name, '-n', recording.namespace], kubectl);
    expect(r.lines).toEqual(recording.lines);
    expect(r.code).toBe(recording.code);
  });

  test('exit codes: 0 only for the healthy release, 1 held or failed, 3 refused', () => {
    const codes = Object.fromEntries(recordings.map(f => [f, JSON.parse(readFileSync(join(DIR, f), 'utf-8')).code]));
    expect(codes).toEqual({ 'broken.json': 1, 'forbidden.json': 3, 'gone.json': 1, 'healthy.json': 0, 'refused.json': 1, 'slow.json': 1 });
  });
});

describe('status CLI on a migration pod that waits in an init container', () => {
  test('GIVEN the running migration\'s pod waits in a first init container (a lock, say) WHEN status THEN its name and last line', () => {
    // GIVEN the real answers of the running-migration scenario, its Job's pod given a running
    // init container "migration-lock" ahead of migrate (as a lock on concurrent migrations would add)
    const recording = JSON.parse(readFileSync(join(DIR, 'slow.json'), 'utf-8'));
    const answers = new Map<string, any>(recording.calls.map((c: any) => [JSON.stringify(c.args), c.result]));
    const jobPodsCall = recording.calls.find((c: any) => c.args.includes('-l') && c.args.some((a: string) => a.startsWith('job-name=')));
    const jobPods = JSON.parse(jobPodsCall.result.stdout);
    const pod = jobPods.items[0];
    pod.status.initContainerStatuses = [{ name: 'migration-lock', ready: false, restartCount: 0, state: { running: { startedAt: '2026-12-05T03:00:00Z' } } }];
    pod.status.containerStatuses = [{ name: 'migrate', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }];
    answers.set(JSON.stringify(jobPodsCall.args), { ...jobPodsCall.result, stdout: JSON.stringify(jobPods) });
    const lockLine = 'waiting for migration Job slow-migrate-v0 of slow to finish';
    answers.set(JSON.stringify(['logs', pod.metadata.name, '-c', 'migration-lock', '-n', recording.namespace, '--tail=20']),
      { code: 0, stdout: `lock held by slow-migrate-v0\n${lockLine}\n`, stderr: '' });
    // WHEN
    const r = run(['status', recording.name, '-n', recording.namespace], args => {
      const a = answers.get(JSON.stringify(args));
      if (!a) throw new Error(`unexpected kubectl ${args.join(' ')}`);
      return a;
    });
    // THEN the wait reads as what it is, and the release is not rolled out
    expect(r.lines).toContain(`  pod ${pod.metadata.name}: in init container migration-lock: ${lockLine}`);
    expect(r.lines.join('\n')).not.toContain('container migrate running');
    expect(r.code).toBe(1);
  });
});

describe('status CLI arguments', () => {
  const usage = 'usage: cdk8s-migrated-service status <name> -n <namespace>';
  test.each([
    [[]], [['status']], [['status', 'web']], [['stat', 'web', '-n', 'shop']], [['status', '-n', 'shop']],
  ])('GIVEN %j WHEN run THEN usage and exit 2', argv => {
    expect(run(argv)).toEqual({ code: 2, lines: [usage] });
  });
  test('GIVEN an extra argument WHEN run THEN it is named and exit 2', () => {
    expect(run(['status', 'web', 'api', '-n', 'shop'])).toEqual({ code: 2, lines: [`unexpected argument "api"; ${usage}`] });
  });
  test('GIVEN --namespace=shop WHEN run THEN kubectl reads that namespace', () => {
    const seen: string[][] = [];
    run(['status', 'web', '--namespace=shop'], args => {
      seen.push(args);
      return { code: 1, stdout: '', stderr: 'Error from server (NotFound): deployments.apps "web" not found\n' };
    });
    expect(seen).toEqual([['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']]);
  });
  test('GIVEN no such Deployment WHEN status THEN kubectl\'s NotFound and exit 3', () => {
    const r = run(['status', 'web', '-n', 'shop'], () => ({ code: 1, stdout: '', stderr: 'Error from server (NotFound): deployments.apps "web" not found\n' }));
    expect(r).toEqual({ code: 3, lines: ['kubectl get deployment web -n shop: Error from server (NotFound): deployments.apps "web" not found'] });
  });
});
