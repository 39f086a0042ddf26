import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { checkDuration, checkImageReference, Fail } from './checks';
import { CONTAINERS, HISTORY_KEY } from './facts';
import { MigrationTool } from './migration-tool';
import { TMP_PATH } from './pod/pod-spec';
import { checkId, RunAsOptions, restrictedContainerSecurity } from './pod/security';
import { renderScript } from './script-file';

/** The default image of `Waiter.k8sWaitFor()`: the non-root build of groundnuty/k8s-wait-for. */
export const K8S_WAIT_FOR_IMAGE = 'groundnuty/k8s-wait-for:no-root-v2.0';
/** The UID the non-root k8s-wait-for image is built for. */
const K8S_WAIT_FOR_UID = 1100;
/**
 * The default image of `Waiter.kubectl()`, `MigrationLock.lease()` and the post-rollout waiter:
 * kubectl 1.34.1 on Alpine (busybox `sh`), a versioned tag rather than a moving one (see
 * docs/waiters.md#the-image for why this image and how to mirror it).
 */
export const KUBECTL_IMAGE = 'docker.io/alpine/kubectl:1.34.1';
/**
 * The non-root UID the kubectl containers run as (the image's own user is root; the pod's
 * securityContext overrides it).
 *
 * @internal
 */
export const KUBECTL_UID = 65532;

/**
 * Requests and limits for waiter containers: they poll or watch one object.
 *
 * @internal
 */
export const WAITER_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
  memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) },
};

/** Options for `Waiter.k8sWaitFor()`. */
export interface K8sWaitForOptions {
  /**
   * The k8s-wait-for image. Pin it by digest (`groundnuty/k8s-wait-for@sha256:…`) or point it at
   * your own mirror. It must run as a non-root UID.
   *
   * @default "groundnuty/k8s-wait-for:no-root-v2.0"
   */
  readonly image?: string;

  /**
   * UID the waiter runs as.
   *
   * @default 1100 (the UID of the no-root image)
   */
  readonly runAsUser?: number;
}

/** Options for `Waiter.kubectl()`. */
export interface KubectlWaiterOptions {
  /**
   * An image with `kubectl` and a POSIX shell (`sh`, `mkfifo`, `date`, `sleep`, `kill`, `cat`).
   *
   * @default "docker.io/alpine/kubectl:1.34.1" (a versioned tag; mirror it into your registry, see docs/waiters.md)
   */
  readonly image?: string;

  /**
   * UID the waiter runs as.
   *
   * @default 65532 (any non-root UID works; the default image needs no particular user)
   */
  readonly runAsUser?: number;

  /**
   * How long one run of the waiter waits for the Job to exist and finish before it exits non-zero.
   * The kubelet then restarts it with back-off, so a long migration delays pods, it does not break
   * them; the exit makes a stuck migration visible as `Init:Error`.
   *
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
}

/**
 * What a waiter needs to know about the release it gates.
 *
 * @internal
 */
export interface WaiterContext {
  readonly jobName: string;
  readonly serviceName: string;
  /** The release's tag, as the history records it. */
  readonly tag: string;
  /** The history ConfigMap; undefined with `MigrationHistory.none()`. */
  readonly historyName?: string;
  readonly migrationImage: string;
  readonly tool?: MigrationTool;
  readonly envFrom: kplus.EnvFrom[];
  readonly envVariables: { [name: string]: kplus.EnvValue };
  readonly migrationRunAs: RunAsOptions;
  readonly migrationHome: boolean;
  /** The migration container's resources: a schema check runs the same tool. */
  readonly migrationResources: kplus.ContainerResources;
  readonly tmpMount: kplus.VolumeMount;
  /** Writes the library's own text for the delivery target (see `DeliverySpec.ownText`). */
  readonly ownText: (text: string) => string;
}

/**
 * What a waiter adds to the Deployment.
 *
 * @internal
 */
export interface WaiterSpec {
  /** The init container that gates the service; undefined for no gate. */
  readonly container?: kplus.ContainerProps;
}

/**
 * How pods of the service wait until the migration of their version succeeded.
 *
 * Each waiter brings exactly the RBAC it needs: see docs/waiters.md for the trade-offs.
 */
export abstract class Waiter {
  /**
   * groundnuty/k8s-wait-for in `job-wr` mode (the usual waiter of the pattern written by hand): polls `kubectl describe job` every 2 s
   * and starts the service once a pod of the Job succeeded. Needs `get` on that one Job.
   *
   * Caveats: a failed Job makes it wait forever (the Deployment's progress deadline surfaces it),
   * and a deleted Job makes it crash-loop; see `Waiter.kubectl()` and `Waiter.schemaCheck()`.
   */
  public static k8sWaitFor(options: K8sWaitForOptions = {}): Waiter {
    return new K8sWaitForWaiter(options);
  }

