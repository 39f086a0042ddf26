import { Chart, Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Delivery, MigratedService, MigratedServiceProps, MigrationTool, PostRolloutOptions } from '../src';
import { ROLLOUT_WAIT_SCRIPT } from '../src/post-rollout/rollout-wait';
import { VersionKey } from '../src/version-key';
import { KUBECTL_IMAGE, KUBECTL_UID } from '../src/waiter';
import {
  baseProps, isHistoryObject, Manifest, RESTRICTED_CONTAINER, restrictedViolations, synth, synthYaml, toolCommand, validateSchemas,
} from './support/k8s';
import { runWaiterCommand } from './support/waiter-command';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const POST: PostRolloutOptions = { command: ['npm', 'run', 'migrate:contract'] };
const WORKER: kplus.ContainerProps = {
  image: 'registry.example.com/myapp:v1.2.3',
  portNumber: 9090,
  securityContext: { user: 1000, capabilities: { drop: [kplus.Capability.ALL] } },
};

const named = (m: Manifest[], kind: string, name: string) => m.find(o => o.kind === kind && o.metadata.name === name)!;
const postJob = (m: Manifest[]) => m.find(o => o.kind === 'Job' && o.metadata.labels['app.kubernetes.io/component'] === 'post-rollout-migration')!;
/** The waiter's arguments after the script: [tag, timeout, workload...]. */
const waitArgs = (m: Manifest[]) => postJob(m).spec.template.spec.initContainers[0].command.slice(4);

function service(props: Partial<MigratedServiceProps> = {}, build?: (svc: MigratedService, chart: Chart) => void): Manifest[] {
  return synth(chart => {
    const svc = new MigratedService(chart, 'myapp', baseProps({ postRollout: POST, ...props }));
    build?.(svc, chart);
  });
}

