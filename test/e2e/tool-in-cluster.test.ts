/**
 * A real migration tool inside the real cluster: Django (Debian's python3.11 and Django 3.2 in an
 * image built with mkrootfs.sh) runs as the migration Job and as the `Waiter.schemaCheck()` init
 * container of the service, against a real PostgreSQL on the node IP. The tool tier
 * (test/tools/django.test.ts) proves the same commands on the host; this proves the manifests:
 * argv, env from a Secret, the user, the read-only root filesystem and the resources they get.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  apply, buildImage, Cluster, containerdSocket, createNamespace, deleteNamespace, describeOnCluster, getJson, jobConditions, kubectl, objectsOf,
  rolledOut, synthYaml, waitFor,
} from './support';
import { MigratedService, MigrationTool, Waiter } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';
import { djangoProject } from '../tools/django-project';

const SERVICE = 'widgets';
const REPOSITORY = 'registry.example.com/tools-django';
const PYTHON = '/usr/bin/python3.11';
const PACKAGES = ['django', 'psycopg2', 'sqlparse', 'asgiref', 'pytz'].map(p => `/usr/lib/python3/dist-packages/${p}`);
const haveDjango = fs.existsSync(PYTHON) && PACKAGES.every(p => fs.existsSync(p))
  && spawnSync(PYTHON, ['-c', 'import django, psycopg2']).status === 0;

/** The migration runs Django; the service container only sleeps (it is not what is tested). */
const MIGRATION_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(20) },
  memory: { request: Size.mebibytes(32), limit: Size.mebibytes(256) },
};
const SMALL: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10) },
  memory: { request: Size.mebibytes(8), limit: Size.mebibytes(32) },
};

/** An image per release: python as `python`, its stdlib, Django and psycopg2, the project at `/` (the working dir). */
function djangoImage(cluster: () => Cluster, tag: string, count: 2 | 3): string {
  // buildImage's cache check (test/e2e/support/images.ts) passes name and label as two `ctr images ls`
  // filters, which ctr ORs: any image of the same name counts as built. Drop ours so it is rebuilt.
  if (cluster().local) {
    spawnSync('ctr', ['--address', containerdSocket(), '-n', 'k8s.io', 'images', 'rm', `${REPOSITORY}:${tag}`], { stdio: 'ignore' });
  }
  const contents: { [dest: string]: string } = {};
  for (const [file, text] of Object.entries(djangoProject(count))) contents[`/${file}`] = text;
  return buildImage({
    name: `${REPOSITORY}:${tag}`,
    // Debian's pytz reads the system's tz database.
    files: [`${PYTHON}:/usr/bin/python`, '/usr/lib/python3.11', ...PACKAGES, '/usr/share/zoneinfo'],
    contents,
    cmd: ['sleep', '2147483647'],
  });
}

