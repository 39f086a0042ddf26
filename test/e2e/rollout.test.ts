/**
 * Rollout scenarios on a real cluster, for each waiter: a real migration against a real
 * PostgreSQL, a failing one, fix forward, roll back, an evicted migration pod, scale-up and a
 * deleted pod after the release, and the progress deadline. One namespace and one database per
 * waiter; the scenarios of a waiter build on each other and run in order.
 */
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildFixtureImage, createNamespace, deleteNamespace, describeOnCluster, FIXTURE_PORT,
  FIXTURE_REPOSITORY, FIXTURE_UID, FIXTURE_VERSIONS, getJson, jobConditions, kubectl, rolledOut, synthYaml, waitFor,
} from './support';
import { MigratedService, MigrationTool, Waiter } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';

const SERVICE = 'shop';
const TOOL = MigrationTool.custom({ name: 'e2e-sh', command: ['/app/migrate.sh'], checkCommand: ['/app/check.sh'] });
/** Tiny requests: five helpers share a 2-core node. The defaults have their own test. */
const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};

interface WaiterCase {
  readonly key: string;
  readonly waiter: () => Waiter;
  /** The init container's name; undefined: no gate. */
  readonly initContainer?: string;
  /** What the gate does on a failed migration; undefined: no gate, the scenario does not apply. */
  readonly onFailure?: 'waits' | 'exits-with-reason' | 'check-fails';
}

const WAITERS: WaiterCase[] = [
  { key: 'k8swaitfor', waiter: () => Waiter.k8sWaitFor(), initContainer: 'wait-for-migration', onFailure: 'waits' },
  { key: 'kubectl', waiter: () => Waiter.kubectl(), initContainer: 'wait-for-migration', onFailure: 'exits-with-reason' },
  { key: 'schemacheck', waiter: () => Waiter.schemaCheck(), initContainer: 'check-migration', onFailure: 'check-fails' },
  { key: 'none', waiter: () => Waiter.none() },
];

const seconds = (t: string | undefined): number => (t ? Date.parse(t) / 1000 : NaN);

