import { one, synthService } from './support/k8s';

/**
 * Issue #21, point 4: a tag that registries move to a new image (`latest`, `stable`, …) names the
 * migration Job, so a re-push would keep the Job name and never migrate again. Refused by default.
 */

const PATH = 'MigratedService "test/myapp"';
const DIGEST = `sha256:${'c'.repeat(64)}`;

describe('mutable image tags', () => {
  test('GIVEN imageTag "latest" WHEN synthesized THEN synth fails saying why and naming the opt-out', () => {
    expect(() => synthService({ imageTag: 'latest' })).toThrow(
      `Invalid imageTag of ${PATH} "latest": "latest" is a tag that is conventionally moved to a new image, and the ` +
      'migration Job is named after the tag (myapp-migrate-latest): a re-pushed "latest" keeps the Job name, so its ' +
      'migration never runs again. Tag each build immutably (e.g. "v1.2.3" or the commit SHA) or pass the digest; ' +
      'set allowMutableTag: true only if you accept that');
  });

  test.each(['stable', 'main', 'master', 'edge', 'nightly', 'dev', 'LATEST', 'Main'])(
    'GIVEN imageTag %p WHEN synthesized THEN it is refused as mutable', tag => {
      expect(() => synthService({ imageTag: tag })).toThrow(new RegExp('^Invalid imageTag of .* is a tag that is conventionally moved.*allowMutableTag: true'));
    });

  test('GIVEN imageTag "latest" and allowMutableTag: true WHEN synthesized THEN the Job is named after it', () => {
    const m = synthService({ imageTag: 'latest', allowMutableTag: true });
    expect(one(m, 'Job').metadata.name).toBe('myapp-migrate-latest');
    expect(one(m, 'Deployment').spec.template.spec.containers[0].image).toBe('registry.example.com/myapp:latest');
  });

  test.each(['v1.2.3', '3f2a1b9c', 'latest-2026-12-05', 'main-3f2a1b9', 'stable1', DIGEST])(
    'GIVEN the immutable-looking tag or digest %p WHEN synthesized THEN it is accepted', tag => {
      expect(() => synthService({ imageTag: tag })).not.toThrow();
    });

  test('GIVEN a custom name WHEN the tag is mutable THEN the message shows that name\'s Job', () => {
    expect(() => synthService({ imageTag: 'latest', name: 'shop' })).toThrow(/\(shop-migrate-latest\)/);
  });
});
