import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkImageReference, Fail } from '../checks';
import { COMPONENT_LABEL, COMPONENTS, CONTAINERS } from '../facts';
import { MIGRATION_LOCK_SCRIPT } from './migration-lock-script';
import { TMP_PATH } from '../pod/pod-spec';
import { checkId, restrictedContainerSecurity } from '../pod/security';
import { fitName } from '../version-key';
import { KUBECTL_IMAGE, KUBECTL_UID } from '../waiter';

/**
 * The lock container's requests and limits: a few kubectl runs and one watch. No CPU limit:
 * kubectl's start-up is CPU-bound, and a throttled start is time added to every release.
 *
 * @internal
 */
export const LOCK_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) },
};

/** Options for `MigrationLock.lease()`. */
export interface LeaseMigrationLockOptions {
  /**
   * An image with `kubectl` and a POSIX shell (`sh`, `mkfifo`, `date`, `sleep`, `kill`, `expr`),
   * as for `Waiter.kubectl()`. Mirror it into your registry and pin it (docs/waiters.md#the-image).
   *
   * @default "docker.io/alpine/kubectl:1.34.1"
   */
  readonly image?: string;

  /**
   * UID the lock container runs as.
   *
   * @default 65532 (any non-root UID works; the default image needs no particular user)
   */
  readonly runAsUser?: number;
}

/**
 * What the lock adds to a migration Job.
 *
 * @internal
 */
export interface MigrationLockSpec {
  /** The Lease that serializes the service's migrations. */
  readonly leaseName: string;
  /** The lock container's image and UID (the history's record container uses them too). */
  readonly image: string;
  readonly uid: number;
  /** The init container for a Job with this activeDeadline (0: none), writable /tmp at `tmp`. */
  container(deadlineSeconds: number, tmp: kplus.VolumeMount): kplus.ContainerProps;
}

/**
 * How the migrations of one service are kept from running at the same time.
 *
 * Release pipelines overlap (two CI runs, an Argo CD sync during a rollout, Flux re-creating a
 * Job), and most migration tools take no lock of their own or fail the second run at once. The
 * lock makes the library's guarantee independent of delivery target and tool: see
 * docs/migration-tools.md for what each tool does on its own.
 */
export abstract class MigrationLock {
  /**
   * The default: each migration Job (and the post-rollout Job) starts with an init container that
   * takes the service's Lease (`<name>-migration-lock`) before the migration container runs.
   * Migrations run one at a time, in the order their Jobs were created (creationTimestamp, then
   * name); a migration holds the lock while any pod of its Job is not finished, terminating pods
   * included, so a killed, failed or deleted migration never blocks the next one. While waiting it
   * holds one watch on the service's migration pods (no polling), and it gives up 10 s before the
   * Job's `activeDeadline`.
   *
   * It needs, through the Job's own ServiceAccount (`<name>-migration`) and a Role: `list` on
   * leases, jobs and pods (it reads all three in one kubectl run, by its label), `watch` on pods,
   * `update` on that one Lease, and `create` on leases (the API cannot limit `list` or `create`
   * by name). Only the lock container gets a token.
   */
  public static lease(options: LeaseMigrationLockOptions = {}): MigrationLock {
    return new LeaseMigrationLock(options);
  }

  /**
   * No lock. Safe only when nothing can start two migrations of the service at once: a single
   * release pipeline that waits for each release (`helm upgrade --wait`, one CI job at a time),
   * and a migration tool that waits for its own lock rather than failing (golang-migrate,
   * Flyway, Liquibase). Most tools take no lock at all (Django, Alembic, TypeORM, sequelize,
   * dbmate): see docs/migration-tools.md.
   */
  public static none(): MigrationLock {
    return new NoMigrationLock();
  }

  /** `lease` or `none`. */
  public abstract readonly kind: string;

  protected constructor() {}

  /**
   * The lock of service `serviceName`, after checking its options (`fail` names the service).
   *
   * @internal
   */
  public abstract _bind(serviceName: string, fail: Fail): MigrationLockSpec | undefined;
}

class LeaseMigrationLock extends MigrationLock {
  public readonly kind = 'lease';

  constructor(private readonly options: LeaseMigrationLockOptions) {
    super();
  }

