/**
 * The features of issue 12 on a real cluster (Kubernetes 1.28: real kubelet, Job and Deployment
 * controllers, PodSecurity "restricted" enforced), through the public API:
 *
 * 1. `gate()`: a web Deployment and a gated worker are both held until the migration succeeded,
 *    and both released after it.
 * 2. `postRollout`: the contract Job's migration starts only after the last pod of the previous
 *    tag is gone (terminating ones included), and never when the rollout fails.
 * 3. A failing migration's exit code and last log line are visible through the Job's condition,
 *    `kubectl describe job`, the pod's termination message and the kubectl waiter's log.
 *
 * Timing assertions compare timestamps the cluster records (container start and finish, Job
 * completion), never wall-clock budgets, so a busy machine only makes the tests slower.
 */
import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, kubectl,
  rolledOut, sleep, synthYaml, waitFor,
} from './support';
import { MigratedService, MigratedServiceProps, PostRolloutOptions, Waiter } from '../../src';

const REPO = 'registry.example.com/features-app';
const UID = 1000;
const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};
/** Old pods take this long to go: `sleep` as PID 1 ignores SIGTERM, so the kubelet waits it out. */
const GRACE_SECONDS = 15;

/** One image per tag (same busybox root filesystem; the tag is what the release keys on). */
function image(tag: string): void {
  buildImage({ name: `${REPO}:${tag}`, cmd: ['sleep', '3600'] });
}

const ms = (t: string | undefined): number => (t ? Date.parse(t) : NaN);

interface Release {
  readonly tag: string;
  readonly migration?: string;
  readonly postRollout?: PostRolloutOptions;
  readonly appCommand?: string[];
  readonly progressDeadline?: Duration;
  /** A port gives web the default startup probe (TCP), which a crashing app never passes. */
  readonly port?: number;
  /** @default Waiter.kubectl() */
  readonly waiter?: Waiter;
}

/**
 * Synthesize web (the MigratedService) + worker (a gated Deployment) for one tag and apply them.
 * Returns the Job names.
 */
