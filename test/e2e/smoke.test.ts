/**
 * Smoke test of the e2e harness: one release on the real cluster, start to finish.
 * GIVEN a MigratedService synthesized through the public API and a locally built image,
 * WHEN it is applied server-side into a restricted namespace,
 * THEN the migration Job completes and the Deployment rolls out behind the gate.
 */
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  apply, buildImage, createNamespace, deleteNamespace, describeOnCluster, jobConditions, rolledOut, synthYaml, waitFor,
} from './support';
import { MigratedService, Waiter } from '../../src';

describeOnCluster('e2e harness smoke', () => {
  let ns: string;
  beforeAll(() => {
    ns = createNamespace('e2e-smoke');
  });
  afterAll(() => deleteNamespace(ns));

  test('a release with the kubectl waiter rolls out after its Job', async () => {
    const image = buildImage({
      name: 'registry.example.com/e2e-smoke:v1',
      contents: { '/www/index.html': 'smoke v1\n' },
      cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
    });
    const small: kplus.ContainerResources = {
      cpu: { request: kplus.Cpu.millis(10) },
      memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
    };
    let jobName = '';
    const yaml = synthYaml(ns, chart => {
      const svc = new MigratedService(chart, 'smoke', {
        image: image.split(':')[0],
        imageTag: 'v1',
        replicas: 1,
        port: 8080,
        runAsUser: 1000,
        resources: small,
        waiter: Waiter.kubectl(),
        migration: { command: ['sh', '-c', 'echo migrating; sleep 2; echo done'], resources: small },
      });
      jobName = svc.jobName;
    });

    apply(yaml, ns);

    await waitFor(`Job ${jobName} Complete`, () => jobConditions(ns, jobName).Complete, { namespace: ns });
    await waitFor('Deployment smoke rolled out', () => rolledOut(ns, 'smoke'), { namespace: ns });
  });
});
