/**
 * #27 on the real cluster: going back is as safe as going forward. With PostgreSQL on the node IP
 * and real tools that fail on a database ahead of them (Knex: "the migration directory is
 * corrupt"; Alembic: "Can't locate revision"), a service goes v1 → v2 → back to v1 with v1's Job
 * kept, deleted and re-created (what Flux's revert, an Argo CD Git revert or `kubectl apply
 * --prune` do), and gone for good; then forward to v3 with a contract step, and back to v2 past
 * it, which is held until `allow-rollback`. Migration runs are counted from the tool's own
 * history table; times come from the cluster's timestamps.
 */
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  apply, Cluster, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, kubectl, objectsOf,
  rolledOut, SMALL_RESOURCES, synthYaml, waitFor,
} from './support';
import { alembicImage, HAVE_ALEMBIC, HAVE_KNEX, knexImage, knexMigration } from './support/tool-images';
import { Delivery, MigratedService, MigrationHistory, MigrationTool } from '../../src';
import { main as allowRollbackCli } from '../../src/allow-rollback';
import { Postgres, startPostgres } from '../support/postgres';

/** The tools load Node or Python: more memory than the service's sleep. */
const MIGRATION_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(20) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(384) },
};

const SQL = [
  'CREATE TABLE widgets (id integer PRIMARY KEY)',
  'ALTER TABLE widgets ADD COLUMN size integer',
  'ALTER TABLE widgets ADD COLUMN colour text',
];

