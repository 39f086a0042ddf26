import * as kplus from 'cdk8s-plus-28';

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

/**
 * Why the pods of a synthesized workload could run as root, or undefined when they cannot: the
 * first container (init or regular) that is privileged, runs as UID 0, or is not forced non-root
 * (its own `runAsNonRoot`, else the pod's, must be true).
 *
 * @internal
 */
export function rootReason(podSpec: any): string | undefined {
  const pod = podSpec.securityContext ?? {};
  if (pod.runAsUser === 0) return 'the pod securityContext has runAsUser: 0';
  for (const c of [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) return `container "${c.name}" is privileged`;
    if (sc.runAsUser === 0) return `container "${c.name}" has runAsUser: 0`;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) {
      return `container "${c.name}" has runAsNonRoot: ${JSON.stringify(sc.runAsNonRoot ?? pod.runAsNonRoot ?? null)}`;
    }
  }
  return undefined;
}
