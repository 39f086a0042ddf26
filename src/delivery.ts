import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { Fail, failHere } from './checks';
import { MigratedServiceError } from './errors';
import { addHookInputCheck } from './hook-inputs';

/** Helm's hook annotations. */
const HELM_HOOK = 'helm.sh/hook';
const HELM_HOOK_WEIGHT = 'helm.sh/hook-weight';
const HELM_HOOK_DELETE_POLICY = 'helm.sh/hook-delete-policy';
/** Argo CD's hook annotations. */
const ARGO_HOOK = 'argocd.argoproj.io/hook';
const ARGO_HOOK_DELETE_POLICY = 'argocd.argoproj.io/hook-delete-policy';
const ARGO_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
/** Flux's per-object force annotation. */
const FLUX_FORCE = 'kustomize.toolkit.fluxcd.io/force';
/**
 * What Helm renders back to a literal "{{": a template action holding the raw string "{{". Raw
 * rather than `{{ "{{" }}`: it has no double quote, which YAML would write as `\"` inside a
 * double-quoted scalar (the Atlas check holds both quote kinds), breaking the action; and, unlike
 * wrapping a whole string in a raw string, it works whatever else the text holds (backticks).
 */
const HELM_OPEN_BRACES = '{{`{{`}}';

/** Options for `Delivery.flux()`. */
export interface FluxDeliveryOptions {
  /**
   * Annotate the Job with `kustomize.toolkit.fluxcd.io/force: Enabled`, so Flux re-creates it
   * should a patch ever hit an immutable field. With versioned Job names this is a safety net.
   *
   * @default true
   */
  readonly force?: boolean;
}

/** Options for `Delivery.argoCd()`. */
export interface ArgoCdDeliveryOptions {
  /**
   * The Job's `argocd.argoproj.io/sync-wave` within the PreSync phase. ConfigMaps and Secrets the
   * migration reads must be PreSync hooks in an earlier wave (`Delivery.argoCdPreSync()`) or live
   * outside the Application.
   *
   * @default - no sync-wave annotation (wave 0)
   */
  readonly syncWave?: number;

  /**
   * Fail synth when the migration Job reads a ConfigMap or Secret created in this app that is not
   * a PreSync hook of an earlier wave: on the first sync the Job would wait for it forever, since
   * ordinary objects are applied only after PreSync.
   *
   * @default true
   */
  readonly checkHookInputs?: boolean;
}

/** Options for `Delivery.helm()`. */
export interface HelmDeliveryOptions {
  /**
   * The Job's `helm.sh/hook-weight`. ConfigMaps and Secrets the migration reads must be hooks
   * with a lower weight (`Delivery.helmPreInstall()`) or live outside the chart.
   *
   * @default 0
   */
  readonly hookWeight?: number;

  /**
   * Fail synth when the migration Job reads a ConfigMap or Secret created in this app that is not
   * a pre-install hook of a lower weight: on `helm install` the Job would run before it exists.
   *
   * @default true
   */
  readonly checkHookInputs?: boolean;
}

/**
 * What a delivery target changes on the Job.
 *
 * @internal
 */
export interface DeliverySpec {
  /** Annotations for the migration Job. */
  readonly jobAnnotations: { [key: string]: string };
  /**
   * Whether the Job name carries the tag. Hook targets replace a hook only by name, so they get a
   * stable name (the tag stays visible in labels and annotations) and no pile-up of old Jobs.
   */
  readonly versionedJobName: boolean;
  /**
   * Annotations for the post-rollout Job: a hook that runs after the release was applied (Helm
   * `post-install,post-upgrade`, Argo CD `PostSync`), or the Job's own annotations (Flux, kubectl).
   */
  readonly postRolloutAnnotations: { [key: string]: string };
  /**
   * Annotations for what the migration Job needs before it runs (the migration lock's
   * ServiceAccount, Role and RoleBinding): on hook targets these are hooks of the same phase and
   * order as the Job, which Helm and Argo CD create before it (kind order within one weight or wave).
   */
  readonly preMigrationAnnotations: { [key: string]: string };
  /** Called with the migration Job once it exists, for synth-time checks. */
  readonly attach?: (job: IConstruct) => void;
  /**
   * Text the library writes itself (never the user's) as the target must carry it to reach the
   * cluster unchanged: Helm renders every file as a template, so "{{" is escaped there.
   */
  readonly ownText: (text: string) => string;
}

