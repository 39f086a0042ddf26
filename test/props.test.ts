import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedService, MigrationHistory, MigrationTool, Waiter } from '../src';
import { all, baseProps, Manifest, one, synth, synthService } from './support/k8s';

/**
 * The edges of resolveProps (src/props.ts) that the invariant-5 table in migrated-service.test.ts
 * does not reach: whole messages with their advice, values at a limit, and values of the wrong
 * type from JavaScript. Each case here was a Stryker survivor (docs/mutation-testing.md).
 */

const PATH = 'MigratedService "test/myapp"';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const NAME_RULE = 'it must be lowercase letters, digits and "-", start with a letter and end with a letter or digit (a DNS-1035 label).';

/** The Job that is not the migration Job: the post-rollout one. */
const postJob = (m: Manifest[]) => all(m, 'Job').find(j => !j.metadata.name.startsWith('myapp-migrate'))!;
const mainContainer = (job: Manifest) => job.spec.template.spec.containers[0];

describe('bad input: the whole message, advice included', () => {
  test.each<[string, () => unknown, string]>([
    ['props missing', () => synth(chart => new MigratedService(chart, 'myapp', undefined as any)),
      `Invalid props of ${PATH} (undefined): pass { image, imageTag, migration }`],
    ['props a string', () => synth(chart => new MigratedService(chart, 'myapp', 'myapp' as any)),
      `Invalid props of ${PATH} "myapp": pass { image, imageTag, migration }`],
    ['migration null', () => synthService({ migration: null as any }),
      `Invalid migration of ${PATH} null: pass migration: { tool: MigrationTool.prisma() } or { command: [...] }`],
    ['neither tool nor command', () => synthService({ migration: {} }),
      `Invalid migration of ${PATH} "{ no tool, no command }": set migration.tool (e.g. MigrationTool.prisma()) or migration.command (e.g. ["npm", "run", "migrate"])`],
    ['a separate migration image with a digest', () => synthService({ imageTag: DIGEST, migration: { tool: MigrationTool.flyway(), image: 'r/m' } }),
      `Invalid migration.image of ${PATH} "r/m": imageTag is a digest (${DIGEST}), which names one image in one repository, so a separate ` +
      'migration image cannot share it; tag both images with one tag instead, or run the migration from the service image (drop migration.image)'],
    ['ttl with k8s-wait-for', () => synthService({ waiter: Waiter.k8sWaitFor(), migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.hours(1) } }),
      `Invalid migration.ttlAfterFinished of ${PATH} "3600s": the k8s-wait-for waiter reads the Job and not the migration history, so pods ` +
      'started after the TTL deleted it never start (and Flux would re-create the Job and run the migration again); drop ttlAfterFinished ' +
      '(jobHistoryLimit or pruning removes old Jobs), or use waiter: Waiter.kubectl() with the default MigrationHistory.configMap(), or Waiter.schemaCheck()'],
    ['ttl with the kubectl waiter and no history', () => synthService({ migrationHistory: MigrationHistory.none(), migration: { tool: MigrationTool.prisma(), ttlAfterFinished: Duration.hours(1) } }),
      `Invalid migration.ttlAfterFinished of ${PATH} "3600s": the kubectl waiter reads the Job, and there is no migration history, so pods ` +
      'started after the TTL deleted it never start (and Flux would re-create the Job and run the migration again); drop ttlAfterFinished ' +
      '(jobHistoryLimit or pruning removes old Jobs), or use waiter: Waiter.kubectl() with the default MigrationHistory.configMap(), or Waiter.schemaCheck()'],
    ['an image with a tag and no registry', () => synthService({ image: 'myapp:v1' }),
      `Invalid image of ${PATH} "myapp:v1": it contains a tag; pass the repository "myapp" and the tag "v1" as imageTag`],
    ['an invalid repository', () => synthService({ image: 'r/My_App' }),
      `Invalid image of ${PATH} "r/My_App": it is not a valid image repository: [host[:port]/]path with lowercase path components of ` +
      '[a-z0-9] separated by ".", "_", "__" or "-", e.g. "registry.example.com/team/myapp"'],
    ['args with one element that is not a string', () => synthService({ args: ['--verbose', 1 as any] }),
      `Invalid args of ${PATH} ["--verbose",1]: pass a list of strings, e.g. ["--verbose"]`],
    ['a label key', () => synthService({ labels: { 'bad key': 'x' } }),
      `Invalid labels key of ${PATH} "bad key": a label key is an optional DNS prefix and "/" and a name of at most 63 characters ` +
      '([A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]), e.g. "team" or "example.com/team"'],
    ['a label value that is a list', () => synthService({ labels: { team: ['a'] as any } }),
      `Invalid labels["team"] of ${PATH} ["a"]: a label value is at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric`],
  ])('%s', (_what, run, message) => {
    expect(run).toThrow(message);
  });
});

