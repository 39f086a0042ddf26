/**
 * Rollout scenarios on a real cluster, for each waiter: a real migration against a real
 * PostgreSQL, a failing one (with the progress deadline), fix forward, roll back, an evicted
 * migration pod, scale-up and a deleted pod after the release.
 *
 * Each waiter has its own namespace and database, and its scenarios build on each other in order.
 * The four waiters' sequences run side by side (they mostly wait on the cluster), so the file
 * takes about as long as one sequence; each test reports one scenario of one waiter. E2E_WAITERS
 * (e.g. `kubectl,none`) limits the run to some waiters.
 */
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildFixtureImage, Cluster, createNamespace, deleteNamespace, describeOnCluster, FIXTURE_PORT, FIXTURE_REPOSITORY,
  FIXTURE_UID, FIXTURE_VERSIONS, getJson, getJsonAsync, jobConditionsAsync, kubectl, kubectlAsync, rolledOutAsync, synthYaml,
  waitFor, WaitOptions,
} from './support';
import { MigratedService, MigrationTool, Waiter } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';

const SERVICE = 'shop';
const TOOL = MigrationTool.custom({ name: 'e2e-sh', command: ['/app/migrate.sh'], checkCommand: ['/app/check.sh'] });
/** Tiny requests: several test runs share a 2-core node. The defaults have their own test (resources.test.ts). */
const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};

interface WaiterCase {
  readonly key: string;
  readonly waiter: () => Waiter;
  /** The init container's name; undefined: no gate. */
  readonly initContainer?: string;
  /**
   * What the gate opens on: the Job's completion, or the schema itself (the check can pass a moment
   * before the Job controller marks the Job Complete).
   */
  readonly gatesOn?: 'job' | 'schema';
  /** What the gate does on a failed migration. */
  readonly onFailure?: 'waits' | 'exits-with-reason' | 'check-fails';
}

const ALL_WAITERS: WaiterCase[] = [
  { key: 'k8swaitfor', waiter: () => Waiter.k8sWaitFor(), initContainer: 'wait-for-migration', gatesOn: 'job', onFailure: 'waits' },
  { key: 'kubectl', waiter: () => Waiter.kubectl(), initContainer: 'wait-for-migration', gatesOn: 'job', onFailure: 'exits-with-reason' },
  { key: 'schemacheck', waiter: () => Waiter.schemaCheck(), initContainer: 'check-migration', gatesOn: 'schema', onFailure: 'check-fails' },
  { key: 'none', waiter: () => Waiter.none() },
];
const WAITERS = process.env.E2E_WAITERS
  ? ALL_WAITERS.filter(w => process.env.E2E_WAITERS!.split(',').includes(w.key))
  : ALL_WAITERS;

const seconds = (t: string | undefined): number => (t ? Date.parse(t) / 1000 : NaN);

/** One waiter's namespace, database and release history. */
class Run {
  public ns = '';
  public db = '';
  public readonly jobs: { [tag: string]: string } = {};
  constructor(public readonly w: WaiterCase, private readonly pg: () => Postgres) {}

  public log(line: string): void {
    process.stdout.write(`[${this.w.key}] ${line}\n`);
  }

  public setUp(): void {
    this.ns = createNamespace(`e2e-rollout-${this.w.key}`);
    this.db = `shop_${this.w.key}`;
    this.pg().createDatabase(this.db);
    kubectl(['create', 'secret', 'generic', 'shop-db', '-n', this.ns, `--from-literal=DATABASE_URL=${this.pg().url(this.db)}`]);
  }

