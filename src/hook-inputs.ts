/**
 * The check that a migration Job delivered as a hook (Argo CD PreSync, Helm pre-install) reads no
 * ConfigMap or Secret of the app that is created only after it: on a first install the Job would
 * wait for it forever. Run at synth, once the whole app is built.
 */
import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { MigratedServiceError } from './errors';
import { podInputs } from './pod/pod-inputs';
import { POD_SPEC_PATH, valueAt } from './pod/pod-spec';

/**
 * How one hook target orders its hooks; used to check the Job's inputs.
 *
 * @internal
 */
export interface HookRules {
  readonly target: string;
  readonly hookKey: string;
  readonly phase: string;
  readonly orderKey: string;
  readonly jobOrder: number;
  readonly helper: string;
  readonly trap: string;
  readonly outside: string;
}

/**
 * At synth (after the whole app is built, so later `helmPreInstall` calls count), check that every
 * ConfigMap and Secret of this app the Job reads is a hook that runs before it.
 *
 * @internal
 */
export function addHookInputCheck(job: IConstruct, rules: HookRules): void {
  const inputs = HookInputIndex.of(job.node.root);
  job.node.addValidation({ validate: () => hookInputErrors(job, rules, inputs) });
}

/**
 * The app's objects by kind, namespace and name, for the hook-input checks of every migration Job
 * of the app: one scan of the app per synth instead of one per Job (quadratic in services: 400
 * Helm services took 5 times as long to synthesize). One per app, found on the construct tree.
 */
class HookInputIndex extends Construct {
  /** The app's index, made when the first Job of the app needs it. */
  public static of(root: IConstruct): HookInputIndex {
    return root.node.tryFindChild(HOOK_INPUT_INDEX_ID) as HookInputIndex | undefined ?? new HookInputIndex(root as Construct);
  }

  private index?: Map<string, ApiObject>;

  private constructor(private readonly root: Construct) {
    super(root, HOOK_INPUT_INDEX_ID);
    // cdk8s validates in pre-order, the app first: every synth starts from a fresh scan.
    root.node.addValidation({ validate: () => { this.index = undefined; return []; } });
  }

  public get(kind: string, namespace: string | undefined, name: string): ApiObject | undefined {
    this.index ??= indexInputs(this.root);
    return this.index.get(inputKey(kind, namespace, name));
  }
}

const HOOK_INPUT_INDEX_ID = 'MigratedServiceHookInputIndex';

function inputKey(kind: string, namespace: string | undefined, name: string): string {
  return JSON.stringify([kind, namespace, name]);
}

/** Every object of the app by its key; the check looks up ConfigMaps and Secrets only. */
function indexInputs(root: IConstruct): Map<string, ApiObject> {
  const index = new Map<string, ApiObject>();
  for (const o of root.node.findAll().filter(ApiObject.isApiObject)) {
    index.set(inputKey(o.kind, o.metadata.namespace, o.name), o);
  }
  return index;
}

function hookInputErrors(job: IConstruct, rules: HookRules, index: HookInputIndex): string[] {
  const json = ApiObject.of(job).toJson();
  const namespace = json.metadata.namespace;
  const inputs = podInputs(valueAt(json, POD_SPEC_PATH));
  const errors: string[] = [];
  for (const input of inputs) {
    const obj = index.get(input.kind, namespace, input.name);
    if (!obj) continue; // created outside this app: it exists before the hook runs
    const annotations: { [key: string]: string } = obj.metadata.toJson().annotations ?? {};
    const hook = annotations[rules.hookKey];
    const isHook = hook !== undefined && hook.split(',').map(p => p.trim()).includes(rules.phase);
    const order = Number(annotations[rules.orderKey] ?? 0);
    const prop = `${input.kind} read by the migration Job (${input.via}) with ${rules.target}`;
    const fix = `${rules.helper}(<the ${input.kind} "${userPath(obj)}">)`;
    if (!isHook) {
      errors.push(new MigratedServiceError(prop, input.name,
        `${rules.trap}. Make it a hook that runs first with ${fix}, ${rules.outside}; ` +
        'to accept the risk pass checkHookInputs: false').message);
    } else if (!(order < rules.jobOrder)) {
      errors.push(new MigratedServiceError(prop, input.name,
        `it is a ${rules.phase} hook but its ${rules.orderKey} ${order} is not below the Job's ${rules.jobOrder}, ` +
        `so it may not exist when the Job starts; pass a lower one, e.g. ${rules.helper}(…, ${rules.jobOrder - 1})`).message);
    }
  }
  return errors;
}

/** The path the user knows: the cdk8s-plus construct, not its inner `Resource`. */
function userPath(obj: ApiObject): string {
  const parent = obj.node.scope;
  return parent && parent.node.defaultChild === obj ? parent.node.path : obj.node.path;
}
