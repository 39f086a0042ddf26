import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Delivery } from './delivery';
import { MigratedServiceError } from './errors';
import { checkCommand, MigrationTool } from './migration-tool';
import { checkId, hardenPod, restrictedContainerSecurity, RunAsOptions, TMP_PATH, tmpVolume } from './security';
import { VersionKey, isLabelValue } from './version-key';
import { Waiter } from './waiter';

/** Longest service name: leaves room in every derived name (`<name>-migrate-<hash>` ≤ 63). */
const MAX_NAME_LENGTH = 42;
/** Annotation that carries the verbatim tag (label values cannot hold every OCI tag). */
export const IMAGE_TAG_ANNOTATION = 'migrated-service.cdk8s.io/image-tag';
/** Where kubectl and client libraries look for in-cluster credentials. */
const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Lifetime of the waiter's projected token; the kubelet refreshes it before it expires. */
const WAITER_TOKEN_SECONDS = 3600;

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
   * Resources of the migration container.
   *
   * @default - cdk8s-plus defaults: cpu 1000m request / 1500m limit, memory 512Mi / 2048Mi
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Give the migration (and a schema-check waiter) `HOME=/tmp` on a writable emptyDir, for tools
   * that write to HOME under the read-only root filesystem (npm/npx does).
   *
   * @default - the tool's need (true for Prisma, Knex, TypeORM, Sequelize)
   */
  readonly writableHome?: boolean;
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

  /** The migration Job. */
  readonly migration: MigrationOptions;

  /**
   * The service name: names the Deployment, ServiceAccount, Service and Job.
   * A DNS-1035 label of at most 42 characters.
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
   * Resources of the service container.
   *
   * @default - cdk8s-plus defaults: cpu 1000m request / 1500m limit, memory 512Mi / 2048Mi
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
   * @default - a TCP probe on `port` when it is set (cdk8s-plus default: 3 failures, 10 s apart), else none
   */
  readonly startup?: kplus.Probe;

  /**
   * Extra labels for every object and pod.
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
   * The waiter gets its own token either way.
   *
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;

  /**
   * How long a rollout may make no progress before the Deployment reports
   * `ProgressDeadlineExceeded`: this is how a migration that never completes shows up.
   *
   * @default - 10 minutes, or the migration's activeDeadline plus 5 minutes if that is longer
   */
  readonly progressDeadline?: Duration;
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

  constructor(scope: Construct, id: string, props: MigratedServiceProps) {
    super(scope, id);
    const fail = (prop: string, value: unknown, fix: string): never => {
      throw new MigratedServiceError(`${prop} of MigratedService "${this.node.path}"`, value, fix);
    };
    if (!props || typeof props !== 'object') {
      fail('props', props, 'pass { image, imageTag, migration }');
    }

    // --- the one key and the names derived from it ---
    const key = VersionKey.of(props.imageTag, `imageTag of MigratedService "${this.node.path}"`);
    this.imageTag = key.value;
    this.name = props.name ?? id;
    checkName(this.name, props.name === undefined, fail);
    checkRepository('image', props.image, fail);
    if (props.migration === undefined || props.migration === null || typeof props.migration !== 'object') {
      fail('migration', props.migration, 'pass migration: { tool: MigrationTool.prisma() } or { command: [...] }');
    }
    const migration = props.migration;
    if (migration.image !== undefined) {
      checkRepository('migration.image', migration.image, fail);
      if (key.isDigest && migration.image !== props.image) {
        fail('migration.image', migration.image, `imageTag is a digest (${key.value}), which names one image in one ` +
          'repository, so a separate migration image cannot share it; tag both images with one tag instead, ' +
          'or run the migration from the service image (drop migration.image)');
      }
    }
    this.serviceImage = key.imageFor(props.image);
    this.migrationImage = key.imageFor(migration.image ?? props.image);

    const delivery = (props.delivery ?? Delivery.flux())._bind();
    const waiter = props.waiter ?? Waiter.kubectl();
    this.jobName = delivery.versionedJobName ? key.nameWithPrefix(`${this.name}-migrate`) : `${this.name}-migrate`;

    // --- validation of the rest, before anything is created ---
    const command = migration.command ?? migration.tool?.command;
    if (command === undefined) {
      fail('migration', '{ no tool, no command }',
        'set migration.tool (e.g. MigrationTool.prisma()) or migration.command (e.g. ["npm", "run", "migrate"])');
    }
    checkCommand(`migration.command of MigratedService "${this.node.path}"`, command);
    if (migration.args !== undefined) checkStrings('migration.args', migration.args, fail);
    if (props.command !== undefined) checkCommand(`command of MigratedService "${this.node.path}"`, props.command);
    if (props.args !== undefined) checkStrings('args', props.args, fail);
    checkInt('replicas', props.replicas, 0, 1000, fail);
    checkInt('port', props.port, 1, 65535, fail);
    checkInt('migration.backoffLimit', migration.backoffLimit, 0, 100, fail);
    checkId('runAsUser', props.runAsUser, fail);
    checkId('runAsGroup', props.runAsGroup, fail);
    checkId('migration.runAsUser', migration.runAsUser, fail);
    checkId('migration.runAsGroup', migration.runAsGroup, fail);
    checkId('fsGroup', props.fsGroup, fail);
    checkLabels(props.labels, fail);
    checkEnvNames(props.envVariables, fail);
    checkDuration('migration.activeDeadline', migration.activeDeadline, fail);
    checkDuration('migration.ttlAfterFinished', migration.ttlAfterFinished, fail);
    checkDuration('progressDeadline', props.progressDeadline, fail);
    if (props.serviceType !== undefined && props.port === undefined) {
      fail('serviceType', props.serviceType.toString(), 'a Service is only created when port is set; set port or drop serviceType');
    }
    if (migration.ttlAfterFinished !== undefined && (waiter.kind === 'k8s-wait-for' || waiter.kind === 'kubectl')) {
      fail('migration.ttlAfterFinished', `${migration.ttlAfterFinished.toSeconds()}s`,
        `the ${waiter.kind} waiter reads the Job, so pods started after the TTL deleted it never start ` +
        '(and Flux would re-create the Job and run the migration again); drop ttlAfterFinished ' +
        '(pruning removes old Jobs) or use waiter: Waiter.schemaCheck()');
    }

    const labels: { [key: string]: string } = {
      'app.kubernetes.io/name': this.name,
      'app.kubernetes.io/version': key.labelValue,
      'app.kubernetes.io/managed-by': 'cdk8s-migrated-service',
      ...props.labels,
    };
    const annotations = { [IMAGE_TAG_ANNOTATION]: key.value };
    const envFrom = props.envFrom ?? [];
    const envVariables = props.envVariables ?? {};
    const migrationRunAs: RunAsOptions = {
      runAsUser: migration.runAsUser ?? props.runAsUser,
      runAsGroup: migration.runAsGroup ?? props.runAsGroup,
    };
    const migrationHome = migration.writableHome ?? migration.tool?.needsWritableHome ?? false;
    const tmpMount = (volume: kplus.Volume): kplus.VolumeMount => ({ path: TMP_PATH, volume });

    // --- RBAC first: ServiceAccount, Role, RoleBinding come before the Job and the Deployment ---
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels },
      automountToken: false,
    });
    const deploymentTmp = tmpVolume(this, 'DeploymentTmp');
    const waiterSpec = waiter._bind({
      jobName: this.jobName,
      migrationImage: this.migrationImage,
      tool: migration.tool,
      envFrom,
      envVariables,
      migrationRunAs,
      migrationHome,
      tmpMount: tmpMount(deploymentTmp),
    });
    const needsApi = waiterSpec.container !== undefined && waiterSpec.jobVerbs.length > 0;
    if (needsApi) {
      this.role = new kplus.Role(this, 'Role', {
        metadata: { name: `${this.name}-migration-waiter`, labels },
      });
      this.roleBinding = new kplus.RoleBinding(this, 'RoleBinding', {
        metadata: { name: `${this.name}-migration-waiter`, labels },
        role: this.role,
      });
      this.roleBinding.addSubjects(this.serviceAccount);
    }

    // --- the migration Job ---
    const jobTmp = tmpVolume(this, 'JobTmp');
    const jobEnv: { [name: string]: kplus.EnvValue } = { ...envVariables };
    if (migrationHome) jobEnv.HOME = kplus.EnvValue.fromValue(TMP_PATH);
    this.job = new kplus.Job(this, 'Job', {
      metadata: {
        name: this.jobName,
        labels: { ...labels, 'app.kubernetes.io/component': 'migration' },
        annotations: { ...annotations, ...delivery.jobAnnotations },
      },
      podMetadata: { labels: { ...labels, 'app.kubernetes.io/component': 'migration' }, annotations },
      backoffLimit: migration.backoffLimit ?? 0,
      activeDeadline: migration.activeDeadline,
      ttlAfterFinished: migration.ttlAfterFinished,
      restartPolicy: kplus.RestartPolicy.NEVER,
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: true, fsGroup: props.fsGroup },
      dockerRegistryAuth: props.imagePullSecret,
      volumes: [jobTmp],
      containers: [{
        name: 'migrate',
        image: this.migrationImage,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command,
        args: migration.args,
        envFrom,
        envVariables: jobEnv,
        resources: migration.resources,
        volumeMounts: [tmpMount(jobTmp)],
        securityContext: restrictedContainerSecurity(migrationRunAs),
      }],
    });
    hardenPod(this.job);
    // A drained node must not fail the migration for good (backoffLimit 0 would).
    ApiObject.of(this.job).addJsonPatch(JsonPatch.add('/spec/podFailurePolicy', {
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    }));
    if (this.role) {
      this.role.allow(waiterSpec.jobVerbs, this.job);
    }
    delivery.attach?.(this.job);

    // --- the Deployment, gated by the waiter ---
    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: this.name, labels, annotations },
      podMetadata: { labels, annotations },
      replicas: props.replicas ?? 2,
      progressDeadline: props.progressDeadline ?? defaultProgressDeadline(migration.activeDeadline),
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: props.automountServiceAccountToken ?? false,
      securityContext: { ensureNonRoot: true, fsGroup: props.fsGroup },
      dockerRegistryAuth: props.imagePullSecret,
      volumes: [deploymentTmp],
      initContainers: waiterSpec.container ? [waiterSpec.container] : [],
      containers: [{
        name: 'app',
        image: this.serviceImage,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: props.command,
        args: props.args,
        portNumber: props.port,
        envFrom,
        envVariables,
        resources: props.resources,
        readiness: props.readiness,
        liveness: props.liveness,
        startup: props.startup,
        volumeMounts: [tmpMount(deploymentTmp)],
        securityContext: restrictedContainerSecurity(
          { runAsUser: props.runAsUser, runAsGroup: props.runAsGroup },
          props.readOnlyRootFilesystem ?? true),
      }],
    });
    hardenPod(this.deployment);
    if (needsApi) {
      mountWaiterToken(this.deployment);
    }
    // YAML order: ServiceAccount, Role, RoleBinding, Job, Deployment (cdk8s sorts by dependencies).
    const before = [this.serviceAccount, this.role, this.roleBinding, this.job]
      .filter((c): c is NonNullable<typeof c> => c !== undefined);
    before.slice(1).forEach((c, i) => c.node.addDependency(before[i]));
    this.deployment.node.addDependency(this.job);

    if (props.port !== undefined) {
      this.service = this.deployment.exposeViaService({
        name: this.name,
        serviceType: props.serviceType ?? kplus.ServiceType.CLUSTER_IP,
        ports: [{ port: props.port, targetPort: props.port, name: 'http' }],
      });
      this.service.metadata.addAnnotation(IMAGE_TAG_ANNOTATION, key.value);
      for (const [k, v] of Object.entries(labels)) this.service.metadata.addLabel(k, v);
    }
  }
}

