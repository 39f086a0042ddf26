import { ApiObject, App, Chart, Duration, JsonPatch, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { AlertOptions } from './alert-options';
import { alertGroups, AlertWorkload } from './alerts';
import { Delivery } from './delivery';
import { MigratedServiceError } from './errors';
import { apiObjectOf, applyGateEdits, editAtSynth, GATED_KINDS_TEXT, gatedKind, GateEdits, gateOwner, markGated, mountWaiterToken, rootReason, valueAt } from './gate';
import { MigrationLock, MigrationLockAccess } from './migration-lock';
import { LOCK_LABEL } from './migration-lock-script';
import { MigrationTool } from './migration-tool';
import { PostRolloutOptions, rolloutWaiter, waitForRolloutOf } from './post-rollout';
import { Fail, failFor, MigrationRun, ResolvedPostRollout, IMAGE_TAG_ANNOTATION as IMAGE_TAG_ANNOTATION_KEY, resolveProps, ResolvedProps } from './props';
import { SERVICE_RESOURCES } from './resources';
import { hardenPod, restrictedContainerSecurity, RunAsOptions, TMP_PATH, tmpVolume } from './security';
import { fitName } from './version-key';
import { Waiter, WaiterSpec } from './waiter';

export { IMAGE_TAG_ANNOTATION } from './props';

/** The volume name of the waiter's writable /tmp in a gated workload (its own `tmp` may exist). */
const GATE_TMP_VOLUME = 'migration-waiter-tmp';
/** The migration Job's container: named in the Job's failure condition. */
const MIGRATION_CONTAINER = 'migrate';

/**
 * The migration Job.
 */
export interface MigrationOptions extends RunAsOptions {
  /**
   * The migration image repository, without tag or digest: it is always tagged with `imageTag`,
   * so the migration and the service of one release can never disagree.
   *
   * @default - the service image (`image`)
   */
  readonly image?: string;

  /**
   * The migration tool preset: gives the command and, for `Waiter.schemaCheck()`, the check.
   *
   * @default - none; then `command` is required
   */
  readonly tool?: MigrationTool;

  /**
   * The command that applies the migrations. Overrides the tool's command.
   *
   * @default - the tool's command
   */
  readonly command?: string[];

  /**
   * Extra arguments appended to the command.
   *
   * @default - none
   */
  readonly args?: string[];

  /**
   * Retries before the Job fails. 0 fails fast: a failed migration is rarely fixed by re-running it.
   * Pods evicted by a node drain do not count (the Job's podFailurePolicy ignores DisruptionTarget).
   * With 0, a podFailurePolicy `FailJob` rule fails the Job at once on a non-zero exit of the
   * `migrate` container, with a condition message naming the container and the exit code; above 0
   * that rule is left out, so the retries happen.
   *
   * @default 0
   */
  readonly backoffLimit?: number;

  /**
   * Upper bound on the migration's run time (`activeDeadlineSeconds`). Killing a migration can
   * leave a tool's lock behind (Liquibase lock table, Prisma advisory lock): set it above your
   * longest migration.
   *
   * @default - no deadline; the Deployment's progress deadline reports a migration that never ends
   */
  readonly activeDeadline?: Duration;

  /**
   * Delete the finished Job after this long (`ttlSecondsAfterFinished`).
   *
   * Off by default on purpose: pods started after the deletion (scale-up, node drain, restart)
   * find no Job and crash-loop with `Waiter.k8sWaitFor()`, and under Flux the deleted Job is
   * re-created and the migration runs again. Pruning removes the previous release's Job instead.
   * Use it only with `Waiter.schemaCheck()` or `Waiter.none()`.
   *
   * @default - never deleted by TTL
   */
  readonly ttlAfterFinished?: Duration;

  /**
   * Resources of the migration container. Passing it replaces all of the defaults.
   *
   * @default - requests cpu 100m and memory 256Mi, limit memory 1024Mi, no CPU limit (docs/resources.md)
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Give the migration (and a schema-check waiter) `HOME=/tmp` on a writable emptyDir, for tools
   * that write to HOME under the read-only root filesystem (npm/npx does).
   *
   * @default - the tool's need (true for Prisma, Knex, TypeORM, Sequelize)
   */
  readonly writableHome?: boolean;

  /**
   * Clear the lock the tool leaves behind when a run is killed (Knex's `migrate:unlock`,
   * Liquibase's `release-locks`), in an init container after the migration lock and before the
   * migration. Safe only because the migration lock guarantees that no other migration of the
   * service runs at that moment: it is refused with `MigrationLock.none()`. Without it, a
   * migration killed mid-run (deadline, eviction, a pruned Job) blocks every later release until
   * someone clears the lock by hand.
   *
   * @default - true when the tool has an `unlockCommand` and the migration lock is on
   */
  readonly clearStaleToolLock?: boolean;
}

/**
 * Props of `MigratedService`.
 */
export interface MigratedServiceProps extends RunAsOptions {
  /**
   * The service image repository, without tag or digest, e.g. `registry.example.com/myapp`.
   */
  readonly image: string;

  /**
   * The one key of the release: the image tag (`v1.2.3`) or digest (`sha256:<64 hex>`). The
   * service image, the migration image, the Job name, the waiter's target and the Role's
   * `resourceNames` all derive from it.
   */
  readonly imageTag: string;

  /**
   * Accept an `imageTag` that registries conventionally move to a new image (`latest`, `stable`,
   * `main`, `master`, `edge`, `nightly`, `dev`, … compared case-insensitively). Such a tag is
   * refused by default: the Job is named after the tag, so a re-pushed `latest` keeps the Job
   * name and its migration never runs again. Set this only when every push of the tag really is
   * a new tag for your pipeline (e.g. a throwaway dev cluster that you reset). Digests are always
   * accepted.
   *
   * @default false
   */
  readonly allowMutableTag?: boolean;

  /** The migration Job. */
  readonly migration: MigrationOptions;

  /**
   * The service name: names the Deployment, ServiceAccount and Service as it is, and starts the
   * names of the Job (`<name>-migrate-<tag>`) and the Role. A DNS-1035 label of at most 63
   * characters; a derived name that would pass 63 is cut and ends in a hash of what it stands for.
   *
   * @default - the construct id
   */
  readonly name?: string;

  /**
   * Number of pods.
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * The port the service listens on. With it, a ClusterIP Service of the same name is created.
   *
   * @default - no port, no Service
   */
  readonly port?: number;

  /**
   * Service type of the Service created for `port`.
   *
   * @default ServiceType.CLUSTER_IP
   */
  readonly serviceType?: kplus.ServiceType;

  /**
   * Environment from ConfigMaps and Secrets, shared by the migration Job and the service, so both
   * talk to the same database.
   *
   * @default - none
   */
  readonly envFrom?: kplus.EnvFrom[];

  /**
   * Environment variables, shared by the migration Job and the service.
   *
   * @default - none
   */
  readonly envVariables?: { [name: string]: kplus.EnvValue };

  /**
   * How pods wait for the migration.
   *
   * @default Waiter.kubectl() (measured against Waiter.k8sWaitFor(): docs/waiters.md)
   */
  readonly waiter?: Waiter;

  /**
   * How the manifests are delivered.
   *
   * @default Delivery.flux()
   */
  readonly delivery?: Delivery;

  /**
   * The service container's command (entrypoint).
   *
   * @default - the image's entrypoint
   */
  readonly command?: string[];

  /**
   * The service container's arguments.
   *
   * @default - the image's cmd
   */
  readonly args?: string[];

  /**
   * Resources of the service container. Passing it replaces all of the defaults.
   *
   * @default - requests cpu 100m and memory 256Mi, limit memory 512Mi, no CPU limit (docs/resources.md)
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Readiness probe of the service container.
   *
   * @default - none
   */
  readonly readiness?: kplus.Probe;

  /**
   * Liveness probe of the service container.
   *
   * @default - none
   */
  readonly liveness?: kplus.Probe;

  /**
   * Startup probe of the service container.
   *
   * @default - a TCP probe on `port` when it is set, every 1 s for up to 300 failures: a service
   * gets 5 minutes to start listening and is marked started (Ready, with no readiness probe)
   * within about a second of listening; else none
   */
  readonly startup?: kplus.Probe;

  /**
   * Extra labels for every object and pod, those of workloads passed to `gate()` included (where they do not set the key).
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * Secret with registry credentials for pulling the images (`imagePullSecrets`).
   *
   * @default - none
   */
  readonly imagePullSecret?: kplus.ISecret;

  /**
   * Mount the service's root filesystem read-only. `/tmp` is always a writable emptyDir.
   *
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;

  /**
   * Pod `fsGroup`, for volumes the service must write to.
   *
   * @default - none
   */
  readonly fsGroup?: number;

  /**
   * Give the service container a token for the Kubernetes API (`automountServiceAccountToken`).
   * A waiter that reads the API (`Waiter.kubectl()`, the default) gets its own projected token
   * either way; `Waiter.schemaCheck()` and `Waiter.none()` get none, so with this false nothing
   * in the pod has a token.
   *
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;

  /**
   * A second migration of the same tag that runs only after the Deployment and every workload
   * gated with `gate()` fully rolled out to this tag (every replica updated and available, no pod
   * of another tag left): the "contract" step of an expand/contract schema change. Delivered as a
   * Helm `post-install,post-upgrade` hook, an Argo CD `PostSync` hook, or (Flux, kubectl) a Job
   * whose init container waits for the rollout; the wait runs in every target. It never runs when
   * the rollout does not complete. See docs/expand-contract.md.
   *
   * @default - no post-rollout migration
   */
  readonly postRollout?: PostRolloutOptions;

  /**
   * How the service's migrations are kept from running at the same time: overlapping releases
   * (two pipelines, a sync during a rollout, a re-created Job) migrate one after the other, in the
   * order their Jobs were created, and the post-rollout migration of one tag never overlaps the
   * migration of the next. Turn it off only where nothing can start two migrations at once (see
   * `MigrationLock.none()`).
   *
   * @default MigrationLock.lease()
   */
  readonly migrationLock?: MigrationLock;

  /**
   * How long a rollout may make no progress before the Deployment reports
   * `ProgressDeadlineExceeded`: this is how a migration that never completes shows up.
   *
   * @default - 10 minutes, or the migration's activeDeadline plus 5 minutes if that is longer
   */
  readonly progressDeadline?: Duration;

  /**
   * How the Deployment replaces old pods with new ones.
   *
   * The default starts every new pod at once, next to the old ones (`maxSurge` 100%), and stops
   * an old pod only when a new one is Ready (`maxUnavailable` 0). The new pods wait at the gate
   * while the migration runs, so they all start the moment it completes: a rollout then costs one
   * pod start beyond the migration whatever the replica count, where cdk8s-plus' default (25% /
   * 25%) starts them in waves (measured in docs/performance.md). The price is up to twice the
   * pods' requests for the length of the rollout; where the cluster cannot hold that, the extra
   * pods stay Pending until old pods go, or pass e.g.
   * `DeploymentStrategy.rollingUpdate({ maxSurge: PercentOrAbsolute.percent(25) })`.
   *
   * @default DeploymentStrategy.rollingUpdate({ maxSurge: PercentOrAbsolute.percent(100), maxUnavailable: PercentOrAbsolute.absolute(0) })
   */
  readonly strategy?: kplus.DeploymentStrategy;

  /**
   * Alerts for this release, as a `monitoring.coreos.com/v1` PrometheusRule (for the Prometheus
   * Operator / kube-prometheus-stack, reading kube-state-metrics v2.x): this tag's migration
   * failed or runs long, pods of the service or of a gated workload are held in the waiter, and
   * the same Job alerts for the post-rollout migration. See `AlertOptions` and docs/troubleshooting.md.
   *
   * @default - no PrometheusRule
   */
  readonly alerts?: AlertOptions;
}

/**
 * A database-backed service whose schema migration runs exactly once per image tag, before any
 * pod of that version starts.
 *
 * Emits, from one `imageTag`: a ServiceAccount, a Role and RoleBinding that let the waiter read
 * the one migration Job, the migration Job, and a Deployment whose init container waits until
 * that Job succeeded (plus a Service when `port` is set).
 */
export class MigratedService extends Construct {
  /** The migration Job. */
  public readonly job: kplus.Job;
  /** The service Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The service's own ServiceAccount. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The Role that lets the waiter read the Job; undefined for waiters without API access. */
  public readonly role?: kplus.Role;
  /** Binds `role` to `serviceAccount`; undefined for waiters without API access. */
  public readonly roleBinding?: kplus.RoleBinding;
  /** The Service, when `port` is set. */
  public readonly service?: kplus.Service;
  /** The name of the migration Job. */
  public readonly jobName: string;
  /** The image tag or digest every versioned part derives from. */
  public readonly imageTag: string;
  /** The service name. */
  public readonly name: string;
  /** The full service image reference. */
  public readonly serviceImage: string;
  /** The full migration image reference. */
  public readonly migrationImage: string;

  /** The post-rollout migration Job, when `postRollout` is set. */
  public readonly postRolloutJob?: kplus.Job;
  /** The name of the post-rollout Job (`<name>-post-<tag>`; `<name>-post` for hook targets). */
  public readonly postRolloutJobName?: string;
  /** The post-rollout Job's own ServiceAccount: its waiter reads workloads and pods, the service's pods must not. */
  public readonly postRolloutServiceAccount?: kplus.ServiceAccount;
  /** `get` on the service's Deployment and each gated Deployment, StatefulSet and DaemonSet; `list` on pods. */
  public readonly postRolloutRole?: kplus.Role;
  /** Binds `postRolloutRole` to `postRolloutServiceAccount`. */
  public readonly postRolloutRoleBinding?: kplus.RoleBinding;

  /** The PrometheusRule with the release's alerts, when `alerts` is set. */
  public readonly alertRule?: ApiObject;

  /**
   * The migration lock's ServiceAccount (the migration Job runs as it), Role and RoleBinding;
   * undefined with `MigrationLock.none()`.
   */
  public readonly migrationLock?: MigrationLockAccess;

  /** The validated, defaulted props. */
  private readonly resolved: ResolvedProps;
  /** Workloads whose pods wait in the waiter: the Deployment, then each gated one. */
  private readonly heldWorkloads: AlertWorkload[] = [];
  /** How many ServiceAccounts of gated workloads were bound (construct ids). */
  private gatedServiceAccounts = 0;

  constructor(scope: Construct, id: string, props: MigratedServiceProps) {
    super(scope, id);
    const r = this.resolved = resolveProps(this.node.path, id, props);
    this.imageTag = r.key.value;
    this.name = r.name;
    this.jobName = r.jobName;
    this.serviceImage = r.container.image;
    this.migrationImage = r.migration.image;

    // The Deployment's gate decides whether any RBAC is needed, so it is bound first.
    const deploymentTmp = tmpVolume(this, 'DeploymentTmp');
    const gate = this.bindWaiter(deploymentTmp);
    const needsApi = gate.jobVerbs !== undefined;

    // Built in YAML order, which cdk8s keeps: ServiceAccount, Role, RoleBinding, Job, Deployment, Service.
    this.serviceAccount = this.createServiceAccount();
    if (needsApi) {
      this.role = this.createWaiterRole();
      this.roleBinding = this.createWaiterRoleBinding(this.role);
    }
    if (r.lock) {
      this.migrationLock = new MigrationLockAccess(this, 'MigrationLock', {
        serviceName: this.name,
        leaseName: r.lock.leaseName,
        labels: r.labels,
        annotations: r.delivery.preMigrationAnnotations,
      });
    }
    this.job = this.createMigrationJob();
    if (this.role) {
      this.role.allow(gate.jobVerbs!, this.job);
    }
    r.delivery.attach?.(this.job);
    this.deployment = this.createDeployment(deploymentTmp, gate);
    markGated(ApiObject.of(this.deployment), r.path);
    if (needsApi) {
      mountWaiterToken(this.deployment, '/spec/template/spec', 0);
    }
    if (r.container.port !== undefined) {
      this.service = this.createService(r.container.port);
    }
    if (r.postRollout) {
      // After the Deployment: ServiceAccount, Role, RoleBinding, Job.
      this.postRolloutJobName = r.postRollout.jobName;
      this.postRolloutServiceAccount = this.createPostRolloutServiceAccount(r.postRollout);
      this.postRolloutRole = this.createPostRolloutRole(r.postRollout);
      this.postRolloutRoleBinding = this.createPostRolloutRoleBinding(r.postRollout, this.postRolloutRole);
      this.postRolloutJob = this.createPostRolloutJob(r.postRollout);
      this.migrationLock?.roleBinding.addSubjects(this.postRolloutServiceAccount);
    }
    this.heldWorkloads.push({ kind: 'Deployment', name: this.deployment.name });
    if (r.alerts) {
      this.alertRule = this.createAlertRule(gate.container?.name);
    }
  }

  /**
   * Hold another workload of this release until the migration of `imageTag` succeeded, as the
   * service's own Deployment is held: a worker, a consumer, a StatefulSet, a Job, a CronJob's job
   * template or a DaemonSet that talks to the same database.
   *
   * What can be gated is decided by what the workload synthesizes, not by its class: any
   * construct that is, or has as its default child (`ApiObject.of()`), an API object of kind
   * `apps/v1` Deployment, StatefulSet or DaemonSet, or `batch/v1` Job or CronJob. So a workload of
   * cdk8s-plus-28 (the library's own), of a later cdk8s-plus (`cdk8s-plus-33` and on), an imported
   * `KubeDeployment` (etc.) or a raw `ApiObject` is gated alike. The changes below are made to the
   * object's final JSON at synth, after its own patches, so they hold whatever made it.
   *
   * The workload's pods get the same waiter init container (first, before any init container of
   * their own), with the same image, the same tag-keyed Job target and the restricted security
   * context, plus pod-level `seccompProfile: RuntimeDefault` and the verbatim tag as a pod
   * annotation (so a new tag always rolls them). When the waiter reads the Job it needs a token:
   * the projected token is mounted into the init container only. Whose token: a workload with its
   * own ServiceAccount keeps it and that ServiceAccount becomes a subject of the waiter's
   * RoleBinding (read access to the one Job, nothing more); a workload without one runs under the
   * service's ServiceAccount, which has no other permission, with `automountServiceAccountToken:
   * false`, rather than binding the namespace's `default` ServiceAccount.
   *
   * The library's defaults, where the user set none (their own values are never changed):
   * - Labels: the service's `labels` (and `app.kubernetes.io/name`, `version`, `managed-by`) on
   *   the object and its pods, for keys the workload does not set. Selectors are not touched.
   * - Resources: the service container's defaults (100m CPU and 256Mi requested, 512Mi limit) for
   *   every container (init ones included) with no resources, or with exactly cdk8s-plus' own
   *   defaults (requests 1000m/512Mi, limits 1500m/2048Mi). cdk8s-plus writes those when none are
   *   given and the library cannot tell them from a choice: to keep exactly those values, set them
   *   differently (e.g. a 2049Mi limit).
   * - Pull policy: `IfNotPresent`, as for the service's own containers, for every container whose
   *   image has a tag other than `latest` or a digest and whose policy is unset or `Always`
   *   (cdk8s-plus' default, indistinguishable from a choice). An image without a tag or tagged
   *   `latest` keeps `Always`, as a node's cached copy may be stale; `Never` is kept.
   * - A writable `/tmp`: an emptyDir (256Mi) mounted at `/tmp` in every container with
   *   `readOnlyRootFilesystem: true` that mounts nothing there.
   * - The restricted standard's container rules where the container says nothing:
   *   `allowPrivilegeEscalation: false` and `capabilities.drop: [ALL]`.
   *
   * Bad input fails at once, naming what it got (construct path, apiVersion and kind): a workload
   * of another kind (a bare Pod, a ConfigMap, a construct with no API object), in another
   * namespace, gated already (by this or another MigratedService), whose pods may run as root
   * (runAsUser 0, runAsNonRoot not true, privileged), or with no ServiceAccount of its own but
   * `automountServiceAccountToken: true`. Containers added after `gate()` are checked at synth.
   *
   * @param workload a construct that synthesizes a Deployment, StatefulSet, DaemonSet, Job or CronJob of this namespace
   */
  public gate(workload: IConstruct): void {
    const r = this.resolved;
    const fail: Fail = failFor(r.path);
    const path = workload?.node?.path ?? String(workload);
    const obj = apiObjectOf(workload);
    const kind = gatedKind(workload); // undefined for anything else, undefined and null included
    if (!obj || !kind) {
      const what = obj ? `it synthesizes ${obj.apiVersion} ${obj.kind}` : 'it synthesizes no Kubernetes object (no ApiObject, itself or as its default child)';
      fail('workload of gate()', path, `${what}; only ${GATED_KINDS_TEXT} can be gated, made with cdk8s-plus of any ` +
        'version, an imported Kube* class or an ApiObject' +
        `${obj?.kind === 'Pod' ? ' (a bare Pod cannot get an init container once it runs: wrap it in a Job or Deployment)' : ''}`);
    }
    const owner = gateOwner(obj);
    if (owner !== undefined) {
      fail('workload of gate()', path, owner === r.path
        ? 'this MigratedService gates it already (its own Deployment is always gated); gate each workload once'
        : `it is gated already by MigratedService "${owner}"; a workload can wait for one migration only: ` +
          'gate it from the service whose database it uses');
    }
    const namespace = ApiObject.of(this.deployment).metadata.namespace;
    const theirs = obj.metadata.namespace;
    if (theirs !== namespace) {
      fail('workload of gate()', path, `it is in namespace ${JSON.stringify(theirs ?? null)}, the service in ` +
        `${JSON.stringify(namespace ?? null)}; the waiter reads the Job (and its Role binds) in one namespace: ` +
        'create the workload in the same chart or namespace');
    }
    const rootProblem = (podSpec: any): string | undefined => {
      const why = rootReason(podSpec);
      return why && `${why}; gated pods must pass the "restricted" Pod Security Standard: run as a non-root UID ` +
        '(cdk8s-plus: securityContext: { ensureNonRoot: true, user: 1000 }; otherwise runAsNonRoot: true and ' +
        'runAsUser: 1000 in the pod\'s or each container\'s securityContext), never privileged';
    };
    // A cdk8s-plus workload without containers yet cannot be rendered; the check at synth covers it.
    let podSpec: any;
    try {
      podSpec = valueAt(obj.toJson(), kind.podSpecPath);
    } catch {
      podSpec = undefined;
    }
    const problem = (podSpec?.containers ?? []).length > 0 ? rootProblem(podSpec) : undefined;
    if (problem) fail('workload of gate()', path, problem);

    // The waiter reads the Job (there is a RoleBinding): whose token does it get?
    const needsToken = this.roleBinding !== undefined;
    const ownServiceAccount: string | undefined = podSpec?.serviceAccountName ?? podSpec?.serviceAccount;
    if (needsToken && !ownServiceAccount && podSpec?.automountServiceAccountToken === true) {
      fail('workload of gate()', path, 'it has automountServiceAccountToken: true but no ServiceAccount of its own, so ' +
        'gating it would hand its containers the waiter\'s token; give it its own serviceAccount (it is then bound ' +
        'to the waiter\'s Role) or turn the token off');
    }

    // Valid: from here on the workload is changed.
    markGated(obj, r.path);
    const toJson = obj.toJson.bind(obj);
    workload.node.addValidation({
      validate: () => {
        const later = rootProblem(valueAt(toJson(), kind.podSpecPath));
        return later ? [new MigratedServiceError(`workload of gate() of MigratedService "${r.path}"`, path, later).message] : [];
      },
    });
    if (this.postRolloutJob && kind.rollout) {
      waitForRolloutOf(this.postRolloutJob, this.postRolloutRole!, obj.name, kind.rollout);
    }
    const edits = this.gateEdits(needsToken);
    if (edits.initContainers.length > 0) {
      this.heldWorkloads.push({ kind: obj.kind as AlertWorkload['kind'], name: obj.name });
      if (needsToken && ownServiceAccount) {
        this.roleBinding!.addSubjects(kplus.ServiceAccount.fromServiceAccountName(this,
          `GatedServiceAccount${this.gatedServiceAccounts++}`, ownServiceAccount, { namespaceName: namespace }));
      }
    }
    editAtSynth(obj, json => applyGateEdits(json, kind.podSpecPath, {
      ...edits,
      serviceAccountName: needsToken && edits.initContainers.length > 0 ? this.serviceAccount.name : undefined,
    }));
  }

  /**
   * What `gate()` adds to a workload, in the API's spelling: the waiter (rendered once by
   * cdk8s-plus-28, as for the service's own pods, then copied verbatim), its volumes, the labels,
   * the tag and the library's defaults.
   */
  private gateEdits(needsToken: boolean): GateEdits {
    const r = this.resolved;
    const scratch = new Chart(new App(), 'gate');
    const tmp = tmpVolume(scratch, 'MigrationWaiterTmp', GATE_TMP_VOLUME);
    const spec = this.bindWaiter(tmp);
    const probe = new kplus.Deployment(scratch, 'probe', {
      containers: [{ name: 'probe', image: 'probe', resources: SERVICE_RESOURCES }],
      initContainers: spec.container ? [spec.container] : [],
      volumes: [tmp],
    });
    if (spec.container && needsToken) mountWaiterToken(probe, '/spec/template/spec', 0);
    const rendered = valueAt(scratch.toJson().find((o: any) => o.kind === 'Deployment'), '/spec/template/spec');
    return {
      labels: r.labels,
      podAnnotations: { [IMAGE_TAG_ANNOTATION_KEY]: r.key.value },
      resources: rendered.containers[0].resources,
      tmpVolume: rendered.volumes.find((v: any) => v.name === GATE_TMP_VOLUME),
      initContainers: spec.container ? [rendered.initContainers[0]] : [],
      volumes: spec.container ? rendered.volumes.filter((v: any) => v.name !== GATE_TMP_VOLUME) : [],
    };
  }

  /** The waiter's init container for a pod whose writable /tmp is `tmp`. */
  private bindWaiter(tmp: kplus.Volume): WaiterSpec {
    const r = this.resolved;
    return r.waiter._bind({
      jobName: r.jobName,
      migrationImage: r.migration.image,
      tool: r.migration.tool,
      envFrom: r.envFrom,
      envVariables: r.envVariables,
      migrationRunAs: r.migration.runAs,
      migrationHome: r.migration.writableHome,
      migrationResources: r.migration.resources,
      tmpMount: tmpMount(tmp),
      ownText: r.delivery.ownText,
    });
  }

  /** The service's ServiceAccount; the pod gets no token from it (the waiter mounts its own). */
  private createServiceAccount(): kplus.ServiceAccount {
    return new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels: this.resolved.labels },
      automountToken: false,
    });
  }

  /** The waiter's Role; its one rule (the verbs the waiter needs on the one Job) follows the Job. */
  private createWaiterRole(): kplus.Role {
    return new kplus.Role(this, 'Role', {
      metadata: { name: this.waiterRbacName, labels: this.resolved.labels },
    });
  }

  private createWaiterRoleBinding(role: kplus.Role): kplus.RoleBinding {
    const binding = new kplus.RoleBinding(this, 'RoleBinding', {
      metadata: { name: this.waiterRbacName, labels: this.resolved.labels },
      role,
    });
    binding.addSubjects(this.serviceAccount);
    return binding;
  }

  private get waiterRbacName(): string {
    return fitName(`${this.name}-migration-waiter`);
  }

  /** The migration Job of this tag: runs once, fails fast, survives a node drain. */
  private createMigrationJob(): kplus.Job {
    const r = this.resolved;
    return this.createJob('Job', 'JobTmp', {
      name: r.jobName,
      component: 'migration',
      annotations: r.delivery.jobAnnotations,
      run: r.migration,
      ttlAfterFinished: r.migration.ttlAfterFinished,
      serviceAccount: this.migrationLock?.serviceAccount,
    });
  }

  /**
   * What both migration Jobs share: one run of `run` in its image, never restarted, saying why it
   * failed, in a hardened pod with the writable /tmp (and HOME there when the tool needs one),
   * after the Job's own init containers and then the migration lock.
   */
  private createJob(id: string, tmpId: string, spec: JobSpec): kplus.Job {
    const r = this.resolved;
    const run = spec.run;
    const labels: { [key: string]: string } = { ...r.labels, 'app.kubernetes.io/component': spec.component };
    if (r.lock) labels[LOCK_LABEL] = this.name;
    const tmp = tmpVolume(this, tmpId);
    const env: { [name: string]: kplus.EnvValue } = { ...r.envVariables };
    if (run.writableHome) env.HOME = kplus.EnvValue.fromValue(TMP_PATH);
    const initContainers = spec.initContainers?.(tmpMount(tmp)) ?? [];
    const needToken = [...spec.tokenFor ?? []];
    if (r.lock) {
      needToken.push(initContainers.length);
      initContainers.push(r.lock.container(run.activeDeadline?.toSeconds() ?? 0, tmpMount(tmp)));
    }
    if (run.unlockCommand) {
      // Under the lock, before the run: the tool's own lock left by a killed run is stale.
      initContainers.push({ ...runContainer(r, run, env, tmp), name: 'clear-tool-lock', command: run.unlockCommand, args: undefined });
    }
    const job = new kplus.Job(this, id, {
      metadata: {
        name: spec.name,
        labels,
        annotations: { ...r.annotations, ...spec.annotations },
      },
      podMetadata: { labels, annotations: r.annotations },
      backoffLimit: run.backoffLimit,
      activeDeadline: run.activeDeadline,
      ttlAfterFinished: spec.ttlAfterFinished,
      restartPolicy: kplus.RestartPolicy.NEVER,
      serviceAccount: spec.serviceAccount,
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: true, fsGroup: r.fsGroup },
      dockerRegistryAuth: r.imagePullSecret,
      initContainers,
      containers: [runContainer(r, run, env, tmp)],
    });
    hardenPod(job);
    sayWhyOnFailure(job, MIGRATION_CONTAINER, run.backoffLimit);
    if (needToken.length > 0) mountWaiterToken(job, '/spec/template/spec', ...needToken);
    return job;
  }

  /** The service Deployment, gated by the waiter's init container. */
  private createDeployment(tmp: kplus.Volume, gate: WaiterSpec): kplus.Deployment {
    const r = this.resolved;
    const c = r.container;
    const selector = serverSelector(this.name);
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: this.name, labels: r.labels, annotations: r.annotations },
      podMetadata: { labels: { ...r.labels, ...selector }, annotations: r.annotations },
      // Not cdk8s' default (a cdk8s.io/metadata.addr label from the construct path): renaming a
      // construct id would change the selector, which Kubernetes refuses on an existing Deployment.
      select: false,
      replicas: r.replicas,
      progressDeadline: r.progressDeadline,
      strategy: r.strategy,
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: r.automountServiceAccountToken,
      securityContext: { ensureNonRoot: true, fsGroup: r.fsGroup },
      dockerRegistryAuth: r.imagePullSecret,
      initContainers: gate.container ? [gate.container] : [],
      containers: [{
        name: 'app',
        image: c.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: c.command,
        args: c.args,
        portNumber: c.port,
        envFrom: r.envFrom,
        envVariables: r.envVariables,
        resources: c.resources,
        readiness: c.readiness,
        liveness: c.liveness,
        startup: c.startup,
        volumeMounts: [tmpMount(tmp)],
        securityContext: restrictedContainerSecurity(c.runAs, c.readOnlyRootFilesystem),
      }],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selector }));
    hardenPod(deployment);
    return deployment;
  }

  /** The post-rollout Job's own ServiceAccount: the service's pods get none of its read access. */
  private createPostRolloutServiceAccount(p: ResolvedPostRollout): kplus.ServiceAccount {
    return new kplus.ServiceAccount(this, 'PostRolloutServiceAccount', {
      metadata: { name: p.rbacName, labels: this.resolved.labels },
      automountToken: false,
    });
  }

  /**
   * What the rollout wait reads: each rolling workload by name, and the pod list of the namespace
   * (a label selector cannot be limited by name) to see that no pod of another tag is left.
   */
  private createPostRolloutRole(p: ResolvedPostRollout): kplus.Role {
    const role = new kplus.Role(this, 'PostRolloutRole', { metadata: { name: p.rbacName, labels: this.resolved.labels } });
    role.allow(['get'], this.deployment);
    role.allow(['list'], kplus.ApiResource.PODS);
    return role;
  }

  private createPostRolloutRoleBinding(p: ResolvedPostRollout, role: kplus.Role): kplus.RoleBinding {
    const binding = new kplus.RoleBinding(this, 'PostRolloutRoleBinding', {
      metadata: { name: p.rbacName, labels: this.resolved.labels },
      role,
    });
    binding.addSubjects(this.postRolloutServiceAccount!);
    return binding;
  }

  /** The post-rollout Job: waits for the rollout of this tag, then runs the contract migration. */
  private createPostRolloutJob(p: ResolvedPostRollout): kplus.Job {
    const r = this.resolved;
    const job = this.createJob('PostRolloutJob', 'PostRolloutTmp', {
      name: p.jobName,
      component: 'post-rollout-migration',
      annotations: r.delivery.postRolloutAnnotations,
      run: p,
      serviceAccount: this.postRolloutServiceAccount,
      initContainers: tmp => [rolloutWaiter(p.waiterImage, p.waiterRunAsUser, r.key.value, p.rolloutTimeoutSeconds,
        `deployment/${this.name}`, tmp)],
      tokenFor: [0],
    });
    return job;
  }

  /** The PrometheusRule; its rules are rendered at synth, so workloads gated later are in them. */
  private createAlertRule(waiterContainer: string | undefined): ApiObject {
    const r = this.resolved;
    const namespace = ApiObject.of(this.deployment).metadata.namespace;
    return new ApiObject(this, 'AlertRule', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: fitName(`${this.name}-migration-alerts`), labels: { ...r.labels, ...r.alerts!.ruleLabels } },
      spec: {
        groups: Lazy.any({
          produce: () => alertGroups(r.alerts!, {
            namespace,
            service: this.name,
            tag: r.key.value,
            jobName: r.jobName,
            waiterContainer,
            workloads: this.heldWorkloads,
            postRolloutJobName: r.postRollout?.jobName,
          }, r.delivery.ownText),
        }),
      },
    });
  }

  private createService(port: number): kplus.Service {
    const r = this.resolved;
    const service = this.deployment.exposeViaService({
      name: this.name,
      serviceType: r.serviceType,
      ports: [{ port, targetPort: port, name: 'http' }],
    });
    // exposeViaService selects the pods by cdk8s' construct-path label; select by the
    // Deployment's own (stable) selector instead.
    ApiObject.of(service).addJsonPatch(JsonPatch.replace('/spec/selector', serverSelector(this.name)));
    service.metadata.addAnnotation(IMAGE_TAG_ANNOTATION_KEY, r.key.value);
    for (const [k, v] of Object.entries(r.labels)) service.metadata.addLabel(k, v);
    return service;
  }
}

