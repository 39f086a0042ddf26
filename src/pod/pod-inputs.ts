/**
 * What a synthesized pod spec refers to that must exist before the pod starts: the delivery
 * targets with hooks check that those made by the same app exist before the migration hook.
 */
import { podContainers } from './pod-spec';

/**
 * A ConfigMap or Secret a pod needs before it can start.
 *
 * @internal
 */
export interface PodInput {
  readonly kind: 'ConfigMap' | 'Secret';
  readonly name: string;
  /** Where the pod spec refers to it, for the error message. */
  readonly via: string;
}

/**
 * ConfigMaps and Secrets a pod needs before it can start (optional references excluded), from
 * its synthesized spec.
 *
 * @internal
 */
export function podInputs(spec: any): PodInput[] {
  // The first reference of each object, by kind and name, in the order below.
  const found = new Map<string, PodInput>();
  const add = (kind: PodInput['kind'], ref: any, via: string) => {
    if (!ref?.name || ref.optional === true) return;
    const key = JSON.stringify([kind, ref.name]);
    if (!found.has(key)) found.set(key, { kind, name: ref.name, via });
  };
  const container = (c: any) => {
    for (const e of c.envFrom ?? []) {
      add('ConfigMap', e.configMapRef, 'envFrom');
      add('Secret', e.secretRef, 'envFrom');
    }
    for (const e of c.env ?? []) {
      add('ConfigMap', e.valueFrom?.configMapKeyRef, `env ${e.name}`);
      add('Secret', e.valueFrom?.secretKeyRef, `env ${e.name}`);
    }
  };
  podContainers(spec).forEach(container);
  for (const v of spec.volumes ?? []) {
    add('ConfigMap', v.configMap, `volume ${v.name}`);
    if (v.secret) add('Secret', { name: v.secret.secretName, optional: v.secret.optional }, `volume ${v.name}`);
    for (const source of v.projected?.sources ?? []) {
      add('ConfigMap', source.configMap, `volume ${v.name}`);
      add('Secret', source.secret, `volume ${v.name}`);
    }
  }
  for (const s of spec.imagePullSecrets ?? []) add('Secret', s, 'imagePullSecrets');
  return [...found.values()];
}
