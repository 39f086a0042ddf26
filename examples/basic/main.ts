// A database-backed service with a Prisma migration, delivered by FluxCD (the default).
// In your own app, import from 'cdk8s-migrated-service' instead of '../../src'.
import { App, Chart } from 'cdk8s';
import { ConfigMap, Env, Secret } from 'cdk8s-plus-28';
import { MigratedService, MigrationTool } from '../../src';

const app = new App();
const chart = new Chart(app, 'myapp', { namespace: 'myapp' });

const config = new ConfigMap(chart, 'config', {
  metadata: { name: 'myapp-config' },
  data: { LOG_LEVEL: 'info' },
});
// The database URL comes from a Secret you create outside this app (e.g. with SOPS or External Secrets).
const secrets = Secret.fromSecretName(chart, 'secrets', 'myapp-db');

new MigratedService(chart, 'myapp', {
  image: 'registry.example.com/myapp', // repository, no tag
  imageTag: process.env.IMAGE_TAG ?? 'v1.2286938253.0', // CI passes the tag it built
  migration: { tool: MigrationTool.prisma() },
  envFrom: [Env.fromConfigMap(config), Env.fromSecret(secrets)],
  port: 8080,
  runAsUser: 1000, // the official Node images run as the named user "node" (UID 1000)
});

app.synth();
