/**
 * Two MigratedServices that would write the same objects in one namespace are refused when the
 * second is made, naming both construct paths and the shared name; the same name in two
 * namespaces, or in two apps, stays allowed.
 */
import { App, Chart } from 'cdk8s';
import { MigratedService, MigratedServiceProps } from '../src';
import { baseProps } from './support/k8s';

const service = (chart: Chart, id: string, props: Partial<MigratedServiceProps> = {}) => new MigratedService(chart, id, baseProps(props));

describe('two services writing the same objects', () => {
  test('GIVEN one chart WHEN a second service takes the first one\'s name THEN refused, naming both paths and the name', () => {
    const app = new App();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    service(chart, 'web');
    expect(() => service(chart, 'web2', { name: 'web' })).toThrow(
      'Invalid name of MigratedService "shop/web2" "web": MigratedService "shop/web" writes the same objects in namespace "shop": ' +
      'ServiceAccount "web", Role "web-migration-waiter", RoleBinding "web-migration-waiter", and ');
  });

  test('GIVEN two charts of one namespace in one app WHEN both make service "web" THEN the second is refused', () => {
    const app = new App();
    service(new Chart(app, 'a', { namespace: 'shop' }), 'web');
    expect(() => service(new Chart(app, 'b', { namespace: 'shop' }), 'web'))
      .toThrow(/^Invalid name of MigratedService "b\/web" "web": MigratedService "a\/web" writes the same objects in namespace "shop": .*Give each service of a namespace its own name/);
  });

  test('GIVEN two charts without a namespace WHEN both make service "web" THEN refused (they land in one namespace)', () => {
    const app = new App();
    service(new Chart(app, 'a'), 'web');
    expect(() => service(new Chart(app, 'b'), 'web')).toThrow(/MigratedService "a\/web" writes the same objects in the same \(unset\) namespace/);
  });

  test('GIVEN service "a" (whose migration ServiceAccount is "a-migration") WHEN service "a-migration" is made beside it THEN refused on that object', () => {
    const app = new App();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    service(chart, 'a');
    expect(() => service(chart, 'a-migration')).toThrow(/"a-migration": MigratedService "shop\/a" writes the same objects in namespace "shop": ServiceAccount "a-migration";/);
  });

  test('GIVEN the same name in two namespaces, or in two apps WHEN made THEN both synthesize', () => {
    const app = new App();
    service(new Chart(app, 'a', { namespace: 'shop' }), 'web');
    service(new Chart(app, 'b', { namespace: 'staging' }), 'web');
    const deployments = app.charts.flatMap(c => c.toJson()).filter((o: any) => o.kind === 'Deployment');
    expect(deployments.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['shop/web', 'staging/web']);
    const other = new App();
    expect(() => service(new Chart(other, 'a', { namespace: 'shop' }), 'web')).not.toThrow();
  });

  test('GIVEN different services of one namespace WHEN made THEN no claim clashes and nothing extra is synthesized', () => {
    const app = new App();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    service(chart, 'web');
    service(chart, 'billing');
    expect(app.synthYaml()).not.toContain('ReleaseClaims');
  });
});
