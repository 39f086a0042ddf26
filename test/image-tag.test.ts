import { App, Chart } from 'cdk8s';
import { ImageTag, MigratedService } from '../src';
import { baseProps, one } from './support/k8s';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const saved: { [name: string]: string | undefined } = {};

/** Set (or, with undefined, unset) an environment variable for one test; restored afterwards. */
function setEnv(name: string, value: string | undefined): void {
  if (!(name in saved)) saved[name] = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
    delete saved[name];
  }
});

describe('ImageTag.fromEnv()', () => {
  test('GIVEN IMAGE_TAG=v1.2.3 WHEN read THEN the tag is returned', () => {
    setEnv('IMAGE_TAG', 'v1.2.3');
    expect(ImageTag.fromEnv()).toBe('v1.2.3');
  });

  test('GIVEN a digest with a leading @ WHEN read THEN the digest is returned without it', () => {
    setEnv('IMAGE_TAG', `@${DIGEST}`);
    expect(ImageTag.fromEnv()).toBe(DIGEST);
  });

  test('GIVEN IMAGE_TAG unset WHEN read THEN synth fails naming the variable and showing how to set it', () => {
    setEnv('IMAGE_TAG', undefined);
    expect(() => ImageTag.fromEnv())
      .toThrow('Invalid environment variable IMAGE_TAG (undefined): it is not set. Run synth with the tag CI built the images with, e.g. "IMAGE_TAG=v1.2.3 npx cdk8s synth"');
  });

  test('GIVEN IMAGE_TAG unset and a fallback WHEN read THEN the fallback is returned', () => {
    setEnv('IMAGE_TAG', undefined);
    expect(ImageTag.fromEnv({ fallback: 'v0.0.0-dev' })).toBe('v0.0.0-dev');
  });

  test('GIVEN IMAGE_TAG set but empty and a fallback WHEN read THEN it fails instead of using the fallback', () => {
    setEnv('IMAGE_TAG', '');
    expect(() => ImageTag.fromEnv({ fallback: 'v0.0.0-dev' }))
      .toThrow(/^Invalid environment variable IMAGE_TAG "": it is set but empty .*IMAGE_TAG=v1\.2\.3 npx cdk8s synth/);
  });

  test('GIVEN another variable WHEN read THEN that one is used and named in errors', () => {
    setEnv('CI_COMMIT_SHORT_SHA', '3f2a1b9c');
    setEnv('RELEASE_TAG', undefined);
    expect(ImageTag.fromEnv({ variable: 'CI_COMMIT_SHORT_SHA' })).toBe('3f2a1b9c');
    expect(() => ImageTag.fromEnv({ variable: 'RELEASE_TAG' })).toThrow(/^Invalid environment variable RELEASE_TAG .*"RELEASE_TAG=v1\.2\.3 npx cdk8s synth"/);
  });

  test('GIVEN a tag that is no OCI tag WHEN read THEN VersionKey rejects it naming the variable', () => {
    setEnv('IMAGE_TAG', 'registry.example.com/myapp:v1');
    expect(() => ImageTag.fromEnv()).toThrow(/^Invalid environment variable IMAGE_TAG "registry\.example\.com\/myapp:v1": it looks like a whole image reference/);
  });

  test('GIVEN a bad fallback WHEN the variable is unset THEN the fallback is rejected as such', () => {
    setEnv('IMAGE_TAG', undefined);
    expect(() => ImageTag.fromEnv({ fallback: 'v 1' })).toThrow(/^Invalid fallback for environment variable IMAGE_TAG "v 1": it contains " "/);
  });

  test('GIVEN an empty variable name THEN it is rejected', () => {
    expect(() => ImageTag.fromEnv({ variable: ' ' })).toThrow('Invalid variable of ImageTag.fromEnv " "');
  });
});