/**
 * The Deployment's selector (and its Service's): from the service name only, so it survives a
 * renamed construct id. The component keeps the migration Job's pods (same name label) out.
 */
function serverSelector(name: string): { [key: string]: string } {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'server' };
}

/**
 * A failed migration says why where people look first. The container keeps the end of its log as
 * its termination message (`FallbackToLogsOnError`: shown by `kubectl describe pod` and in the
 * pod status, after the pod's logs are gone). The podFailurePolicy ignores pods killed by a node
 * drain (`DisruptionTarget`), so backoffLimit 0 does not fail the migration for good; and, when no
 * retries were asked for, fails the Job at once on a non-zero exit of `container`, with a condition
 * message that names the container and the exit code (reason `PodFailurePolicy`). With
 * `backoffLimit` above 0 that rule would cancel the retries, so it is left out.
 *
 * cdk8s-plus-28 has neither field: patches, in the generated TypeScript spelling.
 */
function sayWhyOnFailure(job: kplus.Job, container: string, backoffLimit: number): void {
  const rules: object[] = [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }];
  if (backoffLimit === 0) {
    // onPodConditions: [] because the 1.26-1.28 OpenAPI schema marks it required (kubectl's client-side
    // validation and offline schema checkers refuse the rule without it); the API server accepts both.
    rules.push({ action: 'FailJob', onExitCodes: { containerName: container, operator: 'NotIn', values: [0] }, onPodConditions: [] });
  }
  ApiObject.of(job).addJsonPatch(
    JsonPatch.add('/spec/template/spec/containers/0/terminationMessagePolicy', 'FallbackToLogsOnError'),
    JsonPatch.add('/spec/podFailurePolicy', { rules }),
  );
}

