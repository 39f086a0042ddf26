/**
 * `cdk8s-migrated-service status <name> -n <namespace>` against the real cluster: the CLI's main()
 * with real kubectl and the cluster's kubeconfig (as a user runs it), on a healthy release, a failed
 * migration, a release held behind a running migration, a deleted Job, a waiter refused by RBAC,
 * and the command itself refused by RBAC. The printed lines are asserted.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, ensureCluster, jobConditions, kubectl, objectsOf, rolledOut,
  synthYaml, waitFor,
} from './support';
import { MigratedService, Waiter } from '../../src';
import { Kubectl, main, realKubectl } from '../../src/status';

/** Where RECORD_STATUS=1 writes what kubectl answered and what the CLI printed. */
const RECORDINGS = join(__dirname, '..', 'support', 'status-recordings');

const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};

describeOnCluster('status CLI on a real cluster', () => {
  let ns = '';
  let image = '';
  let cli: Kubectl;
  beforeAll(() => {
    ns = createNamespace('status-e2e');
    image = buildImage({ name: 'registry.example.com/status-e2e:v1', contents: { '/www/index.html': 'v1\n' }, cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'] });
    const c = ensureCluster().cluster!;
    const real = realKubectl(c.kubectlBin);
    cli = args => real(['--kubeconfig', c.kubeconfig, ...args]);
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });

  /** A release of `name`; with `worker`, a gated Deployment `<name>-worker` of the same image. */
  function release(name: string, migration: string, worker = false): { objects: any[]; jobName: string } {
    let jobName = '';
    const yaml = synthYaml(ns, chart => {
      const service = new MigratedService(chart, name, {
        image: image.split(':')[0],
        imageTag: 'v1',
        replicas: 1,
        port: 8080,
        runAsUser: 1000,
        resources: SMALL,
        waiter: Waiter.kubectl({ timeout: Duration.minutes(5) }),
        migration: { command: ['sh', '-c', migration], resources: SMALL },
      });
      jobName = service.jobName;
      if (worker) {
        service.gate(new kplus.Deployment(chart, 'worker', {
          metadata: { name: `${name}-worker` },
          replicas: 1,
          containers: [{
            image: service.serviceImage,
            resources: SMALL,
            securityContext: { ensureNonRoot: true, user: 1000, capabilities: { drop: [kplus.Capability.ALL] } },
          }],
        }));
      }
    });
    return { objects: objectsOf(yaml), jobName };
  }
  const applyObjects = (objects: any[]) => apply(objects.map(o => stringify(o)).join('---\n'), ns);
  /** Runs main(); with RECORD_STATUS=1 keeps kubectl's answers and the output for test/status.test.ts to replay. */
  function status(name: string, kube: Kubectl = cli, recording?: string): { code: number; out: string } {
    const lines: string[] = [];
    const calls: { args: string[]; result: any }[] = [];
    const code = main(['status', name, '-n', ns], args => {
      const result = kube(args);
      calls.push({ args, result });
      return result;
    }, l => lines.push(l));
    if (process.env.RECORD_STATUS && recording) {
      writeFileSync(join(RECORDINGS, `${recording}.json`), `${JSON.stringify({ name, namespace: ns, calls, code, lines }, null, 1)}\n`);
    }
    return { code, out: lines.join('\n') };
  }
  const podOf = (deployment: string) => (JSON.parse(kubectl(['get', 'pods', '-n', ns, '-o', 'json']).stdout).items as any[])
    .find(p => new RegExp(`^${deployment}-[a-z0-9]+$`).test(p.metadata.ownerReferences?.[0]?.name ?? '') && p.metadata.labels?.['pod-template-hash']);
  const waiterLog = (pod: string) => kubectl(['logs', pod, '-c', 'wait-for-migration', '-n', ns], { allowFail: true }).stdout;

  test('GIVEN a healthy release WHEN status THEN exit 0 and it says so', async () => {
    const { objects, jobName } = release('healthy', 'echo migrated');
    applyObjects(objects);
    await waitFor('healthy rolled out', () => rolledOut(ns, 'healthy'), { namespace: ns });
    const s = status('healthy', cli, 'healthy');
    console.log(s.out);
    expect(s.out).toContain(`service healthy in namespace ${ns}: newest tag v1, 1 of 1 pods updated, 1 available`);
    expect(s.out).toContain(`migration Job ${jobName}: succeeded`);
    expect(s.out).toContain('release v1 is fully rolled out');
    expect(s.code).toBe(0);
  });

  test('GIVEN a failed migration WHEN status THEN the condition, exit code and last log line, and the held pod', async () => {
    const { objects, jobName } = release('broken', 'echo applying 0042_widgets; echo "ERROR: relation widgets already exists"; exit 3');
    applyObjects(objects);
    await waitFor(`Job ${jobName} Failed`, () => jobConditions(ns, jobName).Failed, { namespace: ns });
    await waitFor('the waiter said why', () => { const p = podOf('broken'); return p && waiterLog(p.metadata.name).includes('failed') && p; }, { namespace: ns });
    const s = status('broken', cli, 'broken');
    console.log(s.out);
    expect(s.out).toMatch(new RegExp(`migration Job ${jobName}: failed: PodFailurePolicy: Container migrate for pod ${ns}/${jobName}-\\w+ failed with exit code 3`));
    expect(s.out).toMatch(/container migrate exited with code 3 \(Error\): ERROR: relation widgets already exists/);
    // The waiter may have restarted already: then the reason is its previous run's last line.
    expect(s.out).toMatch(new RegExp(`pod broken-\\S+: held in init container wait-for-migration[^\\n]*(\\n\\s+its previous run( exited with code \\d+)?)?: migration Job ${jobName} failed: PodFailurePolicy: Container migrate`));
    expect(s.out).toContain('release v1 is not rolled out');
    expect(s.code).toBe(1);
  });

  test('GIVEN a migration still running WHEN status THEN the release is held and the migration\'s last line shown', async () => {
    const { objects, jobName } = release('slow', 'echo migrating step 1 of 2; sleep 600', true);
    applyObjects(objects);
    await waitFor('a slow pod in its waiter', () => { const p = podOf('slow'); return p && waiterLog(p.metadata.name).trim() && p; }, { namespace: ns });
    await waitFor('a slow-worker pod in its waiter', () => {
      const p = podOf('slow-worker');
      return p && waiterLog(p.metadata.name).trim() && p;
    }, { namespace: ns });
    await waitFor('the migration logged', () => kubectl(['logs', `job/${jobName}`, '-n', ns], { allowFail: true }).stdout.includes('step 1'), { namespace: ns });
    const s = status('slow', cli, 'slow');
    console.log(s.out);
    expect(s.out).toContain(`migration Job ${jobName}: running (1 active pod)`);
    expect(s.out).toMatch(/container migrate running since \S+: migrating step 1 of 2/);
    expect(s.out).toMatch(/pod slow-\w+-\w+: held in init container wait-for-migration: .+/);
    // the gated worker's pod too, named with its workload
    expect(s.out).toMatch(/pod slow-worker-\S+ \(of ReplicaSet slow-worker-\w+\): held in init container wait-for-migration: .+/);
    expect(s.code).toBe(1);
  });

  test('GIVEN the Job was deleted WHEN status THEN it says the Job is missing', async () => {
    const { objects, jobName } = release('gone', 'echo migrated');
    applyObjects(objects.filter(o => o.kind !== 'Job'));
    await waitFor('a gone pod in its waiter', () => { const p = podOf('gone'); return p && waiterLog(p.metadata.name).trim() && p; }, { namespace: ns });
    const s = status('gone', cli, 'gone');
    console.log(s.out);
    expect(jobName).toBeTruthy();
    expect(s.out).toContain('migration Job of tag v1: missing (not created yet, or deleted: TTL, pruning, a hook delete policy)');
    expect(s.out).toMatch(/pod gone-\S+: held in init container wait-for-migration: .*/);
    expect(s.code).toBe(1);
  });

  test('GIVEN a waiter whose RoleBinding is gone WHEN status THEN the waiter\'s Forbidden line is shown', async () => {
    const { objects } = release('refused', 'echo migrated; sleep 5');
    applyObjects(objects.filter(o => o.kind !== 'RoleBinding'));
    await waitFor('the waiter was refused', () => { const p = podOf('refused'); return p && /forbidden/i.test(waiterLog(p.metadata.name)) && p; }, { namespace: ns });
    const s = status('refused', cli, 'refused');
    console.log(s.out);
    expect(s.out).toMatch(/pod refused-\S+: held in init container wait-for-migration[^\n]*(\n\s+its previous run( exited with code \d+)?)?: cannot read migration Job refused-migrate-v1 \(the waiter needs get, list and watch on it\): Error from server \(Forbidden\): jobs\.batch "refused-migrate-v1" is forbidden: User "system:serviceaccount:[^"]+:refused" cannot/);
    expect(s.code).toBe(1);
  });

  test('GIVEN a user without read access WHEN status THEN kubectl\'s Forbidden and what the command needs, exit 3', () => {
    kubectl(['create', 'serviceaccount', 'nobody', '-n', ns]);
    const s = status('healthy', args => cli([...args, `--as=system:serviceaccount:${ns}:nobody`]), 'forbidden');
    console.log(s.out);
    expect(s.out).toMatch(/Error from server \(Forbidden\): deployments.apps "healthy" is forbidden: User "system:serviceaccount:.*:nobody" cannot get resource "deployments"/);
    expect(s.out).toContain(`refused: this command needs get and list on deployments, replicasets, jobs and pods, and get on pods/log, in namespace ${ns}`);
    expect(s.code).toBe(3);
  });
});
