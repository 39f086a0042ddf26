/**
 * Smoke test of the e2e harness: one release on the real cluster, start to finish.
 * GIVEN a MigratedService synthesized through the public API and a locally built image,
 * WHEN it is applied server-side into a restricted namespace,
 * THEN the migration Job completes and the Deployment rolls out behind the gate.
 */
import { describeOnCluster, releaseSmallService, serveCommand, SMALL_SERVICE_PORT, useNamespace } from './support';

describeOnCluster('e2e harness smoke', () => {
  const ns = useNamespace('e2e-smoke');

  test('a release with the kubectl waiter rolls out after its Job', async () => {
    // releaseSmallService waits for the Job to be Complete, then for the Deployment to roll out.
    const released = await releaseSmallService({
      namespace: ns(),
      id: 'smoke',
      image: {
        name: 'registry.example.com/e2e-smoke:v1',
        contents: { '/www/index.html': 'smoke v1\n' },
        cmd: serveCommand(SMALL_SERVICE_PORT),
      },
      migrationCommand: ['sh', '-c', 'echo migrating; sleep 2; echo done'],
    });
    expect(released.name).toBe('smoke');
    // The Job is named after the tag (the full name may carry a hash of the migration's config).
    expect(released.jobName).toMatch(/^smoke-migrate-v1\b/);
  });
});
