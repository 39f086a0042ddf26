/**
 * The kubectl waiter in real pods: the init container the library synthesizes (public API), the
 * stand-in for the default image `docker.io/alpine/kubectl:1.34.1`, the Role it emits, a restricted namespace.
 *
 * Bounds are generous so a busy machine cannot fail them; the tight figures (gate latency median,
 * API requests a minute) are measured by `npx projen rollout-bench` (docs/waiters.md).
 */
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, kubectl, objectsOf, rolledOut,
  synthYaml, waitFor,
} from './support';
import { JobWatch, timestampedLog } from '../../bench/support/observe';
import { MigratedService, Waiter } from '../../src';

const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};

/** The gate opens this soon after the Job is Complete, at most (bench: ~0.1 s). */
const GATE_BOUND_MS = 10_000;
/** The waiter exits this soon after the Job failed, at most (bench: well under 1 s). */
const FAIL_BOUND_MS = 15_000;

describeOnCluster('Waiter.kubectl() on a real cluster', () => {
  let ns = '';
  let image = '';
  beforeAll(() => {
    ns = createNamespace('waiter-e2e');
    // The service and its migration use the one image at each tag.
    for (const tag of ['v1', 'v2']) {
      image = buildImage({
        name: `registry.example.com/waiter-e2e:${tag}`,
        contents: { '/www/index.html': `gated ${tag}\n` },
        cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      });
    }
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });

  function release(tag: string, migration: string): { yaml: string; jobName: string } {
    let jobName = '';
    const yaml = synthYaml(ns, chart => {
      jobName = new MigratedService(chart, 'gated', {
        image: image.split(':')[0],
        imageTag: tag,
        replicas: 1,
        port: 8080,
        runAsUser: 1000,
        resources: SMALL,
        waiter: Waiter.kubectl({ timeout: Duration.minutes(3) }),
        migration: { command: ['sh', '-c', migration], resources: SMALL },
      }).jobName;
    });
    return { yaml, jobName };
  }

  /** The Deployment's pods (not the Job's) at `tag`. */
  function podsOf(tag: string): any[] {
    return (getJson(['pods', '-n', ns])?.items ?? [])
      .filter((p: any) => p.metadata.labels?.['pod-template-hash'] && p.spec.containers[0].image.endsWith(`:${tag}`) && !p.metadata.deletionTimestamp);
  }

  test('GIVEN pods that start before their Job exists WHEN the Job is created and completes THEN the waiter waits, then opens the gate soon after Complete', async () => {
    const { yaml, jobName } = release('v1', 'echo migrating; sleep 3; echo migrated');
    const objects = objectsOf(yaml);
    const docs = (keep: (o: any) => boolean) => objects.filter(keep).map(o => stringify(o)).join('---\n');

    // The Deployment first, the Job later: the waiter must wait, not crash.
    apply(docs(o => o.kind !== 'Job'), ns);
    const pod = await waitFor('a v1 pod whose waiter says the Job does not exist yet', () => {
      const [p] = podsOf('v1');
      return p && timestampedLog(ns, p.metadata.name, 'wait-for-migration').some(l => l.text.includes('does not exist yet')) && p;
    }, { namespace: ns });
    const job = new JobWatch(ns, jobName);
    try {
      apply(docs(o => o.kind === 'Job'), ns);
      await waitFor(`Job ${jobName} Complete`, () => job.completed, { namespace: ns });
      await waitFor('Deployment gated rolled out', () => rolledOut(ns, 'gated'), { namespace: ns });
    } finally {
      job.stop();
    }

    const log = timestampedLog(ns, pod.metadata.name, 'wait-for-migration');
    const passed = log.find(l => l.text === `migration Job ${jobName} complete`);
    expect(passed).toBeDefined();
    // It saw the Complete condition (the same event the host's watch saw) and exited at once.
    expect(passed!.at - job.completed!).toBeLessThan(GATE_BOUND_MS);
    expect(passed!.at - job.completed!).toBeGreaterThan(-2000); // clock skew; one node here
    const status = getJson(['pod', pod.metadata.name, '-n', ns]).status;
    expect(status.initContainerStatuses[0].state.terminated.exitCode).toBe(0);
    expect(status.initContainerStatuses[0].restartCount).toBe(0);
  });

  test('GIVEN a failing migration WHEN its Job fails THEN the waiter exits non-zero at once with the Job\'s reason and message, and the service never starts', async () => {
    const { yaml, jobName } = release('v2', 'echo migrating; sleep 2; echo "ERROR: column already exists" >&2; exit 3');
    const job = new JobWatch(ns, jobName);
    try {
      apply(yaml, ns);
      await waitFor(`Job ${jobName} Failed`, () => job.failed, { namespace: ns });
      const condition = jobConditions(ns, jobName).Failed;
      expect(condition.reason).toMatch(/^(BackoffLimitExceeded|PodFailurePolicy)$/);

      // A run of the waiter that logged the failure. Read both runs' logs: the kubelet restarts the
      // waiter (the first restart has no back-off), so the run that failed may be current or
      // previous, and a first run can also have ended otherwise (a Role update that the API server's
      // authorizer had not seen yet answers Forbidden), so wait for the line rather than read once.
      const failedLine = (name: string) => [true, false]
        .flatMap(previous => timestampedLog(ns, name, 'wait-for-migration', previous))
        .filter(l => l.text.startsWith(`migration Job ${jobName} failed: `))
        .sort((a, b) => a.at - b.at)[0];
      const { pod, failed, exitCode } = await waitFor('a v2 pod whose waiter exited 1 and logged the failure', () => {
        const [p] = podsOf('v2');
        const s = p?.status?.initContainerStatuses?.[0];
        const t = s?.state?.terminated ?? s?.lastState?.terminated;
        const line = t && failedLine(p.metadata.name);
        return line && { pod: p, failed: line, exitCode: t.exitCode };
      }, { namespace: ns });
      expect(exitCode).toBe(1);
      expect(failed.text).toBe(`migration Job ${jobName} failed: ${condition.reason}: ${condition.message}`);
      expect(failed.at - job.failed!).toBeLessThan(FAIL_BOUND_MS);
      // The service container of v2 never started; v1 still serves.
      expect(pod.status.containerStatuses[0].state.running).toBeUndefined();
      expect(pod.status.containerStatuses[0].lastState?.terminated).toBeUndefined();
      expect(getJson(['deployment', 'gated', '-n', ns]).status.availableReplicas).toBe(1);
    } finally {
      job.stop();
    }
  });

  test('GIVEN the waiter\'s Role WHEN it is checked THEN it reads only its own Job (list and watch by name included)', () => {
    const sa = `system:serviceaccount:${ns}:gated`;
    const can = (...args: string[]) => kubectl(['auth', 'can-i', '-n', ns, `--as=${sa}`, ...args], { allowFail: true }).stdout.trim();
    const jobs = (getJson(['jobs', '-n', ns])?.items ?? []).map((j: any) => j.metadata.name);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    const own = jobs.find((j: string) => j.includes('-v2'));
    const other = jobs.find((j: string) => !j.includes('-v2'));
    // The ServiceAccount's Role follows the newest release (v2): v2's Job only.
    expect(can('get', `jobs.batch/${own}`)).toBe('yes');
    expect(can('watch', `jobs.batch/${own}`)).toBe('yes');
    expect(can('get', `jobs.batch/${other}`)).toBe('no');
    expect(can('list', 'jobs.batch')).toBe('no');
    expect(can('get', 'pods')).toBe('no');
  });
});
