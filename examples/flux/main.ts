// FluxCD (the default delivery): CI builds the service and migration images with one tag,
// synthesizes with IMAGE_TAG set and pushes dist/ as an OCI artifact; flux-kustomization.yaml
// makes Flux apply it. In your own app, import from 'cdk8s-migrated-service' instead of '../../src'.
import { App, Chart } from 'cdk8s';
import { ConfigMap, Env, Secret } from 'cdk8s-plus-28';
import { Delivery, ImageTag, MigratedService, MigrationTool } from '../../src';

const app = new App();
const chart = new Chart(app, 'myapp', { namespace: 'myapp' });

// Flux applies the ConfigMap, the Job and the Deployment in one server-side-apply stage, so the
// ConfigMap can live in this app: the Job's pod waits for it like any pod would.
const config = new ConfigMap(chart, 'config', {
  metadata: { name: 'myapp-config' },
  data: { LOG_LEVEL: 'info' },
});
// Created outside this app (SOPS, External Secrets, ...): pruning must never delete it.
const secrets = Secret.fromSecretName(chart, 'secrets', 'myapp-db');

new MigratedService(chart, 'myapp', {
  image: 'registry.example.com/myapp',
  // No fallback: a synth without IMAGE_TAG must fail, not ship a made-up tag.
  imageTag: ImageTag.fromEnv(),
  migration: {
    image: 'registry.example.com/myapp-migration', // built by CI with the same tag
    tool: MigrationTool.prisma(),
  },
  envFrom: [Env.fromConfigMap(config), Env.fromSecret(secrets)],
  port: 8080,
  runAsUser: 1000, // the Node images run as the named user "node" (UID 1000)
  delivery: Delivery.flux(), // the default, spelled out
});

app.synth();
