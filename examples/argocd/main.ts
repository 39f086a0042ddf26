// Argo CD: the migration Job is a PreSync hook, so Argo CD runs it (and waits for it) before it
// applies the rest of the sync. application.yaml points an Argo CD Application at the dist/ that
// CI pushes. In your own app, import from 'cdk8s-migrated-service' instead of '../../src'.
import { App, Chart } from 'cdk8s';
import { ConfigMap, Env, Secret } from 'cdk8s-plus-28';
import { Delivery, ImageTag, MigratedService, MigrationTool } from '../../src';

const app = new App();
const chart = new Chart(app, 'myapp', { namespace: 'myapp' });

// PreSync runs before Argo CD applies ordinary objects, so a ConfigMap of this app would not
// exist yet on the first sync and the Job would wait for it forever (synth refuses that). Making
// it a PreSync hook of an earlier wave fixes the order; Argo CD then re-creates it on each sync
// and does not diff or prune it.
const config = new ConfigMap(chart, 'config', {
  metadata: { name: 'myapp-config' },
  data: { LOG_LEVEL: 'info' },
});
Delivery.argoCdPreSync(config); // wave -1, before the Job's wave 0

// The preferred answer for Secrets: keep them outside the Application (External Secrets, SOPS,
// or an Application synced before this one), so they exist before any hook runs.
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
  delivery: Delivery.argoCd(),
});

app.synth();