/** The text unchanged: targets that apply the manifests as they are. */
const asIs = (text: string): string => text;

/**
 * `text` with each "{{" escaped, so that Helm renders it back to exactly `text` (a lone "}}"
 * outside an action is literal text already).
 */
function helmLiteral(text: string): string {
  return text.split('{{').join(HELM_OPEN_BRACES);
}

/**
 * How the manifests reach the cluster, and so how the migration Job is ordered, re-run and
 * cleaned up. See docs/delivery.md for the four targets side by side.
 *
 * Every target keeps the Deployment's init-container gate: it is what holds back pods started
 * outside a sync (scale-up, node drain, restarts) and syncs that skip hooks.
 */
export abstract class Delivery {
  /**
   * FluxCD (the default): versioned Job with the Kustomize controller's force annotation. Flux
   * applies everything in one stage; the init-container waiter is the gate. With `prune: true`
   * the previous release's Job is deleted when the new revision is applied, also while it still
   * migrates: the migration lock keeps the next migration waiting until its pod is gone, and
   * `wait: true` with a `timeout` above the migration's deadline on the Kustomization keeps it
   * from being killed (docs/delivery.md).
   */
  public static flux(options: FluxDeliveryOptions = {}): Delivery {
    return new FluxDelivery(options);
  }

  /**
   * Argo CD: the Job is a `PreSync` hook with `BeforeHookCreation`, so Argo CD runs it and waits for
   * it before syncing the rest, on every sync. Its name is stable (`<name>-migrate`): the previous
   * hook Job is replaced, not piled up; the tag is in its labels and annotations. ConfigMaps and
   * Secrets it reads must exist before PreSync (checked at synth). A sync started while the
   * previous PreSync Job still runs deletes it; the migration lock keeps the two from overlapping,
   * only letting syncs finish keeps it from being killed (docs/delivery.md).
   */
  public static argoCd(options: ArgoCdDeliveryOptions = {}): Delivery {
    return new ArgoCdDelivery(options);
  }

  /**
   * Helm (`cdk8s synth --format helm`): the Job is a `pre-install,pre-upgrade` hook with
   * `before-hook-creation`; Helm waits for it (within `--timeout`) before applying the rest, on
   * every install and upgrade. Its name is stable (`<name>-migrate`) so the delete policy replaces
   * the previous one. ConfigMaps and Secrets it reads must exist before the hook (checked at synth).
   * Give `helm upgrade --timeout` more than the migration's deadline: an upgrade retried after a
   * timeout deletes a hook Job that still runs (docs/delivery.md). Helm renders the chart as
   * templates: the library's own `{{` (the alerts' Prometheus templates, Atlas's check) is escaped
   * so it is installed unchanged; a `{{` in your own strings is refused at synth.
   */
  public static helm(options: HelmDeliveryOptions = {}): Delivery {
    return new HelmDelivery(options);
  }

  /**
   * Plain `kubectl apply`: no tool-specific annotations; the init-container waiter is the gate.
   * `kubectl apply --prune` deletes the previous release's Job, also while it runs: leave Jobs out
   * of the prune allowlist (docs/delivery.md).
   */
  public static kubectl(): Delivery {
    return new KubectlDelivery();
  }

  /**
   * Make a ConfigMap or Secret of this app a Helm `pre-install,pre-upgrade` hook that runs before
   * the migration Job (`before-hook-creation`, so each upgrade replaces it).
   *
   * Helm runs pre-install hooks before it creates the chart's ordinary objects, so a migration
   * that reads them fails on the first install. Hooks are not part of the release: `helm
   * uninstall` leaves them behind and `helm get manifest` does not list them.
   *
   * @param resource the ConfigMap or Secret (or any construct whose default child is one)
   * @param weight its `helm.sh/hook-weight`, below the Job's `hookWeight`. Default: -1
   */
  public static helmPreInstall(resource: IConstruct, weight?: number): void {
    const w = weight ?? -1;
    checkInteger('weight of Delivery.helmPreInstall', w, failHere);
    const obj = apiObjectOf(resource, 'Delivery.helmPreInstall');
    obj.metadata.addAnnotation(HELM_HOOK, 'pre-install,pre-upgrade');
    obj.metadata.addAnnotation(HELM_HOOK_WEIGHT, `${w}`);
    obj.metadata.addAnnotation(HELM_HOOK_DELETE_POLICY, 'before-hook-creation');
  }