interface ToolCase {
  readonly name: string;
  readonly available: boolean;
  readonly tool: () => MigrationTool;
  /** Builds the image of release `n` (1, 2, 3: that many migrations); returns its repository. */
  readonly image: (n: number) => string;
  /** The tool's own record of what it applied, from its history table. */
  readonly applied: (pg: Postgres, db: string) => string;
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
  },
  {
    name: 'alembic',
    available: HAVE_ALEMBIC,
    tool: () => MigrationTool.alembic({ checkHeadsFlag: false }),
    image: n => alembicImage(`registry.example.com/rollback-alembic:v${n}`, SQL.slice(0, n)),
    applied: (pg, db) => pg.psql('SELECT string_agg(version_num, \',\') FROM alembic_version', db),
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
        migration: { tool: t.tool(), resources: MIGRATION_RESOURCES },
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
  /** Seconds from the creation of the service's newest pod of tag vN to its Ready condition (cluster clock). */
  const readySeconds = (n: number): number => {
    const pods = (getJson(['pods', '-n', ns, '-l', 'app.kubernetes.io/name=shop,app.kubernetes.io/component=server'])?.items ?? [])
      .filter((p: any) => p.metadata.annotations?.['migrated-service.cdk8s.io/image-tag'] === `v${n}`)
      .sort((a: any, b: any) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
    const pod = pods[pods.length - 1];
    const ready = (pod.status.conditions ?? []).find((c: any) => c.type === 'Ready' && c.status === 'True');
    return (Date.parse(ready.lastTransitionTime) - Date.parse(pod.metadata.creationTimestamp)) / 1000;
  };
  const rolledOutAt = (n: number) => waitFor(`v${n} rolled out`, () => {
    const d = getJson(['deployment', 'shop', '-n', ns]);
    return rolledOut(ns, 'shop') && d.spec.template.metadata.annotations['migrated-service.cdk8s.io/image-tag'] === `v${n}` || undefined;
  }, { namespace: ns, timeoutMs: 180_000 });
  const release = async (n: number, contract = false): Promise<string> => {
    const { yaml, job } = synth(n, contract);
    apply(yaml, ns);
    await waitFor(`v${n} Job finished`, () => condition(job), { namespace: ns, timeoutMs: 240_000 });
    expect({ job, condition: condition(job) }).toEqual({ job, condition: 'Complete' });
    await rolledOutAt(n);
    return job;
  };
  const columns = () => pg.psql("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'widgets'", db);

  let v1Job = '';
  let atV2 = '';

  beforeAll(async () => {
    pg = await startPostgres({ host: process.env.E2E_DB_HOST ?? cluster().nodeIp });
    pg.createDatabase(db);
    ns = createNamespace(`rollback-${t.name}`);
    kubectl(['create', 'secret', 'generic', 'shop-db', '-n', ns, `--from-literal=DATABASE_URL=${pg.url(db)}`]);
    [1, 2, 3].forEach(n => t.image(n));
  }, 900_000);
  afterAll(() => {
    if (ns) deleteNamespace(ns);
    pg?.stop();
  });

  test('v1 then v2 migrate once each', async () => {
    v1Job = await release(1);
    await release(2);
    atV2 = t.applied(pg, db);
    expect(columns()).toBe('id,size');
    const history = getJson(['configmap', 'shop-migration-history', '-n', ns]).data.log as string;
    expect(history.trim().split('\n').map(l => l.split('|').slice(1, 3).join(' '))).toEqual(['migrated v1', 'migrated v2']);
  }, 600_000);

  test('back to v1 with its Job kept: v1\'s pods start from the history, nothing migrates', async () => {
    apply(synth(1).yaml, ns);
    await rolledOutAt(1);
    expect(readySeconds(1)).toBeLessThanOrEqual(30);
    expect({ applied: t.applied(pg, db), columns: columns() }).toEqual({ applied: atV2, columns: 'id,size' });
  }, 300_000);

  test('back to v1 with its Job deleted and re-created (a revert after pruning): the Job ends Complete without running the tool', async () => {
    await release(2); // forward again: v2's Job is kept, its pods open from the history
    kubectl(['delete', 'job', v1Job, '-n', ns, '--wait=true']);
    apply(synth(1).yaml, ns);
    await waitFor('re-created v1 Job finished', () => condition(v1Job), { namespace: ns, timeoutMs: 240_000 });
    expect(condition(v1Job)).toBe('Complete');
    expect(logs(v1Job, 'migrate')).toContain('v1 migrated at');
    expect(logs(v1Job, 'migrate')).toContain('the schema has since been migrated by v2; not running v1\'s migration again');
    expect(getJson(['job', v1Job, '-n', ns]).metadata.annotations['migrated-service.cdk8s.io/skipped'])
      .toMatch(/^v1 migrated at .*; the schema has since been migrated by v2; not running v1's migration again$/);
    await rolledOutAt(1);
    expect(readySeconds(1)).toBeLessThanOrEqual(30);
    expect({ applied: t.applied(pg, db), columns: columns() }).toEqual({ applied: atV2, columns: 'id,size' });
  }, 420_000);

  test('back to v1 with its Job gone for good (a TTL, Argo CD\'s rollback button): the gate opens from the history; a scale-up starts too', async () => {
    await release(2);
    kubectl(['delete', 'job', v1Job, '-n', ns, '--wait=true']);
    const withoutJob = objectsOf(synth(1).yaml).filter(o => o.kind !== 'Job');
    apply(withoutJob.map(o => stringify(o)).join('---\n'), ns);
    await rolledOutAt(1);
    expect(readySeconds(1)).toBeLessThanOrEqual(30);
    // A scale-up (or a drain) of the release whose Job is gone starts its new pod.
    kubectl(['scale', 'deployment', 'shop', '-n', ns, '--replicas=2']);
    await waitFor('v1 scaled to 2', () => getJson(['deployment', 'shop', '-n', ns])?.status?.availableReplicas === 2 || undefined, { namespace: ns, timeoutMs: 120_000 });
    expect(readySeconds(1)).toBeLessThanOrEqual(30);
    expect(getJson(['job', v1Job, '-n', ns])).toBeUndefined();
    // Back to the one replica the manifests say (server-side apply then co-owns the field again).
    kubectl(['scale', 'deployment', 'shop', '-n', ns, '--replicas=1']);
    expect({ applied: t.applied(pg, db), columns: columns() }).toEqual({ applied: atV2, columns: 'id,size' });
  }, 420_000);

  test('forward to v3 with a contract step migrates once; back to v2 past it is held until allow-rollback', async () => {
    const v3 = await release(3, true);
    expect(logs(v3, 'migrate')).not.toContain('not running');
    expect(columns()).toBe('colour,id,size');
    const atV3 = t.applied(pg, db);
    expect(atV3).not.toBe(atV2);
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
        const out = kubectl(['logs', p.metadata.name, '-n', ns, '-c', 'wait-for-migration'], { allowFail: true }).stdout
          + kubectl(['logs', p.metadata.name, '-n', ns, '-c', 'wait-for-migration'], { allowFail: true }).stderr;
        if (out.includes('is held')) return out;
      }
      return undefined;
    }, { namespace: ns, timeoutMs: 120_000 });
    expect(held).toContain('rolling back to v2 is held: the post-rollout (contract) migration of v3 ran at');
    expect(held).toContain('npx cdk8s-migrated-service allow-rollback shop --to v2');
    expect(rolledOut(ns, 'shop')).toBe(false);

    // WHEN someone allows it
    const printed: string[] = [];
    const code = allowRollbackCli(['allow-rollback', 'shop', '--to', 'v2', '-n', ns, '--reason', 'incident 42'], undefined, l => printed.push(l), l => printed.push(l));
    expect({ code, printed }).toEqual({ code: 0, printed: [expect.stringContaining('allowed rolling back shop to v2 past the post-rollout migration of v3')] });
    // THEN v2 rolls out, nothing migrated, and the override is in the history
    await rolledOutAt(2);
    expect({ applied: t.applied(pg, db), columns: columns() }).toEqual({ applied: atV3, columns: 'colour,id,size' });
    const history = getJson(['configmap', 'shop-migration-history', '-n', ns]).data.log as string;
    expect(history).toMatch(/\|allowed\|v2\|[^|]+\|\d+ incident 42\n/);
  }, 600_000);

  test('finished Jobs are bounded: no more than jobHistoryLimit (2) finished migration Jobs remain', () => {
    const jobs = (getJson(['jobs', '-n', ns, '-l', 'app.kubernetes.io/component=migration'])?.items ?? [])
      .filter((j: any) => (j.status?.conditions ?? []).some((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True'));
    expect(jobs.length).toBeLessThanOrEqual(2);
    expect(jobs.map((j: any) => j.metadata.name)).toContain('shop-migrate-v3');
  });
}