  /**
   * The default: a small POSIX-sh script around one `kubectl get --watch` of the Job. Passes as
   * soon as the Job is Complete, exits 1 at once with the Job's reason and message when it failed,
   * and waits (up to `timeout`) while the Job does not exist or was deleted. Needs `get`, `list`
   * and `watch` on that one Job; a few API requests per run of the waiter.
   */
  public static kubectl(options: KubectlWaiterOptions = {}): Waiter {
    return new KubectlWaiter(options);
  }

  /**
   * Runs the migration tool's "fail if pending" check in the migration image with the service's
   * environment. Needs no API access and no token, and keeps working after the Job is deleted
   * (TTL, pruning). Only for tools with a real check command.
   */
  public static schemaCheck(): Waiter {
    return new SchemaCheckWaiter();
  }

  /** No gate: for delivery targets that order the rollout themselves and accept the risk. */
  public static none(): Waiter {
    return new NoWaiter();
  }

  /** The waiter's name, e.g. `k8s-wait-for`. */
  public abstract readonly kind: string;

  /**
   * Verbs the waiter needs on the one migration Job. Undefined: it does not read the Job (no API
   * access, no token, no Role), so the Job may be deleted once it finished.
   *
   * @internal
   */
  public readonly _jobVerbs?: string[];

  /**
   * Whether the waiter reads the migration history (then it needs `get` on its ConfigMap) and
   * opens the gate of a tag that already migrated without its Job.
   *
   * @internal
   */
  public readonly _readsHistory: boolean = false;

  protected constructor() {}

  /**
   * Check the waiter's options and whether it can gate this service, before any object exists;
   * `fail` names the service's construct path.
   *
   * @internal
   */
  public _check(_tool: MigrationTool | undefined, _fail: Fail): void {}

  /** @internal */
  public abstract _bind(context: WaiterContext): WaiterSpec;
}

class K8sWaitForWaiter extends Waiter {
  public readonly kind = 'k8s-wait-for';
  public readonly _jobVerbs = ['get'];
  constructor(private readonly options: K8sWaitForOptions) {
    super();
  }

  public _check(_tool: MigrationTool | undefined, fail: Fail): void {
    checkWaiterOptions('Waiter.k8sWaitFor', this.options, fail);
  }

  public _bind(context: WaiterContext): WaiterSpec {
    return {
      container: apiWaiterContainer(context, this.options.image ?? K8S_WAIT_FOR_IMAGE,
        this.options.runAsUser ?? K8S_WAIT_FOR_UID, {
          // job-wr: ready only once a pod succeeded. Plain `job` passes a Job that has not run yet.
          args: ['job-wr', context.jobName],
        }),
    };
  }
}

class KubectlWaiter extends Waiter {
  public readonly kind = 'kubectl';
  // A watch under a Role scoped by resourceNames needs get, list and watch.
  public readonly _jobVerbs = ['get', 'list', 'watch'];
  public readonly _readsHistory = true;
  constructor(private readonly options: KubectlWaiterOptions) {
    super();
  }

  public _check(_tool: MigrationTool | undefined, fail: Fail): void {
    checkWaiterOptions('Waiter.kubectl', this.options, fail);
    checkDuration('waiter (Waiter.kubectl) timeout', this.options.timeout, fail);
  }

  public _bind(context: WaiterContext): WaiterSpec {
    const timeout = this.options.timeout?.toSeconds() ?? 600;
    return {
      container: apiWaiterContainer(context, this.options.image ?? KUBECTL_IMAGE,
        this.options.runAsUser ?? KUBECTL_UID, {
          command: ['sh', '-c', KUBECTL_WAIT_SCRIPT, CONTAINERS.jobWaiter, context.jobName, `${timeout}`],
          envVariables: {
            TMPDIR: kplus.EnvValue.fromValue(TMP_PATH),
            ...context.historyName === undefined ? {} : {
              MIGRATION_HISTORY: kplus.EnvValue.fromValue(context.historyName),
              MIGRATION_TAG: kplus.EnvValue.fromValue(context.tag),
              SERVICE_NAME: kplus.EnvValue.fromValue(context.serviceName),
            },
          },
        }),
    };
  }
}

class SchemaCheckWaiter extends Waiter {
  public readonly kind = 'schema-check';