  /**
   * Make a ConfigMap or Secret of this app an Argo CD `PreSync` hook in a wave before the
   * migration Job (`BeforeHookCreation`, so each sync replaces it).
   *
   * Argo CD applies ordinary objects only after PreSync, so a migration that reads them never
   * starts on the first sync. Hooks are not tracked: no diff, no pruning, re-created on every
   * sync. Keeping the object outside the Application avoids all of that (see docs/delivery.md).
   *
   * @param resource the ConfigMap or Secret (or any construct whose default child is one)
   * @param wave its `argocd.argoproj.io/sync-wave`, below the Job's `syncWave`. Default: -1
   */
  public static argoCdPreSync(resource: IConstruct, wave?: number): void {
    const w = wave ?? -1;
    checkInteger('wave of Delivery.argoCdPreSync', w, failHere);
    const obj = apiObjectOf(resource, 'Delivery.argoCdPreSync');
    obj.metadata.addAnnotation(ARGO_HOOK, 'PreSync');
    obj.metadata.addAnnotation(ARGO_SYNC_WAVE, `${w}`);
    obj.metadata.addAnnotation(ARGO_HOOK_DELETE_POLICY, 'BeforeHookCreation');
  }

  /** The target's name, e.g. `flux`. */
  public abstract readonly kind: string;

  protected constructor() {}

  /**
   * The target's annotations and rules for this service, after checking its options (`fail` names
   * the service).
   *
   * @internal
   */
  public abstract _bind(fail: Fail): DeliverySpec;
}

class FluxDelivery extends Delivery {
  public readonly kind = 'flux';
  constructor(private readonly options: FluxDeliveryOptions) { super(); }
  public _bind(_fail: Fail): DeliverySpec {
    return {
      versionedJobName: true,
      jobAnnotations: this.options.force === false ? {} : { [FLUX_FORCE]: 'Enabled' },
      postRolloutAnnotations: this.options.force === false ? {} : { [FLUX_FORCE]: 'Enabled' },
      preMigrationAnnotations: {},
      ownText: asIs,
    };
  }
}

class ArgoCdDelivery extends Delivery {
  public readonly kind = 'argocd';
  constructor(private readonly options: ArgoCdDeliveryOptions) {
    super();
  }
  public _bind(fail: Fail): DeliverySpec {
    checkInteger('delivery (Delivery.argoCd) syncWave', this.options.syncWave, fail);
    const annotations: { [key: string]: string } = {
      [ARGO_HOOK]: 'PreSync',
      [ARGO_HOOK_DELETE_POLICY]: 'BeforeHookCreation',
    };
    if (this.options.syncWave !== undefined) {
      annotations[ARGO_SYNC_WAVE] = `${this.options.syncWave}`;
    }
    const check = this.options.checkHookInputs ?? true;
    return {
      versionedJobName: false,
      jobAnnotations: annotations,
      postRolloutAnnotations: { [ARGO_HOOK]: 'PostSync', [ARGO_HOOK_DELETE_POLICY]: 'BeforeHookCreation' },
      preMigrationAnnotations: annotations,
      ownText: asIs,
      attach: check ? job => addHookInputCheck(job, {
        target: 'Delivery.argoCd()',
        hookKey: ARGO_HOOK,
        phase: 'PreSync',
        orderKey: ARGO_SYNC_WAVE,
        jobOrder: this.options.syncWave ?? 0,
        helper: 'Delivery.argoCdPreSync',
        trap: 'the migration Job is a PreSync hook and Argo CD applies ordinary objects only after ' +
          'PreSync, so on the first sync the Job waits for it forever',
        outside: 'or keep it outside the Application (e.g. an earlier Application)',
      }) : undefined,
    };
  }
}