describeOnCluster('rollout scenarios on a real cluster', cluster => {
  let pg: Postgres;
  const images: { [tag: string]: string } = {};

  beforeAll(async () => {
    // Pods reach the host on the node IP (local-k8s: 10.255.0.1); E2E_DB_HOST overrides (kind).
    pg = await startPostgres({ host: process.env.E2E_DB_HOST ?? cluster().nodeIp });
    for (const version of FIXTURE_VERSIONS) images[version.tag] = buildFixtureImage(version);
  });
  afterAll(() => pg?.stop());

  describe.each(WAITERS)('waiter $key', (w: WaiterCase) => {
    let ns = '';
    let db = '';
    const jobs: { [tag: string]: string } = {};

    /** Synthesize the release of `tag` through the public API and apply it server-side. */
    const release = (tag: string, progressDeadline?: Duration): string => {
      const yaml = synthYaml(ns, chart => {
        const svc = new MigratedService(chart, SERVICE, {
          image: FIXTURE_REPOSITORY,
          imageTag: tag,
          port: FIXTURE_PORT,
          runAsUser: FIXTURE_UID,
          resources: SMALL,
          readiness: kplus.Probe.fromHttpGet('/', { port: FIXTURE_PORT, periodSeconds: Duration.seconds(2) }),
          envFrom: [kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, 'db', 'shop-db'))],
          waiter: w.waiter(),
          progressDeadline,
          migration: { tool: TOOL, resources: SMALL },
        });
        jobs[tag] = svc.jobName;
      });
      apply(yaml, ns);
      return jobs[tag];
    };
    const sql = (query: string): string => pg.psql(query, db);
    const podsOf = (tag: string): any[] =>
      (getJson(['pods', '-n', ns, '-l', `app.kubernetes.io/name=${SERVICE},app.kubernetes.io/version=${tag},!job-name`])?.items ?? [])
        .filter((p: any) => !p.metadata.deletionTimestamp);
    const status = (pod: any, name: string): any =>
      [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])].find((s: any) => s.name === name);
    /** When the app container of `pod` (last) started; undefined if it never did. */
    const appStarted = (pod: any): string | undefined => {
      const s = status(pod, 'app');
      return s?.state?.running?.startedAt ?? s?.state?.terminated?.startedAt ?? s?.lastState?.terminated?.startedAt;
    };

    /** THEN every pod of `tag` started its service only after the migration committed and its Job completed. */
    const expectGated = (tag: string): void => {
      const pods = podsOf(tag);
      expect(pods.length).toBeGreaterThan(0);
      const job = getJson(['job', jobs[tag], '-n', ns]);
      const completed = seconds(job.status.completionTime);
      // The API's times have 1 s resolution (cut, not rounded): compare whole seconds.
      const applied = Math.floor(Number(sql(`SELECT extract(epoch FROM applied_at) FROM schema_migrations WHERE version = '${tag}'`)));
      for (const pod of pods) {
        const started = seconds(appStarted(pod));
        expect({ pod: pod.metadata.name, startedAfterCommit: started >= applied, startedAfterJob: started >= completed })
          .toEqual({ pod: pod.metadata.name, startedAfterCommit: true, startedAfterJob: true });
        expect(status(pod, w.initContainer!).state.terminated.exitCode).toBe(0);
      }
    };

    beforeAll(() => {
      ns = createNamespace(`e2e-rollout-${w.key}`);
      db = `shop_${w.key}`;
      pg.createDatabase(db);
      kubectl(['create', 'secret', 'generic', 'shop-db', '-n', ns, `--from-literal=DATABASE_URL=${pg.url(db)}`]);
    });
    afterAll(() => {
      if (ns) deleteNamespace(ns);
    });

    test('happy path: v1 migrates a real database, then the service starts', async () => {
      const job = release('v1');
      await waitFor(`Job ${job} Complete`, () => jobConditions(ns, job).Complete, { namespace: ns });
      await waitFor(`${SERVICE} v1 rolled out`, () => rolledOut(ns, SERVICE), { namespace: ns });

      expect(sql("SELECT count(*) FROM migration_runs WHERE version = 'v1'")).toBe('1');
      expect(sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'items'")).toBe('1');
      if (w.initContainer) expectGated('v1');
      else expect(getJson(['deployment', SERVICE, '-n', ns]).spec.template.spec.initContainers).toBeUndefined();
    });

    const failing = w.onFailure ? test : test.skip;
    failing('failing migration on v2: Job Failed fast, new pods never start, old pods keep serving', async () => {
      const oldPods = podsOf('v1').map(p => p.metadata.name).sort();
      expect(oldPods).toHaveLength(2);
      const ip = getJson(['service', SERVICE, '-n', ns]).spec.clusterIP;
      startProber(ns, images.v1, ip, FIXTURE_PORT);
      await waitFor('the prober answers', () => /^OK v1/m.test(proberLog(ns)), { namespace: ns });

      const job = release('v2', Duration.seconds(30));
      const failed = await waitFor(`Job ${job} Failed`, () => jobConditions(ns, job).Failed, { namespace: ns });
      const j = getJson(['job', job, '-n', ns]);
      const failedAfter = seconds(failed.lastTransitionTime) - seconds(j.status.startTime);
      process.stdout.write(`[${w.key}] v2 Job Failed ${failedAfter}s after it started (${failed.reason})\n`);
      expect(failed.reason).toBe('BackoffLimitExceeded');
      expect(failedAfter).toBeLessThan(60);

      if (w.onFailure === 'exits-with-reason') {
        // The waiter exits non-zero and says why, in its log.
        await waitFor('the waiter exits 1 with the Job\'s reason', () => podsOf('v2').some(pod => {
          const s = status(pod, w.initContainer!);
          const term = s?.state?.terminated ?? s?.lastState?.terminated;
          if (!term || term.exitCode === 0) return false;
          const logs = kubectl(['logs', '-n', ns, pod.metadata.name, '-c', w.initContainer!], { allowFail: true }).stdout +
            kubectl(['logs', '-n', ns, pod.metadata.name, '-c', w.initContainer!, '--previous'], { allowFail: true }).stdout +
            kubectl(['logs', '-n', ns, pod.metadata.name, '-c', w.initContainer!], { allowFail: true }).stderr;
          return term.exitCode !== 0 && logs.includes(`migration Job ${job} failed: BackoffLimitExceeded`);
        }), { namespace: ns });
      }

      // The Deployment reports the stuck rollout; until then, watch the pods (what is seen is asserted after).
      const seen = new Set<string>();
      await waitFor('ProgressDeadlineExceeded', () => {
        const newPods = podsOf('v2');
        for (const pod of newPods) {
          if (appStarted(pod)) seen.add(`v2 pod ${pod.metadata.name} started its service`);
          const init = status(pod, w.initContainer!);
          if (w.onFailure === 'waits' && init?.lastState?.terminated) seen.add(`v2 pod ${pod.metadata.name}'s waiter exited`);
        }
        for (const pod of podsOf('v1')) {
          if (pod.status.conditions.find((c: any) => c.type === 'Ready').status !== 'True') seen.add(`v1 pod ${pod.metadata.name} not Ready`);
        }
        const d = getJson(['deployment', SERVICE, '-n', ns]);
        const progressing = (d.status.conditions ?? []).find((c: any) => c.type === 'Progressing');
        return progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded' && newPods.length > 0;
      }, { namespace: ns, intervalMs: 2_000 });
      expect([...seen]).toEqual([]);

      expect(podsOf('v1').map(p => p.metadata.name).sort()).toEqual(oldPods);
      expect(sql("SELECT count(*) FROM schema_migrations WHERE version = 'v2'")).toBe('0');
      const log = proberLog(ns);
      kubectl(['delete', 'pod', 'http-probe', '-n', ns, '--wait=false']);
      // From the first answer on (the prober's own start is not the service's concern).
      const lines = log.slice(log.indexOf('OK v1')).split('\n').filter(l => l);
      process.stdout.write(`[${w.key}] prober: ${lines.length} requests during the failed release, ${lines.filter(l => !l.startsWith('OK v1')).length} not "OK v1"\n`);
      expect(lines.length).toBeGreaterThan(20);
      expect(lines.filter(l => !l.startsWith('OK v1'))).toEqual([]);
    });

    test('fix forward to v3 completes', async () => {
      const job = release('v3');
      await waitFor(`Job ${job} Complete`, () => jobConditions(ns, job).Complete, { namespace: ns });
      await waitFor(`${SERVICE} v3 rolled out`, () => rolledOut(ns, SERVICE) && podsOf('v1').length === 0 && podsOf('v2').length === 0,
        { namespace: ns });
      expect(sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price'")).toBe('1');
      if (w.initContainer) expectGated('v3');
    });

    test('roll back to v1 completes without running v1\'s migration again', async () => {
      const uid = getJson(['job', jobs.v1, '-n', ns]).metadata.uid;
      release('v1');
      await waitFor(`${SERVICE} v1 rolled out again`, () => rolledOut(ns, SERVICE) && podsOf('v3').length === 0, { namespace: ns });
      expect(podsOf('v1')).toHaveLength(2);
      expect(getJson(['job', jobs.v1, '-n', ns]).metadata.uid).toBe(uid);
      expect(sql("SELECT count(*) FROM migration_runs WHERE version = 'v1'")).toBe('1');
      if (w.initContainer) expectGated('v1');
    });

    test('the migration pod evicted mid-run: the Job does not fail, it completes, the rollout completes', async () => {
      const job = release('v4');
      const first = await waitFor('v4\'s migration pod in its slow phase', () => {
        const pods = getJson(['pods', '-n', ns, '-l', `job-name=${job}`])?.items ?? [];
        const running = pods.find((p: any) => p.status.phase === 'Running');
        return running && kubectl(['logs', '-n', ns, running.metadata.name], { allowFail: true }).stdout.includes('slow migration')
          ? running.metadata.name as string : undefined;
      }, { namespace: ns });
      const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: first, namespace: ns } };
      kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/pods/${first}/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });

      await waitFor(`Job ${job} Complete`, () => {
        const conditions = jobConditions(ns, job);
        if (conditions.Failed) throw new Error(`Job failed: ${JSON.stringify(conditions.Failed)}`);
        return conditions.Complete;
      }, { namespace: ns, timeoutMs: 300_000 });
      const runs = sql("SELECT pod FROM migration_runs WHERE version = 'v4' ORDER BY started_at").split('\n');
      expect(runs).toHaveLength(2);
      expect(runs[0]).toBe(first);
      expect(getJson(['job', job, '-n', ns]).status.failed ?? 0).toBe(0);
      await waitFor(`${SERVICE} v4 rolled out`, () => rolledOut(ns, SERVICE) && podsOf('v1').length === 0, { namespace: ns });
      if (w.initContainer) expectGated('v4');
    });

    test('after the release: scale up and a deleted pod; new pods still pass the gate', async () => {
      kubectl(['scale', 'deployment', SERVICE, '-n', ns, '--replicas=3']);
      await waitFor(`${SERVICE} at 3 replicas`, () => rolledOut(ns, SERVICE) && podsOf('v4').length === 3, { namespace: ns });
      const victim = podsOf('v4')[0].metadata.name;
      kubectl(['delete', 'pod', victim, '-n', ns, '--wait=false']);
      await waitFor(`${victim} replaced`, () => {
        const pods = podsOf('v4');
        return rolledOut(ns, SERVICE) && pods.length === 3 && !pods.some(p => p.metadata.name === victim);
      }, { namespace: ns });
      if (w.initContainer) expectGated('v4');
    });
  });
});

/** A pod that requests `http://host:port/` twice a second and logs one line per answer ("OK <body>" or "FAIL ..."). */
function startProber(ns: string, image: string, host: string, port: number): void {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'http-probe', namespace: ns },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe',
        image,
        imagePullPolicy: 'IfNotPresent',
        // busybox wget segfaults in these images (no NSS libraries), so speak HTTP/1.0 through nc.
        command: ['sh', '-c', `while :; do
  out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${host} ${port} 2>&1)
  case $out in "HTTP/1."*" 200 "*) echo "OK $(echo "$out" | tail -n 1)" ;; *) echo "FAIL $(date) $(echo "$out" | head -n 1)" ;; esac
  sleep 0.5
done`],
        resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '32Mi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      }],
    },
  };
  apply(JSON.stringify(pod), ns);
}

function proberLog(ns: string): string {
  return kubectl(['logs', '-n', ns, 'http-probe'], { allowFail: true }).stdout;
}
