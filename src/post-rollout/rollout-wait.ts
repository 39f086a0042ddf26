import * as kplus from 'cdk8s-plus-28';
import { CONTAINERS, IMAGE_TAG_ANNOTATION, jsonPathKey } from '../facts';
import { TMP_PATH } from '../pod/pod-spec';
import { restrictedContainerSecurity } from '../pod/security';
import { renderScript } from '../script-file';
import { KUBECTL_UID, WAITER_RESOURCES } from '../waiter';

/**
 * The rollout waiter init container.
 *
 * @internal
 */
export function rolloutWaiter(image: string, uid: number | undefined, tag: string, timeoutSeconds: number,
  first: string, tmp: kplus.VolumeMount): kplus.ContainerProps {
  return {
    name: CONTAINERS.rolloutWaiter,
    image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    // Workloads gated later are appended to this command (waitForRolloutOf).
    command: ['sh', '-c', ROLLOUT_WAIT_SCRIPT, CONTAINERS.rolloutWaiter, tag, `${timeoutSeconds}`, first],
    envVariables: { HOME: kplus.EnvValue.fromValue(TMP_PATH) },
    volumeMounts: [tmp],
    resources: WAITER_RESOURCES,
    securityContext: restrictedContainerSecurity({ runAsUser: uid ?? KUBECTL_UID, runAsGroup: uid ?? KUBECTL_UID }),
  };
}

/**
 * The rollout waiter: `sh/wait-for-rollout.sh`, whose header says what it does.
 *
 * @internal
 */
export const ROLLOUT_WAIT_SCRIPT = renderScript('wait-for-rollout.sh', { TAG_ANNOTATION_KEY: jsonPathKey(IMAGE_TAG_ANNOTATION) });