/**
 * Give the waiter init container (and only it) credentials for the API server: a projected
 * service-account token, the cluster CA and the namespace, where kubectl looks for them. The pod
 * itself keeps `automountServiceAccountToken: false`. cdk8s-plus-28 has no projected volumes,
 * hence the patches (keys in the generated TypeScript spelling: `downwardApi`).
 */
function mountWaiterToken(deployment: kplus.Deployment): void {
  const volumeName = 'waiter-api-access';
  ApiObject.of(deployment).addJsonPatch(
    JsonPatch.add('/spec/template/spec/volumes/-', {
      name: volumeName,
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: WAITER_TOKEN_SECONDS } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardApi: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }),
    JsonPatch.add('/spec/template/spec/initContainers/0/volumeMounts/-', {
      name: volumeName, mountPath: SERVICE_ACCOUNT_PATH, readOnly: true,
    }),
  );
}

function defaultProgressDeadline(activeDeadline: Duration | undefined): Duration {
  const floor = 600;
  const seconds = activeDeadline ? Math.max(floor, activeDeadline.toSeconds() + 300) : floor;
  return Duration.seconds(seconds);
}

type Fail = (prop: string, value: unknown, fix: string) => never;

/** Service names must be DNS-1035 labels (a Service name must start with a letter). */
function checkName(name: string, fromId: boolean, fail: Fail): void {
  const prop = fromId ? 'name (taken from the construct id)' : 'name';
  const suggestion = String(name).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '')
    .slice(0, MAX_NAME_LENGTH).replace(/-+$/, '');
  const fix = fromId ? ` Pass name: "${suggestion || 'myapp'}" or change the id.` : '';
  if (typeof name !== 'string' || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    fail(prop, name, `it must be lowercase letters, digits and "-", start with a letter and end with a letter or digit (a DNS-1035 label).${fix}`);
  }
  if (name.length > MAX_NAME_LENGTH) {
    fail(prop, name, `it is ${name.length} characters; at most ${MAX_NAME_LENGTH} leave room for the derived names ` +
      `("<name>-migrate-<tag>" must fit in 63).${fix}`);
  }
}