  /** Synthesize the release of `tag` through the public API and apply it server-side. */
  public release(tag: string, progressDeadline?: Duration): string {
    const yaml = synthYaml(this.ns, chart => {
      const svc = new MigratedService(chart, SERVICE, {
        image: FIXTURE_REPOSITORY,
        imageTag: tag,
        port: FIXTURE_PORT,
        runAsUser: FIXTURE_UID,
        resources: SMALL,
        readiness: kplus.Probe.fromHttpGet('/', { port: FIXTURE_PORT, periodSeconds: Duration.seconds(2) }),
        envFrom: [kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, 'db', 'shop-db'))],
        waiter: this.w.waiter(),
        progressDeadline,
        migration: { tool: TOOL, resources: SMALL },
      });
      this.jobs[tag] = svc.jobName;
    });
    apply(yaml, this.ns);
    return this.jobs[tag];
  }

  public sql(query: string): string {
    return this.pg().psql(query, this.db);
  }

  public wait<T>(what: string, check: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
    return waitFor(`[${this.w.key}] ${what}`, check, { namespace: this.ns, intervalMs: 2_000, ...options });
  }

  /** The service's pods of `tag` (not the Job's), without those being deleted. */
  public async podsOf(tag: string): Promise<any[]> {
    const list = await getJsonAsync(['pods', '-n', this.ns, '-l', `app.kubernetes.io/name=${SERVICE},app.kubernetes.io/version=${tag},!job-name`]);
    return (list?.items ?? []).filter((p: any) => !p.metadata.deletionTimestamp);
  }

  public rolledOut(): Promise<boolean> {
    return rolledOutAsync(this.ns, SERVICE);
  }

  public jobConditions(tag: string): Promise<{ [type: string]: any }> {
    return jobConditionsAsync(this.ns, this.jobs[tag]);
  }

  /** THEN every pod of `tag` started its service only after its gate opened: after the migration
   *  committed, and (for the waiters that read the Job) after the Job completed. */
  public async expectGated(tag: string): Promise<void> {
    const pods = await this.podsOf(tag);
    expect(pods.length).toBeGreaterThan(0);
    if (!this.w.initContainer) return;
    const job = await getJsonAsync(['job', this.jobs[tag], '-n', this.ns]);
    const completed = seconds(job.status.completionTime);
    // The API's times have 1 s resolution (cut, not rounded): compare whole seconds.
    const applied = Math.floor(Number(this.sql(`SELECT extract(epoch FROM applied_at) FROM schema_migrations WHERE version = '${tag}'`)));
    for (const pod of pods) {
      const started = seconds(appStarted(pod));
      const seen = {
        pod: pod.metadata.name,
        startedAfterCommit: started >= applied,
        startedAfterJob: started >= completed,
        gateExit: containerStatus(pod, this.w.initContainer)?.state?.terminated?.exitCode,
      };
      expect(seen).toEqual({ ...seen, startedAfterCommit: true, startedAfterJob: this.w.gatesOn === 'job' ? true : seen.startedAfterJob, gateExit: 0 });
    }
  }
}

function containerStatus(pod: any, name: string): any {
  return [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])].find((s: any) => s.name === name);
}

/** When the app container of `pod` (last) started; undefined if it never did. */
function appStarted(pod: any): string | undefined {
  const s = containerStatus(pod, 'app');
  return s?.state?.running?.startedAt ?? s?.state?.terminated?.startedAt ?? s?.lastState?.terminated?.startedAt;
}