describe('postRollout: the Job', () => {
  test('GIVEN postRollout WHEN synthesized THEN a versioned Job runs the command in the migration image after the rollout wait', () => {
    let svc!: MigratedService;
    const m = synth(chart => { svc = new MigratedService(chart, 'myapp', baseProps({ postRollout: POST })); });
    const job = postJob(m);
    expect(job.metadata.name).toBe(VersionKey.of('v1.2.3').nameWithPrefix('myapp-post'));
    expect(svc.postRolloutJobName).toBe(job.metadata.name);
    expect(svc.postRolloutJob?.name).toBe(job.metadata.name);
    const spec = job.spec.template.spec;
    // The command runs behind the history's wrapper; the record container beside it (test/history.test.ts).
    expect(spec.containers.map((c: any) => c.name)).toEqual(['migrate', 'record-migration']);
    expect([spec.containers[0].image, toolCommand(spec.containers[0])]).toEqual(
      ['registry.example.com/myapp:v1.2.3', ['npm', 'run', 'migrate:contract']]);
    // The rollout wait first, then the migration lock (test/migration-lock.test.ts).
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['wait-for-rollout', 'migration-lock']);
    expect(spec.initContainers[0].command.slice(0, 4)).toEqual(['sh', '-c', ROLLOUT_WAIT_SCRIPT, 'wait-for-rollout']);
    expect(waitArgs(m)).toEqual(['v1.2.3', '1800', 'deployment/myapp']);
    expect(spec.restartPolicy).toBe('Never');
    expect(job.spec.backoffLimit).toBe(0);
  });

  test('GIVEN the synthesized wait command WHEN run under sh and the Deployment cannot be read THEN it exits 1 naming it, before any migration', () => {
    // The script's paths are tested in post-rollout-script.test.ts; this runs the command as synthesized.
    const run = runWaiterCommand(postJob(service()).spec.template.spec.initContainers[0].command);
    expect(run.stderr).toMatch(/cannot read deployment\/myapp: .*forbidden/);
    expect(run.status).toBe(1);
    expect(run.calls[0].slice(0, 4)).toEqual(['get', 'deployment/myapp', '-o', expect.stringMatching(/^jsonpath=/)]);
  });

  test('its labels and annotations follow the same version key; the service\'s objects are unchanged', () => {
    const m = service({ imageTag: 'v2_RC' });
    const job = postJob(m);
    expect(job.metadata.labels['app.kubernetes.io/version']).toBe(VersionKey.of('v2_RC').labelValue);
    expect(job.metadata.annotations['migrated-service.cdk8s.io/image-tag']).toBe('v2_RC');
    expect(job.spec.template.metadata.annotations['migrated-service.cdk8s.io/image-tag']).toBe('v2_RC');
    expect(waitArgs(m)[0]).toBe('v2_RC');
    const without = synth(chart => new MigratedService(chart, 'myapp', baseProps({ imageTag: 'v2_RC' })));
    // The lock's and the history's RoleBindings gain the post-rollout ServiceAccount as a subject, the
    // history's Role lets it annotate the post-rollout Job, and the Deployment (the object, not its
    // pods) names the Job for the status command; nothing else changes.
    const grows = (o: Manifest) => isHistoryObject(o) && o.kind === 'Role';
    const same = (o: Manifest) => without.some(w => w.kind === o.kind && w.metadata.name === o.metadata.name);
    const deployment = named(m, 'Deployment', 'myapp');
    expect(deployment.metadata.annotations['migrated-service.cdk8s.io/post-rollout-job']).toBe(job.metadata.name);
    expect(deployment.spec.template.metadata.annotations['migrated-service.cdk8s.io/post-rollout-job']).toBeUndefined();
    delete deployment.metadata.annotations['migrated-service.cdk8s.io/post-rollout-job'];
    expect(m.filter(o => same(o) && !grows(o))).toEqual(without.filter(o => !grows(o)));
    // The post-rollout Job binds the lock's and the history's Roles in bindings of its own: the
    // release's bindings stay as they were, so a next release without a post-rollout migration
    // cannot take the rights of a contract step that still runs.
    for (const [binding, role] of [['myapp-post-rollout-lock', 'myapp-migration-lock'], ['myapp-post-rollout-history', 'myapp-migration-history']]) {
      expect(named(m, 'RoleBinding', binding)).toMatchObject({
        roleRef: { kind: 'Role', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'myapp-post-rollout' }],
      });
    }
    expect(named(m, 'Role', 'myapp-migration-history').rules).toEqual([
      ...named(without, 'Role', 'myapp-migration-history').rules,
      { apiGroups: ['batch'], resources: ['jobs'], resourceNames: [job.metadata.name], verbs: ['get', 'patch'] },
    ]);
  });

  test('a failed post-rollout migration says why, as the migration does', () => {
    const spec = postJob(service()).spec;
    expect(spec.podFailurePolicy.rules).toEqual([
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { containerName: 'migrate', operator: 'NotIn', values: [0] }, onPodConditions: [] },
      { action: 'Ignore', onExitCodes: { containerName: 'record-migration', operator: 'In', values: [1] }, onPodConditions: [] },
    ]);
    expect(spec.template.spec.containers[0].terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  test('a tool gives the command; image, runAs, resources and env default to the migration\'s', () => {
    const m = service({
      migration: { tool: MigrationTool.prisma(), image: 'registry.example.com/myapp-migration', runAsUser: 1001 },
      envVariables: { DATABASE_URL: kplus.EnvValue.fromValue('postgres://db') },
      postRollout: { tool: MigrationTool.golangMigrate({ dir: '/migrations/post' }) },
    });
    const c = postJob(m).spec.template.spec.containers[0];
    expect(c.image).toBe('registry.example.com/myapp-migration:v1.2.3');
    expect(toolCommand(c)).toEqual(MigrationTool.golangMigrate({ dir: '/migrations/post' }).command);
    expect(c.securityContext.runAsUser).toBe(1001);
    expect(c.env).toContainEqual({ name: 'DATABASE_URL', value: 'postgres://db' });
    expect(c.resources).toEqual(named(m, 'Job', VersionKey.of('v1.2.3').nameWithPrefix('myapp-migrate')).spec.template.spec.containers[0].resources);
  });

  test('runAsGroup and a writable HOME: its own first, then the migration\'s, then the service\'s; HOME from its own tool', () => {
    const post = (p: Partial<MigratedServiceProps>) => postJob(service(p)).spec.template.spec.containers[0];
    expect(post({ runAsGroup: 3000 }).securityContext.runAsGroup).toBe(3000);
    expect(post({ runAsGroup: 3000, migration: { command: ['m'], runAsGroup: 2000 } }).securityContext.runAsGroup).toBe(2000);
    expect(post({ runAsGroup: 3000, migration: { command: ['m'], runAsGroup: 2000 }, postRollout: { ...POST, runAsGroup: 1000 } }).securityContext.runAsGroup).toBe(1000);
    const home = (p: PostRolloutOptions) => (post({ postRollout: p }).env ?? []).filter((e: any) => e.name === 'HOME');
    expect(home({ tool: MigrationTool.prisma() })).toEqual([{ name: 'HOME', value: '/tmp' }]);
    expect(home({ tool: MigrationTool.prisma(), writableHome: false })).toEqual([]);
    expect(home({ ...POST, writableHome: true })).toEqual([{ name: 'HOME', value: '/tmp' }]);
    expect(home(POST)).toEqual([]);
  });

  test('GIVEN the defaults WHEN synthesized THEN the rollout waiter runs as the kubectl image\'s user with HOME on /tmp and the waiter\'s resources', () => {
    const waiter = postJob(service()).spec.template.spec.initContainers[0];
    expect(waiter).toMatchObject({
      image: KUBECTL_IMAGE,
      imagePullPolicy: 'IfNotPresent',
      env: [{ name: 'HOME', value: '/tmp' }],
      volumeMounts: [{ mountPath: '/tmp', name: 'tmp' }, { mountPath: SA_PATH, name: 'waiter-api-access', readOnly: true }],
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
      securityContext: { ...RESTRICTED_CONTAINER, runAsUser: KUBECTL_UID, runAsGroup: KUBECTL_UID },
    });
  });

  test('rolloutTimeout, waiterImage, waiterRunAsUser, activeDeadline, backoffLimit and args are passed through', () => {
    const m = service({
      postRollout: {
        command: ['contract'],
        args: ['--yes'],
        rolloutTimeout: Duration.minutes(5),
        activeDeadline: Duration.minutes(15),
        backoffLimit: 1,
        waiterImage: 'registry.example.com/kubectl@sha256:' + 'a'.repeat(64),
        waiterRunAsUser: 1234,
      },
    });
    const job = postJob(m);
    const waiter = job.spec.template.spec.initContainers[0];
    expect(waitArgs(m).slice(0, 2)).toEqual(['v1.2.3', '300']);
    expect(waiter.image).toBe('registry.example.com/kubectl@sha256:' + 'a'.repeat(64));
    expect(waiter.securityContext).toMatchObject({ runAsUser: 1234, runAsGroup: 1234 });
    expect(job.spec.activeDeadlineSeconds).toBe(900);
    expect(job.spec.backoffLimit).toBe(1);
    expect(job.spec.template.spec.containers[0].args).toEqual(['--yes']);
  });
});

