import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ResolvedPostRollout } from './resolve';
import { rolloutWaiter } from './rollout-wait';
import { COMPONENTS } from '../facts';
import { POD_SPEC_PATH } from '../pod/pod-spec';
import { createMigrationJob, ReleasePod } from '../run/job';
import { fitName } from '../version-key';

/**
 * What the post-rollout migration is built from.
 *
 * @internal
 */
export interface PostRolloutMigrationProps {
  readonly run: ResolvedPostRollout;
  readonly pod: ReleasePod;
  /** The release's tag, which the rollout wait looks for on each workload and pod. */
  readonly tag: string;
  /** The delivery target's annotations for the Job (a hook after the release, or its own). */
  readonly annotations: { [key: string]: string };
  /** The service's Deployment: the first workload whose rollout it waits for. */
  readonly deployment: kplus.Deployment;
  /**
   * Roles of the release this Job also needs (the lock's, the history's), by the suffix of the
   * RoleBinding that binds each to its ServiceAccount.
   */
  readonly sharedRoles: { [suffix: string]: kplus.Role };
}

/**
 * The post-rollout migration of a release: its own ServiceAccount (the service's pods get none of
 * its read access), a Role that reads each rolling workload by name and lists pods, their binding,
 * and the Job that waits for the rollout of the tag, then runs the contract migration.
 *
 * @internal
 */
export class PostRolloutMigration extends Construct {
  public readonly serviceAccount: kplus.ServiceAccount;
  /** `get` on the service's Deployment and each gated Deployment, StatefulSet and DaemonSet; `list` on pods. */
  public readonly role: kplus.Role;
  public readonly roleBinding: kplus.RoleBinding;
  /**
   * Its bindings to the release's shared Roles, by suffix. Its own, not subjects added to the
   * Roles' bindings: the next release may drop the post-rollout migration and rewrite those
   * bindings while this Job still runs.
   */
  public readonly sharedRoleBindings: { [suffix: string]: kplus.RoleBinding } = {};
  public readonly job: kplus.Job;
  public readonly jobName: string;

  constructor(scope: Construct, id: string, props: PostRolloutMigrationProps) {
    super(scope, id);
    const { run, pod } = props;
    this.jobName = run.jobName;
    const metadata = { name: run.rbacName, labels: pod.labels };
    // In YAML order: ServiceAccount, Role, RoleBinding, Job.
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    // Pods by list: a label selector cannot be limited by name.
    this.role = new kplus.Role(this, 'Role', { metadata });
    this.role.allow(['get'], props.deployment);
    this.role.allow(['list'], kplus.ApiResource.PODS);
    this.roleBinding = new kplus.RoleBinding(this, 'RoleBinding', { metadata, role: this.role });
    this.roleBinding.addSubjects(this.serviceAccount);
    for (const [suffix, role] of Object.entries(props.sharedRoles)) {
      const name = fitName(`${run.rbacName}-${suffix}`);
      const binding = new kplus.RoleBinding(this, `RoleBinding-${suffix}`, { metadata: { ...metadata, name }, role });
      binding.addSubjects(this.serviceAccount);
      this.sharedRoleBindings[suffix] = binding;
    }
    this.job = createMigrationJob(this, 'Job', {
      name: run.jobName,
      component: COMPONENTS.postRollout,
      step: 'contracted',
      annotations: props.annotations,
      run,
      serviceAccount: this.serviceAccount,
      initContainers: tmp => [rolloutWaiter(run.waiterImage, run.waiterRunAsUser, props.tag, run.rolloutTimeoutSeconds,
        `deployment/${props.deployment.name}`, tmp)],
      tokenFor: [0],
      tmpId: 'Tmp',
    }, pod);
  }

  /**
   * Wait for one more workload's rollout: its `kind/name` to the waiter's arguments, and `get` on
   * it (by name) to the Role.
   *
   * @param kind the kind as kubectl spells it: `deployment`, `statefulset` or `daemonset`
   */
  public waitForRolloutOf(kind: string, name: string): void {
    ApiObject.of(this.job).addJsonPatch(JsonPatch.add(`${POD_SPEC_PATH}/initContainers/0/command/-`, `${kind}/${name}`));
    this.role.allow(['get'], { apiGroup: 'apps', resourceType: `${kind}s`, resourceName: name });
  }
}
