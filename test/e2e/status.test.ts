/**
 * `cdk8s-migrated-service status` against the real cluster: the CLI's main() with real kubectl and
 * the cluster's kubeconfig given as --kubeconfig (as a CI step runs it), judging whole releases
 * (migration Job, service, a gated worker, the post-rollout Job): one that succeeds (held, then
 * --wait returns 0 once everything is done), one whose migration fails, one whose contract step
 * fails (--wait returns 1 as soon as it did), one whose gated worker is held by RBAC (--wait times
 * out with 5), a deleted Job, a refused service waiter, the command itself refused (3) and an
 * unreachable cluster (3). The printed lines and exit codes are asserted.
 *
 * RECORD_STATUS=1 keeps kubectl's answers and the output in test/support/status-recordings for
 * test/status.test.ts to replay.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, ensureCluster, jobConditions, kubectl, objectsOf,
  rolledOut, SMALL_RESOURCES as SMALL, synthYaml, waitFor,
} from './support';
import { MigratedService, Waiter } from '../../src';
import { Kubectl, main, realKubectl } from '../../src/status';

/** Where RECORD_STATUS=1 writes what kubectl answered and what the CLI printed. */
const RECORDINGS = join(__dirname, '..', 'support', 'status-recordings');

interface Release {
  /** The migration's shell command. */
  readonly migration: string;
  /** A gated Deployment `<name>-worker`; `ownAccount`: with a ServiceAccount of its own. */
  readonly worker?: { readonly ownAccount?: boolean };
  /** The post-rollout migration's shell command. */
  readonly post?: string;
}

/**
 * kubectl's answer as recorded: without the objects' managedFields, which the CLI never reads and
 * which are most of the bytes of a namespace's pods.
 */
