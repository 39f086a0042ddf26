/**
 * The alert rules of synthesized YAML against Prometheus's own rule checker and unit tester:
 * `promtool check rules` and `promtool test rules` (Debian's prometheus package, .ci/install-tools.sh),
 * with kube-state-metrics v2.x series named as its docs give them. For each alert a series that
 * fires it, and series that must not: another service whose name shares the prefix, an older tag's
 * Job, a completed Job, a pod past the gate, a pod of the same name in another namespace; and a
 * crash-looping waiter scraped between two runs still counts as held.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { alertFixture, NS, ruleFile } from '../support/alert-fixture';

const probe = spawnSync('promtool', ['--version'], { encoding: 'utf-8' });
const version = probe.status === 0 ? probe.stdout.split('\n')[0] : undefined;

const f = alertFixture();
const rules = ruleFile(f.manifests);
const dir = mkdtempSync(join(tmpdir(), 'alerts-promtool-'));
const RULES = join(dir, 'rules.yaml');
writeFileSync(RULES, stringify(rules));

function promtool(...args: string[]) {
  return spawnSync('promtool', args, { encoding: 'utf-8', cwd: dir });
}

/** The rule of `service` named `alert` (for `workload` when given), to build the expected annotations. */
function ruleOf(service: string, alert: string, workload?: string): any {
  const all = rules.groups.find(g => g.name === `migrated-service.${service}`)!.rules;
  return all.find((r: any) => r.alert === alert && (!workload || r.expr.includes(`owner_name="${workload}"`)));
}

/** An expected alert: its labels and its annotations with the templates filled in. */
function expected(service: string, alert: string, labels: { [k: string]: string }, fill: { pod?: string; value?: string; workload?: string } = {}) {
  const r = ruleOf(service, alert, fill.workload);
  const expand = (s: string) => s.replace(/\{\{ \$labels\.pod \}\}/g, fill.pod ?? '').replace(/\{\{ \$value \| humanizeDuration \}\}/g, fill.value ?? '');
  return {
    exp_labels: { ...r.labels, namespace: NS, ...labels },
    exp_annotations: Object.fromEntries(Object.entries(r.annotations as { [k: string]: string }).map(([k, v]) => [k, expand(v)])),
  };
}

