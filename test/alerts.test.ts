import { App, Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedService, Waiter } from '../src';
import { alertFixture, DIGEST, LONG_NAME, NS, ruleFile } from './support/alert-fixture';
import { baseProps, Manifest, one, synth, synthService, validateSchemas } from './support/k8s';

function rulesOf(m: Manifest[]): any[] {
  return one(m, 'PrometheusRule').spec.groups.flatMap((g: any) => g.rules);
}
function rule(m: Manifest[], alert: string): any {
  return rulesOf(m).find(r => r.alert === alert);
}

describe('alerts', () => {
  test('GIVEN no alerts WHEN synthesized THEN there is no PrometheusRule', () => {
    const m = synthService();
    expect(m.filter(o => o.kind === 'PrometheusRule')).toEqual([]);
  });

  test('GIVEN alerts: {} WHEN synthesized THEN one PrometheusRule that matches the prometheus-operator schema', () => {
    // GIVEN / WHEN
    const m = synthService({ alerts: {} });
    // THEN
    const pr = one(m, 'PrometheusRule');
    expect(pr.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(pr.metadata).toMatchObject({ name: 'myapp-migration-alerts', namespace: 'myapp' });
    expect(rulesOf(m).map(r => r.alert)).toEqual(['MigrationFailed', 'MigrationRunningLong', 'ReleaseHeld']);
    validateSchemas(m);
  });

  test('GIVEN the services of the promtool fixture WHEN synthesized THEN each PrometheusRule matches the schema', () => {
    const rules = alertFixture().manifests.filter(m => m.kind === 'PrometheusRule');
    expect(rules).toHaveLength(3);
    validateSchemas(rules);
  });

  test('GIVEN a long tag, a digest and a cut service name WHEN synthesized THEN every expression names the exact Job, never a regex', () => {
    const f = alertFixture();
    const rules = ruleFile(f.manifests).groups.flatMap(g => g.rules);
    for (const s of [f.api, f.worker, f.long]) {
      const own = ruleFile(f.manifests).groups.find(g => g.name === `migrated-service.${s.name}`)!.rules;
      expect(own.find((r: any) => r.alert === 'MigrationFailed').expr).toContain(`job_name="${s.jobName}"`);
      expect(own.find((r: any) => r.alert === 'MigrationRunningLong').expr).toContain(`job_name="${s.jobName}"`);
    }
    expect(f.long.imageTag).toBe(DIGEST);
    expect(f.long.name).toBe(LONG_NAME);
    for (const r of rules) {
      expect(r.expr).not.toMatch(/=~|!~/);
      expect(r.expr).toContain(`namespace="${NS}"`);
    }
  });

  test('GIVEN labels, runbookUrl and ruleLabels WHEN synthesized THEN every alert carries them and the object the rule labels', () => {
    const m = synthService({ alerts: { labels: { team: 'db', severity: 'page' }, runbookUrl: 'https://wiki.example.com/rb', ruleLabels: { release: 'kps' } } });
    expect(one(m, 'PrometheusRule').metadata.labels).toMatchObject({ 'release': 'kps', 'app.kubernetes.io/name': 'myapp' });
    for (const r of rulesOf(m)) {
      expect(r.labels).toMatchObject({ team: 'db', severity: 'page', service: 'myapp', image_tag: 'v1.2.3' });
      expect(r.annotations.runbook_url).toBe('https://wiki.example.com/rb');
    }
  });

  test('GIVEN default severities WHEN synthesized THEN a failed migration is critical, the rest warnings', () => {
    const m = synthService({ alerts: {} });
    expect(rule(m, 'MigrationFailed').labels.severity).toBe('critical');
    expect(rule(m, 'MigrationRunningLong').labels.severity).toBe('warning');
    expect(rule(m, 'ReleaseHeld').labels.severity).toBe('warning');
  });

  test('GIVEN a service WHEN synthesized THEN each description names namespace, service, tag and the command that shows the cause', () => {
    const m = synthService({ alerts: {} });
    const job = one(m, 'Job').metadata.name;
    for (const r of rulesOf(m)) {
      expect(r.annotations.description).toContain('release v1.2.3 of service myapp in namespace myapp');
      expect(r.annotations.description).toContain('npx cdk8s-migrated-service status myapp -n myapp (or kubectl');
    }
    expect(rule(m, 'MigrationFailed').annotations.description).toContain(`The cause: npx cdk8s-migrated-service status myapp -n myapp (or kubectl -n myapp describe pod -l job-name=${job}: `);
    expect(rule(m, 'MigrationRunningLong').annotations.description).toContain(`(or kubectl -n myapp logs job/${job} --all-containers --prefix --tail=20).`);
    expect(rule(m, 'ReleaseHeld').annotations.description).toContain(`held until Job ${job} succeeds, or, for a rollback to a tag that already migrated, until the migration history allows it ` +
      '(a newer tag\'s contract step ran after it: npx cdk8s-migrated-service allow-rollback myapp --to v1.2.3 -n <namespace>). ' +
      'Why: npx cdk8s-migrated-service status myapp -n myapp (or kubectl -n myapp logs {{ $labels.pod }} -c wait-for-migration).');
  });

  test('GIVEN migration.activeDeadline WHEN no migrationRunningFor THEN the threshold is 80 % of it; without a deadline 15 minutes', () => {
    const withDeadline = synthService({ alerts: {}, migration: { command: ['m'], activeDeadline: Duration.minutes(10) } });
    expect(rule(withDeadline, 'MigrationRunningLong').expr).toMatch(/\) > 480 and on/);
    expect(rule(synthService({ alerts: {} }), 'MigrationRunningLong').expr).toMatch(/\) > 900 and on/);
    expect(rule(synthService({ alerts: { heldFor: Duration.minutes(3) } }), 'ReleaseHeld').for).toBe('180s');
  });

  test('GIVEN Waiter.none() WHEN synthesized THEN no ReleaseHeld rule (nothing waits); schemaCheck waits in check-migration', () => {
    expect(rulesOf(synthService({ alerts: {}, waiter: Waiter.none() })).map(r => r.alert)).toEqual(['MigrationFailed', 'MigrationRunningLong']);
    expect(rule(synthService({ alerts: {}, waiter: Waiter.schemaCheck() }), 'ReleaseHeld').expr).toContain('container="check-migration"');
  });

  test('GIVEN a workload gated after the alerts were created WHEN synthesized THEN it has its own ReleaseHeld rule', () => {
    const m = synth(chart => {
      const s = new MigratedService(chart, 'myapp', baseProps({ alerts: {} }));
      s.gate(new kplus.Deployment(chart, 'w', { metadata: { name: 'myapp-worker' }, containers: [{ image: s.serviceImage, securityContext: { ensureNonRoot: true, user: 1000 } }] }));
    });
    const held = rulesOf(m).filter(r => r.alert === 'ReleaseHeld');
    expect(held.map(r => r.labels.workload)).toEqual(['myapp', 'myapp-worker']);
    expect(held[1].expr).toContain('kube_replicaset_owner{namespace="myapp",owner_kind="Deployment",owner_name="myapp-worker"}');
  });

  test('GIVEN a chart without namespace WHEN synthesized THEN expressions are not pinned and descriptions use the alert\'s namespace', () => {
    const app = new App();
    new MigratedService(new Chart(app, 'test'), 'myapp', baseProps({ alerts: {} }));
    const m = app.charts.flatMap(c => c.toJson()) as Manifest[];
    const r = rule(m, 'MigrationFailed');
    expect(r.expr).not.toContain('namespace=');
    expect(r.annotations.description).toContain('in namespace {{ $labels.namespace }}');
  });

  describe('GIVEN bad input WHEN constructed THEN an error naming the prop, the value and the fix', () => {
    const cases: [string, any, RegExp][] = [
      ['a label name with a dash', { labels: { 'my-team': 'x' } }, /Invalid alerts\.labels key of MigratedService "test\/myapp" "my-team": a Prometheus label name is/],
      ['a reserved label name', { labels: { __name__: 'x' } }, /Invalid alerts\.labels key .* "__name__": .*must not start with "__"/],
      ['an empty label value', { labels: { team: '' } }, /Invalid alerts\.labels\["team"\] .* "": a label value must be a non-empty string/],
      ['a runbook that is no URL', { runbookUrl: 'wiki/runbook' }, /Invalid alerts\.runbookUrl .* "wiki\/runbook": it must be an http:\/\/ or https:\/\/ URL/],
      ['a fractional threshold', { heldFor: Duration.millis(1500) }, /Invalid alerts\.heldFor .* "1\.5s": it must be a whole number of seconds/],
      ['postRolloutRunningFor without postRollout', { postRolloutRunningFor: Duration.minutes(5) }, /Invalid alerts\.postRolloutRunningFor .* "300s": there is no post-rollout migration; set postRollout or drop it/],
      ['a bad ruleLabels key', { ruleLabels: { 'bad key': 'x' } }, /Invalid alerts\.ruleLabels key .* "bad key"/],
      ['not an object', 'yes', /Invalid alerts of MigratedService "test\/myapp" "yes": pass an object of AlertOptions/],
    ];
    test.each(cases)('%s', (_title, alerts, message) => {
      expect(() => synthService({ alerts })).toThrow(message);
    });

    test('a migrationRunningFor at or above migration.activeDeadline', () => {
      expect(() => synthService({
        migration: { command: ['m'], activeDeadline: Duration.minutes(10) },
        alerts: { migrationRunningFor: Duration.minutes(10) },
      })).toThrow('Invalid alerts.migrationRunningFor of MigratedService "test/myapp" "600s": it must be below migration.activeDeadline (600s), ' +
        'or the Job is killed before the alert fires; make it shorter or the deadline longer');
    });

    test('a postRolloutRunningFor at or above postRollout.activeDeadline', () => {
      expect(() => synthService({
        postRollout: { command: ['c'], activeDeadline: Duration.hours(1) },
        alerts: { postRolloutRunningFor: Duration.hours(1) },
      })).toThrow(/Invalid alerts\.postRolloutRunningFor .* "3600s": it must be below postRollout\.activeDeadline \(3600s\)/);
    });
  });
});
