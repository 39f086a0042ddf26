/**
 * #27 on the real cluster: going back is as safe as going forward. With PostgreSQL on the node IP
 * and real tools that fail on a database ahead of them (Knex: "the migration directory is
 * corrupt"; Alembic: "Can't locate revision"), a service goes v1 → v2 → back to v1 with v1's Job
 * kept, deleted and re-created (what Flux's revert, an Argo CD Git revert or `kubectl apply
 * --prune` do), and gone for good; then forward to v3 with a contract step, and back to v2 past
 * it, which is held until `allow-rollback`. Migration runs are counted from the tool's own
 * history table; times come from the cluster's timestamps.
 */
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  apply, Cluster, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, kubectl, objectsOf,
  rolledOut, SMALL_RESOURCES, synthYaml, waitFor,
} from './support';
import { alembicImage, djangoImage, HAVE_ALEMBIC, HAVE_DJANGO, HAVE_KNEX, knexImage, knexMigration, TOOL_RESOURCES } from './support/tool-images';
import { Delivery, MigratedService, MigrationHistory, MigrationTool } from '../../src';
import { main as allowRollbackCli } from '../../src/allow-rollback';
import { realKubectl } from '../../src/status';
import { Postgres, startPostgres } from '../support/postgres';

const SQL = [
  'CREATE TABLE widgets (id integer PRIMARY KEY)',
  'ALTER TABLE widgets ADD COLUMN size integer',
  'ALTER TABLE widgets ADD COLUMN colour text',
  'ALTER TABLE widgets ADD COLUMN weight integer',
  'ALTER TABLE widgets ADD COLUMN price integer',
];

interface ToolCase {
  readonly name: string;
  readonly available: boolean;
  readonly tool: () => MigrationTool;
  /** Builds the image of release `n` (1, 2, 3: that many migrations); returns its repository. */
  readonly image: (n: number) => string;
  /** The tool's own record of what it applied, from its history table. */
  readonly applied: (pg: Postgres, db: string) => string;
  /**
   * Every scenario, or (a tool that passes silently on a newer schema) only v1 → v2 → back to v1
   * with its Job re-created: CI time goes to the tools that fail there.
   */
  readonly full: boolean;
  /** Also v4 and v5, to see finished Jobs pruned (with one tool: it is the library's, not the tool's). */
  readonly prune?: boolean;
}

const TOOLS: ToolCase[] = [
  {
    name: 'knex',
    available: HAVE_KNEX,
    tool: () => MigrationTool.knex(),
    image: n => {
      const migrations: { [file: string]: string } = {};
      SQL.slice(0, n).forEach((sql, i) => { migrations[`2024010100000${i + 1}_m${i + 1}.js`] = knexMigration(sql); });
      return knexImage(`registry.example.com/rollback-knex:v${n}`, migrations);
    },
    // One row per migration file, with the batch (one per `migrate:latest` that applied anything).
    applied: (pg, db) => pg.psql("SELECT string_agg(name || '@' || batch, ',' ORDER BY id) FROM knex_migrations", db),
    full: true,
    prune: true,
  },
  {
    name: 'alembic',
    available: HAVE_ALEMBIC,
    tool: () => MigrationTool.alembic({ checkHeadsFlag: false }),
    image: n => alembicImage(`registry.example.com/rollback-alembic:v${n}`, SQL.slice(0, n)),
    applied: (pg, db) => pg.psql('SELECT string_agg(version_num, \',\') FROM alembic_version', db),
    full: true,
  },
  {
    // Passes silently when v1's migrate runs against v2's schema (nothing of its own to apply): only
    // the skip tells that it did not run. Release n holds n + 1 migrations (djangoProject's sizes).
    name: 'django',
    available: HAVE_DJANGO,
    tool: () => MigrationTool.django(),
    image: n => djangoImage(`registry.example.com/rollback-django:v${n}`, (n + 1) as 2 | 3, { first: SQL[0], second: SQL[1], broken: SQL[2] }),
    applied: (pg, db) => pg.psql("SELECT string_agg(name || '@' || applied, ',' ORDER BY id) FROM django_migrations WHERE app = 'widgets'", db),
    full: false,
  },
];

for (const t of TOOLS) {
  const title = `rollbacks with ${t.name} in the real cluster`;
  if (!t.available) {
    if (process.env.CI === 'true') test(title, () => { throw new Error(`${t.name} is missing: run .ci/install-tools.sh before the e2e tier`); });
    else describe.skip(title, () => test('skipped', () => undefined));
    continue;
  }
  describeOnCluster(title, cluster => rollbackScenarios(t, cluster));
}

