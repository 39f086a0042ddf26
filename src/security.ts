import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/**
 * The user and group a container runs as.
 *
 * Kubernetes' `runAsNonRoot` can only be checked against a numeric UID: an image whose `USER` is a
 * name (`node`, `app`) or root is refused by the kubelet unless `runAsUser` is set.
 */
export interface RunAsOptions {
  /**
   * UID to run the container as (`securityContext.runAsUser`).
   *
   * @default - the image's own numeric `USER`; set it when the image's `USER` is a name such as
   * `node` (UID 1000 in the official Node images) or root, or the kubelet refuses to start the pod.
   */
  readonly runAsUser?: number;

  /**
   * GID to run the container as (`securityContext.runAsGroup`).
   *
   * @default - the image's own group
   */
  readonly runAsGroup?: number;
}

/**
 * The container security context every container of this library gets: it meets the Kubernetes
 * "restricted" Pod Security Standard (non-root, no privilege escalation, all capabilities dropped,
 * RuntimeDefault seccomp) and adds a read-only root filesystem.
 *
 * @internal
 */
export function restrictedContainerSecurity(runAs: RunAsOptions = {}, readOnlyRootFilesystem = true):
kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
    user: runAs.runAsUser,
    group: runAs.runAsGroup,
  };
}

/**
 * Validate a UID or GID prop.
 *
 * @internal
 */
export function checkId(prop: string, value: number | undefined, fail: (prop: string, value: unknown, fix: string) => never): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > 2147483647) {
    fail(prop, value, 'it must be a whole number from 0 to 2147483647');
  }
  if (value === 0) {
    fail(prop, value, 'UID/GID 0 is root, which the "restricted" Pod Security Standard forbids; use the non-root UID your image was built for (e.g. 1000)');
  }
}

/** The path of the pod spec inside each workload kind. */
const POD_SPEC_PATH = '/spec/template/spec';

/**
 * Pod-level hardening cdk8s-plus-28 cannot express: `seccompProfile: RuntimeDefault` on the pod.
 * The restricted standard accepts it on every container instead, but setting it on the pod also
 * covers containers added later through escape hatches. `podSpecPath` is where the kind keeps its
 * pod spec (a CronJob: `/spec/jobTemplate/spec/template/spec`).
 *
 * @internal
 */
export function hardenPod(workload: Construct, podSpecPath: string = POD_SPEC_PATH): void {
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add(`${podSpecPath}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }),
  );
}

/**
 * A small writable emptyDir for `/tmp` (and HOME where a tool needs one) under a read-only root
 * filesystem.
 *
 * @internal
 */
export function tmpVolume(scope: Construct, id: string, name: string = 'tmp'): kplus.Volume {
  return kplus.Volume.fromEmptyDir(scope, id, name, { sizeLimit: Size.mebibytes(256) });
}

/** Where the writable emptyDir is mounted; also HOME for tools that need one. */
export const TMP_PATH = '/tmp';
