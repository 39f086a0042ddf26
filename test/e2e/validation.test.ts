/**
 * API-server validation of every combination the library offers: each delivery target × waiter ×
 * migration tool preset, plus edge tags and the longest names, synthesized through the public API
 * and applied with `--server-side --dry-run=server --validate=strict` into a namespace that
 * enforces, warns and audits the "restricted" Pod Security Standard. The API server must accept
 * every object and warn about none. (The fast offline tier is test/*.test.ts with kubernetes-models.)
 */
import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { applyAsync, createNamespace, deleteNamespace, describeOnCluster, objectsOf, synthYaml } from './support';
import { Delivery, MigratedService, MigratedServiceProps, MigrationTool } from '../../src';
import { DELIVERIES, MIGRATION_TOOLS as TOOLS, WAITERS } from '../support/matrix';

/** Tags at the edges of what OCI allows: uppercase, "_", ".", 128 characters, a digest. */
const EDGE_TAGS = [
  'V1.2.3-RC_1',
  '_underscore_first',
  'release.2024.01.31',
  `V${'a1_B.-'.repeat(21)}x`.slice(0, 128),
  `sha256:${'0123456789abcdef'.repeat(4)}`,
];
/** A 63-character service name (the longest DNS-1035 label). */
const LONG_NAME = `svc-${'x'.repeat(55)}-end`;

/** The app's env: its ConfigMap (a hook where the target needs it to be) and an external Secret. */
function deliveryChart(chart: Chart, delivery: string, name: string): kplus.EnvFrom[] {
  const config = new kplus.ConfigMap(chart, `config-${delivery}`, { metadata: { name: `${name}-config` }, data: { LOG_LEVEL: 'info' } });
  if (delivery === 'helm') Delivery.helmPreInstall(config);
  if (delivery === 'argocd') Delivery.argoCdPreSync(config);
  return [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, `db-${delivery}`, 'app-db'))];
}

function base(overrides: Partial<MigratedServiceProps>): MigratedServiceProps {
  return {
    image: 'registry.example.com/team/app',
    imageTag: 'v1.2.3',
    port: 8080,
    runAsUser: 1000,
    migration: { tool: MigrationTool.prisma() },
    ...overrides,
  };
}

describeOnCluster('API-server validation of every combination', () => {
  let ns = '';
  beforeAll(() => {
    ns = createNamespace('e2e-validate');
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
  });

  /** Apply `yaml` as a server-side dry run; every object must be accepted, without a warning. */
  const expectAccepted = async (yaml: string): Promise<number> => {
    const objects = objectsOf(yaml);
    // A few kubectl processes at once: one applies its objects one request at a time.
    const chunks = [0, 1, 2, 3].map(i => objects.filter((_, j) => j % 4 === i)).filter(chunk => chunk.length > 0);
    // A YAML stream, as `cdk8s synth` writes it: kubectl validates a v1 List on the client against
    // its OpenAPI v2 schema instead of asking the server, which is not what users run.
    const results = await Promise.all(chunks.map(chunk => applyAsync(chunk.map(o => stringify(o)).join('---\n'), ns,
      { dryRun: true, fieldManager: 'e2e-validate' })));
    const stderr = results.map(r => r.stderr).join('');
    expect(stderr).not.toMatch(/warning/i);
    const accepted = results.flatMap(r => r.stdout.split('\n')).filter(l => / serverside-applied \(server dry run\)$/.test(l));
    expect(accepted).toHaveLength(objects.length);
    return objects.length;
  };

  test('each delivery target × waiter × tool preset', async () => {
    const docs: string[] = [];
    const refused: string[] = [];
    for (const [d, delivery] of Object.entries(DELIVERIES)) {
      for (const [w, waiter] of Object.entries(WAITERS)) {
        for (const [t, tool] of Object.entries(TOOLS)) {
          const name = `${d}-${w}-${t}`;
          try {
            docs.push(synthYaml(ns, chart => new MigratedService(chart, name,
              base({ delivery: delivery(), waiter: waiter(), migration: { tool: tool() }, envFrom: deliveryChart(chart, d, name) }))));
          } catch (e) {
            refused.push(`${name}: ${(e as Error).message.split('\n').find(l => /has no command that fails/.test(l)) ? 'ok' : e}`);
          }
        }
      }
    }
    // Refused at synth, as designed: a schema check needs a tool with a check command. (Helm with
    // Atlas's check passes: its "{{ .Status }}" is escaped for Helm.)
    const noCheck = Object.keys(TOOLS).filter(t => TOOLS[t]().checkCommand === undefined);
    expect(refused.sort()).toEqual(Object.keys(DELIVERIES).flatMap(d => noCheck.map(t => `${d}-schemacheck-${t}: ok`)).sort());

    const objects = await expectAccepted(docs.join('---\n'));
    process.stdout.write(`validation: ${docs.length} combinations (${objects} objects) accepted; ${refused.length} refused at synth as designed\n`);
    expect(docs.length + refused.length).toBe(4 * 4 * 15);
  });

  test('edge tags and 63-character names, for every delivery target and waiter', async () => {
    let services = 0;
    const yaml = synthYaml(ns, chart => {
      for (const [d, delivery] of Object.entries(DELIVERIES)) {
        const envFrom = deliveryChart(chart, d, `edge-${d}`);
        for (const [w, waiter] of Object.entries(WAITERS)) {
          EDGE_TAGS.forEach((tag, i) => {
            // The same long name in every namespace would collide: each combination gets its own.
            const name = `${LONG_NAME.slice(0, 63 - 10)}-${d.slice(0, 3)}-${w.slice(0, 3)}-${i}`;
            expect(name).toHaveLength(63);
            new MigratedService(chart, `${d}-${w}-${i}`, base({
              name,
              imageTag: tag,
              delivery: delivery(),
              waiter: waiter(),
              envFrom,
              migration: { tool: TOOLS.custom() },
            }));
            services++;
          });
        }
      }
    });
    const objects = objectsOf(yaml);
    // Every name the API server will index is a DNS-1123 label or subdomain within its limit.
    for (const o of objects) expect(o.metadata.name.length).toBeLessThanOrEqual(o.kind === 'Role' || o.kind === 'RoleBinding' ? 253 : 63);
    await expectAccepted(yaml);
    process.stdout.write(`validation: ${services} services with edge tags and 63-character names (${objects.length} objects) accepted\n`);
  });

  test('the check can fail: a pod template outside "restricted" warns, an unknown field is refused', async () => {
    const deployment = (spec: any): string => JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'not-hardened' },
      spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec } },
    });
    await expect(expectAccepted(deployment({ containers: [{ name: 'app', image: 'registry.example.com/x:1' }] })))
      .rejects.toThrow(/would violate PodSecurity "restricted/);
    await expect(expectAccepted(deployment({ containers: [{ name: 'app', image: 'registry.example.com/x:1', bogusField: 1 }] })))
      .rejects.toThrow(/unknown field|field not declared in schema/);
  });
});