const ksm = (metric: string, labels: { [k: string]: string }) =>
  `${metric}{${Object.entries({ namespace: NS, ...labels }).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

/** A pod owned through a ReplicaSet by Deployment `deployment`, and its waiter's state. */
function deploymentPod(deployment: string, rs: string, pod: string, container: string, running: string, ns = NS, ready?: string) {
  return [
    ...(ready ? [{ series: ksm('kube_pod_init_container_status_ready', { namespace: ns, pod, container, uid: `uid-${pod}` }), values: ready }] : []),
    { series: ksm('kube_replicaset_owner', { namespace: ns, replicaset: rs, owner_kind: 'Deployment', owner_name: deployment, owner_is_controller: 'true' }), values: '1x30' },
    { series: ksm('kube_pod_owner', { namespace: ns, pod, owner_kind: 'ReplicaSet', owner_name: rs, owner_is_controller: 'true' }), values: '1x30' },
    { series: ksm('kube_pod_init_container_status_running', { namespace: ns, pod, container, uid: `uid-${pod}` }), values: running },
    { series: ksm('kube_pod_init_container_status_waiting', { namespace: ns, pod, container, uid: `uid-${pod}` }), values: '0x30' },
  ];
}

const jobFailed = (job: string, failed: boolean) => [
  { series: ksm('kube_job_failed', { job_name: job, condition: 'true' }), values: failed ? '1x30' : '0x30' },
  { series: ksm('kube_job_failed', { job_name: job, condition: 'false' }), values: failed ? '0x30' : '1x30' },
];
const jobRunning = (job: string, startSeconds: number, active: boolean) => [
  { series: ksm('kube_job_status_start_time', { job_name: job }), values: `${startSeconds}x30` },
  { series: ksm('kube_job_status_active', { job_name: job }), values: active ? '1x30' : '0x30' },
];

const api = f.api.jobName;
const post = f.api.postRolloutJobName!;
const worker = f.worker.jobName;
const long = f.long.jobName;
const old = f.apiOld.jobName;

const tests = {
  rule_files: [RULES],
  evaluation_interval: '1m',
  tests: [
    {
      name: 'this tag failed, its post-rollout Job runs long, pods of every gated kind are held',
      interval: '1m',
      input_series: [
        ...jobFailed(api, true), // fires
        ...jobFailed(old, true), // an older tag of api: never
        ...jobFailed(`${api}x`, true), // a name that starts with api's Job name: never
        ...jobFailed(worker, false), // shares the prefix, completed
        ...jobRunning(post, 0, true), // 20 minutes of 10 allowed: fires
        ...jobRunning(long, 0, true), // 20 minutes of 15 allowed: fires (digest tag, cut and hashed name)
        ...jobRunning(worker, 1000, true), // 200 s of 15 minutes: no
        ...jobRunning(old, 0, true), // an older tag's Job running long: never
        ...deploymentPod('api', 'api-7d9f8b6c5', 'api-7d9f8b6c5-bcdfg', 'wait-for-migration', '1x30'), // fires
        ...deploymentPod('api', 'api-7d9f8b6c5', 'api-7d9f8b6c5-passd', 'wait-for-migration', '0x30', NS, '1x30'), // past the gate
        // A crash-looping waiter scraped once between two runs (neither running nor waiting, not ready): fires
        ...deploymentPod('api', 'api-7d9f8b6c5', 'api-7d9f8b6c5-gappd', 'wait-for-migration', '1x10 0 1x19', NS, '0x30'),
        ...deploymentPod('api', 'api-7d9f8b6c5', 'api-7d9f8b6c5-short', 'wait-for-migration', '0x10 1x20'), // held 10 minutes of 15: no
        ...deploymentPod('api', 'api-55d4f', 'api-55d4f-other', 'wait-for-migration', '1x30', 'staging'), // another namespace
        ...deploymentPod('api-worker', 'api-worker-6c4b9', 'api-worker-6c4b9-xk2lp', 'wait-for-migration', '1x30'), // fires for api-worker only
        ...deploymentPod(f.long.name, 'inv-rs', 'inv-rs-hjklm', 'check-migration', '1x30'), // schemaCheck waiter: fires
        // StatefulSet pod in CrashLoopBackOff in the waiter (waiting, not running): fires
        { series: ksm('kube_pod_owner', { pod: 'api-consumer-0', owner_kind: 'StatefulSet', owner_name: 'api-consumer', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_init_container_status_waiting', { pod: 'api-consumer-0', container: 'wait-for-migration', uid: 'u1' }), values: '1x30' },
        { series: ksm('kube_pod_init_container_status_running', { pod: 'api-consumer-0', container: 'wait-for-migration', uid: 'u1' }), values: '0x30' },
        // CronJob pod, through its Job: fires
        { series: ksm('kube_job_owner', { job_name: 'api-cron-28900000', owner_kind: 'CronJob', owner_name: 'api-cron', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_owner', { pod: 'api-cron-28900000-qwrtz', owner_kind: 'Job', owner_name: 'api-cron-28900000', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_init_container_status_running', { pod: 'api-cron-28900000-qwrtz', container: 'wait-for-migration', uid: 'u2' }), values: '1x30' },
        // A CronJob of another name sharing the prefix: never
        { series: ksm('kube_job_owner', { job_name: 'api-cronx-1', owner_kind: 'CronJob', owner_name: 'api-cronx', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_owner', { pod: 'api-cronx-1-aaaaa', owner_kind: 'Job', owner_name: 'api-cronx-1', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_init_container_status_running', { pod: 'api-cronx-1-aaaaa', container: 'wait-for-migration', uid: 'u3' }), values: '1x30' },
        // The gated Job's pod past the gate; the DaemonSet's pod held: fires
        { series: ksm('kube_pod_owner', { pod: 'api-once-zzzzz', owner_kind: 'Job', owner_name: 'api-once', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_init_container_status_running', { pod: 'api-once-zzzzz', container: 'wait-for-migration', uid: 'u4' }), values: '0x30' },
        { series: ksm('kube_pod_owner', { pod: 'api-agent-n8v2d', owner_kind: 'DaemonSet', owner_name: 'api-agent', owner_is_controller: 'true' }), values: '1x30' },
        { series: ksm('kube_pod_init_container_status_running', { pod: 'api-agent-n8v2d', container: 'wait-for-migration', uid: 'u5' }), values: '1x30' },
      ],
      alert_rule_test: [
        { eval_time: '20m', alertname: 'MigrationFailed', exp_alerts: [expected('api', 'MigrationFailed', { job_name: api })] },
        {
          eval_time: '20m',
          alertname: 'MigrationRunningLong',
          exp_alerts: [expected(f.long.name, 'MigrationRunningLong', { job_name: long }, { value: '20m 0s' })],
        },
        {
          eval_time: '20m',
          alertname: 'PostRolloutMigrationRunningLong',
          exp_alerts: [expected('api', 'PostRolloutMigrationRunningLong', { job_name: post }, { value: '20m 0s' })],
        },
        { eval_time: '20m', alertname: 'PostRolloutMigrationFailed', exp_alerts: [] },
        {
          eval_time: '20m',
          alertname: 'ReleaseHeld',
          exp_alerts: [
            expected('api', 'ReleaseHeld', { pod: 'api-7d9f8b6c5-bcdfg' }, { pod: 'api-7d9f8b6c5-bcdfg', workload: 'api' }),
            expected('api', 'ReleaseHeld', { pod: 'api-7d9f8b6c5-gappd' }, { pod: 'api-7d9f8b6c5-gappd', workload: 'api' }),
            expected('api', 'ReleaseHeld', { pod: 'api-consumer-0' }, { pod: 'api-consumer-0', workload: 'api-consumer' }),
            expected('api', 'ReleaseHeld', { pod: 'api-cron-28900000-qwrtz' }, { pod: 'api-cron-28900000-qwrtz', workload: 'api-cron' }),
            expected('api', 'ReleaseHeld', { pod: 'api-agent-n8v2d' }, { pod: 'api-agent-n8v2d', workload: 'api-agent' }),
            expected('api-worker', 'ReleaseHeld', { pod: 'api-worker-6c4b9-xk2lp' }, { pod: 'api-worker-6c4b9-xk2lp', workload: 'api-worker' }),
            expected(f.long.name, 'ReleaseHeld', { pod: 'inv-rs-hjklm' }, { pod: 'inv-rs-hjklm', workload: f.long.name }),
          ],
        },
        // Before the threshold nothing is held yet.
        { eval_time: '10m', alertname: 'ReleaseHeld', exp_alerts: [] },
      ],
    },
    {
      name: 'this tag completed, its post-rollout Job failed; nothing waits',
      interval: '1m',
      input_series: [
        ...jobFailed(api, false),
        ...jobRunning(api, 0, false), // completed: ran long but is not active
        ...jobFailed(old, true),
        ...jobFailed(post, true),
        ...deploymentPod('api', 'api-7d9f8b6c5', 'api-7d9f8b6c5-bcdfg', 'wait-for-migration', '0x30', NS, '1x30'),
      ],
      alert_rule_test: [
        { eval_time: '20m', alertname: 'MigrationFailed', exp_alerts: [] },
        { eval_time: '20m', alertname: 'MigrationRunningLong', exp_alerts: [] },
        { eval_time: '20m', alertname: 'ReleaseHeld', exp_alerts: [] },
        { eval_time: '20m', alertname: 'PostRolloutMigrationFailed', exp_alerts: [expected('api', 'PostRolloutMigrationFailed', { job_name: post })] },
      ],
    },
  ],
};

describe(`promtool (${version ?? 'not installed: run .ci/install-tools.sh'})`, () => {
  beforeAll(() => {
    if (!version) throw new Error('promtool is not installed here: run .ci/install-tools.sh (Debian package prometheus)');
  });

  test('GIVEN the PrometheusRules of three services (15 rules) WHEN promtool check rules THEN every rule is valid', () => {
    const run = promtool('check', 'rules', RULES);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/SUCCESS: 15 rules found/);
  });

  test('GIVEN kube-state-metrics series WHEN promtool test rules THEN each alert fires for its series and for no other', () => {
    writeFileSync(join(dir, 'tests.yaml'), stringify(tests));
    const run = promtool('test', 'rules', 'tests.yaml');
    expect(run.stdout + run.stderr).toMatch(/SUCCESS/);
    expect(run.status).toBe(0);
  });
});
