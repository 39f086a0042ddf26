import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { MigratedServiceError } from './errors';

/**
 * The objects each MigratedService of an app writes, by API group, kind, namespace and name. Two
 * services that would write the same object (one name in one namespace, in one chart or several
 * charts of the app, or a name that one derives from the other's, such as `<a>-migration`) would
 * overwrite each other when applied; the second is refused when it is made. One per app, found on
 * the construct tree (a child of the root), so it lives and dies with the app.
 *
 * @internal
 */
export class ReleaseClaims extends Construct {
  /** The app's claims, made when its first MigratedService is. */
  public static of(root: IConstruct): ReleaseClaims {
    return root.node.tryFindChild(RELEASE_CLAIMS_ID) as ReleaseClaims | undefined ?? new ReleaseClaims(root as Construct);
  }

  /** Object key → the construct path of the MigratedService that writes it. */
  private readonly owners = new Map<string, string>();

  private constructor(root: Construct) {
    super(root, RELEASE_CLAIMS_ID);
  }

  /**
   * Claim every API object under `service` for it; fails naming both services, the shared
   * object(s) and the fix when another service of the app writes one of them.
   */
  public claim(service: IConstruct, name: string): void {
    const path = service.node.path;
    const objects = service.node.findAll().filter(ApiObject.isApiObject).map(o => ({ key: keyOf(o), o }));
    const shared = objects.filter(({ key }) => this.owners.has(key) && this.owners.get(key) !== path);
    if (shared.length > 0) {
      const other = this.owners.get(shared[0].key)!;
      const namespace = shared[0].o.metadata.namespace;
      const names = shared.slice(0, 3).map(({ o }) => `${o.kind} "${o.name}"`).join(', ') + (shared.length > 3 ? `, and ${shared.length - 3} more` : '');
      throw new MigratedServiceError(`name of MigratedService "${path}"`, name,
        `MigratedService "${other}" writes the same objects in ${namespace === undefined ? 'the same (unset) namespace' : `namespace "${namespace}"`}: ` +
        `${names}; applied together one would overwrite the other (and they would share one migration lock). ` +
        'Give each service of a namespace its own name (the name prop, or the construct id), or put them in different namespaces');
    }
    for (const { key } of objects) this.owners.set(key, path);
  }
}

const RELEASE_CLAIMS_ID = 'MigratedServiceReleaseClaims';

function keyOf(o: ApiObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.indexOf('/')) : '';
  return JSON.stringify([group, o.kind, o.metadata.namespace ?? null, o.name]);
}
