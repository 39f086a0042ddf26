/**
 * Acceptance: the library works when consumed like a published package. It is compiled with jsii,
 * packed with `npm pack`, installed from the tarball into a fresh cdk8s app in a temporary
 * directory, and synthesized there with `cdk8s synth`.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { toolCommand } from './support/k8s';

const root = path.resolve(__dirname, '..');
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
const installedVersion = (pkg: string) => JSON.parse(fs.readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf-8')).version;

/**
 * The project's own tooling: none of it may reach the package. Prefixes of packed paths (a folder,
 * with its slash) or whole paths. examples/ covers each example's dist/ (synthesized YAML).
 */
const TOOLING = [
  'src/', 'test/', 'bench/', 'mutation/', '.ci/', 'projenrc/', '.projen/', '.github/',
  'reports/', '.stryker-tmp/', 'test-reports/', 'coverage/',
  'stryker.config.json', '.projenrc.ts', 'tsconfig.dev.json', 'tsconfig.json', '.eslintrc.json', '.mergify.yml',
  '.gitattributes', '.npmignore', '.gitignore', 'package-lock.json',
];
const isTooling = (file: string) => TOOLING.some(t => (t.endsWith('/') ? file.startsWith(t) : file === t)) ||
  /^examples\/.*\/(dist|node_modules)\//.test(file);
/**
 * Everything a consumer needs, and all that is shipped on purpose: docs/ and the examples' sources
 * too, as the README links to them and an installed package is read without the repository.
 */
const SHIPPED = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^API\.md$/, /^\.jsii$/, /^bin\/cdk8s-migrated-service$/, /^lib\/.+\.(js|d\.ts)$/, /^sh\/[a-z-]+\.sh$/,
  /^docs\/[A-Za-z-]+\.md$/, /^examples\/[a-z]+\/(main\.ts|cdk8s\.yaml|[a-z-]+\.ya?ml|README\.md|\.gitlab-ci\.yml|[a-z-]+\.Dockerfile)$/];