  public _check(tool: MigrationTool | undefined, fail: Fail): void {
    if (!tool) {
      fail('waiter', 'Waiter.schemaCheck()',
        'it needs migration.tool to know the check command; set migration.tool to a MigrationTool with a check ' +
        '(e.g. MigrationTool.prisma()) or MigrationTool.custom({ ..., checkCommand: [...] }), or use Waiter.kubectl()');
    }
    if (!tool.checkCommand) {
      fail('waiter', 'Waiter.schemaCheck()',
        `migration tool "${tool.name}" has no command that fails while migrations are pending; ` +
        'use Waiter.kubectl() or Waiter.k8sWaitFor(), or MigrationTool.custom({ ..., checkCommand: [...] })');
    }
  }

  public _bind(context: WaiterContext): WaiterSpec {
    // _check made sure there is a tool with a check command.
    const check = context.tool!._checkCommandFor(context.ownText)!;
    const env: { [name: string]: kplus.EnvValue } = { ...context.envVariables };
    if (context.migrationHome) {
      env.HOME = kplus.EnvValue.fromValue(TMP_PATH);
    }
    return {
      container: {
        name: CONTAINERS.schemaCheck,
        image: context.migrationImage,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: check,
        envFrom: context.envFrom,
        envVariables: env,
        volumeMounts: [context.tmpMount],
        // The check loads the same tool as the migration (npx alone peaks near 100 MiB): the
        // waiter's 128Mi limit would OOM-kill it, and the pod would never start.
        resources: context.migrationResources,
        securityContext: restrictedContainerSecurity(context.migrationRunAs),
      },
    };
  }
}

class NoWaiter extends Waiter {
  public readonly kind = 'none';
  public _bind(_context: WaiterContext): WaiterSpec {
    return {};
  }
}

/**
 * The init container of a waiter that talks to the API server: kubectl writes its cache under
 * HOME, which must be the writable /tmp under the read-only root filesystem.
 */
function apiWaiterContainer(context: WaiterContext, image: string, uid: number,
  run: Pick<kplus.ContainerProps, 'args' | 'command' | 'envVariables'>): kplus.ContainerProps {
  return {
    name: CONTAINERS.jobWaiter,
    image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: run.command,
    args: run.args,
    envVariables: { HOME: kplus.EnvValue.fromValue(TMP_PATH), ...run.envVariables },
    volumeMounts: [context.tmpMount],
    resources: WAITER_RESOURCES,
    securityContext: restrictedContainerSecurity({ runAsUser: uid, runAsGroup: uid }),
  };
}

/** The image and user every waiter of an image of its own takes. */
function checkWaiterOptions(factory: string, options: { image?: string; runAsUser?: number }, fail: Fail): void {
  checkImageReference(`waiter (${factory}) image`, options.image,
    'give a full image reference, e.g. "groundnuty/k8s-wait-for@sha256:<digest>"', fail);
  checkId(`waiter (${factory}) runAsUser`, options.runAsUser, fail);
}

/**
 * What the kubectl waiter's watch prints, one line per event:
 * `TYPE|succeeded|Complete|Failed|Failed reason|FailureTarget|FailureTarget reason|FailureTarget message|Failed message`
 * (TYPE is ADDED, MODIFIED or DELETED; a condition's field is empty when the Job has no such condition).
 * Filters, not `{range}`: with a `{range}` block kubectl 1.28 prints the first event of a watch and
 * then exits 0, printing nothing, when the Job's conditions change
 * (test/support/kubectl-recordings/watch-with-range.txt). The messages come last: they are free text.
 *
 * @internal
 */
export const KUBECTL_WATCH_JSONPATH = '{.type}|{.object.status.succeeded}'
  + '|{.object.status.conditions[?(@.type=="Complete")].status}'
  + '|{.object.status.conditions[?(@.type=="Failed")].status}'
  + '|{.object.status.conditions[?(@.type=="Failed")].reason}'
  + '|{.object.status.conditions[?(@.type=="FailureTarget")].status}'
  + '|{.object.status.conditions[?(@.type=="FailureTarget")].reason}'
  + '|{.object.status.conditions[?(@.type=="FailureTarget")].message}'
  + '|{.object.status.conditions[?(@.type=="Failed")].message}{"\\n"}';

/**
 * The kubectl waiter: `sh/wait-for-migration.sh`, whose header says what it does.
 *
 * @internal
 */
export const KUBECTL_WAIT_SCRIPT = renderScript('wait-for-migration.sh', {
  SCRIPT: CONTAINERS.jobWaiter,
  WATCH_JSONPATH: KUBECTL_WATCH_JSONPATH,
  HISTORY_KEY,
});
