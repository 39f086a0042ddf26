/**
 * Resource defaults on the real node: a release fits where the previous one ran.
 * GIVEN two replicas of v1 running with the library's default requests,
 * WHEN v2 is applied (its migration Job and a surge pod join the old pods),
 * THEN every pod is scheduled (none Pending for lack of resources) and the rollout completes;
 * and the same release with cdk8s-plus-28's own defaults (1 CPU per container) does not fit a
 * 2-core node, which is why the defaults exist.
 */
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, objectsOf, rolledOut,
  serveCommand, synthYaml, waitFor,
} from './support';
import { MigratedService, MigratedServiceProps } from '../../src';

const REPOSITORY = 'registry.example.com/e2e-resources';

describeOnCluster('resource defaults on the real node', () => {
  let ns = '';
  beforeAll(() => {
    for (const tag of ['v1', 'v2']) {
      buildImage({ name: `${REPOSITORY}:${tag}`, contents: { '/www/index.html': `${tag}\n` }, cmd: serveCommand(8080) });
    }
  });
  beforeEach(() => {
    ns = createNamespace('e2e-resources');
  });
  afterEach(() => deleteNamespace(ns));

  const release = (tag: string, overrides: Partial<MigratedServiceProps> = {}): { yaml: string; jobName: string } => {
    let jobName = '';
    const yaml = synthYaml(ns, chart => {
      jobName = new MigratedService(chart, 'fit', {
        image: REPOSITORY,
        imageTag: tag,
        port: 8080,
        runAsUser: 1000,
        // Long enough that the Job and the surge pod are on the node together.
        migration: { command: ['sh', '-c', 'echo migrating; sleep 10; echo done'], ...overrides.migration },
        ...overrides,
      }).jobName;
    });
    return { yaml, jobName };
  };
  const pods = (): any[] => getJson(['pods', '-n', ns])?.items ?? [];
  const unschedulable = (): string[] => pods().flatMap(p => (p.status.conditions ?? [])
    .filter((c: any) => c.type === 'PodScheduled' && c.status === 'False')
    .map((c: any) => `${p.metadata.name}: ${c.reason} ${c.message}`));

  test('with the defaults, v2\'s Job and surge pod schedule next to two running v1 pods', async () => {
    const v1 = release('v1');
    // The defaults are in effect (nothing above sets resources).
    const requests = objectsOf(v1.yaml).filter(o => ['Job', 'Deployment'].includes(o.kind))
      .map(o => [o.kind, o.spec.template.spec.containers[0].resources.requests]);
    expect(requests).toEqual([['Job', { cpu: '100m', memory: '256Mi' }], ['Deployment', { cpu: '100m', memory: '256Mi' }]]);

    apply(v1.yaml, ns);
    await waitFor('v1 rolled out', () => rolledOut(ns, 'fit'), { namespace: ns });

    const v2 = release('v2');
    apply(v2.yaml, ns);
    // The moment the new Job's pod and the surge pod both exist next to the old ones, all are scheduled.
    const seen = new Set<string>();
    await waitFor('v2 Job pod and surge pod on the node with both v1 pods', () => {
      for (const u of unschedulable()) seen.add(u);
      const all = pods();
      const scheduled = (p: any): boolean => !!p.spec.nodeName;
      const jobPod = all.find(p => p.metadata.labels['job-name'] === v2.jobName);
      const surge = all.find(p => p.metadata.labels['app.kubernetes.io/version'] === 'v2' && !p.metadata.labels['job-name']);
      const old = all.filter(p => p.metadata.labels['app.kubernetes.io/version'] === 'v1' && !p.metadata.labels['job-name'] &&
        p.status.phase === 'Running');
      return jobPod && surge && scheduled(jobPod) && scheduled(surge) && old.length === 2;
    }, { namespace: ns });
    await waitFor(`Job ${v2.jobName} Complete`, () => jobConditions(ns, v2.jobName).Complete, { namespace: ns });
    await waitFor('v2 rolled out', () => rolledOut(ns, 'fit'), { namespace: ns });
    for (const u of unschedulable()) seen.add(u);
    expect([...seen]).toEqual([]);
  });

  test('with cdk8s-plus-28\'s own defaults (1 CPU per container) the same release does not fit a 2-core node', async () => {
    const node = getJson(['nodes'])!.items[0];
    const cpus = Number(node.status.allocatable.cpu);
    if (!(cpus <= 3)) {
      process.stdout.write(`skipping the contrast: the node has ${node.status.allocatable.cpu} CPUs, not 2\n`);
      return;
    }
    const oneCpu: kplus.ContainerResources = { cpu: { request: kplus.Cpu.millis(1000) } };
    const v1 = release('v1', { resources: oneCpu, migration: { command: ['true'], resources: oneCpu }, replicas: 2 });
    apply(v1.yaml, ns);
    const why = await waitFor('a pod Pending for lack of CPU', () => unschedulable().find(u => /Insufficient cpu/.test(u)), { namespace: ns });
    process.stdout.write(`with 1 CPU per container: ${why}\n`);
  });
});