describe('postRollout: bad input, the whole message', () => {
  const post = (overrides: object) => () => synthService({ postRollout: { command: ['./post'], ...overrides } as any });
  const WAITER_IMAGE_ADVICE = 'give a full image reference with kubectl and sh, e.g. "registry.example.com/mirror/kubectl:1.34.1"';
  test.each<[string, () => unknown, string]>([
    ['null', () => synthService({ postRollout: null as any }),
      `Invalid postRollout of ${PATH} null: pass postRollout: { tool: MigrationTool.flyway({ dir: "/flyway/post" }) } or { command: [...] }`],
    ['a string', () => synthService({ postRollout: 'flyway' as any }),
      `Invalid postRollout of ${PATH} "flyway": pass postRollout: { tool: MigrationTool.flyway({ dir: "/flyway/post" }) } or { command: [...] }`],
    ['neither tool nor command', () => synthService({ postRollout: {} }),
      `Invalid postRollout of ${PATH} "{ no tool, no command }": set postRollout.tool (e.g. MigrationTool.flyway({ dir: "/flyway/post" })) ` +
      'or postRollout.command (e.g. ["npm", "run", "migrate:post"])'],
    ['a separate image with a digest', () => synthService({ imageTag: DIGEST, postRollout: { command: ['./post'], image: 'r/p' } }),
      `Invalid postRollout.image of ${PATH} "r/p": imageTag is a digest (${DIGEST}), which names one image in one repository, so a ` +
      'separate post-rollout migration image cannot share it; tag both images with one tag instead, or run the post-rollout ' +
      'migration from the service image (drop postRollout.image)'],
    ['waiterImage not a string', post({ waiterImage: 42 }), `Invalid postRollout.waiterImage of ${PATH} 42: ${WAITER_IMAGE_ADVICE}`],
    ['waiterImage empty', post({ waiterImage: '' }), `Invalid postRollout.waiterImage of ${PATH} "": ${WAITER_IMAGE_ADVICE}`],
    ['waiterImage blank', post({ waiterImage: ' ' }), `Invalid postRollout.waiterImage of ${PATH} " ": ${WAITER_IMAGE_ADVICE}`],
    ['waiterImage with a space', post({ waiterImage: 'kubectl latest' }), `Invalid postRollout.waiterImage of ${PATH} "kubectl latest": ${WAITER_IMAGE_ADVICE}`],
    ['activeDeadline equal to the rollout timeout', post({ activeDeadline: Duration.minutes(30) }),
      `Invalid postRollout.activeDeadline of ${PATH} "1800s": it counts from the Job's start, so it includes the wait for the rollout ` +
      '(postRollout.rolloutTimeout, 1800s): make it longer than that, or drop it'],
  ])('%s', (_what, run, message) => {
    expect(run).toThrow(message);
  });

  test('an activeDeadline one second longer than the rollout timeout is accepted', () => {
    expect(postJob(synthService({ postRollout: { command: ['./post'], activeDeadline: Duration.seconds(1801) } })).spec.activeDeadlineSeconds).toBe(1801);
  });

  test('its own resources win over the migration\'s', () => {
    const own = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '20m', memory: '32Mi' } };
    const migration = { requests: { cpu: '30m', memory: '48Mi' }, limits: { cpu: '40m', memory: '64Mi' } };
    const m = synthService({
      migration: { tool: MigrationTool.prisma(), resources: resourcesOf(migration) },
      postRollout: { command: ['./post'], resources: resourcesOf(own) },
    });
    expect(mainContainer(postJob(m)).resources).toEqual(own);
  });
});