/** The relative links of a Markdown file (no URL, no in-page anchor), without their #fragment. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1])
    .filter(l => !/^[a-z]+:/.test(l) && !l.startsWith('#')).map(l => l.replace(/#.*$/, ''));
}

const APP = `
const { App, Chart } = require('cdk8s');
const kplus = require('cdk8s-plus-28');
const { MigratedService, MigrationTool, Waiter } = require('cdk8s-migrated-service');
const app = new App();
const chart = new Chart(app, 'shop', { namespace: 'shop' });
const secret = kplus.Secret.fromSecretName(chart, 'db', 'shop-db');
new MigratedService(chart, 'shop', {
  image: 'registry.example.com/shop',
  imageTag: process.env.IMAGE_TAG,
  migration: { tool: MigrationTool.django() },
  envFrom: [kplus.Env.fromSecret(secret)],
  waiter: Waiter.kubectl(),
  port: 8000,
});
app.synth();
`;

describe('npm pack → install into a fresh cdk8s app → cdk8s synth', () => {
  let work: string;
  let docs: any[];
  /** Paths in the tarball as `npm pack` lists them. */
  let packed: string[];

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'migrated-service-pack-'));
    run('npx', ['jsii', '--silence-warnings=reserved-word'], root);
    const [pack] = JSON.parse(run('npm', ['pack', '--pack-destination', work, '--json', '--silent'], root));
    const tarball: string = pack.filename;
    packed = pack.files.map((f: { path: string }) => f.path);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
      name: 'consumer-app',
      private: true,
      dependencies: {
        'cdk8s-migrated-service': `file:${path.join(work, tarball)}`,
        'cdk8s': installedVersion('cdk8s'),
        'cdk8s-plus-28': installedVersion('cdk8s-plus-28'),
        'constructs': installedVersion('constructs'),
      },
    }, null, 2));
    fs.writeFileSync(path.join(app, 'main.js'), APP);
    fs.writeFileSync(path.join(app, 'cdk8s.yaml'), 'language: javascript\napp: node main.js\noutput: dist\n');
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
    execFileSync(path.join(root, 'node_modules', '.bin', 'cdk8s'), ['synth', '--no-check-upgrade'], {
      cwd: app, stdio: 'pipe', env: { ...process.env, IMAGE_TAG: 'v2.0.1' },
    });
    docs = parseAllDocuments(fs.readFileSync(path.join(app, 'dist', 'shop.k8s.yaml'), 'utf-8')).map(d => d.toJSON());
  }, 300_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the installed package is the packed one, with compiled JS and types, no sources', () => {
    const pkg = path.join(work, 'app', 'node_modules', 'cdk8s-migrated-service');
    expect(fs.existsSync(path.join(pkg, 'lib', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'lib', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, '.jsii'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.lstatSync(pkg).isSymbolicLink()).toBe(false);
  });

  test('the tarball holds what a consumer needs and none of the project\'s tooling', () => {
    // The test must see a real list: an empty or path-less one would pass everything below.
    expect(packed.length).toBeGreaterThan(5);
    expect(packed.filter(isTooling)).toEqual([]);
    expect(packed.filter(f => !SHIPPED.some(re => re.test(f)))).toEqual([]);
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'API.md', '.jsii', 'bin/cdk8s-migrated-service', 'lib/index.js', 'lib/index.d.ts', 'sh/migration-lock.sh',
      'docs/troubleshooting.md', 'examples/basic/main.ts', 'examples/ci/github-actions.yml']) {
      expect(packed).toContain(needed);
    }
  });

  test('every relative link of the README and of the shipped docs leads to a file in the package', () => {
    const pkg = path.join(work, 'app', 'node_modules', 'cdk8s-migrated-service');
    const markdown = ['README.md', ...packed.filter(f => /^(docs|examples)\/.*\.md$/.test(f))];
    const links = markdown.flatMap(file => relativeLinks(fs.readFileSync(path.join(pkg, file), 'utf-8'))
      .map(link => ({ file, link, target: path.posix.normalize(path.posix.join(path.posix.dirname(file), link)).replace(/\/$/, '') })));
    // The test must see real links: the README links to a dozen docs.
    expect(links.filter(l => l.file === 'README.md' && l.target.startsWith('docs/')).length).toBeGreaterThan(10);
    expect(links.filter(l => !fs.existsSync(path.join(pkg, l.target)))).toEqual([]);
  });

  test('the status CLI is installed as a bin and runs: --help on stdout (0), usage mistakes on stderr (2); tooling stays out', () => {
    const app = path.join(work, 'app');
    const bin = path.join(app, 'node_modules', '.bin', 'cdk8s-migrated-service');
    expect(fs.existsSync(bin)).toBe(true);
    const help = spawnSync(bin, ['status', '--help'], { cwd: app, encoding: 'utf-8' });
    expect(help.stdout).toMatch(/^usage: cdk8s-migrated-service status <name> -n <namespace> \[--wait \[--timeout <duration>\]\] \[-o text\|json\]/);
    expect(help.stdout).toContain('Exit codes: 0 done, 1 failed, 2 usage, 3 cannot reach or read the cluster, 4 not done yet,\n5 --wait timed out.');
    expect(help.status).toBe(0);
    const r = spawnSync(bin, ['status'], { cwd: app, encoding: 'utf-8' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^missing <name>\nusage: cdk8s-migrated-service status /);
    expect(r.status).toBe(2);
    const pkg = path.join(app, 'node_modules', 'cdk8s-migrated-service');
    for (const tooling of ['test', '.ci', 'bench', 'mutation', 'stryker.config.json', '.projenrc.ts', 'examples/basic/dist']) expect(fs.existsSync(path.join(pkg, tooling))).toBe(false);
  });

  test('cdk8s synth emits the whole release from the tag', () => {
    // The service's, the migration lock's and the migration history's RBAC, then the Job.
    expect(docs.map(d => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'ServiceAccount', 'Role', 'RoleBinding', 'Role', 'RoleBinding', 'Job', 'Deployment', 'Service']);
    const job = docs.find(d => d.kind === 'Job');
    const deployment = docs.find(d => d.kind === 'Deployment');
    expect(job.metadata.name).toMatch(/^shop-migrate-v2-0-1-[a-f0-9]{10}$/);
    expect(job.spec.template.spec.containers[0].image).toBe('registry.example.com/shop:v2.0.1');
    expect(toolCommand(job.spec.template.spec.containers[0])).toEqual(['python', 'manage.py', 'migrate', '--noinput']);
    expect(deployment.spec.template.spec.containers[0].image).toBe('registry.example.com/shop:v2.0.1');
    expect(deployment.spec.template.spec.initContainers[0].command.slice(-2)).toEqual([job.metadata.name, '600']);
    expect(docs.find(d => d.kind === 'Role').rules[0]).toEqual({
      apiGroups: ['batch'], resources: ['jobs'], resourceNames: [job.metadata.name], verbs: ['get', 'list', 'watch'],
    });
  });
});
