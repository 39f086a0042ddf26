import { Duration } from 'cdk8s';
import { AlertOptions } from './alert-options';
import { checkDuration, Fail } from '../checks';
import type { GatedKindName } from '../gate/gated-kind';

/** Prometheus label names (and no reserved `__` prefix). */
const PROM_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/**
 * A workload whose pods wait in the waiter init container.
 *
 * @internal
 */
export interface AlertWorkload {
  readonly kind: GatedKindName;
  readonly name: string;
}

/**
 * `AlertOptions` validated, with the thresholds in seconds.
 *
 * @internal
 */
export interface ResolvedAlerts {
  readonly labels: { [name: string]: string };
  /** Labels of the PrometheusRule object (checked as Kubernetes labels by the caller). */
  readonly ruleLabels: { [key: string]: string };
  readonly runbookUrl?: string;
  readonly migrationRunningForSeconds: number;
  readonly heldForSeconds: number;
  readonly postRolloutRunningForSeconds?: number;
}

/**
 * What the rules are about.
 *
 * @internal
 */
export interface AlertTarget {
  readonly namespace?: string;
  readonly service: string;
  readonly tag: string;
  readonly jobName: string;
  /** The waiter's init container, undefined for `Waiter.none()`. */
  readonly waiterContainer?: string;
  /** The service's Deployment first, then each gated workload. */
  readonly workloads: AlertWorkload[];
  readonly postRolloutJobName?: string;
}

/** What validation needs of the rest of the props. */
export interface AlertContext {
  readonly migrationDeadline?: Duration;
  readonly postRollout?: { readonly deadline?: Duration; readonly rolloutTimeoutSeconds: number };
}

/**
 * Validate `alerts` and apply the defaults.
 *
 * @internal
 */
export function resolveAlerts(options: AlertOptions, context: AlertContext, fail: Fail): ResolvedAlerts {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail('alerts', options, 'pass an object of AlertOptions, e.g. alerts: {} for the defaults');
  }
  const labels: { [name: string]: string } = {};
  for (const [k, v] of Object.entries(options.labels ?? {})) {
    if (!PROM_LABEL_NAME.test(k) || k.startsWith('__')) {
      fail('alerts.labels key', k, 'a Prometheus label name is [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__"');
    }
    if (typeof v !== 'string' || v === '') {
      fail(`alerts.labels["${k}"]`, v, 'a label value must be a non-empty string');
    }
    labels[k] = v;
  }
  if (options.runbookUrl !== undefined && (typeof options.runbookUrl !== 'string' || !/^https?:\/\/\S+$/.test(options.runbookUrl))) {
    fail('alerts.runbookUrl', options.runbookUrl, 'it must be an http:// or https:// URL without spaces, e.g. "https://wiki.example.com/runbooks/migrations"');
  }
  const seconds = (prop: string, d: Duration | undefined): number | undefined => {
    checkDuration(prop, d, fail);
    return d?.toSeconds();
  };
  const below = (prop: string, value: number, deadlineProp: string, deadline: Duration | undefined): void => {
    if (deadline !== undefined && value >= deadline.toSeconds()) {
      fail(prop, `${value}s`, `it must be below ${deadlineProp} (${deadline.toSeconds()}s), or the Job is killed before ` +
        'the alert fires; make it shorter or the deadline longer');
    }
  };
  const eighty = (d: Duration): number => Math.max(1, Math.floor(d.toSeconds() * 0.8));

  const migrationRunningForSeconds = seconds('alerts.migrationRunningFor', options.migrationRunningFor)
    ?? (context.migrationDeadline ? eighty(context.migrationDeadline) : 900);
  below('alerts.migrationRunningFor', migrationRunningForSeconds, 'migration.activeDeadline', context.migrationDeadline);
  const heldForSeconds = seconds('alerts.heldFor', options.heldFor) ?? 900;

  let postRolloutRunningForSeconds: number | undefined;
  const post = context.postRollout;
  const given = seconds('alerts.postRolloutRunningFor', options.postRolloutRunningFor);
  if (post) {
    postRolloutRunningForSeconds = given ?? (post.deadline ? eighty(post.deadline) : post.rolloutTimeoutSeconds + 900);
    below('alerts.postRolloutRunningFor', postRolloutRunningForSeconds, 'postRollout.activeDeadline', post.deadline);
  } else if (given !== undefined) {
    fail('alerts.postRolloutRunningFor', `${given}s`, 'there is no post-rollout migration; set postRollout or drop it');
  }
  return {
    labels,
    ruleLabels: { ...options.ruleLabels },
    runbookUrl: options.runbookUrl,
    migrationRunningForSeconds,
    heldForSeconds,
    postRolloutRunningForSeconds,
  };
}

/**
 * The rule groups of the PrometheusRule. `ownText` writes the Prometheus templates the rules hold
 * for the delivery target (escaped for Helm); the user's labels and runbook URL are left as given.
 *
 * @internal
 */