interface Scenario {
  readonly name: string;
  readonly appliesTo: (w: WaiterCase) => boolean;
  readonly run: (r: Run, images: { [tag: string]: string }) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'happy path: v1 migrates a real database, then the service starts',
    appliesTo: () => true,
    run: async r => {
      const job = r.release('v1');
      await r.wait(`Job ${job} Complete`, async () => (await r.jobConditions('v1')).Complete);
      await r.wait(`${SERVICE} v1 rolled out`, () => r.rolledOut());
      expect(r.sql("SELECT count(*) FROM migration_runs WHERE version = 'v1'")).toBe('1');
      expect(r.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'items'")).toBe('1');
      const deployment = getJson(['deployment', SERVICE, '-n', r.ns]);
      if (r.w.initContainer) {
        await r.expectGated('v1');
        // The Deployment became Available only once the gate had opened.
        const available = deployment.status.conditions.find((c: any) => c.type === 'Available' && c.status === 'True');
        const gateOpened = r.w.gatesOn === 'job'
          ? seconds((await getJsonAsync(['job', job, '-n', r.ns])).status.completionTime)
          : Math.floor(Number(r.sql("SELECT extract(epoch FROM applied_at) FROM schema_migrations WHERE version = 'v1'")));
        expect(seconds(available.lastTransitionTime)).toBeGreaterThanOrEqual(gateOpened);
      } else {
        expect(deployment.spec.template.spec.initContainers).toBeUndefined();
      }
    },
  },
  {
    name: 'failing migration on v2: Job Failed fast, new pods never start, old pods keep serving, progress deadline exceeded',
    appliesTo: w => w.onFailure !== undefined,
    run: async (r, images) => {
      const ns = r.ns;
      const oldPods = (await r.podsOf('v1')).map(p => p.metadata.name).sort();
      expect(oldPods).toHaveLength(2);
      const ip = getJson(['service', SERVICE, '-n', ns]).spec.clusterIP;
      startProber(ns, images.v1, ip, FIXTURE_PORT);
      await r.wait('the prober gets answers', async () => /^OK v1/m.test(await proberLog(ns)));

      const job = r.release('v2', Duration.seconds(30));
      const failed = await r.wait(`Job ${job} Failed`, async () => (await r.jobConditions('v2')).Failed);
      const j = await getJsonAsync(['job', job, '-n', ns]);
      const failedAfter = seconds(failed.lastTransitionTime) - seconds(j.status.startTime);
      r.log(`v2 Job Failed ${failedAfter}s after it started (${failed.reason})`);
      // With backoffLimit 0 the FailJob rule on the migrate container's exit code fails the Job
      // (PodFailurePolicy); without that rule it is the backoff limit.
      expect(['PodFailurePolicy', 'BackoffLimitExceeded']).toContain(failed.reason);
      expect(failedAfter).toBeLessThan(60);

      if (r.w.onFailure === 'exits-with-reason') {
        const init = r.w.initContainer!;
        const exited = await r.wait('the waiter exits non-zero with the Job\'s reason in its log', async () => {
          for (const pod of await r.podsOf('v2')) {
            const s = containerStatus(pod, init);
            const term = s?.state?.terminated ?? s?.lastState?.terminated;
            if (!term || term.exitCode === 0) continue;
            const logs = (await kubectlAsync(['logs', '-n', ns, pod.metadata.name, '-c', init, ...(s.state.terminated ? [] : ['--previous'])],
              { allowFail: true })).stdout;
            if (logs.includes(`migration Job ${job} failed: ${failed.reason}`)) return `exit ${term.exitCode}: ${logs.trim().split('\n').pop()}`;
          }
          return undefined;
        });
        r.log(`waiter: ${exited}`);
      }

      // The Deployment reports the stuck rollout; until then, watch the pods (what is seen is asserted after).
      const seen = new Set<string>();
      await r.wait('ProgressDeadlineExceeded', async () => {
        const newPods = await r.podsOf('v2');
        for (const pod of newPods) {
          if (appStarted(pod)) seen.add(`v2 pod ${pod.metadata.name} started its service`);
          if (r.w.onFailure === 'waits' && containerStatus(pod, r.w.initContainer!)?.lastState?.terminated) {
            seen.add(`v2 pod ${pod.metadata.name}'s waiter exited`);
          }
        }
        for (const pod of await r.podsOf('v1')) {
          if (pod.status.conditions.find((c: any) => c.type === 'Ready').status !== 'True') seen.add(`v1 pod ${pod.metadata.name} not Ready`);
        }
        const d = await getJsonAsync(['deployment', SERVICE, '-n', ns]);
        const progressing = (d.status.conditions ?? []).find((c: any) => c.type === 'Progressing');
        return progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded' && newPods.length > 0;
      });
      expect([...seen]).toEqual([]);

      expect((await r.podsOf('v1')).map(p => p.metadata.name).sort()).toEqual(oldPods);
      expect(r.sql("SELECT count(*) FROM schema_migrations WHERE version = 'v2'")).toBe('0');
      const log = await proberLog(ns);
      kubectl(['delete', 'pod', 'http-probe', '-n', ns, '--wait=false']);
      // From the first answer on (the prober's own start is not the service's concern).
      const lines = log.slice(log.indexOf('OK v1')).split('\n').filter(l => l);
      const bad = lines.filter(l => !l.startsWith('OK v1'));
      r.log(`prober: ${lines.length} requests during the failed release, ${bad.length} not answered "v1"`);
      expect(lines.length).toBeGreaterThan(20);
      expect(bad).toEqual([]);
    },
  },
  {
    name: 'fix forward to v3 completes',
    appliesTo: () => true,
    run: async r => {
      const job = r.release('v3');
      await r.wait(`Job ${job} Complete`, async () => (await r.jobConditions('v3')).Complete);
      await r.wait(`${SERVICE} v3 rolled out`, async () =>
        await r.rolledOut() && (await r.podsOf('v1')).length === 0 && (await r.podsOf('v2')).length === 0);
      expect(r.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price'")).toBe('1');
      await r.expectGated('v3');
    },
  },
  {
    name: 'roll back to v1 completes without running v1\'s migration again',
    appliesTo: () => true,
    run: async r => {
      const uid = getJson(['job', r.jobs.v1, '-n', r.ns]).metadata.uid;
      r.release('v1');
      await r.wait(`${SERVICE} v1 rolled out again`, async () => await r.rolledOut() && (await r.podsOf('v3')).length === 0);
      expect(await r.podsOf('v1')).toHaveLength(2);
      expect(getJson(['job', r.jobs.v1, '-n', r.ns]).metadata.uid).toBe(uid);
      expect(r.sql("SELECT count(*) FROM migration_runs WHERE version = 'v1'")).toBe('1');
      await r.expectGated('v1');
    },
  },
  {
    name: 'the migration pod evicted mid-run: the Job does not fail, it completes, the rollout completes',
    appliesTo: () => true,
    run: async r => {
      const ns = r.ns;
      const job = r.release('v4');
      const first = await r.wait('v4\'s migration pod in its slow phase', async () => {
        const pods = (await getJsonAsync(['pods', '-n', ns, '-l', `job-name=${job}`]))?.items ?? [];
        const running = pods.find((p: any) => p.status.phase === 'Running');
        if (!running) return undefined;
        const logs = (await kubectlAsync(['logs', '-n', ns, running.metadata.name], { allowFail: true })).stdout;
        return logs.includes('slow migration') ? running.metadata.name as string : undefined;
      }, { intervalMs: 1_000 });
      // Through the Eviction API, as `kubectl drain` does: the pod gets the DisruptionTarget condition.
      const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: first, namespace: ns } };
      kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/pods/${first}/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });

      await r.wait(`Job ${job} Complete`, async () => {
        const conditions = await r.jobConditions('v4');
        if (conditions.Failed) throw new Error(`Job failed: ${JSON.stringify(conditions.Failed)}`);
        return conditions.Complete;
      }, { timeoutMs: 300_000 });
      const runs = r.sql("SELECT pod FROM migration_runs WHERE version = 'v4' ORDER BY started_at").split('\n');
      expect(runs).toHaveLength(2);
      expect(runs[0]).toBe(first);
      expect(getJson(['job', job, '-n', ns]).status.failed ?? 0).toBe(0);
      await r.wait(`${SERVICE} v4 rolled out`, async () => await r.rolledOut() && (await r.podsOf('v1')).length === 0);
      await r.expectGated('v4');
    },
  },
  {
    name: 'after the release: scale up and a deleted pod; new pods still pass the gate',
    appliesTo: () => true,
    run: async r => {
      kubectl(['scale', 'deployment', SERVICE, '-n', r.ns, '--replicas=3']);
      await r.wait(`${SERVICE} at 3 replicas`, async () => await r.rolledOut() && (await r.podsOf('v4')).length === 3);
      const victim = (await r.podsOf('v4'))[0].metadata.name;
      kubectl(['delete', 'pod', victim, '-n', r.ns, '--wait=false']);
      await r.wait(`${victim} replaced`, async () => {
        const pods = await r.podsOf('v4');
        return await r.rolledOut() && pods.length === 3 && !pods.some(p => p.metadata.name === victim);
      });
      await r.expectGated('v4');
    },
  },
];

