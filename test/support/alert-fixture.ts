/**
 * The services whose alert rules the promtool tests (test/tools/alerts-promtool.test.ts) and the
 * unit tests (test/alerts.test.ts) read: names the library cuts and hashes, a long tag, a digest,
 * two services whose names share a prefix, every gated kind and both waiters that wait.
 */
import { Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Manifest, synth } from './k8s';
import { MigratedService, MigrationTool, Waiter } from '../../src';

export const NS = 'shop';
export const LONG_TAG = 'Release_2024.11.05-build.1234567890123456789';
export const DIGEST = `sha256:${'ab'.repeat(32)}`;
/** 50 characters: the Job name is the cut prefix and a hash. */
export const LONG_NAME = 'inventory-reconciliation-service-for-warehouses-eu';

const nonRoot = { securityContext: { ensureNonRoot: true, user: 1000 } };

export interface AlertFixture {
  readonly manifests: Manifest[];
  readonly api: MigratedService;
  readonly worker: MigratedService;
  readonly long: MigratedService;
  /** api's older tag: a Job of the same service that must never fire the current tag's alerts. */
  readonly apiOld: MigratedService;
}

export function alertFixture(): AlertFixture {
  let api!: MigratedService, worker!: MigratedService, long!: MigratedService, apiOld!: MigratedService;
  const manifests = synth(chart => {
    api = new MigratedService(chart, 'api', {
      image: 'registry.example.com/api',
      imageTag: LONG_TAG,
      migration: { tool: MigrationTool.prisma(), activeDeadline: Duration.minutes(30) },
      postRollout: { command: ['npm', 'run', 'contract'] },
      alerts: { labels: { team: 'payments' }, runbookUrl: 'https://runbooks.example.com/migrations', postRolloutRunningFor: Duration.minutes(10) },
    });
    const image = api.serviceImage;
    api.gate(new kplus.StatefulSet(chart, 'consumer', { metadata: { name: 'api-consumer' }, containers: [{ image, portNumber: 8080, ...nonRoot }] }));
    api.gate(new kplus.CronJob(chart, 'cron', { metadata: { name: 'api-cron' }, schedule: Cron.daily(), containers: [{ image, ...nonRoot }] }));
    api.gate(new kplus.Job(chart, 'once', { metadata: { name: 'api-once' }, containers: [{ image, ...nonRoot }] }));
    api.gate(new kplus.DaemonSet(chart, 'agent', { metadata: { name: 'api-agent' }, containers: [{ image, ...nonRoot }] }));
    // Shares the prefix "api" and the tag.
    worker = new MigratedService(chart, 'api-worker', {
      image: 'registry.example.com/api', imageTag: LONG_TAG, migration: { tool: MigrationTool.prisma() }, alerts: {},
    });
    long = new MigratedService(chart, 'long', {
      name: LONG_NAME,
      image: 'registry.example.com/inventory',
      imageTag: DIGEST,
      migration: { tool: MigrationTool.prisma() },
      waiter: Waiter.schemaCheck(),
      alerts: {},
    });
  }, NS);
  // The older tag of api, synthesized on its own (one chart cannot hold two "api" Deployments).
  synth(chart => {
    apiOld = new MigratedService(chart, 'api', { image: 'registry.example.com/api', imageTag: 'v0.9.0', migration: { tool: MigrationTool.prisma() } });
  }, NS);
  return { manifests, api, worker, long, apiOld };
}

/** The rule groups of every PrometheusRule, as one promtool rule file. */
export function ruleFile(manifests: Manifest[]): { groups: any[] } {
  return { groups: manifests.filter(m => m.kind === 'PrometheusRule').flatMap(m => m.spec.groups) };
}
