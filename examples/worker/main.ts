// A web service, a queue worker and a nightly report on one schema, released from one tag:
// the migration runs first and holds all three; a contract migration runs once the release has
// fully rolled out (expand/contract, docs/expand-contract.md), with alerts as a PrometheusRule.
// Delivered by FluxCD (the default).
// In your own app, import from 'cdk8s-migrated-service' instead of '../../src'.
import { App, Chart, Cron } from 'cdk8s';
import { Capability, CronJob, Deployment, Env, ImagePullPolicy, Secret } from 'cdk8s-plus-28';
import { MigratedService, MigrationTool } from '../../src';

const app = new App();
const chart = new Chart(app, 'myapp', { namespace: 'myapp' });
const tag = process.env.IMAGE_TAG ?? 'v1.2286938253.0'; // CI passes the tag it built
// DATABASE_URL, from a Secret created outside this app (SOPS, External Secrets, ...).
const db = Env.fromSecret(Secret.fromSecretName(chart, 'db', 'myapp-db'));

const web = new MigratedService(chart, 'web', {
  name: 'myapp',
  image: 'registry.example.com/myapp',
  imageTag: tag,
  migration: { tool: MigrationTool.django() },
  // Drops what the previous release still used: runs only when no pod of it is left.
  postRollout: { command: ['python', 'manage.py', 'migrate_contract', '--noinput'] },
  envFrom: [db],
  port: 8000,
  runAsUser: 1000,
  // A PrometheusRule: this tag's migration failed or runs long, pods held by the waiter (web,
  // worker and report alike). Each alert's description names the command that shows the cause.
  alerts: {
    labels: { team: 'myapp' },
    ruleLabels: { release: 'kube-prometheus-stack' },
    runbookUrl: 'https://runbooks.example.com/myapp/migrations',
  },
});

// The user's own containers: non-root and all capabilities dropped (restricted Pod Security).
const worker = {
  image: `registry.example.com/myapp:${tag}`,
  imagePullPolicy: ImagePullPolicy.IF_NOT_PRESENT,
  envFrom: [db],
  securityContext: { user: 1000, capabilities: { drop: [Capability.ALL] } },
};
web.gate(new Deployment(chart, 'worker', {
  metadata: { name: 'myapp-worker' },
  replicas: 1,
  containers: [{ ...worker, name: 'worker', command: ['celery', '-A', 'myapp', 'worker'] }],
}));
web.gate(new CronJob(chart, 'report', {
  metadata: { name: 'myapp-report' },
  schedule: Cron.daily(),
  containers: [{ ...worker, name: 'report', command: ['python', 'manage.py', 'nightly_report'] }],
}));

app.synth();