function withoutManagedFields(result: { code: number; stdout: string; stderr: string }) {
  if (result.code !== 0 || !result.stdout.startsWith('{')) return result;
  const doc = JSON.parse(result.stdout);
  for (const o of [doc, ...doc.items ?? []]) delete o.metadata?.managedFields;
  return { ...result, stdout: JSON.stringify(doc) };
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describeOnCluster('status CLI on a real cluster', () => {
  let ns = '';
  let image = '';
  let kubeconfig = '';
  let kubectlBin = '';
  beforeAll(() => {
    ns = createNamespace('status-e2e');
    image = buildImage({ name: 'registry.example.com/status-e2e:v1', contents: { '/www/index.html': 'v1\n' }, cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'] });
    const c = ensureCluster().cluster!;
    kubeconfig = c.kubeconfig;
    kubectlBin = c.kubectlBin;
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });

  /** Synthesize a release of `name` (one replica, small pods, the kubectl waiter). */
  function release(name: string, r: Release): { objects: any[]; jobName: string; postJobName?: string } {
    let jobName = '';
    let postJobName: string | undefined;
    const yaml = synthYaml(ns, chart => {
      const service = new MigratedService(chart, name, {
        image: image.split(':')[0],
        imageTag: 'v1',
        replicas: 1,
        port: 8080,
        runAsUser: 1000,
        resources: SMALL,
        waiter: Waiter.kubectl({ timeout: Duration.minutes(5) }),
        migration: { command: ['sh', '-c', r.migration], resources: SMALL },
        postRollout: r.post ? { command: ['sh', '-c', r.post], resources: SMALL } : undefined,
      });
      jobName = service.jobName;
      postJobName = service.postRolloutJobName;
      if (r.worker) {
        const serviceAccount = r.worker.ownAccount
          ? new kplus.ServiceAccount(chart, 'worker-account', { metadata: { name: `${name}-worker` }, automountToken: false })
          : undefined;
        service.gate(new kplus.Deployment(chart, 'worker', {
          metadata: { name: `${name}-worker` },
          replicas: 1,
          serviceAccount,
          containers: [{
            image: service.serviceImage,
            resources: SMALL,
            securityContext: { ensureNonRoot: true, user: 1000, capabilities: { drop: [kplus.Capability.ALL] } },
          }],
        }));
      }
    });
    return { objects: objectsOf(yaml), jobName, postJobName };
  }
  const applyObjects = (objects: any[]) => apply(objects.map(o => stringify(o)).join('---\n'), ns);

  /**
   * Runs main() as a CI step would (`status <name> -n <ns> --kubeconfig <file> ...`); `extraFlags`
   * go to kubectl before each call (e.g. --as). With RECORD_STATUS=1 and `recording`, kubectl's
   * answers, the clock's readings and the output are kept for test/status.test.ts to replay.
   */
  function status(name: string, args: string[] = [], recording?: string, extraFlags: string[] = []): Run {
    const out: string[] = [];
    const err: string[] = [];
    const calls: { args: string[]; result: any }[] = [];
    const clock: number[] = [];
    const argv = ['status', name, '-n', ns, '--kubeconfig', kubeconfig, ...args];
    const code = main(argv, {
      kubectl: flags => {
        const real: Kubectl = realKubectl(kubectlBin, [...flags, ...extraFlags]);
        return a => {
          const result = real(a);
          calls.push({ args: a, result: withoutManagedFields(result) });
          return result;
        };
      },
      out: l => out.push(l),
      err: l => err.push(l),
      now: () => {
        const t = Date.now();
        clock.push(t);
        return t;
      },
    });
    if (process.env.RECORD_STATUS && recording) {
      const replayArgv = argv.map(a => (a === kubeconfig ? 'KUBECONFIG' : a));
      writeFileSync(join(RECORDINGS, `${recording}.json`),
        `${JSON.stringify({ name, namespace: ns, argv: replayArgv, calls, clock, code, out, err }, null, 1)}\n`);
    }
    const run = { code, out: out.join('\n'), err: err.join('\n') };
    console.log(`status ${argv.slice(1).join(' ')} -> ${code}\n${run.out}\n${run.err}`);
    return run;
  }
  const pods = () => JSON.parse(kubectl(['get', 'pods', '-n', ns, '-o', 'json']).stdout).items as any[];
  /** A pod of Deployment `deployment` (owned by one of its ReplicaSets). */
  const podOf = (deployment: string) => pods()
    .find(p => new RegExp(`^${deployment}-[a-z0-9]+$`).test(p.metadata.ownerReferences?.[0]?.name ?? '') && p.metadata.labels?.['pod-template-hash']);
  const logOf = (pod: string, container: string) => kubectl(['logs', pod, '-c', container, '-n', ns], { allowFail: true }).stdout;

  test('GIVEN a release held by a running migration WHEN status THEN 4 naming the migration; WHEN it finishes THEN --wait returns 0 with every part done', async () => {
    // GIVEN web + a gated worker + a post-rollout migration, the migration waiting for a file
    const { objects, jobName, postJobName } = release('healthy', {
      migration: 'echo migrating step 1 of 2; until [ -f /tmp/go ]; do sleep 1; done; echo migrated',
      worker: {},
      post: 'echo contracted',
    });
    applyObjects(objects);
    const migrationPod = await waitFor('the migration logged', () => {
      const p = pods().find(x => x.metadata.labels?.['job-name'] === jobName);
      return p && logOf(p.metadata.name, 'migrate').includes('step 1') && p;
    }, { namespace: ns });
    await waitFor('the worker\'s pod in its waiter', () => {
      const p = podOf('healthy-worker');
      return p && logOf(p.metadata.name, 'wait-for-migration').trim() && p;
    }, { namespace: ns });
    // WHEN status without --wait THEN not done yet (4), the migration's own last line
    const waiting = status('healthy', [], 'waiting');
    expect(waiting.out).toContain(`[waiting] migration Job ${jobName}: running (1 active pod)`);
    expect(waiting.out).toMatch(/container migrate running since \S+: migrating step 1 of 2/);
    expect(waiting.out).toMatch(/\[waiting\] gated Deployment healthy-worker: /);
    expect(waiting.out).toMatch(/pod healthy-worker-\S+: held in init container wait-for-migration: .+/);
    expect(waiting.out).toContain(`release v1 is not done yet: migration Job ${jobName}: running (1 active pod)`);
    expect(waiting.code).toBe(4);

    // WHEN the migration finishes and status --wait runs (with the kubeconfig's own context named)
    kubectl(['exec', migrationPod.metadata.name, '-c', 'migrate', '-n', ns, '--', 'touch', '/tmp/go']);
    const context = kubectl(['config', 'current-context']).stdout.trim();
    const done = status('healthy', ['--wait', '--timeout', '5m', '--context', context], 'healthy-wait');
    // THEN 0 once every part is done, each named
    expect(done.out).toContain(`[done] migration Job ${jobName}: succeeded`);
    expect(done.out).toContain('[done] service Deployment healthy: 1 of 1 pods updated, 1 available');
    expect(done.out).toContain('[done] gated Deployment healthy-worker: 1 of 1 pods updated, 1 available');
    expect(done.out).toContain(`[done] post-rollout Job ${postJobName}: succeeded`);
    expect(done.out).toContain('release v1 is done');
    expect(done.err).toMatch(/^\[\d+s\] release v1 is not done yet: /); // the wait's progress, on stderr
    expect(done.code).toBe(0);

    // AND -o json says the same in its documented shape
    const json = status('healthy', ['-o', 'json']);
    const parsed = JSON.parse(json.out);
    expect(parsed).toMatchObject({ schema: 'cdk8s-migrated-service/status/v1', service: 'healthy', namespace: ns, tag: 'v1', state: 'done', exitCode: 0, timedOut: false });
    expect(parsed.parts.map((p: any) => [p.role, p.kind, p.name, p.state])).toEqual([
      ['migration', 'Job', jobName, 'done'], ['service', 'Deployment', 'healthy', 'done'],
      ['gated', 'Deployment', 'healthy-worker', 'done'], ['post-rollout', 'Job', postJobName, 'done'],
    ]);
    expect(json.code).toBe(0);

    // AND --tag of a release not applied yet (what a GitOps controller has not synced) is not done
    const next = status('healthy', ['--tag', 'v2']);
    expect(next.out).toContain('[waiting] service Deployment healthy: its pod template is at tag v1, not v2: not applied yet');
    expect(next.code).toBe(4);
  });

  test('GIVEN a migration that fails WHEN status --wait THEN 1 as soon as it failed, with its exit code and last log line', async () => {
    const { objects, jobName } = release('broken', { migration: 'echo applying 0042_widgets; echo "ERROR: relation widgets already exists"; exit 3' });
    applyObjects(objects);
    const waited = status('broken', ['--wait', '--timeout', '4m']);
    expect(waited.code).toBe(1);
    expect(waited.out).toContain(`release v1 failed: migration Job ${jobName}: failed: PodFailurePolicy`);
    // The held pod's waiter says why too (recorded once it did, for the replay).
    await waitFor('the waiter said why', () => { const p = podOf('broken'); return p && logOf(p.metadata.name, 'wait-for-migration').includes('failed') && p; }, { namespace: ns });
    const s = status('broken', [], 'broken');
    expect(s.out).toMatch(new RegExp(`\\[failed\\] migration Job ${jobName}: failed: PodFailurePolicy: Container migrate for pod ${ns}/${jobName}-\\w+ failed with exit code 3`));
    expect(s.out).toMatch(/container migrate exited with code 3 \(Error\): ERROR: relation widgets already exists/);
    expect(s.out).toMatch(new RegExp(`pod broken-\\S+: held in init container wait-for-migration[^\\n]*(\\n\\s+its previous run( exited with code \\d+)?)?: migration Job ${jobName} failed: PodFailurePolicy: Container migrate`));
    expect(s.code).toBe(1);
  });

  test('GIVEN a contract step that fails WHEN status --wait THEN 1, naming the post-rollout Job and its last words', async () => {
    const { objects, postJobName } = release('contract', {
      migration: 'echo migrated',
      post: 'echo dropping widgets.legacy; echo "ERROR: column legacy is still read by 3 views"; exit 4',
    });
    applyObjects(objects);
    const waited = status('contract', ['--wait', '--timeout', '4m']);
    expect(waited.code).toBe(1);
    expect(waited.out).toContain('[done] service Deployment contract: 1 of 1 pods updated, 1 available');
    expect(waited.out).toMatch(new RegExp(`\\[failed\\] post-rollout Job ${postJobName}: failed: PodFailurePolicy: Container migrate .* exit code 4`));
    expect(waited.out).toMatch(/container migrate exited with code 4 \(Error\): ERROR: column legacy is still read by 3 views/);
    expect(waited.out).toContain(`release v1 failed: post-rollout Job ${postJobName}: failed:`);
    await waitFor(`Job ${postJobName} Failed`, () => jobConditions(ns, postJobName!).Failed, { namespace: ns });
    status('contract', [], 'contract');
  });

  test('GIVEN a gated worker whose waiter is refused WHEN status --wait --timeout 10s THEN 5, naming the held worker and its Forbidden', async () => {
    // GIVEN the worker's own ServiceAccount left out of the waiter's RoleBinding
    const { objects, jobName } = release('held', { migration: 'echo migrated', worker: { ownAccount: true } });
    for (const o of objects.filter(x => x.kind === 'RoleBinding' && x.metadata.name === 'held-migration-waiter')) {
      o.subjects = o.subjects.filter((s: any) => s.name !== 'held-worker');
    }
    applyObjects(objects);
    await waitFor(`Job ${jobName} Complete`, () => jobConditions(ns, jobName).Complete, { namespace: ns });
    await waitFor('the worker\'s waiter was refused', () => {
      const p = podOf('held-worker');
      return p && /forbidden/i.test(logOf(p.metadata.name, 'wait-for-migration')) && p;
    }, { namespace: ns });
    await waitFor('the service rolled out', () => rolledOut(ns, 'held'), { namespace: ns });
    // WHEN
    const s = status('held', ['--wait', '--timeout', '10s']);
    // THEN the wait gave up with its own code, naming the worker and the waiter's own words
    expect(s.code).toBe(5);
    expect(s.out).toContain('release v1 is not done yet: gated Deployment held-worker: 1 of 1 pods updated, 0 available, 1 held in the waiter');
    expect(s.out).toMatch(/pod held-worker-\S+: held in init container wait-for-migration[^\n]*(\n\s+its previous run( exited with code \d+)?)?: cannot read migration Job held-migrate-v1 \(the waiter needs get, list and watch on it\): Error from server \(Forbidden\)/);
    expect(s.err).toContain('timed out after 10s: release v1 is not done yet: gated Deployment held-worker');
    status('held', [], 'held');
  });

  test('GIVEN the Job was deleted WHEN status THEN it says the Job is missing, 4', async () => {
    const { objects } = release('gone', { migration: 'echo migrated' });
    applyObjects(objects.filter(o => o.kind !== 'Job'));
    await waitFor('a gone pod in its waiter', () => { const p = podOf('gone'); return p && logOf(p.metadata.name, 'wait-for-migration').trim() && p; }, { namespace: ns });
    const s = status('gone', [], 'gone');
    expect(s.out).toContain('[waiting] migration Job of tag v1: missing (not created yet, or deleted: TTL, pruning, a hook delete policy)');
    expect(s.out).toMatch(/pod gone-\S+: held in init container wait-for-migration: .*/);
    expect(s.code).toBe(4);
  });

  test('GIVEN a service waiter whose RoleBinding is gone WHEN status THEN the waiter\'s Forbidden line is shown', async () => {
    const { objects } = release('refused', { migration: 'echo migrated; sleep 5' });
    applyObjects(objects.filter(o => o.kind !== 'RoleBinding'));
    await waitFor('the waiter was refused', () => { const p = podOf('refused'); return p && /forbidden/i.test(logOf(p.metadata.name, 'wait-for-migration')) && p; }, { namespace: ns });
    const s = status('refused', [], 'refused');
    expect(s.out).toMatch(/pod refused-\S+: held in init container wait-for-migration[^\n]*(\n\s+its previous run( exited with code \d+)?)?: cannot read migration Job refused-migrate-v1 \(the waiter needs get, list and watch on it\): Error from server \(Forbidden\): jobs\.batch "refused-migrate-v1" is forbidden: User "system:serviceaccount:[^"]+:refused" cannot/);
    expect([1, 4]).toContain(s.code); // 4 while the Job runs, 1 never: the migration itself succeeds
  });

  test('GIVEN a user without read access WHEN status THEN kubectl\'s Forbidden and what the command needs on stderr, 3', () => {
    kubectl(['create', 'serviceaccount', 'nobody', '-n', ns]);
    const s = status('healthy', [], 'forbidden', [`--as=system:serviceaccount:${ns}:nobody`]);
    expect(s.err).toMatch(/Error from server \(Forbidden\): deployments.apps "healthy" is forbidden: User "system:serviceaccount:.*:nobody" cannot get resource "deployments"/);
    expect(s.err).toContain(`refused: this command needs get and list on deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs and pods, and get on pods/log, in namespace ${ns}`);
    expect(s.out).toBe('');
    expect(s.code).toBe(3);
  });

  test('GIVEN an unreachable cluster or an unknown context WHEN status THEN 3 with kubectl\'s words on stderr; with --wait too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'status-e2e-'));
    const closed = join(dir, 'kubeconfig');
    writeFileSync(closed, stringify({
      'apiVersion': 'v1',
      'kind': 'Config',
      'current-context': 'closed',
      'clusters': [{ name: 'closed', cluster: { server: 'https://127.0.0.1:1' } }],
      'contexts': [{ name: 'closed', context: { cluster: 'closed', user: 'closed' } }],
      'users': [{ name: 'closed', user: { token: 'x' } }],
    }));
    const unreachable = status('healthy', ['--kubeconfig', closed], 'unreachable');
    expect(unreachable.err).toMatch(/The connection to the server 127.0.0.1:1 was refused/);
    expect(unreachable.code).toBe(3);
    const json = status('healthy', ['--kubeconfig', closed, '-o', 'json', '--wait', '--timeout', '3s']);
    expect(JSON.parse(json.out)).toMatchObject({ state: 'error', exitCode: 3, tag: null, parts: [] });
    expect(json.code).toBe(3);
    const context = status('healthy', ['--context', 'no-such-context']);
    expect(context.err).toMatch(/no-such-context/);
    expect(context.code).toBe(3);
  });
});
