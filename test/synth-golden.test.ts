/**
 * Guard for restructuring (#20): what the library synthesizes stays byte-identical, for every
 * delivery × waiter × migration tool (with every option that adds objects: a post-rollout
 * migration, alerts, gated workloads; and once per delivery × waiter without them) and for every
 * example app.
 *
 * test/golden/synth.json holds, per combination, the SHA-256 of the YAML (or the synth-time error,
 * which is behaviour too). When an output change is intended, record anew with
 * `UPDATE_GOLDEN=1 npx jest test/synth-golden.test.ts` and say why in the commit. On a mismatch the
 * test writes the YAML of each changed combination under $TMPDIR; `GOLDEN_DUMP=<dir>` writes every
 * combination's, so two commits can be diffed (`diff -r`).
 */
import { createHash } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart, Cron } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedService } from '../src';
import { DELIVERIES, MIGRATION_TOOLS as TOOLS, WAITERS } from './support/matrix';

const GOLDEN = join(__dirname, 'golden', 'synth.json');
const EXAMPLES = join(__dirname, '..', 'examples');

/** The YAML of one combination, or the error synth refused it with. */
function synthesize(delivery: string, waiter: string, tool: string, full: boolean): string {
  try {
    const app = new App();
    const chart = new Chart(app, 'golden', { namespace: 'shop' });
    const service = new MigratedService(chart, 'orders', {
      image: 'registry.example.com/orders',
      imageTag: 'v4.1.0',
      port: 8080,
      delivery: DELIVERIES[delivery](),
      waiter: WAITERS[waiter](),
      migration: { tool: TOOLS[tool](), image: 'registry.example.com/orders-migration' },
      ...(full ? {
        postRollout: { command: ['./contract'] },
        alerts: { labels: { team: 'orders' }, runbookUrl: 'https://runbooks.example.com/orders' },
        labels: { tier: 'backend' },
        envVariables: { LOG_LEVEL: kplus.EnvValue.fromValue('info') },
      } : {}),
    });
    if (full) {
      const container = { image: service.serviceImage, securityContext: { user: 1000 } };
      service.gate(new kplus.Deployment(chart, 'worker', { containers: [container] }));
      service.gate(new kplus.CronJob(chart, 'report', { schedule: Cron.daily(), containers: [container] }));
    }
    return app.synthYaml();
  } catch (e: any) {
    return `error: ${e.message}`;
  }
}

/** The YAML files an example's `app.synth()` writes, in file order. */
function synthesizeExample(example: string): string {
  const outdir = mkdtempSync(join(tmpdir(), `golden-${example}-`));
  const saved = { outdir: process.env.CDK8S_OUTDIR, tag: process.env.IMAGE_TAG };
  process.env.CDK8S_OUTDIR = outdir;
  process.env.IMAGE_TAG = 'v2.5.0-rc.1';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the example runs as its own program does
    jest.isolateModules(() => require(join(EXAMPLES, example, 'main.ts')));
  } finally {
    restore('CDK8S_OUTDIR', saved.outdir);
    restore('IMAGE_TAG', saved.tag);
  }
  return readdirSync(outdir).sort().map(f => `# ${f}\n${readFileSync(join(outdir, f), 'utf-8')}`).join('');
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

const sha256 = (text: string) => (text.startsWith('error: ') ? text : createHash('sha256').update(text).digest('hex'));

function current(): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const delivery of Object.keys(DELIVERIES)) {
    for (const waiter of Object.keys(WAITERS)) {
      for (const tool of Object.keys(TOOLS)) {
        outputs[`${delivery} ${waiter} ${tool}`] = synthesize(delivery, waiter, tool, true);
      }
      // Without the options that add objects, once per delivery and waiter.
      outputs[`${delivery} ${waiter} prisma plain`] = synthesize(delivery, waiter, 'prisma', false);
    }
  }
  for (const example of readdirSync(EXAMPLES).filter(e => existsSync(join(EXAMPLES, e, 'main.ts'))).sort()) {
    outputs[`example ${example}`] = synthesizeExample(example);
  }
  return outputs;
}

test('GIVEN every delivery × waiter × tool and every example WHEN synthesized THEN the YAML is byte-identical to the recorded one', () => {
  const outputs = current();
  if (process.env.GOLDEN_DUMP) {
    // Every combination's YAML, to diff two commits: GOLDEN_DUMP=/tmp/before, then /tmp/after.
    mkdirSync(process.env.GOLDEN_DUMP, { recursive: true });
    for (const [k, v] of Object.entries(outputs)) writeFileSync(join(process.env.GOLDEN_DUMP, `${k.replace(/ /g, '_')}.yaml`), v);
  }
  const hashes = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, sha256(v)]));
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(join(__dirname, 'golden'), { recursive: true });
    writeFileSync(GOLDEN, JSON.stringify(hashes, undefined, 2) + '\n');
  }
  const golden: Record<string, string> = JSON.parse(readFileSync(GOLDEN, 'utf-8'));
  const changed = Object.keys({ ...golden, ...hashes }).filter(k => golden[k] !== hashes[k]);
  if (changed.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'golden-changed-'));
    for (const k of changed) writeFileSync(join(dir, `${k.replace(/ /g, '_')}.yaml`), outputs[k] ?? '(no longer synthesized)\n');
    process.stderr.write(`synth-golden: ${changed.length} changed; their YAML is in ${dir}\n`);
  }
  expect(changed).toEqual([]);
  // The matrix is what it says: most combinations synthesize.
  expect(Object.values(hashes).filter(h => !h.startsWith('error: ')).length).toBeGreaterThan(150);
}, 300_000);