export function alertGroups(a: ResolvedAlerts, t: AlertTarget, ownText: (text: string) => string): object[] {
  const labelsNamespace = ownText('{{ $labels.namespace }}');
  const labelsPod = ownText('{{ $labels.pod }}');
  const valueDuration = ownText('{{ $value | humanizeDuration }}');
  const ns = t.namespace === undefined ? '' : `namespace=${q(t.namespace)},`;
  const where = t.namespace === undefined ? `namespace ${labelsNamespace}` : `namespace ${t.namespace}`;
  const release = `release ${t.tag} of service ${t.service} in ${where}`;
  const rule = (alert: string, expr: string, forSeconds: number | undefined, severity: string, summary: string, description: string,
    extra: { [name: string]: string } = {}) => ({
    alert,
    expr,
    ...(forSeconds ? { for: `${forSeconds}s` } : {}),
    labels: { severity, service: t.service, image_tag: t.tag, ...extra, ...a.labels },
    annotations: { summary, description, ...(a.runbookUrl ? { runbook_url: a.runbookUrl } : {}) },
  });
  const kubectlNs = t.namespace === undefined ? `-n ${labelsNamespace}` : `-n ${t.namespace}`;
  /** The one command that explains the release (bin/cdk8s-migrated-service, src/status.ts). */
  const explain = `npx cdk8s-migrated-service status ${t.service} ${kubectlNs}`;
  const jobRules = (prefix: string, what: string, job: string, runningFor: number) => [
    rule(`${prefix}Failed`,
      `max by (namespace, job_name) (kube_job_failed{${ns}job_name=${q(job)},condition="true"}) == 1`,
      undefined, 'critical',
      `The ${what} of ${t.service} ${t.tag} failed`,
      `Job ${job}, the ${what} of ${release}, failed${prefix === 'Migration' ? '; pods of this tag stay held' : ''}. ` +
      `The cause: ${explain} (or kubectl ${kubectlNs} describe pod -l job-name=${job}: the migrate container's exit code and, ` +
      'under Message, the end of its log). If it names a lock timeout ("canceling statement due to lock timeout"), a ' +
      'long transaction held the table: the migration gave up instead of stalling the service, the old pods kept ' +
      'serving, and releasing again once that transaction ended migrates.'),
    rule(`${prefix}RunningLong`,
      `time() - max by (namespace, job_name) (kube_job_status_start_time{${ns}job_name=${q(job)}}) > ${runningFor}` +
      ` and on (namespace, job_name) max by (namespace, job_name) (kube_job_status_active{${ns}job_name=${q(job)}}) > 0`,
      undefined, 'warning',
      `The ${what} of ${t.service} ${t.tag} has run longer than ${runningFor}s`,
      `Job ${job}, the ${what} of ${release}, has run for ${valueDuration}. ` +
      `What it is doing or waiting for: ${explain} (or kubectl ${kubectlNs} logs job/${job} --all-containers --prefix --tail=20).`),
  ];
  const rules: object[] = jobRules('Migration', 'migration', t.jobName, a.migrationRunningForSeconds);
  if (t.waiterContainer) {
    const waiter = q(t.waiterContainer);
    for (const w of t.workloads) {
      rules.push(rule('ReleaseHeld',
        // Held: the waiter has not exited 0. Running or waiting (a crash loop) says so, and so does not
        // ready (an init container turns ready only when it exited 0), which also covers the moment
        // after a failed run when the state is terminated, so one scrape there does not reset `for`.
        `max by (namespace, pod) (kube_pod_init_container_status_running{${ns}container=${waiter}} == 1` +
        ` or kube_pod_init_container_status_waiting{${ns}container=${waiter}} == 1` +
        ` or kube_pod_init_container_status_ready{${ns}container=${waiter}} == 0)` +
        ` * on (namespace, pod) group_left () ${podsOf(w, ns)}`,
        a.heldForSeconds, 'warning',
        `Pods of ${w.kind} ${w.name} (${t.service} ${t.tag}) wait for the migration`,
        `Pod ${labelsPod} of ${w.kind} ${w.name} has waited in init container ${t.waiterContainer} for more than ` +
        `${a.heldForSeconds}s: ${release} is held until Job ${t.jobName} succeeds, or, for a rollback to a tag that ` +
        'already migrated, until the migration history allows it (a newer tag\'s contract step ran after it: ' +
        `npx cdk8s-migrated-service allow-rollback ${t.service} --to ${t.tag} -n <namespace>). Why: ` +
        `${explain} (or kubectl ${kubectlNs} logs ${labelsPod} -c ${t.waiterContainer}).`,
        { workload_kind: w.kind, workload: w.name }));
    }
  }
  if (t.postRolloutJobName && a.postRolloutRunningForSeconds !== undefined) {
    rules.push(...jobRules('PostRolloutMigration', 'post-rollout migration', t.postRolloutJobName, a.postRolloutRunningForSeconds));
  }
  return [{ name: `migrated-service.${t.service}`, rules }];
}

/**
 * `1` for each pod (by namespace and pod) owned by exactly this workload: through its ReplicaSets
 * for a Deployment, through its Jobs for a CronJob.
 */
function podsOf(w: AlertWorkload, ns: string): string {
  const name = q(w.name);
  switch (w.kind) {
    case 'Deployment':
      return `max by (namespace, pod) (label_replace(kube_pod_owner{${ns}owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.+)")` +
        ` * on (namespace, replicaset) group_left () max by (namespace, replicaset) (kube_replicaset_owner{${ns}owner_kind="Deployment",owner_name=${name}}))`;
    case 'CronJob':
      return `max by (namespace, pod) (label_replace(kube_pod_owner{${ns}owner_kind="Job"}, "job_name", "$1", "owner_name", "(.+)")` +
        ` * on (namespace, job_name) group_left () max by (namespace, job_name) (kube_job_owner{${ns}owner_kind="CronJob",owner_name=${name}}))`;
    default:
      return `max by (namespace, pod) (kube_pod_owner{${ns}owner_kind=${q(w.kind)},owner_name=${name}})`;
  }
}

/** A PromQL string literal (label values of exact matchers: no regex, so no prefix ever matches). */
function q(value: string): string {
  return JSON.stringify(value);
}
