/**
 * Issue #21 on the real cluster: the stable selector and the default startup probe.
 * GIVEN a service that starts listening only 40 s after it starts (a slow Rails/JVM boot),
 * WHEN it is released with the library's defaults (no startup probe given),
 * THEN its pod is never restarted, turns Ready, and the Service (selecting
 * app.kubernetes.io/name + component: server, not the construct path) has it as an endpoint.
 */
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, rolledOut, synthYaml, waitFor,
} from './support';
import { MigratedService, Waiter } from '../../src';

const BOOT_SECONDS = 40;

describeOnCluster('startup probe and stable selector', () => {
  let ns: string;
  beforeAll(() => {
    ns = createNamespace('e2e-startup');
  });
  afterAll(() => deleteNamespace(ns));

  test(`a service that listens after ${BOOT_SECONDS} s is not restarted, turns Ready and is the Service's endpoint`, async () => {
    const image = buildImage({
      name: 'registry.example.com/e2e-slowboot:v1',
      contents: { '/www/index.html': 'slow v1\n' },
      cmd: ['sh', '-c', `trap 'exit 0' TERM; sleep ${BOOT_SECONDS}; httpd -f -p 8080 -h /www & wait $!`],
    });
    const small: kplus.ContainerResources = {
      cpu: { request: kplus.Cpu.millis(10) },
      memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
    };
    let jobName = '';
    const yaml = synthYaml(ns, chart => {
      const svc = new MigratedService(chart, 'RenamedConstructId', {
        name: 'slowboot',
        image: image.split(':')[0],
        imageTag: 'v1',
        replicas: 1,
        port: 8080,
        runAsUser: 1000,
        resources: small,
        waiter: Waiter.kubectl(),
        migration: { command: ['sh', '-c', 'echo migrating'], resources: small },
      });
      jobName = svc.jobName;
    });

    apply(yaml, ns);

    await waitFor(`Job ${jobName} Complete`, () => jobConditions(ns, jobName).Complete, { namespace: ns });
    await waitFor('Deployment slowboot rolled out', () => rolledOut(ns, 'slowboot'), { namespace: ns, timeoutMs: 180_000 });

    const pods = getJson(['pods', '-n', ns, '-l', 'app.kubernetes.io/name=slowboot,app.kubernetes.io/component=server', '-o', 'json']).items;
    expect(pods).toHaveLength(1);
    const app = pods[0].status.containerStatuses.find((s: any) => s.name === 'app');
    expect(app.restartCount).toBe(0);
    expect(app.ready).toBe(true);
    // Ready at least BOOT_SECONDS after the container started: the probe waited, it did not kill.
    const started = Date.parse(app.state.running.startedAt);
    const ready = Date.parse(pods[0].status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime);
    expect((ready - started) / 1000).toBeGreaterThanOrEqual(BOOT_SECONDS - 1);

    const endpoints = getJson(['endpoints', 'slowboot', '-n', ns, '-o', 'json']);
    const addresses = (endpoints.subsets ?? []).flatMap((s: any) => s.addresses ?? []);
    expect(addresses.map((a: any) => a.targetRef?.name)).toEqual([pods[0].metadata.name]);
  });
});
