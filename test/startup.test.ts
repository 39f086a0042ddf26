import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { one, synthService } from './support/k8s';

/**
 * Issue #21, point 6: the default startup probe gives a slow-booting service minutes and marks a
 * listening one started within about a second.
 */

const app = (m: any[]) => one(m, 'Deployment').spec.template.spec.containers.find((c: any) => c.name === 'app');

describe('the default startup probe', () => {
  test('GIVEN port 8080 and no startup probe WHEN synthesized THEN a TCP probe every 1 s tolerates 300 failures (5 min)', () => {
    const probe = app(synthService({ port: 8080 })).startupProbe;
    expect(probe.tcpSocket).toEqual({ port: 8080 });
    expect(probe.periodSeconds).toBe(1);
    expect(probe.failureThreshold).toBe(300);
    expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThanOrEqual(300);
  });

  test('GIVEN no port WHEN synthesized THEN there is no startup probe', () => {
    expect(app(synthService()).startupProbe).toBeUndefined();
  });

  test('GIVEN a startup probe of the user WHEN synthesized THEN it is used as given', () => {
    const probe = app(synthService({
      port: 8080,
      startup: kplus.Probe.fromHttpGet('/startz', { periodSeconds: Duration.seconds(5), failureThreshold: 12 }),
    })).startupProbe;
    expect(probe.httpGet).toMatchObject({ path: '/startz' });
    expect(probe.tcpSocket).toBeUndefined();
    expect([probe.periodSeconds, probe.failureThreshold]).toEqual([5, 12]);
  });
});