const TITLE = 'MigrationTool.django() and Waiter.schemaCheck() in the real cluster';
if (!haveDjango && process.env.CI === 'true') {
  // In CI the tools are installed (.ci/install-tools.sh runs before the tiers): missing is a failure.
  test(TITLE, () => { throw new Error('python3-django and python3-psycopg2 are missing: run .ci/install-tools.sh before the e2e tier'); });
}
(haveDjango ? describeOnCluster : describe.skip)(TITLE, cluster => {
  let pg: Postgres;
  let ns = '';
  const db = 'tools_django';
  const jobs: { [tag: string]: string } = {};

  const release = (tag: string): string => synthYaml(ns, chart => {
    const svc = new MigratedService(chart, SERVICE, {
      image: REPOSITORY,
      imageTag: tag,
      replicas: 1,
      runAsUser: 1000,
      resources: SMALL,
      // What a user does: the URL in a Secret the Job, the check and the service share.
      envFrom: [kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, 'db', 'widgets-db'))],
      waiter: Waiter.schemaCheck(),
      migration: { tool: MigrationTool.django(), resources: MIGRATION_RESOURCES },
    });
    jobs[tag] = svc.jobName;
  });
  const podsOf = (tag: string): any[] =>
    (getJson(['pods', '-n', ns, '-l', `app.kubernetes.io/name=${SERVICE},app.kubernetes.io/version=${tag},!job-name`])?.items ?? [])
      .filter((p: any) => !p.metadata.deletionTimestamp);
  const checkStatus = (pod: any): any => (pod.status.initContainerStatuses ?? []).find((s: any) => s.name === 'check-migration');
  /** The exit code of the check's last finished run in `pod`, if any. */
  const checkExit = (pod: any): number | undefined => {
    const s = checkStatus(pod);
    return s?.state?.terminated?.exitCode ?? s?.lastState?.terminated?.exitCode;
  };
  /** What the check printed in its last finished run. */
  const checkLogs = (pod: any): string => {
    const args = ['logs', '-n', ns, pod.metadata.name, '-c', 'check-migration'];
    const current = kubectl(args, { allowFail: true });
    return current.code === 0 && checkStatus(pod)?.state?.terminated ? current.stdout + current.stderr
      : kubectl([...args, '--previous'], { allowFail: true }).stdout;
  };
  const columns = (): string => pg.psql(
    "SELECT coalesce(string_agg(column_name, ',' ORDER BY column_name), '') FROM information_schema.columns " +
    "WHERE table_schema = 'public' AND table_name = 'widgets'", db);

  beforeAll(async () => {
    pg = await startPostgres({ host: process.env.E2E_DB_HOST ?? cluster().nodeIp });
    pg.createDatabase(db);
    ns = createNamespace('tools-django');
    kubectl(['create', 'secret', 'generic', 'widgets-db', '-n', ns,
      `--from-literal=DATABASE_URL=${pg.url(db)}`, '--from-literal=DJANGO_SETTINGS_MODULE=tiny.settings']);
    djangoImage(cluster, 'v1', 2);
    djangoImage(cluster, 'v2', 3);
  });
  afterAll(() => {
    if (ns) deleteNamespace(ns);
    pg?.stop();
  });

  test('v1: the check fails while nothing is applied, the Job migrates, then the check passes and the service starts', async () => {
    const objects = objectsOf(release('v1'));
    // GIVEN everything of v1 but its Job: the pod's check runs against the empty database
    const withoutJob = objects.filter(o => o.kind !== 'Job').map(o => stringify(o)).join('---\n');
    apply(withoutJob, ns);
    const failing = await waitFor('the v1 check to have failed once', () => podsOf('v1').find(p => checkExit(p) !== undefined),
      { namespace: ns, timeoutMs: 300_000 });
    // THEN it exited 1 (Django's `migrate --check` with migrations pending: it prints nothing, no
    // traceback) and the service did not start
    expect(checkExit(failing)).toBe(1);
    expect(checkLogs(failing)).not.toMatch(/Traceback|Error/);
    expect(failing.status.containerStatuses?.[0]?.state?.running).toBeUndefined();
    expect(columns()).toBe('');

    // WHEN the Job is applied too
    apply(objects.map(o => stringify(o)).join('---\n'), ns);
    await waitFor(`Job ${jobs.v1} Complete`, () => jobConditions(ns, jobs.v1).Complete, { namespace: ns, timeoutMs: 300_000 });
    // THEN both migrations are applied by the real tool, and the gated pod starts after the check passes
    expect(columns()).toBe('id,size');
    expect(pg.psql("SELECT string_agg(name, ',' ORDER BY id) FROM django_migrations WHERE app = 'widgets'", db))
      .toBe('0001_initial,0002_size');
    await waitFor('Deployment widgets rolled out at v1', () => rolledOut(ns, SERVICE), { namespace: ns, timeoutMs: 420_000 });
    const pod = podsOf('v1').find(p => p.status.phase === 'Running')!;
    expect(checkStatus(pod).state.terminated.exitCode).toBe(0);
    expect(checkStatus(pod).restartCount).toBeGreaterThanOrEqual(1);
  });

  test('v2 with a broken migration: the Job fails, its pods stay gated by the check, v1 keeps running', async () => {
    apply(release('v2'), ns);
    await waitFor(`Job ${jobs.v2} Failed`, () => jobConditions(ns, jobs.v2).Failed, { namespace: ns, timeoutMs: 300_000 });
    const logs = kubectl(['logs', '-n', ns, `job/${jobs.v2}`], { allowFail: true }).stdout;
    expect(logs).toContain('relation "no_such_table" does not exist');
    // THEN the v2 pod's check fails (0003 is pending) and keeps failing; its service never starts
    const pod = await waitFor('the v2 check to have failed twice', () =>
      podsOf('v2').find(p => (checkStatus(p)?.restartCount ?? 0) >= 1 && checkExit(p) === 1), { namespace: ns, timeoutMs: 300_000 });
    expect(pod.status.containerStatuses?.[0]?.state?.running).toBeUndefined();
    expect(checkLogs(pod)).not.toMatch(/Traceback|Error/);
    // AND the schema is v1's, and the v1 pod is still the one serving
    expect(columns()).toBe('id,size');
    expect(podsOf('v1').filter(p => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(1);
  });
});