/** A repository reference without tag or digest: `[host[:port]/]path`, lowercase path components. */
const REPOSITORY = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)\/)?[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

function checkRepository(prop: string, image: unknown, fail: Fail): void {
  if (typeof image !== 'string' || image.trim() === '') {
    fail(prop, image, 'pass the image repository without a tag, e.g. "registry.example.com/myapp"');
  }
  const value = image as string;
  const lastSegment = value.slice(value.lastIndexOf('/') + 1);
  if (value.includes('@')) {
    fail(prop, value, `it contains a digest; pass the repository "${value.split('@')[0]}" and put the digest in imageTag`);
  }
  if (lastSegment.includes(':')) {
    const [repo, tag] = [value.slice(0, value.lastIndexOf(':')), value.slice(value.lastIndexOf(':') + 1)];
    fail(prop, value, `it contains a tag; pass the repository "${repo}" and the tag "${tag}" as imageTag`);
  }
  if (value.length > 255 || !REPOSITORY.test(value)) {
    fail(prop, value, 'it is not a valid image repository: [host[:port]/]path with lowercase path components of ' +
      '[a-z0-9] separated by ".", "_", "__" or "-", e.g. "registry.example.com/team/myapp"');
  }
}

function checkStrings(prop: string, value: unknown, fail: Fail): void {
  if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) {
    fail(prop, value, 'pass a list of strings, e.g. ["--verbose"]');
  }
}

