import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/** Seconds between the default startup probe's checks: a pod is started within ~1 s of listening. */
export const STARTUP_PERIOD_SECONDS = 1;
/** Failures the default startup probe tolerates: 300 x 1 s = 5 minutes to start listening. */
export const STARTUP_FAILURE_THRESHOLD = 300;

/**
 * The default startup probe of a service that listens on `port`: a TCP connect every second, for
 * up to five minutes. cdk8s-plus' own default (3 failures 10 s apart) restarted an app that needs
 * 40 s to listen forever, and made a pod Ready up to 10 s after it listened.
 *
 * @internal
 */
export function defaultStartupProbe(port: number): kplus.Probe {
  return kplus.Probe.fromTcpSocket({
    port,
    periodSeconds: Duration.seconds(STARTUP_PERIOD_SECONDS),
    failureThreshold: STARTUP_FAILURE_THRESHOLD,
  });
}
