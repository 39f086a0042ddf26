/**
 * What `Delivery.helm()` escapes, rendered by the real engine: Helm renders every file under
 * templates/ with Go's text/template, so the synthesized YAML goes through a tiny Go program
 * (support/gotemplate/main.go, standard library only, Debian's golang-go from .ci/install-tools.sh)
 * and must come out as the same objects with exactly the text `Delivery.flux()` writes: Atlas's
 * `{{ .Status }}` and Prometheus's `{{ $labels.pod }}`, `{{ $value | humanizeDuration }}`.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { parseAllDocuments, stringify } from 'yaml';
import { IN_CI } from './harness';
import { Delivery, MigratedService, MigrationTool, Waiter } from '../../src';

const SOURCE = join(__dirname, 'support', 'gotemplate', 'main.go');
const probe = spawnSync('go', ['version'], { encoding: 'utf-8' });
const goVersion = probe.status === 0 ? probe.stdout.trim() : undefined;

interface Synthesized {
  readonly yaml: string;
  readonly objects: any[];
  /** The Job names, which differ by target (versioned for Flux, stable for Helm hooks). */
  readonly jobNames: string[];
}

/**
 * One chart without a namespace (so the rules name it with `{{ $labels.namespace }}`): Atlas with
 * the schema check (also copied into a gated StatefulSet), alerts with the user's labels and
 * runbook URL, a post-rollout migration.
 */
function synthesize(delivery: Delivery): Synthesized {
  const app = new App();
  const chart = new Chart(app, 'orders');
  const svc = new MigratedService(chart, 'orders', {
    image: 'registry.example.com/orders',
    imageTag: 'v1.4.0',
    migration: { tool: MigrationTool.atlas(), image: 'registry.example.com/orders-migration' },
    waiter: Waiter.schemaCheck(),
    postRollout: { command: ['atlas', 'migrate', 'apply', '--dir', 'file://contract'] },
    alerts: { labels: { team: 'payments' }, runbookUrl: 'https://runbooks.example.com/migrations' },
    delivery,
  });
  svc.gate(new kplus.StatefulSet(chart, 'consumer', {
    metadata: { name: 'orders-consumer' },
    containers: [{ image: svc.serviceImage, portNumber: 8080, securityContext: { ensureNonRoot: true, user: 1000 } }],
  }));
  const yaml = app.synthYaml();
  return { yaml, objects: parse(yaml), jobNames: [svc.jobName, svc.postRolloutJobName!] };
}

function parse(yaml: string): any[] {
  return parseAllDocuments(yaml).map(d => d.toJSON()).filter(o => o !== null);
}

const find = (objects: any[], kind: string, name?: string) =>
  objects.find(o => o.kind === kind && (name === undefined || o.metadata.name === name));
/** Every `{{ ... }}` in a text, in order. */
const templates = (text: string) => text.match(/\{\{.*?\}\}/g) ?? [];

const unavailable = goVersion === undefined ? 'go is not installed: run .ci/install-tools.sh (Debian package golang-go)' : undefined;

if (unavailable && !IN_CI) {
  describe('Helm\'s template engine (Go text/template)', () => {
    it.skip(`skipped: ${unavailable}`, () => undefined);
  });
} else {
  describe(`Helm's template engine (${goVersion ?? 'go not installed'})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'helm-template-'));
    const binary = join(dir, 'gotemplate');
    let helm: Synthesized;
    let flux: Synthesized;
    let rendered: string;

    beforeAll(() => {
      if (unavailable) throw new Error(unavailable);
      // A cache of its own: HOME may not be writable for the user the tools tier runs as.
      const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GOFLAGS: '' };
      const build = spawnSync('go', ['build', '-o', binary, SOURCE], { encoding: 'utf-8', env });
      expect(build.stderr).toBe('');
      expect(build.status).toBe(0);
      helm = synthesize(Delivery.helm());
      flux = synthesize(Delivery.flux());
      const run = spawnSync(binary, [], { input: helm.yaml, encoding: 'utf-8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      rendered = run.stdout;
    });

    /** Flux's text with its Job names turned into Helm's, the one intended difference. */
    const asHelmNames = (value: unknown): unknown => {
      let text = JSON.stringify(value);
      flux.jobNames.forEach((name, i) => { text = text.split(name).join(helm.jobNames[i]); });
      return JSON.parse(text);
    };

    test('GIVEN Delivery.helm() with alerts and the Atlas schema check WHEN the chart is synthesized THEN synth passes and the templates are escaped', () => {
      expect(helm.yaml).toContain("--format '{{`{{`}} .Status }}'");
      expect(helm.yaml).toContain('Pod {{`{{`}} $labels.pod }} of Deployment orders');
      expect(flux.yaml).not.toContain('`');
    });

    test('GIVEN the helm-delivery YAML WHEN Go text/template renders it THEN only each escape changed, into "{{"', () => {
      expect(rendered).not.toBe(helm.yaml);
      expect(rendered).toBe(helm.yaml.split('{{`{{`}}').join('{{'));
    });

    test('GIVEN the rendered objects THEN the escaped strings are exactly flux\'s, and every other field is the chart\'s as synthesized', () => {
      const objects = parse(rendered);
      const expected = parse(helm.yaml);
      const fluxRule = find(flux.objects, 'PrometheusRule');
      find(expected, 'PrometheusRule').spec = asHelmNames(fluxRule.spec);
      for (const name of ['orders', 'orders-consumer']) {
        const kind = name === 'orders' ? 'Deployment' : 'StatefulSet';
        find(expected, kind, name).spec.template.spec.initContainers[0].command =
          find(flux.objects, kind, name).spec.template.spec.initContainers[0].command;
      }
      expect(objects).toEqual(expected);
      expect(find(objects, 'Deployment', 'orders').spec.template.spec.initContainers[0].command[2])
        .toBe('test "$$(atlas migrate status --url "$1" --dir "$2" --format \'{{ .Status }}\')" = OK');
    });

    test('GIVEN the rendered rules THEN the Prometheus templates promtool expands are flux\'s, character for character', () => {
      const rule = find(parse(rendered), 'PrometheusRule');
      const text = (groups: any[]) => groups.flatMap(g => g.rules.flatMap((r: any) => [r.expr, ...Object.values(r.annotations)])).join('\n');
      const found = templates(text(rule.spec.groups));
      expect(found).toEqual(templates(text(find(flux.objects, 'PrometheusRule').spec.groups)));
      expect(new Set(found)).toEqual(new Set(['{{ $labels.namespace }}', '{{ $value | humanizeDuration }}', '{{ $labels.pod }}']));
    });

    const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf-8' }).status === 0;
    (promtool || IN_CI ? test : test.skip)('GIVEN the rendered rules WHEN promtool check rules THEN they are valid', () => {
      const file = join(dir, 'rules.yaml');
      writeFileSync(file, stringify({ groups: find(parse(rendered), 'PrometheusRule').spec.groups }));
      const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf-8' });
      expect(run.stderr).toBe('');
      // Two per Job (migration, post-rollout), one per held workload (Deployment, StatefulSet).
      expect(run.stdout).toMatch(/SUCCESS: 6 rules found/);
      expect(run.status).toBe(0);
    });
  });
}