function rollbackScenarios(t: ToolCase, cluster: () => Cluster): void {
  let pg: Postgres;
  let ns = '';
  const db = `rollback_${t.name}`;
  const repository = (n: number) => t.image(n).replace(/:v\d+$/, '');

  /** The YAML of release `vN`, and its migration Job's name. */
  const synth = (n: number, contract = false): { yaml: string; job: string } => {
    let job = '';
    const yaml = synthYaml(ns, chart => {
      job = new MigratedService(chart, 'shop', {
        image: repository(n),
        imageTag: `v${n}`,
        replicas: 1,
        runAsUser: 1000,
        resources: SMALL_RESOURCES,
        command: ['sleep', '2147483647'],
        delivery: Delivery.kubectl(),
        envFrom: [kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, 'db', 'shop-db'))],
        migration: { tool: t.tool(), resources: TOOL_RESOURCES },
        migrationHistory: MigrationHistory.configMap({ jobHistoryLimit: 2 }),
        postRollout: contract ? { command: ['sh', '-c', `echo contract step of v${n}`] } : undefined,
      }).jobName;
    });
    return { yaml, job };
  };
  const condition = (job: string): string | undefined => {
    const c = jobConditions(ns, job);
    return c.Complete ? 'Complete' : c.Failed ? 'Failed' : undefined;
  };
  const logs = (job: string, container: string): string =>
    kubectl(['logs', `job/${job}`, '-n', ns, '-c', container], { allowFail: true }).stdout;
  /**
   * Seconds from the service's newest pod of tag vN being scheduled to its Ready condition, and how
   * long its waiter ran (both from the cluster's clock). From scheduling, not creation: on a busy
   * node a pod may wait for room, which is not the gate's doing.
   */
  const readySeconds = (n: number): { ready: number; waiter: number } => {
    const pods = (getJson(['pods', '-n', ns, '-l', 'app.kubernetes.io/name=shop,app.kubernetes.io/component=server'])?.items ?? [])
      .filter((p: any) => p.metadata.annotations?.['migrated-service.cdk8s.io/image-tag'] === `v${n}`)
      .sort((a: any, b: any) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
    const pod = pods[pods.length - 1];
    const at = (type: string) => Date.parse((pod.status.conditions ?? []).find((c: any) => c.type === type && c.status === 'True').lastTransitionTime);
    const waiter = (pod.status.initContainerStatuses ?? []).find((c: any) => c.name === 'wait-for-migration').state.terminated;
    return { ready: (at('Ready') - at('PodScheduled')) / 1000, waiter: (Date.parse(waiter.finishedAt) - Date.parse(waiter.startedAt)) / 1000 };
  };
  const rolledOutAt = (n: number) => waitFor(`v${n} rolled out`, () => {
    const d = getJson(['deployment', 'shop', '-n', ns]);
    return rolledOut(ns, 'shop') && d.spec.template.metadata.annotations['migrated-service.cdk8s.io/image-tag'] === `v${n}` || undefined;
  }, { namespace: ns, timeoutMs: 180_000 });
  const release = async (n: number, contract = false): Promise<string> => {
    const { yaml, job } = synth(n, contract);
    apply(yaml, ns);
    await waitFor(`v${n} Job finished`, () => condition(job), { namespace: ns, timeoutMs: 240_000 });
    // Failed: say why, in the containers' own words.
    expect({ job, condition: condition(job) }).toEqual({
      job,
      condition: 'Complete',
      ...condition(job) === 'Complete' ? {} : { why: ['migration-lock', 'migrate', 'record-migration'].map(c => `${c}: ${logs(job, c)}`).join('\n') },
    });
    await rolledOutAt(n);
    return job;
  };
  const columns = () => pg.psql("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'widgets'", db);

  let v1Job = '';
  let v2Job = '';
  /** What the tool recorded and the table's columns once v2 migrated: a rollback changes neither. */
  let atV2 = { applied: '', columns: '' };
  const now = () => ({ applied: t.applied(pg, db), columns: columns() });
  /** Ready within 30 s of being scheduled, its waiter done in one short run; printed for docs/rollbacks.md. */
  const expectReadySoon = (n: number, what: string) => {
    const { ready, waiter } = readySeconds(n);
    console.log(`${t.name}: ${what}: v${n} pod Ready ${ready} s after it was scheduled, its waiter ran ${waiter} s`);
    expect({ ready: ready <= 30, waiter: waiter <= 30 }).toEqual({ ready: true, waiter: true });
  };

  beforeAll(async () => {
    pg = await startPostgres({ host: process.env.E2E_DB_HOST ?? cluster().nodeIp });
    pg.createDatabase(db);
    ns = createNamespace(`rollback-${t.name}`);
    // Django's settings module too (the other tools ignore it), as a Django app's environment has it.
    kubectl(['create', 'secret', 'generic', 'shop-db', '-n', ns, `--from-literal=DATABASE_URL=${pg.url(db)}`,
      '--from-literal=DJANGO_SETTINGS_MODULE=tiny.settings']);
    (t.prune ? [1, 2, 3, 4, 5] : t.full ? [1, 2, 3] : [1, 2]).forEach(n => t.image(n));
  }, 900_000);
  afterAll(() => {
    if (ns) deleteNamespace(ns);
    pg?.stop();
  });

  test('v1 then v2 migrate once each', async () => {
    v1Job = await release(1);
    const v1 = now();
    v2Job = await release(2);
    atV2 = now();
    expect(atV2.applied).not.toBe(v1.applied);
    expect(atV2.columns).not.toBe(v1.columns);
    const history = getJson(['configmap', 'shop-migration-history', '-n', ns]).data.log as string;
    expect(history.trim().split('\n').map(l => l.split('|').slice(1, 3).join(' '))).toEqual(['migrated v1', 'migrated v2']);
  }, 600_000);

  (t.prune ? test : test.skip)('least privilege, asked of the API server: the history\'s readers and writers can do what it needs and nothing more', () => {
    const can = (as: string, ...args: string[]): string =>
      kubectl(['auth', 'can-i', ...args, '-n', ns, `--as=system:serviceaccount:${ns}:${as}`], { allowFail: true }).stdout.trim();
    const ask = (as: string, list: string[][]) => list.map(a => [...a, can(as, ...a)]);
    // The migration Jobs' ServiceAccount (the record container's token).
    const allowed = [['get', 'configmap/shop-migration-history'], ['update', 'configmap/shop-migration-history'], ['create', 'configmaps'],
      // Its own Job by name (a skipped run annotates it): the release applied last is v2's.
      ['get', `job/${v2Job}`], ['patch', `job/${v2Job}`], ['list', 'pods'], ['list', 'jobs'], ['delete', 'jobs']];
    const refused = [['get', 'configmap/other'], ['update', 'configmap/other'], ['delete', 'configmap/shop-migration-history'],
      ['list', 'configmaps'], ['patch', 'job/other'], ['update', `job/${v2Job}`], ['get', 'secrets'], ['delete', 'pods'], ['create', 'jobs']];
    expect(ask('shop-migration', allowed)).toEqual(allowed.map(a => [...a, 'yes']));
    expect(ask('shop-migration', refused)).toEqual(refused.map(a => [...a, 'no']));
    // The service's pods (the waiter's token): read the history by name, nothing else of it.
    const waiterAllowed = [['get', 'configmap/shop-migration-history']];
    const waiterRefused = [['update', 'configmap/shop-migration-history'], ['get', 'configmap/other'], ['create', 'configmaps'], ['delete', 'jobs']];
    expect(ask('shop', waiterAllowed)).toEqual(waiterAllowed.map(a => [...a, 'yes']));
    expect(ask('shop', waiterRefused)).toEqual(waiterRefused.map(a => [...a, 'no']));
  });

  /** Only with the tools that fail on a newer schema (CI time). */
  const fullTest = t.full ? test : test.skip;

  fullTest('back to v1 with its Job kept: v1\'s pods start from the history, nothing migrates', async () => {
    apply(synth(1).yaml, ns);
    await rolledOutAt(1);
    expectReadySoon(1, 'Job kept');
    expect(now()).toEqual(atV2);
  }, 300_000);

  test('back to v1 with its Job deleted and re-created (a revert after pruning): the Job ends Complete without running the tool', async () => {
    await release(2); // (forward again where the previous test went back)
    kubectl(['delete', 'job', v1Job, '-n', ns, '--wait=true', '--ignore-not-found']);
    apply(synth(1).yaml, ns);
    await waitFor('re-created v1 Job finished', () => condition(v1Job), { namespace: ns, timeoutMs: 240_000 });
    expect(condition(v1Job)).toBe('Complete');
    expect(logs(v1Job, 'migrate')).toMatch(/^v1 migrated at \S+; the schema has since been migrated by v2; not running v1's migration again\n$/);
    expect(getJson(['job', v1Job, '-n', ns]).metadata.annotations['migrated-service.cdk8s.io/skipped'])
      .toMatch(/^v1 migrated at \S+; the schema has since been migrated by v2; not running v1's migration again$/);
    await rolledOutAt(1);
    expectReadySoon(1, 'Job re-created');
    expect(now()).toEqual(atV2);
  }, 420_000);

  fullTest('back to v1 with its Job gone for good (a TTL, Argo CD\'s rollback button): the gate opens from the history; a scale-up starts too', async () => {
    await release(2);
    kubectl(['delete', 'job', v1Job, '-n', ns, '--wait=true', '--ignore-not-found']);
    const withoutJob = objectsOf(synth(1).yaml).filter(o => o.kind !== 'Job');
    apply(withoutJob.map(o => stringify(o)).join('---\n'), ns);
    await rolledOutAt(1);
    expectReadySoon(1, 'Job gone');
    // A scale-up (or a drain) of the release whose Job is gone starts its new pod.
    kubectl(['scale', 'deployment', 'shop', '-n', ns, '--replicas=2']);
    await waitFor('v1 scaled to 2', () => getJson(['deployment', 'shop', '-n', ns])?.status?.availableReplicas === 2 || undefined, { namespace: ns, timeoutMs: 120_000 });
    expectReadySoon(1, 'scale-up, Job gone');
    expect(getJson(['job', v1Job, '-n', ns])).toBeUndefined();
    // Back to the one replica the manifests say (server-side apply then co-owns the field again).
    kubectl(['scale', 'deployment', 'shop', '-n', ns, '--replicas=1']);
    expect(now()).toEqual(atV2);
  }, 420_000);

  fullTest('forward to v3 with a contract step migrates once; back to v2 past it is held until allow-rollback', async () => {
    const v3 = await release(3, true);
    expect(logs(v3, 'migrate')).not.toContain('not running');
    const atV3 = now();
    expect(atV3.applied).not.toBe(atV2.applied);
    expect(atV3.columns).not.toBe(atV2.columns);
    const post = 'shop-post-v3';
    await waitFor('v3 contract step done', () => condition(post), { namespace: ns, timeoutMs: 240_000 });
    expect(condition(post)).toBe('Complete');

    // WHEN the service goes back to v2, whose code predates v3's contract step
    apply(synth(2).yaml, ns);
    // THEN v2's new pod is held in its waiter, which says why and how to allow it
    const held = await waitFor('v2 pod held', () => {
      const pods = (getJson(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=server'])?.items ?? [])
        .filter((p: any) => p.metadata.annotations?.['migrated-service.cdk8s.io/image-tag'] === 'v2');
      for (const p of pods) {
        const out = kubectl(['logs', p.metadata.name, '-n', ns, '-c', 'wait-for-migration'], { allowFail: true });
        if (`${out.stdout}${out.stderr}`.includes('is held')) return `${out.stdout}${out.stderr}`;
      }
      return undefined;
    }, { namespace: ns, timeoutMs: 120_000 });
    expect(held).toContain('rolling back to v2 is held: the post-rollout (contract) migration of v3 ran at');
    expect(held).toContain('npx cdk8s-migrated-service allow-rollback shop --to v2');
    expect(rolledOut(ns, 'shop')).toBe(false);

    // WHEN someone allows it
    const printed: string[] = [];
    const code = allowRollbackCli(['allow-rollback', 'shop', '--to', 'v2', '-n', ns, '--reason', 'incident 42'],
      realKubectl(cluster().kubectlBin, ['--kubeconfig', cluster().kubeconfig]), l => printed.push(l), l => printed.push(l));
    expect({ code, printed }).toEqual({ code: 0, printed: [expect.stringContaining('allowed rolling back shop to v2 past the post-rollout migration of v3')] });
    // THEN v2 rolls out, nothing migrated, and the override is in the history
    await rolledOutAt(2);
    expect(now()).toEqual(atV3);
    const history = getJson(['configmap', 'shop-migration-history', '-n', ns]).data.log as string;
    expect(history).toMatch(/\|allowed\|v2\|[^|]+\|\d+ incident 42\n/);
  }, 600_000);

  (t.prune ? test : test.skip)('finished Jobs are bounded: after v4 and v5 (N + 3 releases), the newest jobHistoryLimit (2) remain', async () => {
    const v4 = await release(4);
    const v5 = await release(5);
    const finished = (getJson(['jobs', '-n', ns, '-l', 'app.kubernetes.io/component=migration'])?.items ?? [])
      .filter((j: any) => (j.status?.conditions ?? []).some((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True'))
      .map((j: any) => j.metadata.name).sort();
    expect(finished).toEqual([v4, v5]);
    expect(logs(v5, 'record-migration')).toMatch(/migration history: deleted finished Jobs shop-migrate-v\d \(keeping 2\)/);
    // The history keeps the facts of the pruned Jobs.
    const history = getJson(['configmap', 'shop-migration-history', '-n', ns]).data.log as string;
    expect(history).toContain('|migrated|v3|');
  }, 420_000);
}