describeOnCluster('rollout scenarios on a real cluster', (cluster: () => Cluster) => {
  let pg: Postgres | undefined;
  const images: { [tag: string]: string } = {};
  const runs = WAITERS.map(w => new Run(w, () => pg!));
  /** Each scenario's outcome, by "<waiter>/<scenario>": the tests below await them. */
  const outcomes = new Map<string, Promise<void>>();

  beforeAll(async () => {
    // Pods reach the host on the node IP (local-k8s: 10.255.0.1); E2E_DB_HOST overrides (kind).
    pg = await startPostgres({ host: process.env.E2E_DB_HOST ?? cluster().nodeIp });
    for (const version of FIXTURE_VERSIONS) images[version.tag] = buildFixtureImage(version);
    for (const r of runs) r.setUp();
    // Start every waiter's sequence now; each waiter's scenarios run in order, the waiters side by side.
    for (const r of runs) {
      let previous: Promise<void> = Promise.resolve();
      for (const s of SCENARIOS.filter(sc => sc.appliesTo(r.w))) {
        const outcome = previous.then(() => s.run(r, images), (e: Error) => {
          throw new Error(`not run: an earlier scenario of this waiter failed (${e.message.split('\n')[0]})`);
        });
        outcome.catch(() => { /* reported by its test */ });
        outcomes.set(`${r.w.key}/${s.name}`, outcome);
        previous = outcome;
      }
    }
  });
  afterAll(async () => {
    await Promise.allSettled([...outcomes.values()]);
    for (const r of runs) if (r.ns) deleteNamespace(r.ns);
    pg?.stop();
  });

  for (const s of SCENARIOS) {
    for (const w of WAITERS) {
      const name = `${w.key}: ${s.name}`;
      if (!s.appliesTo(w)) {
        test.skip(`${name} (does not apply: no gate)`, () => undefined);
        continue;
      }
      test(name, () => outcomes.get(`${w.key}/${s.name}`)!);
    }
  }
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

async function proberLog(ns: string): Promise<string> {
  return (await kubectlAsync(['logs', '-n', ns, 'http-probe'], { allowFail: true })).stdout;
}