describe('ImageTag.fromContext()', () => {
  test('GIVEN context imageTag set on the app WHEN read from a chart THEN the tag is returned', () => {
    const app = new App();
    app.node.setContext('imageTag', 'v2.0.1');
    expect(ImageTag.fromContext(new Chart(app, 'c'))).toBe('v2.0.1');
  });

  test('GIVEN a custom key WHEN read THEN that key is used', () => {
    const app = new App();
    app.node.setContext('release', 'v3');
    expect(ImageTag.fromContext(app, { key: 'release' })).toBe('v3');
  });

  test('GIVEN no context WHEN read THEN synth fails naming the key and how to set it', () => {
    expect(() => ImageTag.fromContext(new App()))
      .toThrow(/^Invalid context key "imageTag" \(undefined\): it is not set\. Set it before adding charts: app\.node\.setContext\("imageTag", "v1\.2\.3"\) \(cdk8s synth has no -c flag/);
  });

  test('GIVEN no context and a fallback WHEN read THEN the fallback is returned', () => {
    expect(ImageTag.fromContext(new App(), { fallback: 'v9' })).toBe('v9');
  });

  test('GIVEN a number in the context WHEN read THEN it is rejected as not a string', () => {
    const app = new App();
    app.node.setContext('imageTag', 123);
    expect(() => ImageTag.fromContext(app)).toThrow('Invalid context key "imageTag" 123: the tag must be a string');
  });
});

describe('ImageTag.fromEnvOrContext()', () => {
  test('GIVEN both set WHEN read THEN the environment wins', () => {
    setEnv('IMAGE_TAG', 'v1.0.0');
    const app = new App();
    app.node.setContext('imageTag', 'v0.9.0');
    expect(ImageTag.fromEnvOrContext(app)).toBe('v1.0.0');
  });

  test('GIVEN only the context WHEN read THEN the context is used', () => {
    setEnv('IMAGE_TAG', undefined);
    const app = new App();
    app.node.setContext('imageTag', 'v0.9.0');
    expect(ImageTag.fromEnvOrContext(app)).toBe('v0.9.0');
  });

  test('GIVEN neither WHEN read THEN it fails naming both, or returns the fallback', () => {
    setEnv('IMAGE_TAG', undefined);
    expect(() => ImageTag.fromEnvOrContext(new App()))
      .toThrow(/^Invalid environment variable IMAGE_TAG and context key "imageTag" \(undefined\): neither is set/);
    expect(ImageTag.fromEnvOrContext(new App(), { fallback: 'v0' })).toBe('v0');
  });
});

test('GIVEN IMAGE_TAG WHEN a MigratedService uses ImageTag.fromEnv() THEN the Job and Deployment carry that tag', () => {
  setEnv('IMAGE_TAG', 'v7.1.0');
  const app = new App();
  const chart = new Chart(app, 'test', { namespace: 'myapp' });
  new MigratedService(chart, 'myapp', baseProps({ imageTag: ImageTag.fromEnv() }));
  const m = chart.toJson();
  expect(one(m, 'Deployment').spec.template.spec.containers[0].image).toBe('registry.example.com/myapp:v7.1.0');
  expect(one(m, 'Job').metadata.annotations['migrated-service.cdk8s.io/image-tag']).toBe('v7.1.0');
});

describe('ImageTag: names, defaults and where errors point', () => {
  test('GIVEN the defaults WHEN read THEN they are IMAGE_TAG and imageTag', () => {
    expect([ImageTag.DEFAULT_VARIABLE, ImageTag.DEFAULT_CONTEXT_KEY]).toEqual(['IMAGE_TAG', 'imageTag']);
  });

  test('GIVEN a custom variable and key WHEN fromEnvOrContext reads THEN it uses them, in that order, and names them when neither is set', () => {
    const app = new App();
    app.node.setContext('release', 'v0.9.0');
    setEnv('RELEASE_TAG', 'v1.0.0');
    setEnv('IMAGE_TAG', 'v5');
    expect(ImageTag.fromEnvOrContext(app, { variable: 'RELEASE_TAG', key: 'release' })).toBe('v1.0.0');
    setEnv('RELEASE_TAG', undefined);
    expect(ImageTag.fromEnvOrContext(app, { variable: 'RELEASE_TAG', key: 'release' })).toBe('v0.9.0');
    expect(() => ImageTag.fromEnvOrContext(new App(), { variable: 'RELEASE_TAG', key: 'release' }))
      .toThrow(/^Invalid environment variable RELEASE_TAG and context key "release" \(undefined\): neither is set\. Run "RELEASE_TAG=v1\.2\.3 npx cdk8s synth", or set app\.node\.setContext\("release", "v1\.2\.3"\)/);
  });

  test('GIVEN IMAGE_TAG set but empty and a context WHEN fromEnvOrContext reads THEN the empty variable is the error', () => {
    setEnv('IMAGE_TAG', '');
    const app = new App();
    app.node.setContext('imageTag', 'v0.9.0');
    expect(() => ImageTag.fromEnvOrContext(app)).toThrow(/^Invalid environment variable IMAGE_TAG "": it is set but empty/);
  });

  test('GIVEN an empty context value WHEN read THEN it is rejected as empty, naming the key', () => {
    const app = new App();
    app.node.setContext('imageTag', '');
    expect(() => ImageTag.fromContext(app)).toThrow(/^Invalid context key "imageTag" "": it is empty/);
  });

  test('GIVEN a bad context fallback WHEN the key is unset THEN the fallback is rejected as such', () => {
    expect(() => ImageTag.fromContext(new App(), { key: 'release', fallback: '-x' }))
      .toThrow(/^Invalid fallback for context key "release" "-x": it starts with "-"/);
  });

  test.each([
    ['key of ImageTag.fromContext', () => ImageTag.fromContext(new App(), { key: '' })],
    ['variable of ImageTag.fromEnvOrContext', () => ImageTag.fromEnvOrContext(new App(), { variable: ' ' })],
    ['key of ImageTag.fromEnvOrContext', () => ImageTag.fromEnvOrContext(new App(), { key: '' })],
  ])('GIVEN an empty name THEN the %s is rejected naming it', (prop, read) => {
    expect(read).toThrow(new RegExp(`^Invalid ${prop} "\\s*": pass a non-empty name, e\\.g\\. "IMAGE_TAG"`));
  });
});

test('GIVEN a variable name that is not a string WHEN read THEN it is refused naming the option', () => {
  expect(() => ImageTag.fromEnv({ variable: 5 as unknown as string })).toThrow('Invalid variable of ImageTag.fromEnv 5: pass a non-empty name');
});