/** The container that runs `run`'s command in its image, with the service's environment. */
function runContainer(r: ResolvedProps, run: MigrationRun, env: { [name: string]: kplus.EnvValue }, tmp: kplus.Volume): kplus.ContainerProps {
  return {
    name: MIGRATION_CONTAINER,
    image: run.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: run.command,
    args: run.args,
    envFrom: r.envFrom,
    envVariables: env,
    resources: run.resources,
    volumeMounts: [tmpMount(tmp)],
    securityContext: restrictedContainerSecurity(run.runAs),
  };
}

function tmpMount(volume: kplus.Volume): kplus.VolumeMount {
  return { path: TMP_PATH, volume };
}

/** What differs between the migration Job and the post-rollout Job. */
interface JobSpec {
  readonly name: string;
  /** Its `app.kubernetes.io/component` label. */
  readonly component: string;
  /** The delivery target's annotations for this Job (hooks, sync waves). */
  readonly annotations: { [key: string]: string };
  readonly run: MigrationRun;
  readonly ttlAfterFinished?: Duration;
  /** Only a Job whose init containers use the API has one: its token is mounted in those alone. */
  readonly serviceAccount?: kplus.IServiceAccount;
  readonly initContainers?: (tmp: kplus.VolumeMount) => kplus.ContainerProps[];
  /** Indices of the init containers above that get a token. */
  readonly tokenFor?: number[];
}
