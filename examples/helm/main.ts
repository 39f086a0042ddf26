// Helm: `npx cdk8s synth` here writes a Helm chart (see cdk8s.yaml); the migration Job is a
// pre-install,pre-upgrade hook, so `helm upgrade --install` runs it and waits for it before it
// applies the rest. In your own app, import from 'cdk8s-migrated-service' instead of '../../src'.
import { App, Chart } from 'cdk8s';
import { ConfigMap, Env, Secret } from 'cdk8s-plus-28';
import { Delivery, ImageTag, MigratedService, MigrationTool } from '../../src';

const app = new App();
const chart = new Chart(app, 'myapp', { namespace: 'myapp' });

// Helm creates ordinary chart objects only after the pre-install hooks, so on the first install
// the Job could not start without this ConfigMap (synth refuses that). As a hook of a lower
// weight it is created first and replaced on every upgrade. Hooks are not part of the release:
// `helm uninstall` leaves it behind.
const config = new ConfigMap(chart, 'config', {
  metadata: { name: 'myapp-config' },
  data: { LOG_LEVEL: 'info' },
});
Delivery.helmPreInstall(config); // weight -1, before the Job's 0

// The Secret is created outside the chart (External Secrets, SOPS, `kubectl create secret`), so
// it exists before any hook runs and `helm uninstall` does not take it along.
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
  delivery: Delivery.helm(),
});

app.synth();
