/**
 * The migration lock on a real cluster (#18): overlapping releases of one service never run two
 * migration containers at once, migrate in the order they were applied, a failed or deleted
 * migration does not block the next, and the post-rollout migration of one tag never overlaps the
 * migration of the next. Start and end times come from the pods' own container statuses.
 *
 * Every scenario has its own namespace (restricted Pod Security Standard enforced) and service.
 * The migration is `sh -c 'sleep; exit'` in a busybox image: the lock does not care what migrates.
 */
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, getJson, kubectl, rolledOut, serveCommand,
  synthYaml, waitFor,
} from './support';
import { Delivery, MigratedService, PostRolloutOptions } from '../../src';

const REPOSITORY = 'registry.example.com/e2e-lock';
const PORT = 8080;
const UID = 1000;
/** Tiny requests: several test runs share a 2-core node. */
const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};

interface Release {
  readonly tag: string;
  /** Seconds the migration runs. */
  readonly seconds: number;
  /** Its exit code. @default 0 */
  readonly exit?: number;
  readonly postRollout?: { seconds: number };
}

/** The same busybox image under every tag a scenario releases. */
function image(tags: string[]): void {
  for (const tag of tags) {
    buildImage({ name: `${REPOSITORY}:${tag}`, contents: { '/www/index.html': 'lock e2e\n' }, cmd: serveCommand(PORT) });
  }
}

const migrate = (seconds: number, exit = 0): string[] =>
  ['sh', '-c', `echo "migrating for ${seconds}s"; sleep ${seconds}; echo "exit ${exit}"; exit ${exit}`];

function yamlOf(ns: string, service: string, r: Release): { yaml: string; job: string; post?: string } {
  let job = '';
  let post: string | undefined;
  const yaml = synthYaml(ns, chart => {
    const postRollout: PostRolloutOptions | undefined = r.postRollout
      ? { command: migrate(r.postRollout.seconds), resources: SMALL, rolloutTimeout: Duration.minutes(5) }
      : undefined;
    const svc = new MigratedService(chart, service, {
      image: REPOSITORY,
      imageTag: r.tag,
      replicas: 1,
      port: PORT,
      runAsUser: UID,
      resources: SMALL,
      delivery: Delivery.kubectl(),
      command: serveCommand(PORT),
      migration: { command: migrate(r.seconds, r.exit), resources: SMALL, activeDeadline: Duration.minutes(5) },
      postRollout,
    });
    job = svc.jobName;
    post = svc.postRolloutJobName;
  });
  return { yaml, job, post };
}

interface Interval { readonly job: string; readonly start: number; readonly end: number; readonly exit: number }

const seconds = (t: string): number => Date.parse(t) / 1000;

/** When the `migrate` container of each ended pod of `job` ran, from the pod's own status. */
function migrateIntervals(ns: string, job: string): Interval[] {
  const pods = getJson(['pods', '-n', ns, '-l', `job-name=${job}`])?.items ?? [];
  return pods.flatMap((p: any) => (p.status.containerStatuses ?? [])
    .filter((c: any) => c.name === 'migrate' && c.state.terminated)
    .map((c: any) => {
      const t = c.state.terminated;
      return { job, start: seconds(t.startedAt), end: seconds(t.finishedAt), exit: t.exitCode };
    }));
}

/** THEN no two migrate containers ran at the same time (1 s resolution: one may start the second another ended). */
function expectNoOverlap(intervals: Interval[]): void {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    expect({ after: sorted[i - 1].job, next: sorted[i].job, gap: sorted[i].start - sorted[i - 1].end })
      .toEqual({ after: sorted[i - 1].job, next: sorted[i].job, gap: expect.any(Number) });
    expect(sorted[i].start).toBeGreaterThanOrEqual(sorted[i - 1].end);
  }
}