function release(ns: string, r: Release): { jobName: string; postJobName?: string } {
  let jobName = '';
  let postJobName: string | undefined;
  const yaml = synthYaml(ns, (chart: Chart) => {
    const props: MigratedServiceProps = {
      image: REPO,
      imageTag: r.tag,
      name: 'web',
      replicas: 2,
      runAsUser: UID,
      resources: SMALL,
      command: r.appCommand,
      waiter: r.waiter ?? Waiter.kubectl(),
      progressDeadline: r.progressDeadline,
      port: r.port,
      migration: { command: ['sh', '-c', r.migration ?? 'echo migrating; sleep 8; echo migrated'], resources: SMALL },
      postRollout: r.postRollout,
    };
    const web = new MigratedService(chart, 'web', props);
    const worker = new kplus.Deployment(chart, 'worker', {
      metadata: { name: 'worker' },
      replicas: 1,
      terminationGracePeriod: Duration.seconds(GRACE_SECONDS),
      containers: [{
        name: 'worker',
        image: `${REPO}:${r.tag}`,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: r.appCommand,
        resources: SMALL,
        securityContext: { user: UID, group: UID, capabilities: { drop: [kplus.Capability.ALL] } },
      }],
    });
    web.gate(worker);
    ApiObject.of(web.deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/terminationGracePeriodSeconds', GRACE_SECONDS));
    jobName = web.jobName;
    postJobName = web.postRolloutJobName;
  });
  apply(yaml, ns);
  return { jobName, postJobName };
}

/** Pods of web and worker, with their tag and the start time of their main container. */
function appPods(ns: string): { name: string; tag: string; deleting: boolean; started?: number; waiterFinished?: number }[] {
  const pods = getJson(['pods', '-n', ns])?.items ?? [];
  return pods
    .filter((p: any) => !p.metadata.labels['job-name'])
    .map((p: any) => {
      const main = (p.status.containerStatuses ?? [])[0];
      const waiter = (p.status.initContainerStatuses ?? []).find((s: any) => s.name === 'wait-for-migration');
      return {
        name: p.metadata.name,
        tag: p.metadata.annotations?.['migrated-service.cdk8s.io/image-tag'],
        deleting: Boolean(p.metadata.deletionTimestamp),
        started: ms(main?.state?.running?.startedAt ?? main?.state?.terminated?.startedAt) || undefined,
        waiterFinished: ms(waiter?.state?.terminated?.finishedAt) || undefined,
      };
    });
}

/** Web and a gated worker are held while the migration Job runs and released once it completed. */
async function heldThenReleased(ns: string, waiter: Waiter): Promise<void> {
  const { jobName } = release(ns, { tag: 'v1', waiter });

  // WHILE the Job runs, no pod of either workload may start its main container.
  let sawHeld = false;
  await waitFor(`Job ${jobName} Complete`, () => {
    const complete = jobConditions(ns, jobName).Complete;
    if (!complete) {
      const pods = appPods(ns);
      expect(pods.filter(p => p.started !== undefined)).toEqual([]);
      if (pods.some(p => p.name.startsWith('worker')) && pods.some(p => p.name.startsWith('web'))) sawHeld = true;
    }
    return complete;
  }, { namespace: ns, intervalMs: 500 });
  expect(sawHeld).toBe(true);

  await waitFor('web and worker rolled out', () => rolledOut(ns, 'web') && rolledOut(ns, 'worker'), { namespace: ns });
  const completed = ms(getJson(['job', jobName, '-n', ns]).status.completionTime);
  const migrationPod = getJson(['pods', '-n', ns, '-l', `job-name=${jobName}`]).items[0];
  const migrated = ms(migrationPod.status.containerStatuses.find((c: any) => c.name === 'migrate').state.terminated.finishedAt);
  const pods = appPods(ns);
  expect(pods.map(p => p.name.split('-')[0]).sort()).toEqual(['web', 'web', 'worker']);
  const latencies: string[] = [];
  for (const p of pods) {
    // THEN every waiter let go, and every main container started, after the migration finished.
    // Both times are the kubelet's, cut to the second: the true order survives the cut as >=.
    expect(p.waiterFinished).toBeGreaterThanOrEqual(migrated);
    expect(p.started).toBeGreaterThanOrEqual(migrated);
    latencies.push(`${p.name}: waiter released ${(p.waiterFinished! - migrated) / 1000}s after the migration ` +
      `finished (${(p.waiterFinished! - completed) / 1000}s after the Job's completionTime)`);
  }
  process.stdout.write(`${waiter.kind}: gate release latency (1 s resolution):\n  ${latencies.join('\n  ')}\n`);
}

describeOnCluster('issue 12 features on a real cluster', () => {
  let ns: string;
  beforeAll(() => {
    for (const tag of ['v1', 'v2', 'v3', 'v4']) image(tag);
    ns = createNamespace('features-e2e');
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });

  test('web and a gated worker are both held until the migration succeeded, and both released after it', async () => {
    await heldThenReleased(ns, Waiter.kubectl());
  });

  test('the same with the default waiter (k8s-wait-for job-wr) in a namespace of its own', async () => {
    const own = createNamespace('features-e2e-k8swf');
    try {
      await heldThenReleased(own, Waiter.k8sWaitFor());
    } finally {
      deleteNamespace(own);
    }
  });


  test('the post-rollout Job starts only after the last pod of the previous tag is gone', async () => {
    const { postJobName } = release(ns, { tag: 'v2', postRollout: { command: ['sh', '-c', 'echo contract: dropping the old column'] } });
    expect(postJobName).toBeDefined();

    // Watch the old pods go; remember the last moment one was seen (terminating ones count).
    let lastOldSeen = 0;
    let sawTerminating = false;
    await waitFor(`Job ${postJobName} Complete`, () => {
      const now = Date.now();
      const old = appPods(ns).filter(p => p.tag === 'v1');
      if (old.length > 0) lastOldSeen = now;
      if (old.some(p => p.deleting)) sawTerminating = true;
      return jobConditions(ns, postJobName!).Complete;
    }, { namespace: ns, intervalMs: 500 });

    const pod = getJson(['pods', '-n', ns, '-l', `job-name=${postJobName}`]).items[0];
    const migrate = pod.status.containerStatuses.find((s: any) => s.name === 'migrate');
    const started = ms(migrate.state.terminated.startedAt);
    const log = kubectl(['logs', '-n', ns, pod.metadata.name, '-c', 'wait-for-rollout']).stdout;
    process.stdout.write(`post-rollout: last old pod seen ${new Date(lastOldSeen).toISOString()}, migration started ` +
      `${new Date(started).toISOString()}\nwait-for-rollout log:\n${log}`);
    // THEN old pods were terminating for a while (grace period), and the migration started after the last was gone.
    expect(sawTerminating).toBe(true);
    expect(lastOldSeen).toBeGreaterThan(0);
    // startedAt is cut to the second: allow that, not more (old pods linger GRACE_SECONDS).
    expect(started + 1000).toBeGreaterThan(lastOldSeen);
    expect(log).toMatch(/not at v2 \(old pods still running or terminating\)/);
    expect(log).toMatch(/rollout of v2 complete: deployment\/web deployment\/worker/);
    expect(kubectl(['logs', '-n', ns, pod.metadata.name, '-c', 'migrate']).stdout).toContain('contract: dropping the old column');
  });

  test('the post-rollout Job never runs when the rollout fails', async () => {
    // GIVEN a release whose pods crash, so the rollout cannot complete
    const { jobName, postJobName } = release(ns, {
      tag: 'v3',
      appCommand: ['sh', '-c', 'echo crashing; exit 1'],
      // With no probe a crashing container is Ready for an instant after each restart: those flaps
      // count as progress (and once made both new pods available at the same time, so the old ones
      // were scaled away), which put ProgressDeadlineExceeded past the wait below in one CI run.
      // The startup probe keeps the pods unready, so the deadline passes 30 s after the last update.
      port: 8080,
      progressDeadline: Duration.seconds(30),
      postRollout: { command: ['sh', '-c', 'echo CONTRACT RAN'] },
    });
    await waitFor(`Job ${jobName} Complete`, () => jobConditions(ns, jobName).Complete, { namespace: ns });

    // THEN the post-rollout Job fails once the Deployment reports ProgressDeadlineExceeded,
    const failed = await waitFor(`Job ${postJobName} Failed`, () => jobConditions(ns, postJobName!).Failed,
      { namespace: ns, timeoutMs: 300_000 });
    expect(failed.reason).toBe('BackoffLimitExceeded');
    const pod = getJson(['pods', '-n', ns, '-l', `job-name=${postJobName}`]).items[0];
    const log = kubectl(['logs', '-n', ns, pod.metadata.name, '-c', 'wait-for-rollout']).stdout +
      kubectl(['logs', '-n', ns, pod.metadata.name, '-c', 'wait-for-rollout'], { allowFail: true }).stderr;
    expect(log).toMatch(/rollout of deployment\/web to v3 failed: ProgressDeadlineExceeded/);
    // AND the migration container never started.
    const migrate = pod.status.containerStatuses.find((s: any) => s.name === 'migrate');
    expect(migrate.state.running).toBeUndefined();
    expect(migrate.state.terminated?.startedAt).toBeUndefined();
    expect(migrate.lastState?.terminated).toBeUndefined();
    // Hold a little: the Job stays failed, nothing re-runs it.
    await sleep(3000);
    expect(jobConditions(ns, postJobName!).Complete).toBeUndefined();
  });

  test('a failing migration shows its exit code and last log line in the Job condition, describe, the pod and the waiter log', async () => {
    const { jobName } = release(ns, {
      tag: 'v4',
      migration: 'echo applying 0042_add_email; echo "ERROR: column email already exists" >&2; exit 3',
    });
    const failed = await waitFor(`Job ${jobName} Failed`, () => jobConditions(ns, jobName).Failed, { namespace: ns });
    // THEN the Job's condition names the container and the exit code,
    expect(failed.reason).toBe('PodFailurePolicy');
    expect(failed.message).toMatch(/^Container migrate for pod .* failed with exit code 3 matching FailJob rule at index 1$/);
    // kubectl describe job shows it,
    const describeJob = kubectl(['describe', 'job', jobName, '-n', ns]).stdout;
    expect(describeJob).toMatch(/PodFailurePolicy .*Container migrate for pod .* failed with exit code 3/);
    // the pod keeps the end of the log as the termination message (describe pod shows it),
    const pod = getJson(['pods', '-n', ns, '-l', `job-name=${jobName}`]).items[0];
    const terminated = pod.status.containerStatuses.find((s: any) => s.name === 'migrate').state.terminated;
    expect(terminated.exitCode).toBe(3);
    expect(terminated.message).toContain('ERROR: column email already exists');
    expect(kubectl(['describe', 'pod', '-n', ns, '-l', `job-name=${jobName}`]).stdout).toContain('ERROR: column email already exists');
    // and the kubectl waiter of both web and the gated worker logs the condition (their pods of
    // this tag: `kubectl logs deploy/...` may pick a pod of the previous, healthy release).
    for (const workload of ['web', 'worker']) {
      const log = await waitFor(`${workload} waiter log`, () => {
        const held = appPods(ns).find(p => p.tag === 'v4' && p.name.startsWith(`${workload}-`));
        if (!held) return undefined;
        const r = kubectl(['logs', '-n', ns, held.name, '-c', 'wait-for-migration'], { allowFail: true });
        const text = r.stdout + r.stderr;
        return /exit code 3/.test(text) ? text : undefined;
      }, { namespace: ns, timeoutMs: 120_000 });
      process.stdout.write(`${workload} wait-for-migration log:\n${log}`);
      expect(log).toMatch(new RegExp(`migration Job ${jobName} failed: PodFailurePolicy: Container migrate for pod .* failed with exit code 3`));
    }
  });
});