describe('postRollout: least privilege', () => {
  test('its own ServiceAccount; the token only in the waiter, the lock and the history\'s record container; the service account gains nothing', () => {
    const m = service();
    const spec = postJob(m).spec.template.spec;
    expect(spec.serviceAccountName).toBe('myapp-post-rollout');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(named(m, 'ServiceAccount', 'myapp-post-rollout').automountServiceAccountToken).toBe(false);
    const tokenMounts = (c: any) => (c.volumeMounts ?? []).filter((v: any) => v.mountPath === SA_PATH).length;
    expect(spec.initContainers.map(tokenMounts)).toEqual([1, 1]);
    expect(spec.containers.map((c: any) => [c.name, tokenMounts(c)])).toEqual([['migrate', 0], ['record-migration', 1]]);
    expect(spec.volumes.filter((v: any) => v.projected).length).toBe(1);
    expect(named(m, 'RoleBinding', 'myapp-post-rollout').subjects).toEqual(
      [{ apiGroup: '', kind: 'ServiceAccount', name: 'myapp-post-rollout', namespace: 'myapp' }]);
    expect(named(m, 'RoleBinding', 'myapp-migration-waiter').subjects.map((s: any) => s.name)).toEqual(['myapp']);
  });

  test('RBAC: get on the Deployment by name, list on pods, nothing else', () => {
    expect(named(service(), 'Role', 'myapp-post-rollout').rules).toEqual([
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['myapp'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
  });

  test('every pod passes the restricted standard and every object its schema', () => {
    const m = service();
    expect(restrictedViolations(postJob(m).spec.template.spec)).toEqual([]);
    expect(postJob(m).spec.template.spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    validateSchemas(m);
  });

  test('YAML order: the post-rollout objects come after the Deployment', () => {
    const kinds = service().map(o => `${o.kind}/${o.metadata.name}`);
    const after = ['ServiceAccount/myapp-post-rollout', 'Role/myapp-post-rollout', 'RoleBinding/myapp-post-rollout', `Job/${VersionKey.of('v1.2.3').nameWithPrefix('myapp-post')}`];
    for (const k of after) expect(kinds.indexOf(k)).toBeGreaterThan(kinds.indexOf('Deployment/myapp'));
  });
});

describe('postRollout with gated workloads', () => {
  test('gated Deployments, StatefulSets and DaemonSets are waited for and readable by name; Jobs and CronJobs are not', () => {
    let names: string[] = [];
    const m = service({}, (svc, chart) => {
      const ws = [
        new kplus.Deployment(chart, 'worker', { containers: [WORKER] }),
        new kplus.StatefulSet(chart, 'store', { containers: [WORKER] }),
        new kplus.DaemonSet(chart, 'agent', { containers: [WORKER] }),
      ];
      ws.forEach(w => svc.gate(w));
      svc.gate(new kplus.Job(chart, 'once', { containers: [WORKER] }));
      svc.gate(new kplus.CronJob(chart, 'nightly', { schedule: Cron.daily(), containers: [WORKER] }));
      names = ws.map(w => w.name);
    });
    expect(waitArgs(m).slice(2)).toEqual(['deployment/myapp', `deployment/${names[0]}`, `statefulset/${names[1]}`, `daemonset/${names[2]}`]);
    expect(named(m, 'Role', 'myapp-post-rollout').rules).toEqual([
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['myapp'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [names[0]], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['statefulsets'], resourceNames: [names[1]], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: [names[2]], verbs: ['get'] },
    ]);
  });
});

describe('postRollout per delivery target', () => {
  test.each([
    ['flux', Delivery.flux(), true, { 'kustomize.toolkit.fluxcd.io/force': 'Enabled' }],
    ['kubectl', Delivery.kubectl(), true, {}],
    ['helm', Delivery.helm(), false, {
      'helm.sh/hook': 'post-install,post-upgrade', 'helm.sh/hook-weight': '0', 'helm.sh/hook-delete-policy': 'before-hook-creation',
    }],
    ['argoCd', Delivery.argoCd(), false, { 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' }],
  ])('%s', (_name, delivery, versioned, annotations) => {
    const job = postJob(service({ delivery }));
    const { ['migrated-service.cdk8s.io/image-tag']: tag, ...rest } = job.metadata.annotations;
    expect(tag).toBe('v1.2.3');
    expect(rest).toEqual(annotations);
    // Hook targets replace a hook by name only: a stable name; the tag stays in labels and annotations.
    expect(job.metadata.name).toBe(versioned ? VersionKey.of('v1.2.3').nameWithPrefix('myapp-post') : 'myapp-post');
    // The rollout wait runs in every target (Helm without --wait runs post hooks before the rollout ends).
    expect(job.spec.template.spec.initContainers[0].name).toBe('wait-for-rollout');
  });

  test('Delivery.helm(): the script holds no "{{", so the chart renders', () => {
    expect(ROLLOUT_WAIT_SCRIPT).not.toContain('{{');
    expect(() => synthYaml(chart => new MigratedService(chart, 'myapp', baseProps({ delivery: Delivery.helm(), postRollout: POST })))).not.toThrow();
  });

  test('the same input gives byte-identical YAML', () => {
    const build = (chart: Chart) => new MigratedService(chart, 'myapp', baseProps({ postRollout: POST }));
    expect(synthYaml(build)).toBe(synthYaml(build));
  });
});

describe('postRollout: bad input fails naming the prop', () => {
  test.each<[string, PostRolloutOptions | null, RegExp]>([
    ['no command', {}, /^Invalid postRollout of MigratedService "test\/myapp" "\{ no tool, no command \}": set postRollout.tool/],
    ['null', null, /^Invalid postRollout .* null: pass postRollout/],
    ['a command string', { command: ['npm run contract'] }, /postRollout.command/],
    ['an image with a tag', { command: ['x'], image: 'registry.example.com/myapp:v1' }, /^Invalid postRollout.image .*it contains a tag/],
    ['backoffLimit -1', { command: ['x'], backoffLimit: -1 }, /^Invalid postRollout.backoffLimit .* -1: it must be a whole number from 0 to 100/],
    ['root', { command: ['x'], runAsUser: 0 }, /^Invalid postRollout.runAsUser .* 0: UID\/GID 0 is root/],
    ['args that are not strings', { command: ['x'], args: [1 as any] }, /^Invalid postRollout.args .* \[1\]: pass a list of strings/],
    ['a root group', { command: ['x'], runAsGroup: 0 }, /^Invalid postRollout.runAsGroup .* 0: UID\/GID 0 is root/],
    ['a fractional activeDeadline', { command: ['x'], activeDeadline: Duration.millis(3_600_500) }, /^Invalid postRollout.activeDeadline .* "3600.5s": it must be a whole number of seconds/],
    ['a root waiter', { command: ['x'], waiterRunAsUser: 0 }, /^Invalid postRollout.waiterRunAsUser .* 0: UID\/GID 0 is root/],
    ['a waiter image with spaces', { command: ['x'], waiterImage: 'kubectl latest' }, /^Invalid postRollout.waiterImage/],
    ['rolloutTimeout 0', { command: ['x'], rolloutTimeout: Duration.seconds(0) }, /^Invalid postRollout.rolloutTimeout .* "0s"/],
    ['a deadline within the rollout wait', { command: ['x'], activeDeadline: Duration.minutes(10) },
      /^Invalid postRollout.activeDeadline .* "600s": it counts from the Job's start, so it includes the wait for the rollout \(postRollout.rolloutTimeout, 1800s\)/],
  ])('%s', (_what, postRollout, message) => {
    expect(() => service({ postRollout: postRollout as PostRolloutOptions })).toThrow(message);
  });

  test('a separate image when imageTag is a digest', () => {
    const digest = 'sha256:' + 'b'.repeat(64);
    expect(() => service({ imageTag: digest, postRollout: { command: ['x'], image: 'registry.example.com/other' } }))
      .toThrow(/^Invalid postRollout.image .* "registry.example.com\/other": imageTag is a digest \(sha256:b+\), which names one image/);
    expect(() => service({ imageTag: digest, postRollout: { command: ['x'], image: 'registry.example.com/myapp' } })).not.toThrow();
  });
});
