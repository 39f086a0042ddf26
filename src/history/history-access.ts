import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMPONENT_LABEL, COMPONENTS } from '../facts';
import { fitName } from '../version-key';

/** Props of `MigrationHistoryAccess`. */
export interface MigrationHistoryAccessProps {
  /** The service name: names the Role (`<name>-migration-history`) and, without a lock, the ServiceAccount. */
  readonly serviceName: string;
  /** The migration Job's ServiceAccount when the lock made one; otherwise one is made here. */
  readonly serviceAccount?: kplus.ServiceAccount;
  /** Labels of the objects. */
  readonly labels: { [key: string]: string };
  /** Annotations of the objects: they must exist before a migration hook runs. */
  readonly annotations: { [key: string]: string };
  /** The history ConfigMap. */
  readonly configMapName: string;
  /** Whether the record container deletes finished Jobs beyond the limit. */
  readonly pruneJobs: boolean;
}

/**
 * What the history's containers may read and write, through the migration Jobs' ServiceAccounts:
 * `get` and `update` on the one history ConfigMap and `create` on ConfigMaps (the first record
 * creates it; the API cannot limit `create` by name), `get` and `patch` on each Job by name (a skipped run
 * annotates its Job with why), `list` on pods (the record container reads its own pod's status
 * when the migrate container ended without a word), and, when finished Jobs are pruned, `list` and
 * `delete` on Jobs. The tokens are mounted in the history's containers only.
 */
export class MigrationHistoryAccess extends Construct {
  /** The migration Job's ServiceAccount (the lock's, when there is a lock). */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The history's Role. */
  public readonly role: kplus.Role;
  /** Binds `role` to the migration's ServiceAccount (the post-rollout Job binds it in a RoleBinding of its own). */
  public readonly roleBinding: kplus.RoleBinding;

  constructor(scope: Construct, id: string, props: MigrationHistoryAccessProps) {
    super(scope, id);
    const labels = { ...props.labels, [COMPONENT_LABEL]: COMPONENTS.history };
    const metadata = (name: string) => ({ name, labels, annotations: props.annotations });
    this.serviceAccount = props.serviceAccount ?? new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: metadata(fitName(`${props.serviceName}-migration`)),
      automountToken: false,
    });
    const rbacName = fitName(`${props.serviceName}-migration-history`);
    this.role = new kplus.Role(this, 'Role', { metadata: metadata(rbacName) });
    this.role.allow(['get', 'update'], { apiGroup: '', resourceType: 'configmaps', resourceName: props.configMapName });
    this.role.allow(['create'], { apiGroup: '', resourceType: 'configmaps' });
    this.role.allow(['list'], kplus.ApiResource.PODS);
    if (props.pruneJobs) {
      this.role.allow(['list', 'delete'], kplus.ApiResource.JOBS);
    }
    this.roleBinding = new kplus.RoleBinding(this, 'RoleBinding', { metadata: metadata(rbacName), role: this.role });
    this.roleBinding.addSubjects(this.serviceAccount);
  }

  /** A Job of the service whose skipped run may annotate it (by name). */
  public allowAnnotating(jobName: string): void {
    // kubectl annotate reads the Job before it patches it.
    this.role.allow(['get', 'patch'], { apiGroup: 'batch', resourceType: 'jobs', resourceName: jobName });
  }
}