describe('the service name', () => {
  const byId = (id: string) => () => synth(chart => new MigratedService(chart, id, baseProps()));
  test.each<[string, () => unknown, string]>([
    ['runs of invalid characters become one "-"', byId('My__App'),
      `Invalid name (taken from the construct id) of MigratedService "test/My__App" "My__App": ${NAME_RULE} Pass name: "my-app" or change the id.`],
    ['leading digits are dropped', byId('12App'),
      `Invalid name (taken from the construct id) of MigratedService "test/12App" "12App": ${NAME_RULE} Pass name: "app" or change the id.`],
    ['trailing dashes are dropped', byId('App--'),
      `Invalid name (taken from the construct id) of MigratedService "test/App--" "App--": ${NAME_RULE} Pass name: "app" or change the id.`],
    ['nothing left: a placeholder', byId('123'),
      `Invalid name (taken from the construct id) of MigratedService "test/123" "123": ${NAME_RULE} Pass name: "myapp" or change the id.`],
    ['too long: cut, without the dashes at the cut', byId(`${'a'.repeat(61)}--x`),
      `Invalid name (taken from the construct id) of MigratedService "test/${'a'.repeat(61)}--x" "${'a'.repeat(61)}--x": it is 64 characters; ` +
      `a Service name (a DNS-1035 label) is at most 63. Pass name: "${'a'.repeat(61)}" or change the id.`],
    ['not a string', () => synthService({ name: ['abc'] as any }), `Invalid name of ${PATH} ["abc"]: ${NAME_RULE}`],
    ['an invalid character after a valid start', () => synthService({ name: 'my_app' }), `Invalid name of ${PATH} "my_app": ${NAME_RULE}`],
  ])('%s', (_what, run, message) => {
    expect(run).toThrow(message);
  });

  test('one letter is a valid name', () => {
    expect(one(synthService({ name: 'a' }), 'Deployment').metadata.name).toBe('a');
  });
});

describe('valid input at the edges of the patterns is accepted', () => {
  test.each([
    ['a one-letter host label with a port', 'a.b:5000/app'],
    ['an IPv6 host without a port', '[::1]/app'],
    ['"--" in a single path component', 'my--app'],
    ['"--" in a later path component', 'r/team/my--app'],
    ['"-" in a later path component', 'r/team/my-app'],
  ])('image: %s (%s)', (_what, image) => {
    expect(one(synthService({ image }), 'Deployment').spec.template.spec.containers[0].image).toBe(`${image}:v1.2.3`);
  });

  test('label keys with one-letter and longer prefix labels, a one-letter name, and a prefix of exactly 253 characters', () => {
    const prefix253 = `${Array(4).fill('a'.repeat(61)).join('.')}.abcde`;
    expect(prefix253).toHaveLength(253);
    const labels = { 'a.b/t': 'x', 'example.com/team': 'y', 'k': 'z', [`${prefix253}/n`]: 'w' };
    expect(one(synthService({ labels }), 'Deployment').metadata.labels).toMatchObject(labels);
    expect(() => synthService({ labels: { [`${prefix253}a/n`]: 'w' } })).toThrow(/^Invalid labels key /);
  });
});

describe('readOnlyRootFilesystem', () => {
  const app = (m: Manifest[]) => one(m, 'Deployment').spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem;
  test('true unless set to false', () => {
    expect(app(synthService())).toBe(true);
    expect(app(synthService({ readOnlyRootFilesystem: true }))).toBe(true);
    expect(app(synthService({ readOnlyRootFilesystem: false }))).toBe(false);
  });
});

/** cdk8s-plus resource props from the rendered shape. */
function resourcesOf(r: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(parseInt(r.requests.cpu)), limit: kplus.Cpu.millis(parseInt(r.limits.cpu)) },
    memory: { request: Size.mebibytes(parseInt(r.requests.memory)), limit: Size.mebibytes(parseInt(r.limits.memory)) },
  };
}
