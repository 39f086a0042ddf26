import { ApiObject, JsonPatch, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { alertGroups, AlertWorkload } from './alerts/alerts';
import { COMPONENT_LABEL, COMPONENTS, IMAGE_TAG_ANNOTATION, NAME_LABEL, POST_ROLLOUT_JOB_ANNOTATION } from './facts';
import { ReleaseGate } from './gate/gate';
import { markGated } from './gate/gated-kind';
import { MigrationHistoryAccess } from './history/history-access';
import { MigrationLockAccess } from './lock/migration-lock';
import { MigratedServiceProps } from './migrated-service-props';
import { hardenPod, mountApiToken, POD_SPEC_PATH, tmpMount, tmpVolume } from './pod/pod-spec';
import { restrictedContainerSecurity } from './pod/security';
import { PostRolloutMigration } from './post-rollout/post-rollout-migration';
import { ReleaseClaims } from './release-claims';
import { resolveProps, ResolvedProps } from './resolve';
import { createMigrationJob, ReleasePod } from './run/job';
import { fitName } from './version-key';
import { WaiterSpec } from './waiter';


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

  /**
   * The migration history's Role and RoleBinding (and the migration's ServiceAccount when there is
   * no lock); undefined with `MigrationHistory.none()`.
   */
  public readonly migrationHistory?: MigrationHistoryAccess;

  /** The validated, defaulted props. */
  private readonly resolved: ResolvedProps;
  /** What every pod of the release shares: labels, tag annotation, environment, the lock. */
  private readonly releasePod: ReleasePod;
  /** The post-rollout migration, when `postRollout` is set. */
  private readonly postRolloutMigration?: PostRolloutMigration;
  /** Workloads whose pods wait in the waiter: the Deployment, then each gated one. */
  private readonly heldWorkloads: AlertWorkload[] = [];
  /** Holds other workloads of the release: `gate()`. */
  private readonly releaseGate: ReleaseGate;

  constructor(scope: Construct, id: string, props: MigratedServiceProps) {
    super(scope, id);
    const r = this.resolved = resolveProps(this.node.path, id, props);
    this.imageTag = r.key.value;
    this.name = r.name;
    this.jobName = r.jobName;
    this.serviceImage = r.container.image;
    this.migrationImage = r.migration.image;
    this.releasePod = {
      serviceName: r.name,
      labels: r.labels,
      annotations: r.annotations,
      envFrom: r.envFrom,
      envVariables: r.envVariables,
      fsGroup: r.fsGroup,
      imagePullSecret: r.imagePullSecret,
      lock: r.lock,
      history: r.history,
      tag: r.key.value,
    };
    const jobVerbs = r.waiter._jobVerbs;

    // Built in YAML order, which cdk8s keeps: ServiceAccount, Role, RoleBinding, Job, Deployment, Service.
    const deploymentTmp = tmpVolume(this, 'DeploymentTmp');
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels: r.labels },
      automountToken: false, // the pods get no token from it; the waiter mounts its own
    });
    if (jobVerbs) {
      const metadata = { name: fitName(`${this.name}-migration-waiter`), labels: r.labels };
      this.role = new kplus.Role(this, 'Role', { metadata });
      this.roleBinding = new kplus.RoleBinding(this, 'RoleBinding', { metadata, role: this.role });
      this.roleBinding.addSubjects(this.serviceAccount);
    }
    if (r.lock) {
      this.migrationLock = new MigrationLockAccess(this, 'MigrationLock', {
        serviceName: this.name,
        leaseName: r.lock.leaseName,
        labels: r.labels,
        annotations: r.delivery.preMigrationAnnotations,
      });
    }
    if (r.history) {
      this.migrationHistory = new MigrationHistoryAccess(this, 'MigrationHistory', {
        serviceName: this.name,
        serviceAccount: this.migrationLock?.serviceAccount,
        labels: r.labels,
        annotations: r.delivery.preMigrationAnnotations,
        configMapName: r.history.configMapName,
        pruneJobs: r.history.jobHistoryLimit !== undefined,
      });
      this.migrationHistory.allowAnnotating(r.jobName);
    }
    this.job = createMigrationJob(this, 'Job', {
      name: r.jobName,
      component: COMPONENTS.migration,
      step: 'migrated',
      annotations: r.delivery.jobAnnotations,
      run: r.migration,
      ttlAfterFinished: r.migration.ttlAfterFinished,
      serviceAccount: this.migrationHistory?.serviceAccount ?? this.migrationLock?.serviceAccount,
      tmpId: 'JobTmp',
    }, this.releasePod);
    // The waiter's rules: the verbs it needs on this Job, by name, and reading the history.
    if (this.role && jobVerbs) this.role.allow(jobVerbs, this.job);
    if (this.role && r.history && r.waiter._readsHistory) {
      this.role.allow(['get'], { apiGroup: '', resourceType: 'configmaps', resourceName: r.history.configMapName });
    }
    r.delivery.attach?.(this.job);
    const waiter = this.bindWaiter(deploymentTmp);
    this.deployment = this.createDeployment(deploymentTmp, waiter);
    markGated(ApiObject.of(this.deployment), r.path);
    if (jobVerbs) mountApiToken(this.deployment, POD_SPEC_PATH, 0);
    if (r.container.port !== undefined) {
      this.service = this.createService(r.container.port);
    }
    if (r.postRollout) {
      const post = this.postRolloutMigration = new PostRolloutMigration(this, 'PostRollout', {
        run: r.postRollout,
        pod: this.releasePod,
        tag: r.key.value,
        annotations: r.delivery.postRolloutAnnotations,
        deployment: this.deployment,
        sharedRoles: {
          ...this.migrationLock && { lock: this.migrationLock.role },
          ...this.migrationHistory && { history: this.migrationHistory.role },
        },
      });
      this.postRolloutJob = post.job;
      this.postRolloutJobName = post.jobName;
      // The object's metadata only (its pods do not roll): the status command expects this Job.
      ApiObject.of(this.deployment).metadata.addAnnotation(POST_ROLLOUT_JOB_ANNOTATION, post.jobName);
      this.postRolloutServiceAccount = post.serviceAccount;
      this.postRolloutRole = post.role;
      this.postRolloutRoleBinding = post.roleBinding;
      this.migrationHistory?.allowAnnotating(post.jobName);
    }
    this.heldWorkloads.push({ kind: 'Deployment', name: this.deployment.name });
    if (r.alerts) {
      this.alertRule = this.createAlertRule(waiter.container?.name);
    }
    this.releaseGate = new ReleaseGate(this, 'Gate', {
      servicePath: r.path,
      serviceName: r.name,
      serviceAccountName: this.serviceAccount.name,
      namespace: ApiObject.of(this.deployment).metadata.namespace,
      waiterRoleBinding: this.roleBinding,
      postRollout: this.postRolloutMigration,
      labels: r.labels,
      podAnnotations: r.annotations,
      progressDeadlineSeconds: r.progressDeadline.toSeconds(),
      waiter: tmp => this.bindWaiter(tmp),
      onHeld: (kind, name) => this.heldWorkloads.push({ kind, name }),
    });
    // Last: every object of the service exists, so a clash with another service is seen whole.
    ReleaseClaims.of(this.node.root).claim(this, this.name);
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
   *   the object, a CronJob's Job template and the pods, for keys the workload does not set. Selectors are not touched.
   *   Always, on the object itself only (not its pods, so it rolls nothing):
   *   `migrated-service.cdk8s.io/gated-by: <service name>`, by which the status command finds it.
   * - Progress deadline (a Deployment): the service's `progressDeadline` (by default derived from
   *   the migration's `activeDeadline`), so that pods held while a long migration runs do not
   *   make the worker look failed (and fail a post-rollout migration that waits for it). A
   *   deadline of exactly 600 s counts as unset: it is what cdk8s-plus writes when none is given
   *   (and Kubernetes' own default); to keep exactly 600 s while the service's differs, set e.g. 601 s.
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
    this.releaseGate.gate(workload);
  }

  /** The waiter's init container for a pod whose writable /tmp is `tmp`. */
  private bindWaiter(tmp: kplus.Volume): WaiterSpec {
    const r = this.resolved;
    return r.waiter._bind({
      jobName: r.jobName,
      serviceName: r.name,
      tag: r.key.value,
      historyName: r.history?.configMapName,
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
    service.metadata.addAnnotation(IMAGE_TAG_ANNOTATION, r.key.value);
    for (const [k, v] of Object.entries(r.labels)) service.metadata.addLabel(k, v);
    return service;
  }
}

/**
 * The Deployment's selector (and its Service's): from the service name only, so it survives a
 * renamed construct id. The component keeps the migration Job's pods (same name label) out.
 */
function serverSelector(name: string): { [key: string]: string } {
  return { [NAME_LABEL]: name, [COMPONENT_LABEL]: COMPONENTS.server };
}