  public _bind(serviceName: string, fail: Fail): MigrationLockSpec {
    checkImageReference('migrationLock (MigrationLock.lease) image', this.options.image,
      'give a full image reference with kubectl and sh, e.g. "registry.example.com/mirror/kubectl:1.34.1"', fail);
    checkId('migrationLock (MigrationLock.lease) runAsUser', this.options.runAsUser, fail);
    const leaseName = lockLeaseName(serviceName);
    const image = this.options.image ?? KUBECTL_IMAGE;
    const uid = this.options.runAsUser ?? KUBECTL_UID;
    return {
      leaseName,
      image,
      uid,
      container: (deadlineSeconds, tmp) => ({
        name: CONTAINERS.lock,
        image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['sh', '-c', MIGRATION_LOCK_SCRIPT, CONTAINERS.lock, serviceName, leaseName, `${deadlineSeconds}`],
        envVariables: {
          HOME: kplus.EnvValue.fromValue(TMP_PATH),
          TMPDIR: kplus.EnvValue.fromValue(TMP_PATH),
          JOB_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_LABEL, { key: 'job-name' }),
          JOB_UID: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_LABEL, { key: 'controller-uid' }),
        },
        volumeMounts: [tmp],
        resources: LOCK_RESOURCES,
        securityContext: restrictedContainerSecurity({ runAsUser: uid, runAsGroup: uid }),
      }),
    };
  }
}

class NoMigrationLock extends MigrationLock {
  public readonly kind = 'none';
  public _bind(_serviceName: string): undefined {
    return undefined;
  }
}

/**
 * The Lease of a service's migration lock.
 *
 * @internal
 */
export function lockLeaseName(serviceName: string): string {
  return fitName(`${serviceName}-migration-lock`);
}

/** Props of `MigrationLockAccess`. */
export interface MigrationLockAccessProps {
  /** The service name: names the ServiceAccount (`<name>-migration`) and the Role. */
  readonly serviceName: string;
  /** The Lease the lock takes. */
  readonly leaseName: string;
  /** Labels of the three objects. */
  readonly labels: { [key: string]: string };
  /** Annotations of the three objects: they must exist before a migration hook runs. */
  readonly annotations: { [key: string]: string };
}

/**
 * What the lock container may read and write, through the migration Job's own ServiceAccount:
 * the least that works (`kubectl auth can-i` checks it in test/e2e/lock.test.ts).
 */
export class MigrationLockAccess extends Construct {
  /** The migration Job's ServiceAccount. It mounts no token; the lock container gets its own. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The lock's Role. */
  public readonly role: kplus.Role;
  /** Binds `role` to the migration's ServiceAccount (the post-rollout Job binds it in a RoleBinding of its own). */
  public readonly roleBinding: kplus.RoleBinding;

  constructor(scope: Construct, id: string, props: MigrationLockAccessProps) {
    super(scope, id);
    const labels = { ...props.labels, [COMPONENT_LABEL]: COMPONENTS.lock };
    const metadata = (name: string) => ({ name, labels, annotations: props.annotations });
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: metadata(fitName(`${props.serviceName}-migration`)),
      automountToken: false,
    });
    const rbacName = fitName(`${props.serviceName}-migration-lock`);
    this.role = new kplus.Role(this, 'Role', { metadata: metadata(rbacName) });
    // A label selector cannot be limited by name: list on leases, jobs and pods, watch on pods.
    // (list on leases rather than get on the one Lease: the lease, jobs and pods are read in one
    // kubectl run, a kubectl start-up less per attempt; docs/migration-tools.md weighs what it shows.)
    this.role.allow(['list'], kplus.ApiResource.JOBS);
    this.role.allow(['list', 'watch'], kplus.ApiResource.PODS);
    this.role.allow(['update'], { apiGroup: 'coordination.k8s.io', resourceType: 'leases', resourceName: props.leaseName });
    // The first migration creates the Lease; create cannot be limited by name.
    this.role.allow(['create', 'list'], { apiGroup: 'coordination.k8s.io', resourceType: 'leases' });
    this.roleBinding = new kplus.RoleBinding(this, 'RoleBinding', { metadata: metadata(rbacName), role: this.role });
    this.roleBinding.addSubjects(this.serviceAccount);
  }
}
