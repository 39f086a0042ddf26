import { Construct } from 'constructs';
import { MigratedService } from '../src';
import { all, baseProps, Manifest, one, synth } from './support/k8s';

/**
 * Issue #21, point 3: the Deployment's selector (immutable in Kubernetes) comes from `name`, not
 * from the construct path, so renaming a construct id does not make the next apply fail.
 */

const SELECTOR = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/component': 'server' };

function synthWithId(id: string, scope = 'test'): Manifest[] {
  return synth(chart => {
    const parent = scope === 'test' ? chart : new Construct(chart, scope);
    new MigratedService(parent, id, baseProps({ name: 'shop', port: 8080 }));
  });
}

describe('the Deployment selector', () => {
  test('GIVEN name "shop" WHEN synthesized THEN the selector is the name and component labels only', () => {
    const d = one(synthWithId('shop'), 'Deployment');
    expect(d.spec.selector).toEqual({ matchLabels: SELECTOR });
  });

  test('GIVEN the same name under another construct id and parent WHEN synthesized THEN the selector and the Service selector are unchanged', () => {
    const before = synthWithId('shop');
    const after = synthWithId('Web', 'Renamed');
    expect(one(after, 'Deployment').spec.selector).toEqual(one(before, 'Deployment').spec.selector);
    expect(one(after, 'Service').spec.selector).toEqual(SELECTOR);
    expect(one(before, 'Service').spec.selector).toEqual(SELECTOR);
  });

  test('GIVEN the defaults WHEN synthesized THEN no selector names the construct path', () => {
    const m = synthWithId('shop');
    expect(JSON.stringify(one(m, 'Deployment').spec.selector)).not.toContain('cdk8s.io/metadata.addr');
    expect(JSON.stringify(one(m, 'Service').spec.selector)).not.toContain('cdk8s.io/metadata.addr');
  });

  test('GIVEN the selector WHEN compared with the pod labels THEN the service pods match and the migration pods do not', () => {
    const m = synthWithId('shop');
    const matches = (labels: { [k: string]: string }) => Object.entries(SELECTOR).every(([k, v]) => labels[k] === v);
    expect(matches(one(m, 'Deployment').spec.template.metadata.labels)).toBe(true);
    for (const job of all(m, 'Job')) {
      expect(matches(job.spec.template.metadata.labels)).toBe(false);
    }
  });
});
