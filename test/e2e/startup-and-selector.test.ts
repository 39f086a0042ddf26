/**
 * Issue #21 on the real cluster: the stable selector and the default startup probe.
 * GIVEN a service that starts listening only 40 s after it starts (a slow Rails/JVM boot),
 * WHEN it is released with the library's defaults (no startup probe given),
 * THEN its pod is never restarted, turns Ready, and the Service (selecting
 * app.kubernetes.io/name + component: server, not the construct path) has it as an endpoint.
 */
import {
  describeOnCluster, getJson, releaseSmallService, SMALL_SERVICE_PORT, useNamespace,
} from './support';

const BOOT_SECONDS = 40;

describeOnCluster('startup probe and stable selector', () => {
  const namespace = useNamespace('e2e-startup');

  test(`a service that listens after ${BOOT_SECONDS} s is not restarted, turns Ready and is the Service's endpoint`, async () => {
    const ns = namespace();
    // The construct id differs from the name: the selector must not depend on the construct path.
    await releaseSmallService({
      namespace: ns,
      id: 'RenamedConstructId',
      name: 'slowboot',
      image: {
        name: 'registry.example.com/e2e-slowboot:v1',
        contents: { '/www/index.html': 'slow v1\n' },
        cmd: ['sh', '-c', `trap 'exit 0' TERM; sleep ${BOOT_SECONDS}; httpd -f -p ${SMALL_SERVICE_PORT} -h /www & wait $!`],
      },
      migrationCommand: ['sh', '-c', 'echo migrating'],
      rolloutTimeoutMs: 180_000,
    });

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
