/**
 * Runs `cdk8s synth` in each example directory, as a user would, and checks what it writes.
 * The synths run one after another (each takes several seconds).
 */
import { execFileSync } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as batchV1 from 'kubernetes-models/batch/v1';
import { parse, parseAllDocuments } from 'yaml';
import { all, isHistoryObject, isLockObject, Manifest, one, validateSchemas } from './support/k8s';

const EXAMPLES = join(__dirname, '..', 'examples');
const TAG = 'v2.5.0-rc.1';
const SYNTH_TIMEOUT = 180_000;

/** Run `npx cdk8s synth` in an example; IMAGE_TAG is set only when `tag` is given. */
function cdk8sSynth(example: string, tag?: string): { ok: boolean; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.IMAGE_TAG;
  if (tag !== undefined) env.IMAGE_TAG = tag;
  try {
    const output = execFileSync('npx', ['cdk8s', 'synth', '--no-check-upgrade'], {
      cwd: join(EXAMPLES, example), env, encoding: 'utf-8', stdio: 'pipe', timeout: SYNTH_TIMEOUT,
    });
    return { ok: true, output };
  } catch (e: any) {
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Every object in the *.k8s.yaml files of a directory. */
function manifestsIn(dir: string): Manifest[] {
  const files = readdirSync(dir).filter(f => f.endsWith('.k8s.yaml'));
  expect(files.length).toBeGreaterThan(0);
  return files.flatMap(f => parseAllDocuments(readFileSync(join(dir, f), 'utf-8')).map(d => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Manifest;
  }));
}

function annotationsWithPrefix(m: Manifest, prefix: string): string[] {
  return Object.keys(m.metadata.annotations ?? {}).filter(k => k.startsWith(prefix)).sort();
}

function expectSynth(example: string, tag?: string): void {
  const result = cdk8sSynth(example, tag);
  if (!result.ok) throw new Error(`cdk8s synth failed in examples/${example}:\n${result.output}`);
}

describe('examples (cdk8s synth in each directory)', () => {
  test('basic: synthesizes without IMAGE_TAG (README path) using its default tag', () => {
    expectSynth('basic');
    const m = manifestsIn(join(EXAMPLES, 'basic', 'dist'));
    validateSchemas(m);
    expect(one(m, 'Deployment').spec.template.spec.containers[0].image).toBe('registry.example.com/myapp:v1.2286938253.0');
    expect(annotationsWithPrefix(one(m, 'Job'), 'kustomize.toolkit.fluxcd.io/')).toEqual(['kustomize.toolkit.fluxcd.io/force']);
  }, SYNTH_TIMEOUT);

  test('worker: web, a gated worker and a gated CronJob wait for one migration; the contract Job waits for the rollout', () => {
    expectSynth('worker', TAG);
    const m = manifestsIn(join(EXAMPLES, 'worker', 'dist'));
    validateSchemas(m.filter(o => o.kind !== 'CronJob'));
    expect(() => new batchV1.CronJob(one(m, 'CronJob') as any).validate()).not.toThrow();
    const jobs = all(m, 'Job');
    const migrate = jobs.find(j => j.metadata.labels['app.kubernetes.io/component'] === 'migration')!;
    const post = jobs.find(j => j.metadata.labels['app.kubernetes.io/component'] === 'post-rollout-migration')!;
    expect(migrate.metadata.name).toMatch(/^myapp-migrate-v2-5-0-rc-1-[0-9a-f]{10}$/);
    expect(post.metadata.name).toMatch(/^myapp-post-v2-5-0-rc-1-[0-9a-f]{10}$/);
    const waiters = [
      ...all(m, 'Deployment').map(d => d.spec.template.spec),
      one(m, 'CronJob').spec.jobTemplate.spec.template.spec,
    ].map(spec => spec.initContainers[0]);
    expect(waiters.map(w => w.name)).toEqual(['wait-for-migration', 'wait-for-migration', 'wait-for-migration']);
    for (const w of waiters) expect(w.command).toContain(migrate.metadata.name);
    expect(post.spec.template.spec.initContainers[0].command.slice(4)).toEqual([TAG, '1800', 'deployment/myapp', 'deployment/myapp-worker']);
    // alerts: one held rule per waiting workload, the Job alerts for both Jobs, the exact Job names
    const rules = one(m, 'PrometheusRule').spec.groups[0].rules;
    expect(rules.map((r: any) => `${r.alert} ${r.labels.workload ?? ''}`.trim())).toEqual([
      'MigrationFailed', 'MigrationRunningLong', 'ReleaseHeld myapp', 'ReleaseHeld myapp-worker', 'ReleaseHeld myapp-report',
      'PostRolloutMigrationFailed', 'PostRolloutMigrationRunningLong',
    ]);
    expect(rules[0].expr).toContain(`job_name="${migrate.metadata.name}"`);
    expect(rules[5].expr).toContain(`job_name="${post.metadata.name}"`);
    expect(rules[0].labels.team).toBe('myapp');
  }, SYNTH_TIMEOUT);

  test('flux: IMAGE_TAG keys both images and the versioned Job; only the Job is annotated', () => {
    expectSynth('flux', TAG);
    const m = manifestsIn(join(EXAMPLES, 'flux', 'dist'));
    validateSchemas(m);
    const job = one(m, 'Job');
    expect(job.metadata.name).toMatch(/^myapp-migrate-v2-5-0-rc-1-[0-9a-f]{10}$/);
    expect(job.spec.template.spec.containers[0].image).toBe(`registry.example.com/myapp-migration:${TAG}`);
    expect(one(m, 'Deployment').spec.template.spec.containers[0].image).toBe(`registry.example.com/myapp:${TAG}`);
    expect(one(m, 'Deployment').spec.template.spec.initContainers[0].command.slice(3, 5)).toEqual(['wait-for-migration', job.metadata.name]);
    expect(job.metadata.annotations['kustomize.toolkit.fluxcd.io/force']).toBe('Enabled');
    for (const o of m.filter(x => x.kind !== 'Job')) expect(annotationsWithPrefix(o, 'kustomize.toolkit.fluxcd.io/')).toEqual([]);
  }, SYNTH_TIMEOUT);

  test('flux: without IMAGE_TAG the synth fails naming the variable and how to set it', () => {
    const result = cdk8sSynth('flux');
    expect(result.ok).toBe(false);
    expect(result.output).toContain('Invalid environment variable IMAGE_TAG (undefined): it is not set.');
    expect(result.output).toContain('IMAGE_TAG=v1.2.3 npx cdk8s synth');
  }, SYNTH_TIMEOUT);

  test('flux: the Kustomization prunes, waits with a timeout and follows the OCI artifact', () => {
    const docs = parseAllDocuments(readFileSync(join(EXAMPLES, 'flux', 'flux-kustomization.yaml'), 'utf-8')).map(d => d.toJS());
    const source = docs.find(d => d.kind === 'OCIRepository');
    const ks = docs.find(d => d.kind === 'Kustomization');
    expect(ks.apiVersion).toBe('kustomize.toolkit.fluxcd.io/v1');
    expect(ks.spec).toMatchObject({ prune: true, wait: true, timeout: '15m', sourceRef: { kind: 'OCIRepository', name: source.metadata.name } });
    expect(source.spec.url).toBe('oci://registry.example.com/manifests/myapp');
  });

  test('argocd: the Job alone is a PreSync hook with a stable name; the ConfigMap is a PreSync hook of an earlier wave', () => {
    expectSynth('argocd', TAG);
    const m = manifestsIn(join(EXAMPLES, 'argocd', 'dist'));
    validateSchemas(m);
    const job = one(m, 'Job');
    expect(job.metadata.name).toBe('myapp-migrate');
    expect(job.metadata.labels['app.kubernetes.io/version']).toBe(TAG);
    expect(job.metadata.annotations).toMatchObject({
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
      'migrated-service.cdk8s.io/image-tag': TAG,
    });
    expect(one(m, 'ConfigMap').metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
      'argocd.argoproj.io/sync-wave': '-1',
    });
    // The Job, its ConfigMap and the migration lock's and history's RBAC (which the Job runs as) are PreSync hooks; nothing else is.
    const hooks = m.filter(x => ['Job', 'ConfigMap'].includes(x.kind) || isLockObject(x) || isHistoryObject(x));
    for (const o of hooks) expect([o.kind, o.metadata.name, annotationsWithPrefix(o, 'argocd.argoproj.io/hook')]).toEqual([o.kind, o.metadata.name, expect.arrayContaining(['argocd.argoproj.io/hook'])]);
    for (const o of m.filter(x => !hooks.includes(x))) expect(annotationsWithPrefix(o, 'argocd.argoproj.io/')).toEqual([]);
    expect(one(m, 'Role').rules[0].resourceNames).toEqual(['myapp-migrate']);
  }, SYNTH_TIMEOUT);

  test('argocd: the Application syncs the OCI artifact into the namespace the chart uses', () => {
    const appManifest = parse(readFileSync(join(EXAMPLES, 'argocd', 'application.yaml'), 'utf-8'));
    expect(appManifest.kind).toBe('Application');
    expect(appManifest.spec.source).toEqual({ repoURL: 'oci://registry.example.com/manifests/myapp', targetRevision: 'main', path: '.' });
    expect(appManifest.spec.destination.namespace).toBe('myapp');
    expect(appManifest.spec.syncPolicy.automated).toMatchObject({ prune: true });
  });

  test('helm: synth writes a chart whose templates carry the hook annotations', () => {
    expectSynth('helm', TAG);
    const dist = join(EXAMPLES, 'helm', 'dist');
    const chart = parse(readFileSync(join(dist, 'Chart.yaml'), 'utf-8'));
    expect(chart).toMatchObject({ apiVersion: 'v2', version: '0.1.0', name: 'helm' });
    const m = manifestsIn(join(dist, 'templates'));
    validateSchemas(m);
    expect(one(m, 'Job').metadata.name).toBe('myapp-migrate');
    expect(one(m, 'Job').metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(one(m, 'ConfigMap').metadata.annotations).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-1',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(all(m, 'Deployment').flatMap(d => annotationsWithPrefix(d, 'helm.sh/'))).toEqual([]);
    // Helm renders templates: a stray "{{" would break the install.
    for (const f of readdirSync(join(dist, 'templates'))) expect(readFileSync(join(dist, 'templates', f), 'utf-8')).not.toContain('{{');
    expect(existsSync(join(dist, 'myapp.k8s.yaml'))).toBe(false);
  }, SYNTH_TIMEOUT);
});

describe('CI recipes', () => {
  const gitlab = parse(readFileSync(join(EXAMPLES, 'ci', '.gitlab-ci.yml'), 'utf-8'));
  const github = parse(readFileSync(join(EXAMPLES, 'ci', 'github-actions.yml'), 'utf-8'));
  const scripts = (job: any): string => [...(job.script ?? []), ...(job.steps ?? []).map((s: any) => s.run ?? '')].join('\n');

  test('GitLab: both images are built with the one tag that synth reads from IMAGE_TAG', () => {
    expect(gitlab.variables.IMAGE_TAG).toBe('$CI_COMMIT_SHORT_SHA');
    const build = scripts(gitlab['build-images']);
    expect(build).toContain('docker build -t "$IMAGE_REPOSITORY:$IMAGE_TAG" .');
    expect(build).toContain('docker build -f Dockerfile.migration -t "$MIGRATION_REPOSITORY:$IMAGE_TAG" .');
    expect(scripts(gitlab.synth)).toContain('npx cdk8s synth');
    expect(gitlab.synth.needs).toEqual(['build-images']);
  });

  test('GitHub Actions: both images are built with the one tag that synth reads from IMAGE_TAG', () => {
    const tagTags = github.jobs.build.steps.filter((s: any) => s.uses?.startsWith('docker/build-push-action')).map((s: any) => s.with.tags);
    expect(tagTags).toEqual([
      '${{ env.IMAGE_REPOSITORY }}:${{ steps.tag.outputs.tag }}',
      '${{ env.MIGRATION_REPOSITORY }}:${{ steps.tag.outputs.tag }}',
    ]);
    expect(github.jobs.synth.env.IMAGE_TAG).toBe('${{ needs.build.outputs.tag }}');
    expect(scripts(github.jobs.synth)).toContain('npx cdk8s synth');
  });

  test('both: after delivery, the release of this tag is verified with the status CLI (--wait, --timeout, --tag)', () => {
    const command = 'npx cdk8s-migrated-service status myapp -n myapp --tag "$IMAGE_TAG" --wait --timeout 15m';
    // GitLab: a stage after deliver, for every target
    expect(gitlab.stages).toEqual(['build', 'synth', 'deliver', 'verify']);
    expect(gitlab['verify-release'].stage).toBe('verify');
    expect(scripts(gitlab['verify-release'])).toContain(command);
    // GitHub Actions: a job after whichever delivery job ran, with the build's tag
    const verify = github.jobs.verify;
    expect(verify.needs).toEqual(['build', 'publish-flux', 'publish-argocd', 'deploy-helm']);
    expect(verify.if).toBe('${{ !failure() && !cancelled() }}');
    expect(verify.env.IMAGE_TAG).toBe('${{ needs.build.outputs.tag }}');
    expect(scripts(verify)).toContain(command);
  });

  test.each([['.gitlab-ci.yml'], ['github-actions.yml']])('%s: no commit back and no sed on manifests', (file) => {
    const text = readFileSync(join(EXAMPLES, 'ci', file), 'utf-8').split('\n').filter(l => !l.trim().startsWith('#')).join('\n');
    expect(text).not.toMatch(/\bsed\b|git (commit|push)|yq /);
  });
});
