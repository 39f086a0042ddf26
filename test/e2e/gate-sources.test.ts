/**
 * `gate()` of workloads the library did not make with its own cdk8s-plus-28 (issue 21, item 1),
 * on a real cluster (PodSecurity "restricted" enforced): a cdk8s-plus-33 Deployment (what
 * `cdk8s init` installs today) and a raw `ApiObject` Deployment are held in the waiter until the
 * migration Job succeeded and released after it. Both run with the library's defaults (item 2):
 * their tagged images are pulled `IfNotPresent` (the images exist only on the node, so `Always`
 * would never start), and their main containers write to `/tmp` under a read-only root.
 *
 * Timing assertions compare timestamps the cluster records (the pods' own container statuses and
 * the migration container's finish), never the test's clock.
 */
import { ApiObject, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as kplus33 from 'cdk8s-plus-33';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, rolledOut,
  synthYaml, waitFor,
} from './support';
import { MigratedService, Waiter } from '../../src';

const REPO = 'registry.example.com/gate-sources-app';
const TAG = 'v1';
const UID = 1000;
const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};
/** The main container proves its writable /tmp, then idles. */
const WORKER_COMMAND = ['sh', '-c', 'touch /tmp/written && echo /tmp is writable && exec sleep 3600'];

const ms = (t: string | undefined): number => (t ? Date.parse(t) : NaN);

function release(ns: string): string {
  let jobName = '';
  const yaml = synthYaml(ns, (chart: Chart) => {
    const web = new MigratedService(chart, 'web', {
      image: REPO,
      imageTag: TAG,
      name: 'web',
      replicas: 1,
      runAsUser: UID,
      resources: SMALL,
      waiter: Waiter.kubectl(),
      migration: { command: ['sh', '-c', 'echo migrating; sleep 8; echo migrated'], resources: SMALL },
    });
    // cdk8s-plus-33, as a new app writes it: no resources, no pull policy, no /tmp.
    web.gate(new kplus33.Deployment(chart, 'plus33', {
      metadata: { name: 'worker-plus33' },
      replicas: 1,
      containers: [{ name: 'worker', image: `${REPO}:${TAG}`, command: WORKER_COMMAND, securityContext: { user: UID, group: UID } }],
    }));
    // A raw ApiObject, in the API's own spelling.
    web.gate(new ApiObject(chart, 'raw', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'worker-raw' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'worker-raw' } },
        template: {
          metadata: { labels: { app: 'worker-raw' } },
          spec: {
            containers: [{
              name: 'worker',
              image: `${REPO}:${TAG}`,
              command: WORKER_COMMAND,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: UID,
                runAsGroup: UID,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            }],
          },
        },
      },
    } as any));
    jobName = web.jobName;
  });
  apply(yaml, ns);
  return jobName;
}

interface WorkerPod { name: string; started?: number; waiterFinished?: number; waiterStarted?: number }

function workerPods(ns: string): WorkerPod[] {
  return (getJson(['pods', '-n', ns])?.items ?? [])
    .filter((p: any) => p.metadata.name.startsWith('worker-'))
    .map((p: any) => {
      const main = (p.status.containerStatuses ?? [])[0];
      const waiter = (p.status.initContainerStatuses ?? []).find((s: any) => s.name === 'wait-for-migration');
      return {
        name: p.metadata.name,
        started: ms(main?.state?.running?.startedAt ?? main?.state?.terminated?.startedAt) || undefined,
        waiterStarted: ms(waiter?.state?.running?.startedAt ?? waiter?.state?.terminated?.startedAt) || undefined,
        waiterFinished: ms(waiter?.state?.terminated?.finishedAt) || undefined,
      };
    });
}

describeOnCluster('gate() of a cdk8s-plus-33 and a raw ApiObject Deployment on a real cluster', () => {
  let ns: string;
  beforeAll(() => {
    buildImage({ name: `${REPO}:${TAG}`, cmd: ['sleep', '3600'] });
    ns = createNamespace('gate-sources-e2e');
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });

  test('both are held in the waiter until the migration succeeded, and released after it', async () => {
    // GIVEN a service whose migration takes 8 s, and two gated workers of other origins
    const jobName = release(ns);

    // WHILE the Job runs, no worker pod starts its main container.
    const seenWaiting = new Set<string>();
    await waitFor(`Job ${jobName} Complete`, () => {
      const complete = jobConditions(ns, jobName).Complete;
      if (!complete) {
        const pods = workerPods(ns);
        expect(pods.filter(p => p.started !== undefined)).toEqual([]);
        for (const p of pods) if (p.waiterStarted !== undefined) seenWaiting.add(p.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''));
      }
      return complete;
    }, { namespace: ns, intervalMs: 500 });
    // THEN both workers' waiters were seen running while the migration had not completed
    expect([...seenWaiting].sort()).toEqual(['worker-plus33', 'worker-raw']);

    await waitFor('workers rolled out', () => rolledOut(ns, 'worker-plus33') && rolledOut(ns, 'worker-raw'), { namespace: ns });
    const migrationPod = getJson(['pods', '-n', ns, '-l', `job-name=${jobName}`]).items[0];
    const migrated = ms(migrationPod.status.containerStatuses.find((c: any) => c.name === 'migrate').state.terminated.finishedAt);
    const pods = workerPods(ns);
    expect(pods.map(p => p.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '')).sort()).toEqual(['worker-plus33', 'worker-raw']);
    const lines: string[] = [];
    for (const p of pods) {
      // AND each waiter started before the migration finished and let go after it; each main
      // container started after it (kubelet times, cut to the second: the order survives as <=/>=).
      expect(p.waiterStarted).toBeLessThanOrEqual(migrated);
      expect(p.waiterFinished).toBeGreaterThanOrEqual(migrated);
      expect(p.started).toBeGreaterThanOrEqual(migrated);
      lines.push(`${p.name}: waiter ${new Date(p.waiterStarted!).toISOString()} -> ${new Date(p.waiterFinished!).toISOString()}, ` +
        `main started ${new Date(p.started!).toISOString()}; migration finished ${new Date(migrated).toISOString()}`);
      // AND the main container wrote to /tmp (the library's emptyDir under the read-only root)
      const pod = getJson(['pod', p.name, '-n', ns]);
      const main = pod.status.containerStatuses[0];
      expect(main.restartCount).toBe(0);
      expect(pod.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
      expect(pod.spec.containers[0].resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    }
    process.stdout.write(`gate-sources: held and released (kubelet timestamps):\n  ${lines.join('\n  ')}\n`);
  });
});