function checkInt(prop: string, value: number | undefined, min: number, max: number, fail: Fail): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(prop, value, `it must be a whole number from ${min} to ${max}`);
  }
}

function checkDuration(prop: string, value: Duration | undefined, fail: Fail): void {
  if (value === undefined) return;
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 1) {
    fail(prop, `${seconds}s`, 'it must be a whole number of seconds, at least 1, e.g. Duration.minutes(10)');
  }
}

/** Kubernetes accepts env var names of this shape (a C identifier plus "-" and "."). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function checkEnvNames(env: { [name: string]: kplus.EnvValue } | undefined, fail: Fail): void {
  for (const name of Object.keys(env ?? {})) {
    if (!ENV_NAME.test(name)) {
      fail('envVariables key', name, 'an environment variable name is letters, digits, "_", "-" and ".", not starting with a digit, e.g. "DATABASE_URL"');
    }
  }
}

const LABEL_KEY = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

function checkLabels(labels: { [key: string]: string } | undefined, fail: Fail): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const prefix = k.includes('/') ? k.slice(0, k.indexOf('/')) : '';
    if (!LABEL_KEY.test(k) || prefix.length > 253) {
      fail('labels key', k, 'a label key is an optional DNS prefix and "/" and a name of at most 63 characters ' +
        '([A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]), e.g. "team" or "example.com/team"');
    }
    if (typeof v !== 'string' || !isLabelValue(v)) {
      fail(`labels["${k}"]`, v, 'a label value is at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric');
    }
    if (k === 'app.kubernetes.io/name' || k === 'app.kubernetes.io/version') {
      fail('labels key', k, 'this label is set by MigratedService from name and imageTag; set those props instead');
    }
  }
}
