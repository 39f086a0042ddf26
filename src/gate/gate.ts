/**
 * `MigratedService.gate()`: checks that a workload can be gated, then holds its pods in the
 * service's waiter, wires the RBAC its waiter needs and the post-rollout migration's wait for its
 * rollout.
 */
import { App, ApiObject, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { applyGateEdits, editAtSynth, GateEdits } from './gate-edits';
import { apiObjectOf, GATED_KINDS_TEXT, gatedKind, GatedKind, GatedKindName, gateOwner, markGated } from './gated-kind';
import { failFor } from '../checks';
import { MigratedServiceError } from '../errors';
import { mountApiToken, POD_SPEC_PATH, tmpVolume, valueAt } from '../pod/pod-spec';
import { rootReason } from '../pod/security';
import { PostRolloutMigration } from '../post-rollout/post-rollout-migration';
import { SERVICE_RESOURCES } from '../resources';
import { WaiterSpec } from '../waiter';

/** The volume name of the waiter's writable /tmp in a gated workload (its own `tmp` may exist). */
const GATE_TMP_VOLUME = 'migration-waiter-tmp';

/**
 * What the gate of a service is built from.
 *
 * @internal
 */
export interface ReleaseGateProps {
  /** The gating MigratedService's construct path: marks its workloads, names it in messages. */
  readonly servicePath: string;
  readonly serviceName: string;
  /** The service's ServiceAccount: a held workload without one of its own runs as it (it has no other right). */
  readonly serviceAccountName: string;
  /** The service's namespace: a gated workload must be in it. */
  readonly namespace?: string;
  /** The waiter's RoleBinding, when the waiter reads the Job: a held workload's own ServiceAccount joins it. */
  readonly waiterRoleBinding?: kplus.RoleBinding;
  /** The post-rollout migration, which waits for each gated workload's rollout too. */
  readonly postRollout?: PostRolloutMigration;
  /** The service's labels, pod annotations and progress deadline: a gated workload's defaults. */
  readonly labels: { [key: string]: string };
  readonly podAnnotations: { [key: string]: string };
  readonly progressDeadlineSeconds: number;
  /** The waiter's init container for a pod whose writable /tmp is `tmp`. */
  readonly waiter: (tmp: kplus.Volume) => WaiterSpec;
  /** Told of each workload whose pods the waiter holds (the alerts watch them). */
  readonly onHeld: (kind: GatedKindName, name: string) => void;
}

/**
 * The gate of a service's release for workloads other than its own Deployment.
 *
 * @internal
 */
export class ReleaseGate extends Construct {
  /** What `gate()` adds, the same for every workload of the service: rendered at the first `gate()`. */
  private edits?: GateEdits;

  constructor(scope: Construct, id: string, private readonly props: ReleaseGateProps) {
    super(scope, id);
  }

  /** See `MigratedService.gate()`. */
  public gate(workload: IConstruct): void {
    const target = this.checkGatable(workload);
    // Valid: from here on the workload is changed.
    markGated(target.obj, this.props.servicePath);
    this.checkAtSynth(target);
    const edits = this.edits ??= this.gateEdits();
    const held = edits.initContainers.length > 0;
    this.waitForRollout(target);
    if (held) this.hold(target);
    const serviceAccountName = held && this.props.waiterRoleBinding ? this.props.serviceAccountName : undefined;
    // A copy per synthesized object: the workloads' JSON never shares an object.
    editAtSynth(target.obj, json => applyGateEdits(json, target.kind.podSpecPath, { ...copy(edits), serviceAccountName }));
  }

  /** Step 1 of `gate()`: whether `workload` can be gated; fails naming what it got. */
  private checkGatable(workload: IConstruct): GateTarget {
    const fail = failFor(this.props.servicePath);
    const path = workload?.node?.path ?? String(workload);
    const obj = apiObjectOf(workload);
    const kind = gatedKind(workload); // undefined for anything else, undefined and null included
    if (!obj || !kind) {
      const what = obj ? `it synthesizes ${obj.apiVersion} ${obj.kind}` : 'it synthesizes no Kubernetes object (no ApiObject, itself or as its default child)';
      return fail('workload of gate()', path, `${what}; only ${GATED_KINDS_TEXT} can be gated, made with cdk8s-plus of any ` +
        'version, an imported Kube* class or an ApiObject' +
        `${obj?.kind === 'Pod' ? ' (a bare Pod cannot get an init container once it runs: wrap it in a Job or Deployment)' : ''}`);
    }
    const owner = gateOwner(obj);
    if (owner !== undefined) {
      fail('workload of gate()', path, owner === this.props.servicePath
        ? 'this MigratedService gates it already (its own Deployment is always gated); gate each workload once'
        : `it is gated already by MigratedService "${owner}"; a workload can wait for one migration only: ` +
          'gate it from the service whose database it uses');
    }
    const namespace = this.props.namespace;
    const theirs = obj.metadata.namespace;
    if (theirs !== namespace) {
      fail('workload of gate()', path, `it is in namespace ${JSON.stringify(theirs ?? null)}, the service in ` +
        `${JSON.stringify(namespace ?? null)}; the waiter reads the Job (and its Role binds) in one namespace: ` +
        'create the workload in the same chart or namespace');
    }
    let podSpec: any;
    try {
      podSpec = valueAt(obj.toJson(), kind.podSpecPath);
    } catch {
      // A cdk8s-plus workload without containers yet cannot be rendered; the check at synth covers it.
    }
    const problem = (podSpec?.containers ?? []).length > 0 ? rootProblem(podSpec) : undefined;
    if (problem) fail('workload of gate()', path, problem);

    // When the waiter reads the Job (there is a RoleBinding), whose token does it get?
    const serviceAccount: string | undefined = podSpec?.serviceAccountName ?? podSpec?.serviceAccount;
    if (this.props.waiterRoleBinding && !serviceAccount && podSpec?.automountServiceAccountToken === true) {
      fail('workload of gate()', path, 'it has automountServiceAccountToken: true but no ServiceAccount of its own, so ' +
        'gating it would hand its containers the waiter\'s token; give it its own serviceAccount (it is then bound ' +
        'to the waiter\'s Role) or turn the token off');
    }
    return { workload, path, obj, kind, namespace, serviceAccount };
  }

  /** Containers added after `gate()` are checked when the app is synthesized. */
  private checkAtSynth(target: GateTarget): void {
    const toJson = target.obj.toJson.bind(target.obj); // before the gate's own edits
    const owner = `workload of gate() of MigratedService "${this.props.servicePath}"`;
    target.workload.node.addValidation({
      validate: () => {
        const later = rootProblem(valueAt(toJson(), target.kind.podSpecPath));
        return later ? [new MigratedServiceError(owner, target.path, later).message] : [];
      },
    });
  }

  /** The post-rollout migration waits for the workload's rollout too. */
  private waitForRollout(target: GateTarget): void {
    if (this.props.postRollout && target.kind.rollout) {
      this.props.postRollout.waitForRolloutOf(target.kind.rollout, target.obj.name);
    }
  }

  /**
   * A held workload is watched by the alerts, and one with a ServiceAccount of its own gets the
   * waiter's read access to the Job (one construct per ServiceAccount name, whatever the order of
   * `gate()` calls; every gated workload is in the service's namespace).
   */
  private hold(target: GateTarget): void {
    this.props.onHeld(target.kind.kind, target.obj.name);
    const binding = this.props.waiterRoleBinding;
    if (binding && target.serviceAccount) {
      const id = `ServiceAccount-${target.serviceAccount}`;
      const account = this.node.tryFindChild(id) as kplus.IServiceAccount | undefined
        ?? kplus.ServiceAccount.fromServiceAccountName(this, id, target.serviceAccount, { namespaceName: target.namespace });
      binding.addSubjects(account);
    }
  }

  /**
   * What `gate()` adds to a workload, in the API's spelling: the waiter (rendered once by
   * cdk8s-plus-28, as for the service's own pods, then copied verbatim), its volumes, the labels,
   * the tag and the library's defaults.
   */
  private gateEdits(): GateEdits {
    const props = this.props;
    const scratch = new Chart(new App(), 'gate');
    const tmp = tmpVolume(scratch, 'MigrationWaiterTmp', GATE_TMP_VOLUME);
    const waiter = props.waiter(tmp);
    const probe = new kplus.Deployment(scratch, 'probe', {
      containers: [{ name: 'probe', image: 'probe', resources: SERVICE_RESOURCES }],
      initContainers: waiter.container ? [waiter.container] : [],
      volumes: [tmp],
    });
    if (waiter.container && props.waiterRoleBinding) mountApiToken(probe, POD_SPEC_PATH, 0);
    const rendered = valueAt(scratch.toJson().find((o: any) => o.kind === 'Deployment'), POD_SPEC_PATH);
    return {
      labels: props.labels,
      gatedBy: props.serviceName,
      progressDeadlineSeconds: props.progressDeadlineSeconds,
      podAnnotations: props.podAnnotations,
      resources: rendered.containers[0].resources,
      tmpVolume: rendered.volumes.find((v: any) => v.name === GATE_TMP_VOLUME),
      initContainers: waiter.container ? [rendered.initContainers[0]] : [],
      volumes: waiter.container ? rendered.volumes.filter((v: any) => v.name !== GATE_TMP_VOLUME) : [],
    };
  }
}

/** What `gate()` found out about a workload it accepted. */
interface GateTarget {
  readonly workload: IConstruct;
  /** Its construct path, for messages. */
  readonly path: string;
  readonly obj: ApiObject;
  readonly kind: GatedKind;
  readonly namespace?: string;
  /** The ServiceAccount its pods run as, when they name one. */
  readonly serviceAccount?: string;
}

/** Why the pods could run as root, with the fix, or undefined when they cannot. */
function rootProblem(podSpec: any): string | undefined {
  const why = rootReason(podSpec);
  return why && `${why}; gated pods must pass the "restricted" Pod Security Standard: run as a non-root UID ` +
    '(cdk8s-plus: securityContext: { ensureNonRoot: true, user: 1000 }; otherwise runAsNonRoot: true and ' +
    'runAsUser: 1000 in the pod\'s or each container\'s securityContext), never privileged';
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}
