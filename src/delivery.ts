import { MigratedServiceError } from './errors';

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
   * The Job's `argocd.argoproj.io/sync-wave` within the PreSync phase. Put Secrets and ConfigMaps
   * the migration reads in an earlier wave of PreSync (or outside the Application).
   *
   * @default - no sync-wave annotation (wave 0)
   */
  readonly syncWave?: number;
}

/** Options for `Delivery.helm()`. */
export interface HelmDeliveryOptions {
  /**
   * The Job's `helm.sh/hook-weight`. Hooks with a lower weight (e.g. the ConfigMaps and Secrets
   * the migration reads, made hooks too) run first.
   *
   * @default 0
   */
  readonly hookWeight?: number;
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
}

/**
 * How the manifests reach the cluster, and so how the migration Job is ordered, re-run and
 * cleaned up. See docs/delivery.md for the four targets side by side.
 */
export abstract class Delivery {
  /**
   * FluxCD (the default): versioned Job with the Kustomize controller's force annotation. Flux
   * applies everything in one stage; the init-container waiter is the gate. With `prune: true`
   * the previous release's Job is deleted when the new revision is applied.
   */
  public static flux(options: FluxDeliveryOptions = {}): Delivery {
    return new FluxDelivery(options);
  }

  /**
   * Argo CD: the Job is a `PreSync` hook with `BeforeHookCreation`, so Argo CD runs it and waits for
   * it before syncing the rest. Its name is stable (`<name>-migrate`): the previous hook Job is
   * replaced, not piled up; the tag is in its labels and annotations.
   */
  public static argoCd(options: ArgoCdDeliveryOptions = {}): Delivery {
    return new ArgoCdDelivery(options);
  }

  /**
   * Helm (`cdk8s synth --format helm`): the Job is a `pre-install,pre-upgrade` hook with
   * `before-hook-creation`; Helm waits for it before applying the rest. Its name is stable
   * (`<name>-migrate`) so the delete policy replaces the previous one.
   */
  public static helm(options: HelmDeliveryOptions = {}): Delivery {
    return new HelmDelivery(options);
  }

  /** Plain `kubectl apply`: no tool-specific annotations; the init-container waiter is the gate. */
  public static kubectl(): Delivery {
    return new KubectlDelivery();
  }

  /** The target's name, e.g. `flux`. */
  public abstract readonly kind: string;

  protected constructor() {}

  /** @internal */
  public abstract _bind(): DeliverySpec;
}

class FluxDelivery extends Delivery {
  public readonly kind = 'flux';
  constructor(private readonly options: FluxDeliveryOptions) { super(); }
  public _bind(): DeliverySpec {
    return {
      versionedJobName: true,
      jobAnnotations: this.options.force === false ? {} : { 'kustomize.toolkit.fluxcd.io/force': 'Enabled' },
    };
  }
}

class ArgoCdDelivery extends Delivery {
  public readonly kind = 'argocd';
  constructor(private readonly options: ArgoCdDeliveryOptions) {
    super();
    checkInteger('delivery (Delivery.argoCd) syncWave', options.syncWave);
  }
  public _bind(): DeliverySpec {
    const annotations: { [key: string]: string } = {
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    };
    if (this.options.syncWave !== undefined) {
      annotations['argocd.argoproj.io/sync-wave'] = `${this.options.syncWave}`;
    }
    return { versionedJobName: false, jobAnnotations: annotations };
  }
}

class HelmDelivery extends Delivery {
  public readonly kind = 'helm';
  constructor(private readonly options: HelmDeliveryOptions) {
    super();
    checkInteger('delivery (Delivery.helm) hookWeight', options.hookWeight);
  }
  public _bind(): DeliverySpec {
    return {
      versionedJobName: false,
      jobAnnotations: {
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-weight': `${this.options.hookWeight ?? 0}`,
        'helm.sh/hook-delete-policy': 'before-hook-creation',
      },
    };
  }
}

class KubectlDelivery extends Delivery {
  public readonly kind = 'kubectl';
  public _bind(): DeliverySpec {
    return { versionedJobName: true, jobAnnotations: {} };
  }
}

function checkInteger(prop: string, value: number | undefined): void {
  if (value !== undefined && !Number.isInteger(value)) {
    throw new MigratedServiceError(prop, value, 'it must be a whole number (negative runs earlier), e.g. -1');
  }
}
