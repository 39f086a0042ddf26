/**
 * Records what real kubectl prints for the migration lock's read (test/support/kubectl-recordings/lock/,
 * replayed by test/migration-lock-script.test.ts), on the local cluster:
 *
 *   source /tmp/local-k8s/env; npx ts-node --project tsconfig.dev.json test/support/record-lock-kubectl.ts
 *
 * v1 migrates for 20 s and holds the lock, v2 is applied and waits at it: `read-held-one-running-one-waiting`;
 * both complete: `read-both-done`; the same read as the service's own ServiceAccount (no access):
 * `read-forbidden`. Each read is `kubectl get leases,jobs,pods -l <lock label>=web` with the
 * lock's jsonpath, as the migration's ServiceAccount (`--as`). One namespace, lock-rec-*, deleted
 * at the end.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Delivery, MigratedService } from '../../src';
import { LOCK_LABEL } from '../../src/facts';
import { LOCK_READ_JSONPATH } from '../../src/lock/migration-lock-script';
import {
  apply, buildImage, createNamespace, deleteNamespace, ensureCluster, getJson, kubectl, serveCommand, SMALL_RESOURCES as SMALL, synthYaml, waitFor,
} from '../e2e/support';

const OUT = path.join(__dirname, 'kubectl-recordings', 'lock');
const REPOSITORY = 'registry.example.com/lock-rec';

function release(ns: string, tag: string, seconds: number): string {
  let job = '';
  apply(synthYaml(ns, chart => {
    job = new MigratedService(chart, 'web', {
      image: REPOSITORY,
      imageTag: tag,
      replicas: 0,
      port: 8080,
      runAsUser: 1000,
      resources: SMALL,
      delivery: Delivery.kubectl(),
      command: serveCommand(8080),
      migration: { command: ['sh', '-c', `sleep ${seconds}`], resources: SMALL, activeDeadline: Duration.minutes(5) },
    }).jobName;
  }), ns);
  return job;
}

function record(ns: string, name: string, as: string): void {
  const args = ['get', 'leases,jobs,pods', '-l', `${LOCK_LABEL}=web`, '-o', `jsonpath=${LOCK_READ_JSONPATH}`];
  const r = kubectl([...args, '-n', ns, `--as=system:serviceaccount:${ns}:${as}`], { allowFail: true });
  fs.writeFileSync(path.join(OUT, `${name}.json`), `${JSON.stringify({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }, undefined, 1)}\n`);
  process.stdout.write(`${name}: exit ${r.code}\n${r.stdout}${r.stderr}\n`);
}

async function main(): Promise<void> {
  const found = ensureCluster();
  if (!found.cluster) throw new Error(`needs a cluster: ${found.skip}`);
  for (const tag of ['v1', 'v2']) buildImage({ name: `${REPOSITORY}:${tag}`, contents: { '/www/index.html': 'rec\n' }, cmd: serveCommand(8080) });
  const ns = createNamespace('lock-rec');
  try {
    const v1 = release(ns, 'v1', 20);
    const pod = (job: string) => getJson(['pods', '-n', ns, '-l', `job-name=${job}`])?.items[0];
    await waitFor('v1 migrating', () => pod(v1)?.status.containerStatuses?.[0]?.state?.running, { namespace: ns, intervalMs: 500 });
    const v2 = release(ns, 'v2', 1);
    await waitFor('v2 waiting at the lock', () => pod(v2)?.status.initContainerStatuses?.[0]?.state?.running
      && /it holds the lock/.test(kubectl(['logs', '-n', ns, pod(v2).metadata.name, '-c', 'migration-lock'], { allowFail: true }).stdout),
    { namespace: ns, intervalMs: 500 });
    record(ns, 'read-held-one-running-one-waiting', 'web-migration');
    await waitFor('both complete', () => [v1, v2].every(j => getJson(['job', j, '-n', ns])?.status?.succeeded === 1), { namespace: ns, timeoutMs: 180_000 });
    record(ns, 'read-both-done', 'web-migration');
    record(ns, 'read-forbidden', 'web');
  } finally {
    deleteNamespace(ns);
  }
}

main().then(() => process.exit(0), e => {
  console.error(e);
  process.exit(1);
});