function finished(ns: string, job: string): 'Complete' | 'Failed' | undefined {
  const conditions = getJson(['job', job, '-n', ns])?.status?.conditions ?? [];
  return conditions.find((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True')?.type;
}

function lockLog(ns: string, job: string): string {
  return kubectl(['logs', `job/${job}`, '-n', ns, '-c', 'migration-lock'], { allowFail: true }).stdout;
}

function deploymentTag(ns: string, service: string): string | undefined {
  return getJson(['deployment', service, '-n', ns])?.spec.template.metadata.annotations['migrated-service.cdk8s.io/image-tag'];
}

describeOnCluster('the migration lock on a real cluster', () => {
  const namespaces: string[] = [];
  const ns = (name: string): string => {
    const n = createNamespace(`e2e-lock-${name}`);
    namespaces.push(n);
    return n;
  };
  beforeAll(() => image(['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10']), 600_000);
  afterAll(() => namespaces.forEach(deleteNamespace));

  test('v3 applied 2 s after v2\'s migration started: v3 migrates only after v2 ended, both complete, the Deployment ends at v3', async () => {
    const n = ns('overlap');
    const v2 = yamlOf(n, 'web', { tag: 'v2', seconds: 12 });
    const v3 = yamlOf(n, 'web', { tag: 'v3', seconds: 3 });
    apply(v2.yaml, n);
    await waitFor('v2 migrating', () => getJson(['pods', '-n', n, '-l', `job-name=${v2.job}`])?.items
      .some((p: any) => p.status.containerStatuses?.some((c: any) => c.name === 'migrate' && c.state.running)), { namespace: n });
    await new Promise(r => setTimeout(r, 2_000));
    apply(v3.yaml, n);
    await waitFor('v3 waiting for the lock', () => /waiting for migration .* of web: it holds the lock/.test(lockLog(n, v3.job)) || undefined, { namespace: n });
    await waitFor('both Jobs complete', () => finished(n, v2.job) === 'Complete' && finished(n, v3.job) === 'Complete', { namespace: n, timeoutMs: 180_000 });
    const [a] = migrateIntervals(n, v2.job);
    const [b] = migrateIntervals(n, v3.job);
    expect(b.start).toBeGreaterThanOrEqual(a.end);
    expect(lockLog(n, v3.job)).toMatch(new RegExp(`waiting for migration ${v2.job} of web: it holds the lock\\n.*taken by ${v3.job}`, 's'));
    await waitFor('web rolled out at v3', () => rolledOut(n, 'web') && deploymentTag(n, 'web') === 'v3', { namespace: n, timeoutMs: 180_000 });
  }, 400_000);

  test('a failing v4, then v5 a second later: v5 migrates after v4 failed and rolls out', async () => {
    const n = ns('fixforward');
    const v4 = yamlOf(n, 'web', { tag: 'v4', seconds: 6, exit: 3 });
    const v5 = yamlOf(n, 'web', { tag: 'v5', seconds: 2 });
    apply(v4.yaml, n);
    await new Promise(r => setTimeout(r, 1_000));
    apply(v5.yaml, n);
    await waitFor('v4 failed, v5 complete', () => finished(n, v4.job) === 'Failed' && finished(n, v5.job) === 'Complete', { namespace: n, timeoutMs: 180_000 });
    const intervals = [...migrateIntervals(n, v4.job), ...migrateIntervals(n, v5.job)];
    expect(intervals.map(i => [i.job, i.exit])).toEqual(expect.arrayContaining([[v4.job, 3], [v5.job, 0]]));
    expectNoOverlap(intervals);
    await waitFor('web rolled out at v5', () => rolledOut(n, 'web') && deploymentTag(n, 'web') === 'v5', { namespace: n, timeoutMs: 180_000 });
  }, 400_000);

  test('three releases applied in the same request: one migration at a time, in (creationTimestamp, name) order, all end', async () => {
    const n = ns('burst');
    const releases = ['v6', 'v7', 'v8'].map(tag => yamlOf(n, 'web', { tag, seconds: 4 }));
    apply(releases.map(r => r.yaml).join('---\n'), n);
    await waitFor('all three complete', () => releases.every(r => finished(n, r.job) === 'Complete'), { namespace: n, timeoutMs: 240_000 });
    const jobs = releases.map(r => getJson(['job', r.job, '-n', n]));
    const key = (j: any) => `${j.metadata.creationTimestamp}|${j.metadata.name}`;
    const order = [...jobs].sort((a, b) => key(a).localeCompare(key(b)))
      .map(j => j.metadata.name);
    const intervals = releases.flatMap(r => migrateIntervals(n, r.job));
    expectNoOverlap(intervals);
    expect([...intervals].sort((a, b) => a.start - b.start).map(i => i.job)).toEqual(order);
    await waitFor('web rolled out at v8', () => rolledOut(n, 'web') && deploymentTag(n, 'web') === 'v8', { namespace: n, timeoutMs: 180_000 });
  }, 400_000);

  test('the post-rollout migration of v9 and the migration of v10 never overlap', async () => {
    const n = ns('post');
    const v9 = yamlOf(n, 'web', { tag: 'v9', seconds: 1, postRollout: { seconds: 10 } });
    const v10 = yamlOf(n, 'web', { tag: 'v10', seconds: 3 });
    apply(v9.yaml, n);
    await waitFor('v9\'s post-rollout migration running', () => getJson(['pods', '-n', n, '-l', `job-name=${v9.post}`])?.items
      .some((p: any) => p.status.containerStatuses?.some((c: any) => c.name === 'migrate' && c.state.running)), { namespace: n, timeoutMs: 180_000 });
    apply(v10.yaml, n);
    await waitFor('v9 post and v10 complete', () => finished(n, v9.post!) === 'Complete' && finished(n, v10.job) === 'Complete', { namespace: n, timeoutMs: 180_000 });
    const [post] = migrateIntervals(n, v9.post!);
    const [next] = migrateIntervals(n, v10.job);
    expect(next.start).toBeGreaterThanOrEqual(post.end);
    expect(lockLog(n, v10.job)).toMatch(new RegExp(`waiting for migration ${v9.post} of web`));
  }, 400_000);

  test('a deleted Job whose pod still terminates holds the lock until the pod is gone; then the next migrates', async () => {
    const n = ns('deleted');
    const v1 = yamlOf(n, 'web', { tag: 'v1', seconds: 60 });
    const v2 = yamlOf(n, 'web', { tag: 'v2', seconds: 2 });
    apply(v1.yaml, n);
    await waitFor('v1 migrating', () => getJson(['pods', '-n', n, '-l', `job-name=${v1.job}`])?.items
      .some((p: any) => p.status.containerStatuses?.some((c: any) => c.name === 'migrate' && c.state.running)), { namespace: n });
    apply(v2.yaml, n);
    await waitFor('v2 waiting for the lock', () => /it holds the lock/.test(lockLog(n, v2.job)) || undefined, { namespace: n });
    // Background deletion, as Flux's prune: the Job goes at once, its pod gets its grace period (30 s;
    // `sleep` as PID 1 of sh -c ignores SIGTERM, so it is killed at the end of it).
    kubectl(['delete', 'job', v1.job, '-n', n, '--cascade=background', '--wait=false']);
    // The pod's deletionTimestamp is when its grace period ends: the kubelet kills it then.
    const killedAt = await waitFor('v1\'s pod terminating', () => getJson(['pods', '-n', n, '-l', `job-name=${v1.job}`])?.items
      .map((p: any) => p.metadata.deletionTimestamp).find((t: string | undefined) => t), { namespace: n });
    expect(finished(n, v2.job)).toBeUndefined();
    await waitFor('v2 complete', () => finished(n, v2.job) === 'Complete', { namespace: n, timeoutMs: 180_000 });
    const [next] = migrateIntervals(n, v2.job);
    // 1 s resolution, and the kubelet may kill a moment before the deadline it was given.
    expect(next.start).toBeGreaterThanOrEqual(seconds(killedAt) - 1);
  }, 400_000);

  test('least privilege, asked of the API server: the migration\'s ServiceAccount can do what the lock needs and nothing more', () => {
    const n = ns('rbac');
    apply(yamlOf(n, 'web', { tag: 'v1', seconds: 1 }).yaml, n);
    const can = (as: string, ...args: string[]): string =>
      kubectl(['auth', 'can-i', ...args, '-n', n, `--as=system:serviceaccount:${n}:${as}`], { allowFail: true }).stdout.trim();
    // list on leases (not get on the one Lease): the lease, jobs and pods are read in one kubectl run.
    const allowed: string[][] = [['list', 'leases'], ['list', 'jobs'], ['list', 'pods'], ['watch', 'pods'],
      ['update', 'lease/web-migration-lock'], ['create', 'leases']];
    const refused: string[][] = [['get', 'jobs'], ['watch', 'jobs'], ['get', 'pods'], ['delete', 'pods'], ['update', 'jobs'],
      ['delete', 'lease/web-migration-lock'], ['get', 'lease/web-migration-lock'], ['watch', 'leases'], ['get', 'lease/other'],
      ['update', 'lease/other'], ['delete', 'leases'], ['get', 'secrets'], ['list', 'secrets'], ['get', 'configmaps']];
    expect(allowed.map(a => [...a, can('web-migration', ...a)])).toEqual(allowed.map(a => [...a, 'yes']));
    expect(refused.map(a => [...a, can('web-migration', ...a)])).toEqual(refused.map(a => [...a, 'no']));
    // The service's own ServiceAccount gains nothing of it.
    expect(can('web', 'list', 'leases')).toBe('no');
    expect(can('web', 'update', 'lease/web-migration-lock')).toBe('no');
    expect(can('web', 'list', 'pods')).toBe('no');
  });
});