class HelmDelivery extends Delivery {
  public readonly kind = 'helm';
  constructor(private readonly options: HelmDeliveryOptions) {
    super();
  }
  public _bind(fail: Fail): DeliverySpec {
    checkInteger('delivery (Delivery.helm) hookWeight', this.options.hookWeight, fail);
    const weight = this.options.hookWeight ?? 0;
    const check = this.options.checkHookInputs ?? true;
    const preHook = {
      [HELM_HOOK]: 'pre-install,pre-upgrade',
      [HELM_HOOK_WEIGHT]: `${weight}`,
      [HELM_HOOK_DELETE_POLICY]: 'before-hook-creation',
    };
    return {
      versionedJobName: false,
      jobAnnotations: preHook,
      preMigrationAnnotations: preHook,
      postRolloutAnnotations: {
        [HELM_HOOK]: 'post-install,post-upgrade',
        [HELM_HOOK_WEIGHT]: `${weight}`,
        [HELM_HOOK_DELETE_POLICY]: 'before-hook-creation',
      },
      ownText: helmLiteral,
      attach: job => {
        // Every object lands in templates/: a "{{" we did not escape (the user's) would be read as
        // a Helm template, and we cannot tell whether they meant one.
        job.node.addValidation({ validate: () => templateErrors(job.node.scope ?? job) });
        if (check) {
          addHookInputCheck(job, {
            target: 'Delivery.helm()',
            hookKey: HELM_HOOK,
            phase: 'pre-install',
            orderKey: HELM_HOOK_WEIGHT,
            jobOrder: weight,
            helper: 'Delivery.helmPreInstall',
            trap: 'the migration Job is a pre-install hook and Helm creates ordinary chart objects ' +
              'only after pre-install hooks, so on "helm install" the Job cannot start',
            outside: 'or create it outside the chart',
          });
        }
      },
    };
  }
}

class KubectlDelivery extends Delivery {
  public readonly kind = 'kubectl';
  public _bind(_fail: Fail): DeliverySpec {
    return { versionedJobName: true, jobAnnotations: {}, postRolloutAnnotations: {}, preMigrationAnnotations: {}, ownText: asIs };
  }
}

/** An ordering number of a hook: any whole number. */
function checkInteger(prop: string, value: number | undefined, fail: Fail): void {
  if (value !== undefined && !Number.isInteger(value)) {
    fail(prop, value, 'it must be a whole number (negative runs earlier), e.g. -1');
  }
}

/** The Kubernetes object of a construct the user names in a hook helper, or an error saying why not. */
function apiObjectOf(resource: IConstruct, method: string): ApiObject {
  try {
    return ApiObject.of(resource);
  } catch {
    throw new MigratedServiceError(`resource of ${method}`, resource?.node?.path ?? resource,
      'it has no Kubernetes object in this app (e.g. it was imported with Secret.fromSecretName), so there is ' +
      'nothing to annotate; pass the ConfigMap or Secret you create in the chart');
  }
}

/** Objects under `scope` with an unescaped "{{" in a string, which Helm would try to render. */
function templateErrors(scope: IConstruct): string[] {
  const errors: string[] = [];
  for (const obj of scope.node.findAll().filter(ApiObject.isApiObject)) {
    const path = findTemplate(obj.toJson(), '');
    if (path !== undefined) {
      errors.push(new MigratedServiceError(`${obj.kind} "${obj.name}" with Delivery.helm()`, path.value,
        `"{{" at ${path.at} would be read by Helm as a template when the chart is installed; ` +
        'avoid "{{" there (e.g. pick another waiter or command), or deliver with Delivery.flux() or Delivery.kubectl()').message);
    }
  }
  return errors;
}

/** The first string with an unescaped "{{" in a rendered object (never a string itself), and its JSON pointer. */
function findTemplate(value: any, at: string): { at: string; value: string } | undefined {
  if (typeof value === 'string') return opensAction(value) ? { at, value } : undefined;
  // Numbers and booleans have no entries; null has none either.
  for (const [k, v] of Object.entries(value ?? {})) {
    const hit = findTemplate(v, `${at}/${k}`);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Whether Helm would start an action in `text`: a "{{" that is not our escape. Scanned from the
 * left as Helm's lexer does, so "{{{`{{`}}" (an action "{`{{`") is caught.
 */
function opensAction(text: string): boolean {
  for (let at = text.indexOf('{{'); at !== -1; at = text.indexOf('{{', at)) {
    if (!text.startsWith(HELM_OPEN_BRACES, at)) return true;
    at += HELM_OPEN_BRACES.length;
  }
  return false;
}
