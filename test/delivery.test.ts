import { ApiObject, App, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Delivery, MigratedService, MigratedServiceProps, MigrationTool, Waiter } from '../src';
import { VersionKey } from '../src/version-key';
import {
  all, baseProps, configAndSecret, initContainer, isHistoryObject, isLockObject, Manifest, one, synth, synthService, validateSchemas,
} from './support/k8s';

const TAG_ANNOTATION = 'migrated-service.cdk8s.io/image-tag';
/** The versioned Job name VersionKey derives (v1.2.3 is cut and hashed: dots are no DNS label). */
const versioned = (tag: string) => VersionKey.of(tag).nameWithPrefix('myapp-migrate');
const DELIVERY_PREFIXES = ['helm.sh/', 'argocd.argoproj.io/', 'kustomize.toolkit.fluxcd.io/'];

/** Annotations of an object that belong to a delivery tool. */
function deliveryAnnotations(m: Manifest): { [key: string]: string } {
  return Object.fromEntries(Object.entries(m.metadata.annotations ?? {})
    .filter(([k]) => DELIVERY_PREFIXES.some(p => k.startsWith(p)))) as { [key: string]: string };
}

/**
 * Every object but the Job and the migration lock's and history's RBAC (which the Job needs first)
 * has no delivery annotation.
 */
function othersUnannotated(m: Manifest[]): void {
  for (const o of m.filter(x => x.kind !== 'Job' && !isLockObject(x) && !isHistoryObject(x))) {
    expect({ object: `${o.kind}/${o.metadata.name}`, annotations: deliveryAnnotations(o) })
      .toEqual({ object: `${o.kind}/${o.metadata.name}`, annotations: {} });
  }
}

/** The waiter Role's resourceNames: the Job, then the migration history it reads (one name for every tag). */
function roleResourceNames(m: Manifest[]): string[] {
  return one(m, 'Role').rules.flatMap((r: any) => r.resourceNames ?? []);
}
const HISTORY = 'myapp-migration-history';

/** A chart whose ConfigMap and Secret the migration reads through envFrom. */
function serviceReadingConfig(delivery: Delivery, before?: (c: { config: kplus.ConfigMap; secret: kplus.Secret }) => void) {
  return (chart: Chart) => {
    const made = configAndSecret(chart);
    before?.(made);
    new MigratedService(chart, 'myapp', baseProps({
      delivery,
      envFrom: [kplus.Env.fromConfigMap(made.config), kplus.Env.fromSecret(made.secret)],
    }));
  };
}

describe('Delivery.flux() (the default)', () => {
  test('GIVEN no delivery WHEN synthesized THEN only the Job gets the force annotation and a versioned name', () => {
    const m = synthService();
    const job = one(m, 'Job');
    expect(deliveryAnnotations(job)).toEqual({ 'kustomize.toolkit.fluxcd.io/force': 'Enabled' });
    expect(job.metadata.name).toBe(versioned('v1.2.3'));
    expect(job.metadata.name).toMatch(/^myapp-migrate-v1-2-3-[0-9a-f]{10}$/);
    expect(roleResourceNames(m)).toEqual([job.metadata.name, HISTORY]);
    othersUnannotated(m);
  });

  test('GIVEN force: false WHEN synthesized THEN the Job has no Flux annotation', () => {
    const job = one(synthService({ delivery: Delivery.flux({ force: false }) }), 'Job');
    expect(deliveryAnnotations(job)).toEqual({});
    expect(job.metadata.annotations[TAG_ANNOTATION]).toBe('v1.2.3');
  });

  test('GIVEN postRollout WHEN synthesized THEN its Job is forced like the migration Job, and not with force: false', () => {
    const postJob = (m: Manifest[]) => all(m, 'Job').find(j => j.metadata.name !== versioned('v1.2.3'))!;
    const post = { command: ['./warm-cache'] };
    expect(deliveryAnnotations(postJob(synthService({ postRollout: post })))).toEqual({ 'kustomize.toolkit.fluxcd.io/force': 'Enabled' });
    expect(deliveryAnnotations(postJob(synthService({ postRollout: post, delivery: Delivery.flux({ force: false }) })))).toEqual({});
  });

  test('GIVEN two tags WHEN synthesized THEN the Job name and the Role follow the tag', () => {
    const a = synthService({ imageTag: 'v1.2.3' });
    const b = synthService({ imageTag: 'v1.2.4' });
    expect(one(a, 'Job').metadata.name).toBe(versioned('v1.2.3'));
    expect(one(b, 'Job').metadata.name).toBe(versioned('v1.2.4'));
    expect(one(b, 'Job').metadata.name).not.toBe(one(a, 'Job').metadata.name);
    expect(roleResourceNames(b)).toEqual([versioned('v1.2.4'), HISTORY]);
  });

  test('GIVEN a ConfigMap in the chart WHEN synthesized THEN no hook check applies (one apply stage)', () => {
    expect(() => synth(serviceReadingConfig(Delivery.flux()))).not.toThrow();
  });
});

describe('Delivery.kubectl()', () => {
  test('GIVEN kubectl WHEN synthesized THEN no object has delivery annotations and the Job name is versioned', () => {
    const m = synthService({ delivery: Delivery.kubectl() });
    expect(deliveryAnnotations(one(m, 'Job'))).toEqual({});
    othersUnannotated(m);
    expect(one(m, 'Job').metadata.name).toBe(versioned('v1.2.3'));
    expect(roleResourceNames(m)).toEqual([versioned('v1.2.3'), HISTORY]);
    expect(Delivery.kubectl().kind).toBe('kubectl');
  });
});

describe('Delivery.argoCd()', () => {
  test('GIVEN argoCd WHEN synthesized THEN the Job alone is a PreSync hook with a stable name', () => {
    const m = synthService({ delivery: Delivery.argoCd() });
    const job = one(m, 'Job');
    expect(deliveryAnnotations(job)).toEqual({
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    });
    expect(job.metadata.name).toBe('myapp-migrate');
    expect(roleResourceNames(m)).toEqual(['myapp-migrate', HISTORY]);
    othersUnannotated(m);
    validateSchemas(m);
  });

  test('GIVEN argoCd WHEN synthesized THEN the lock\'s ServiceAccount, Role and RoleBinding are PreSync hooks of the Job\'s wave, so they exist when it runs', () => {
    const m = synthService({ delivery: Delivery.argoCd({ syncWave: 3 }) });
    const lock = m.filter(isLockObject);
    expect(lock.map(o => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    for (const o of lock) expect(deliveryAnnotations(o)).toEqual(deliveryAnnotations(one(m, 'Job')));
    expect(deliveryAnnotations(lock[0])['argocd.argoproj.io/sync-wave']).toBe('3');
  });

  test('GIVEN syncWave -2 WHEN synthesized THEN the Job carries that wave as a string', () => {
    const job = one(synthService({ delivery: Delivery.argoCd({ syncWave: -2 }) }), 'Job');
    expect(job.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-2');
  });

  test.each([1.5, NaN, Infinity])('GIVEN syncWave %p THEN it is rejected naming the prop', (wave) => {
    expect(() => synthService({ delivery: Delivery.argoCd({ syncWave: wave }) }))
      .toThrow(/^Invalid delivery \(Delivery\.argoCd\) syncWave of MigratedService "test\/myapp" .*whole number/);
  });
});

describe('Delivery.helm()', () => {
  test('GIVEN helm WHEN synthesized THEN the Job alone is a pre-install,pre-upgrade hook with a stable name', () => {
    const m = synthService({ delivery: Delivery.helm() });
    const job = one(m, 'Job');
    expect(deliveryAnnotations(job)).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(job.metadata.name).toBe('myapp-migrate');
    expect(roleResourceNames(m)).toEqual(['myapp-migrate', HISTORY]);
    othersUnannotated(m);
    validateSchemas(m);
  });

  test('GIVEN helm WHEN synthesized THEN the lock\'s ServiceAccount, Role and RoleBinding are pre-install hooks of the Job\'s weight (Helm orders them before the Job by kind)', () => {
    const m = synthService({ delivery: Delivery.helm({ hookWeight: 4 }) });
    const lock = m.filter(isLockObject);
    expect(lock.map(o => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    for (const o of lock) expect(deliveryAnnotations(o)).toEqual(deliveryAnnotations(one(m, 'Job')));
    expect(deliveryAnnotations(lock[0])['helm.sh/hook-weight']).toBe('4');
  });

  test('GIVEN hookWeight 5 WHEN synthesized THEN the Job carries weight "5"', () => {
    const job = one(synthService({ delivery: Delivery.helm({ hookWeight: 5 }) }), 'Job');
    expect(job.metadata.annotations['helm.sh/hook-weight']).toBe('5');
  });

  test('GIVEN hookWeight 0.5 THEN it is rejected naming the prop and the value', () => {
    expect(() => synthService({ delivery: Delivery.helm({ hookWeight: 0.5 }) }))
      .toThrow('Invalid delivery (Delivery.helm) hookWeight of MigratedService "test/myapp" 0.5: it must be a whole number');
  });
});

describe.each([
  ['argoCd', () => Delivery.argoCd()],
  ['helm', () => Delivery.helm()],
])('hook target Delivery.%s()', (_name, delivery) => {
  test('GIVEN a new tag WHEN synthesized THEN the hook Job keeps its name but its labels and annotations follow the tag', () => {
    const a = one(synthService({ delivery: delivery(), imageTag: 'v1.2.3' }), 'Job');
    const b = one(synthService({ delivery: delivery(), imageTag: 'v1.2.4' }), 'Job');
    expect(b.metadata.name).toBe(a.metadata.name);
    expect([a.metadata.labels['app.kubernetes.io/version'], b.metadata.labels['app.kubernetes.io/version']]).toEqual(['v1.2.3', 'v1.2.4']);
    expect([a.metadata.annotations[TAG_ANNOTATION], b.metadata.annotations[TAG_ANNOTATION]]).toEqual(['v1.2.3', 'v1.2.4']);
    expect(b.spec.template.spec.containers[0].image).toBe('registry.example.com/myapp:v1.2.4');
  });

  test('GIVEN a tag that is no label value WHEN synthesized THEN the verbatim tag is in the annotation', () => {
    const tag = `sha256:${'a'.repeat(64)}`;
    const job = one(synthService({ delivery: delivery(), imageTag: tag }), 'Job');
    expect(job.metadata.name).toBe('myapp-migrate');
    expect(job.metadata.annotations[TAG_ANNOTATION]).toBe(tag);
    expect(job.metadata.labels['app.kubernetes.io/version']).not.toContain(':');
  });

  test('GIVEN the default waiter WHEN synthesized THEN the init-container gate still waits for the stable Job', () => {
    const m = synthService({ delivery: delivery() });
    expect(initContainer(m).command.slice(3, 5)).toEqual(['wait-for-migration', 'myapp-migrate']);
  });
});

describe('Delivery.helmPreInstall()', () => {
  test('GIVEN a ConfigMap WHEN made a pre-install hook THEN it runs before the Job and is replaced on upgrade', () => {
    const m = synth(serviceReadingConfig(Delivery.helm(), ({ config, secret }) => {
      Delivery.helmPreInstall(config);
      Delivery.helmPreInstall(secret, -3);
    }));
    expect(deliveryAnnotations(one(m, 'ConfigMap'))).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-1',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(one(m, 'Secret').metadata.annotations['helm.sh/hook-weight']).toBe('-3');
    expect(deliveryAnnotations(one(m, 'Deployment'))).toEqual({});
  });

  test('GIVEN an imported Secret THEN it is rejected: there is no object to annotate', () => {
    synth(chart => {
      const imported = kplus.Secret.fromSecretName(chart, 'ext', 'myapp-db');
      expect(() => Delivery.helmPreInstall(imported)).toThrow(/^Invalid resource of Delivery\.helmPreInstall "test\/ext": .*Secret\.fromSecretName/);
    });
  });

  test('GIVEN no construct at all (from JavaScript) THEN it is rejected the same way, not with a TypeError', () => {
    const advice = ': it has no Kubernetes object in this app (e.g. it was imported with Secret.fromSecretName), so there is ' +
      'nothing to annotate; pass the ConfigMap or Secret you create in the chart';
    expect(() => Delivery.helmPreInstall(undefined as any)).toThrow(`Invalid resource of Delivery.helmPreInstall (undefined)${advice}`);
    expect(() => Delivery.argoCdPreSync({} as any)).toThrow(`Invalid resource of Delivery.argoCdPreSync {}${advice}`);
    synth(chart => {
      const imported = kplus.Secret.fromSecretName(chart, 'ext', 'myapp-db');
      expect(() => Delivery.argoCdPreSync(imported)).toThrow(`Invalid resource of Delivery.argoCdPreSync "test/ext"${advice}`);
    });
  });

  test('GIVEN a weight of 1.5 THEN it is rejected naming the prop', () => {
    synth(chart => {
      const { config } = configAndSecret(chart);
      expect(() => Delivery.helmPreInstall(config, 1.5)).toThrow('Invalid weight of Delivery.helmPreInstall 1.5');
    });
  });

  test('GIVEN a plain ApiObject ConfigMap THEN it is annotated too', () => {
    const m = synth(chart => {
      const cm = new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw' } });
      Delivery.helmPreInstall(cm, -7);
    });
    expect(one(m, 'ConfigMap').metadata.annotations['helm.sh/hook-weight']).toBe('-7');
  });
});

describe('Delivery.helm() checks what the hook Job reads', () => {
  test('GIVEN envFrom a ConfigMap of the chart that is no hook WHEN synthesized THEN synth fails naming it and the fix', () => {
    expect(() => synth(serviceReadingConfig(Delivery.helm())))
      .toThrow(/Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.helm\(\) "myapp-config": .*helm install.*Delivery\.helmPreInstall\(<the ConfigMap "test\/config">\).*or create it outside the chart/);
  });

  test('GIVEN a ConfigMap that is no hook WHEN synthesized THEN the whole message: the trap, the fix, the way out', () => {
    expect(() => synth(serviceReadingConfig(Delivery.helm(), ({ secret }) => Delivery.helmPreInstall(secret, -1)))).toThrow(
      'Invalid ConfigMap read by the migration Job (envFrom) with Delivery.helm() "myapp-config": the migration Job is a pre-install ' +
      'hook and Helm creates ordinary chart objects only after pre-install hooks, so on "helm install" the Job cannot start. Make it ' +
      'a hook that runs first with Delivery.helmPreInstall(<the ConfigMap "test/config">), or create it outside the chart; to ' +
      'accept the risk pass checkHookInputs: false');
    expect(() => synth(serviceReadingConfig(Delivery.argoCd(), ({ secret }) => Delivery.argoCdPreSync(secret)))).toThrow(
      'Invalid ConfigMap read by the migration Job (envFrom) with Delivery.argoCd() "myapp-config": the migration Job is a PreSync ' +
      'hook and Argo CD applies ordinary objects only after PreSync, so on the first sync the Job waits for it forever. Make it a ' +
      'hook that runs first with Delivery.argoCdPreSync(<the ConfigMap "test/config">), or keep it outside the Application (e.g. ' +
      'an earlier Application); to accept the risk pass checkHookInputs: false');
  });

  test('GIVEN both made hooks, even after the service was created, WHEN synthesized THEN synth passes', () => {
    const m = synth(chart => {
      serviceReadingConfig(Delivery.helm())(chart);
      Delivery.helmPreInstall(chart.node.findChild('config'));
      Delivery.helmPreInstall(chart.node.findChild('secret'));
    });
    expect(one(m, 'Job').metadata.name).toBe('myapp-migrate');
  });

  test('GIVEN a hook with a weight not below the Job WHEN synthesized THEN synth fails saying so', () => {
    expect(() => synth(serviceReadingConfig(Delivery.helm({ hookWeight: -2 }), ({ config, secret }) => {
      Delivery.helmPreInstall(config);
      Delivery.helmPreInstall(secret, -5);
    }))).toThrow(/"myapp-config": it is a pre-install hook but its helm\.sh\/hook-weight -1 is not below the Job's -2.*-3\)/);
  });

  test('GIVEN a Secret read through env valueFrom and as image pull secret THEN both are checked', () => {
    expect(() => synth(chart => {
      const { secret } = configAndSecret(chart);
      const pull = new kplus.Secret(chart, 'pull', { metadata: { name: 'regcred' } });
      Delivery.helmPreInstall(secret);
      new MigratedService(chart, 'myapp', baseProps({
        delivery: Delivery.helm(),
        envVariables: { DATABASE_URL: kplus.EnvValue.fromSecretValue({ secret, key: 'DATABASE_URL' }) },
        imagePullSecret: pull,
      }));
    })).toThrow(/Invalid Secret read by the migration Job \(imagePullSecrets\) with Delivery\.helm\(\) "regcred"/);
  });

  test('GIVEN a ConfigMap mounted as a volume of the Job WHEN synthesized THEN it is checked too', () => {
    expect(() => synth(chart => {
      const { config } = configAndSecret(chart);
      const svc = new MigratedService(chart, 'myapp', baseProps({ delivery: Delivery.helm() }));
      svc.job.addVolume(kplus.Volume.fromConfigMap(chart, 'vol', config));
    })).toThrow(/Invalid ConfigMap read by the migration Job \(volume [^)]+\) with Delivery\.helm\(\) "myapp-config"/);
  });

  test('GIVEN Secrets created outside the app WHEN synthesized THEN nothing is reported', () => {
    expect(() => synth(chart => new MigratedService(chart, 'myapp', baseProps({
      delivery: Delivery.helm(),
      envFrom: [kplus.Env.fromSecret(kplus.Secret.fromSecretName(chart, 'ext', 'myapp-db'))],
    })))).not.toThrow();
  });

  test('GIVEN checkHookInputs: false WHEN synthesized THEN the Job is still a hook reading the ordinary ConfigMap and Secret', () => {
    const m = synth(serviceReadingConfig(Delivery.helm({ checkHookInputs: false })));
    const job = one(m, 'Job');
    expect(deliveryAnnotations(job)).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(job.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: 'myapp-config' } }, { secretRef: { name: 'myapp-db' } }]);
    expect(deliveryAnnotations(one(m, 'ConfigMap'))).toEqual({});
    expect(deliveryAnnotations(one(m, 'Secret'))).toEqual({});
  });

  test('GIVEN checkHookInputs: false WHEN the user\'s command holds "{{" THEN synth still fails: only the input check is off', () => {
    const props = baseProps({ migration: { tool: MigrationTool.prisma(), command: ['sh', '-c', 'echo {{ x }}'] }, delivery: Delivery.helm({ checkHookInputs: false }) });
    expect(() => synthService(props)).toThrow(/Invalid Job "myapp-migrate" with Delivery\.helm\(\) .*would be read by Helm as a template/);
  });
});

/** Synthesize without a namespace: the rules then name the namespace with a Prometheus template too. */
function synthNoNamespace(props: MigratedServiceProps): Manifest[] {
  const app = new App();
  new MigratedService(new Chart(app, 'test'), 'myapp', props);
  return app.charts.flatMap(c => c.toJson()) as Manifest[];
}

/** What Helm renders the library's escape to: "{{" (proven with Go's text/template in test/tools/helm-template.test.ts). */
const HELM_ESCAPE = '{{`{{`}}';
const helmRendered = (text: string) => text.split(HELM_ESCAPE).join('{{');
const ATLAS = { tool: MigrationTool.atlas(), image: 'registry.example.com/myapp-migration' };
const TEMPLATE_ERROR = (kind: string, name: string, at: string) => new RegExp(
  `Invalid ${kind} "${name}" with Delivery\\.helm\\(\\) ".*\\{\\{.*": "\\{\\{" at ${at.replace(/\//g, '\\/')} would be read by Helm as a template ` +
  'when the chart is installed; avoid "\\{\\{" there \\(e\\.g\\. pick another waiter or command\\), or deliver with Delivery\\.flux\\(\\) or Delivery\\.kubectl\\(\\)$', 'm');

describe('Delivery.helm() escapes the "{{" of the library\'s own text', () => {
  test('GIVEN helm and alerts WHEN synthesized THEN it passes and each Prometheus template is escaped once', () => {
    const m = synthNoNamespace(baseProps({ delivery: Delivery.helm(), alerts: {} }));
    const rules = one(m, 'PrometheusRule').spec.groups[0].rules;
    const held = rules.find((r: any) => r.alert === 'ReleaseHeld');
    expect(held.annotations.description).toMatch(/^Pod \{\{`\{\{`\}\} \$labels\.pod \}\} of Deployment myapp .* in namespace \{\{`\{\{`\}\} \$labels\.namespace \}\} is held/);
    expect(rules.find((r: any) => r.alert === 'MigrationRunningLong').annotations.description)
      .toContain('has run for {{`{{`}} $value | humanizeDuration }}. ');
  });

  test('GIVEN helm and flux with alerts WHEN Helm\'s rendering of the escapes is applied THEN the rules are exactly flux\'s', () => {
    const rule = (delivery: Delivery) => {
      const m = synthNoNamespace(baseProps({ delivery, alerts: {}, postRollout: { command: ['npm', 'run', 'contract'] } }));
      // Only the Job names differ between the targets (versioned for flux, stable for Helm).
      const names = all(m, 'Job').map(j => j.metadata.name);
      return { groups: one(m, 'PrometheusRule').spec.groups, names };
    };
    const helm = rule(Delivery.helm());
    const flux = rule(Delivery.flux());
    let fluxText = JSON.stringify(flux.groups);
    flux.names.forEach((name, i) => { fluxText = fluxText.split(name).join(helm.names[i]); });
    expect(fluxText).toContain('{{ $labels.pod }}');
    expect(helmRendered(JSON.stringify(helm.groups))).toBe(fluxText);
  });

  test('GIVEN helm and the Atlas schema check WHEN synthesized THEN the script is escaped, renders to flux\'s, and the user\'s dir is as given', () => {
    const command = (delivery: Delivery) => initContainer(synthService({ migration: ATLAS, waiter: Waiter.schemaCheck(), delivery })).command;
    const helm = command(Delivery.helm());
    const flux = command(Delivery.flux());
    expect(helm[2]).toBe('test "$$(atlas migrate status --url "$1" --dir "$2" --format \'{{`{{`}} .Status }}\')" = OK');
    expect(helm.map(helmRendered)).toEqual(flux);
    expect(helm.slice(3)).toEqual(flux.slice(3));
  });

  test('GIVEN flux, argoCd and kubectl WHEN synthesized with alerts and the Atlas schema check THEN the text is Atlas\'s and Prometheus\'s, unescaped', () => {
    for (const delivery of [Delivery.flux(), Delivery.argoCd(), Delivery.kubectl()]) {
      const m = synth(chart => new MigratedService(chart, 'myapp', baseProps({ migration: ATLAS, waiter: Waiter.schemaCheck(), delivery, alerts: {} })));
      const text = JSON.stringify(m);
      expect(text).not.toContain('`');
      expect(initContainer(m).command[2]).toContain("--format '{{ .Status }}'");
      expect(one(m, 'PrometheusRule').spec.groups[0].rules.find((r: any) => r.alert === 'ReleaseHeld').annotations.description)
        .toMatch(/^Pod \{\{ \$labels\.pod \}\} of Deployment myapp/);
    }
  });

  test('GIVEN the public MigrationTool.atlas().checkCommand THEN it is Atlas\'s text: the escape is applied at synth only', () => {
    expect(MigrationTool.atlas().checkCommand![2]).toContain("--format '{{ .Status }}'");
  });
});

describe('Delivery.helm() still refuses the user\'s "{{" (we cannot know whether it is meant for Helm)', () => {
  test('GIVEN a "{{" in the user\'s command WHEN synthesized for Helm THEN synth fails with the whole message naming where', () => {
    const props = baseProps({ migration: { tool: MigrationTool.prisma(), command: ['sh', '-c', 'echo {{ .Values.x }}'] } });
    expect(() => synthService(props)).not.toThrow();
    // command/6: the user's argv follows the history's wrapper (sh -c WRAPPER migrate).
    expect(() => synthService({ ...props, delivery: Delivery.helm() })).toThrow(TEMPLATE_ERROR('Job', 'myapp-migrate', '/spec/template/spec/containers/0/command/6'));
  });

  test('GIVEN a custom tool whose check command holds "{{" WHEN the schema check is synthesized for Helm THEN synth fails naming the init container', () => {
    const tool = MigrationTool.custom({ name: 'mine', command: ['migrate'], checkCommand: ['sh', '-c', 'status --format "{{ .Ok }}"'] });
    expect(() => synthService({ migration: { tool }, waiter: Waiter.schemaCheck(), delivery: Delivery.helm() }))
      .toThrow(TEMPLATE_ERROR('Deployment', 'myapp', '/spec/template/spec/initContainers/0/command/2'));
  });

  test('GIVEN Atlas with a dir holding "{{" WHEN the schema check is synthesized for Helm THEN the dir (the user\'s) is refused, not escaped', () => {
    const tool = MigrationTool.atlas({ dir: 'file://{{ .Values.dir }}' });
    expect(() => synthService({ migration: { tool, image: ATLAS.image }, waiter: Waiter.schemaCheck(), delivery: Delivery.helm() }))
      .toThrow(TEMPLATE_ERROR('Deployment', 'myapp', '/spec/template/spec/initContainers/0/command/5'));
  });

  test.each([
    ['a label value', { labels: { team: '{{ .Values.team }}' } }, '/spec/groups/0/rules/0/labels/team'],
    ['the runbook URL', { runbookUrl: 'https://wiki.example.com/{{$labels.alertname}}' }, '/spec/groups/0/rules/0/annotations/runbook_url'],
  ])('GIVEN %s of the alerts holding "{{" WHEN synthesized for Helm THEN it is refused, while the library\'s templates beside it pass', (_what, alerts, at) => {
    expect(() => synthService({ alerts, delivery: Delivery.helm() }))
      .toThrow(TEMPLATE_ERROR('PrometheusRule', 'myapp-migration-alerts', at));
  });

  test('GIVEN a user string that starts like the escape but is not one ("{{{`{{`}}") WHEN synthesized for Helm THEN it is refused', () => {
    expect(() => synthService({ migration: { tool: MigrationTool.prisma(), command: ['sh', '-c', 'echo {{{`{{`}}'] }, delivery: Delivery.helm() }))
      .toThrow(TEMPLATE_ERROR('Job', 'myapp-migrate', '/spec/template/spec/containers/0/command/6'));
  });
});

describe('Delivery.argoCd() checks what the hook Job reads', () => {
  test('GIVEN envFrom a Secret of the app that is no PreSync hook WHEN synthesized THEN synth fails naming it and the fix', () => {
    expect(() => synth(serviceReadingConfig(Delivery.argoCd(), ({ config }) => Delivery.argoCdPreSync(config))))
      .toThrow(/Invalid Secret read by the migration Job \(envFrom\) with Delivery\.argoCd\(\) "myapp-db": .*first sync.*Delivery\.argoCdPreSync\(<the Secret "test\/secret">\).*outside the Application/);
  });

  test('GIVEN both PreSync hooks in an earlier wave WHEN synthesized THEN they are annotated and synth passes', () => {
    const m = synth(serviceReadingConfig(Delivery.argoCd({ syncWave: 1 }), ({ config, secret }) => {
      Delivery.argoCdPreSync(config);
      Delivery.argoCdPreSync(secret, 0);
    }));
    expect(deliveryAnnotations(one(m, 'ConfigMap'))).toEqual({
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/sync-wave': '-1',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    });
    expect(one(m, 'Secret').metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('0');
  });

  test('GIVEN a PreSync input in the same wave as the Job WHEN synthesized THEN synth fails', () => {
    expect(() => synth(serviceReadingConfig(Delivery.argoCd(), ({ config, secret }) => {
      Delivery.argoCdPreSync(config, 0);
      Delivery.argoCdPreSync(secret);
    }))).toThrow(/"myapp-config": it is a PreSync hook but its argocd\.argoproj\.io\/sync-wave 0 is not below the Job's 0/);
  });

  test('GIVEN a wave of 0.5 THEN argoCdPreSync rejects it naming the prop', () => {
    synth(chart => {
      const { config } = configAndSecret(chart);
      expect(() => Delivery.argoCdPreSync(config, 0.5)).toThrow('Invalid wave of Delivery.argoCdPreSync 0.5');
    });
  });

  test('GIVEN checkHookInputs: false WHEN synthesized THEN the Job is still a PreSync hook reading the ordinary ConfigMap and Secret', () => {
    const m = synth(serviceReadingConfig(Delivery.argoCd({ checkHookInputs: false, syncWave: 2 })));
    const job = one(m, 'Job');
    expect(deliveryAnnotations(job)).toEqual({
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
      'argocd.argoproj.io/sync-wave': '2',
    });
    expect(job.metadata.name).toBe('myapp-migrate');
    expect(job.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: 'myapp-config' } }, { secretRef: { name: 'myapp-db' } }]);
    expect(deliveryAnnotations(one(m, 'ConfigMap'))).toEqual({});
    expect(deliveryAnnotations(one(m, 'Secret'))).toEqual({});
  });
});

describe('the hook-input check runs on the app as it is at each synth', () => {
  test.each([
    ['helm', () => Delivery.helm(), /Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.helm\(\) "late-config"/],
    ['argoCd', () => Delivery.argoCd(), /Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.argoCd\(\) "late-config"/],
  ])('GIVEN one App synthesized, WHEN a ConfigMap the %s Job reads is added to it and it is synthesized again THEN the second synth reports it', (_name, delivery, message) => {
    const app = new App();
    const chart = new Chart(app, 'test', { namespace: 'myapp' });
    new MigratedService(chart, 'myapp', baseProps({
      delivery: delivery(),
      envFrom: [kplus.Env.fromConfigMap(kplus.ConfigMap.fromConfigMapName(chart, 'ext', 'late-config'))],
    }));
    // Not in the app yet: created outside, so it exists before the hook runs.
    expect(app.synthYaml()).toContain('name: late-config');

    new kplus.ConfigMap(chart, 'late', { metadata: { name: 'late-config' } });

    expect(() => app.synthYaml()).toThrow(message);
  });

  test('GIVEN one App whose check failed WHEN the ConfigMap is made a hook and it is synthesized again THEN it passes', () => {
    const app = new App();
    const chart = new Chart(app, 'test', { namespace: 'myapp' });
    serviceReadingConfig(Delivery.helm(), ({ secret }) => Delivery.helmPreInstall(secret))(chart);
    expect(() => app.synthYaml()).toThrow(/"myapp-config"/);

    Delivery.helmPreInstall(chart.node.findChild('config'));

    expect(app.synthYaml()).toContain('helm.sh/hook-weight: "-1"');
  });
});

describe('which references the hook-input check follows', () => {
  /** Build a Helm service whose Job reads the chart's ConfigMap and Secret as `wire` says; return synth's error or ''. */
  function helmError(wire: (chart: Chart, svc: MigratedService, made: { config: kplus.ConfigMap; secret: kplus.Secret }) => void,
    props: (made: { config: kplus.ConfigMap; secret: kplus.Secret }) => Partial<MigratedServiceProps> = () => ({})): string {
    try {
      synth(chart => {
        const made = configAndSecret(chart);
        const svc = new MigratedService(chart, 'myapp', baseProps({ delivery: Delivery.helm(), ...props(made) }));
        wire(chart, svc, made);
      });
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  }

  test('GIVEN optional references only WHEN synthesized THEN nothing is reported: the Job starts without them', () => {
    expect(helmError(() => undefined, ({ config, secret }) => ({
      envVariables: {
        A: kplus.EnvValue.fromConfigMap(config, 'LOG_LEVEL', { optional: true }),
        B: kplus.EnvValue.fromSecretValue({ secret, key: 'DATABASE_URL' }, { optional: true }),
      },
    }))).toBe('');
  });

  test('GIVEN a required ConfigMap key in env WHEN synthesized THEN it is reported with the variable name', () => {
    expect(helmError(() => undefined, ({ config }) => ({
      envVariables: { LOG_LEVEL: kplus.EnvValue.fromConfigMap(config, 'LOG_LEVEL') },
    }))).toMatch(/Invalid ConfigMap read by the migration Job \(env LOG_LEVEL\) with Delivery\.helm\(\) "myapp-config"/);
  });

  test('GIVEN a required Secret key in env WHEN synthesized THEN it is reported with the variable name', () => {
    expect(helmError(() => undefined, ({ secret }) => ({
      envVariables: { DATABASE_URL: kplus.EnvValue.fromSecretValue({ secret, key: 'DATABASE_URL' }) },
    }))).toMatch(/Invalid Secret read by the migration Job \(env DATABASE_URL\) with Delivery\.helm\(\) "myapp-db"/);
  });

  test('GIVEN a projected volume of a ConfigMap and a Secret on the Job WHEN synthesized THEN both are reported', () => {
    const message = helmError((_chart, svc) => ApiObject.of(svc.job).addJsonPatch(JsonPatch.add('/spec/template/spec/volumes/-', {
      name: 'settings',
      projected: { sources: [{ configMap: { name: 'myapp-config' } }, { secret: { name: 'myapp-db' } }] },
    })));
    expect(message).toMatch(/Invalid ConfigMap read by the migration Job \(volume settings\) with Delivery\.helm\(\) "myapp-config"/);
    expect(message).toMatch(/Invalid Secret read by the migration Job \(volume settings\) with Delivery\.helm\(\) "myapp-db"/);
  });

  test('GIVEN an init container added to the Job that reads a ConfigMap WHEN synthesized THEN it is reported', () => {
    expect(helmError((_chart, svc, { config }) => svc.job.addInitContainer({
      name: 'setup',
      image: 'registry.example.com/setup:v1',
      envFrom: [kplus.Env.fromConfigMap(config)],
      securityContext: { user: 1000 },
    }))).toMatch(/Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.helm\(\) "myapp-config"/);
  });

  test('GIVEN a Secret volume on the Job WHEN synthesized THEN it is reported, and an optional one is not', () => {
    expect(helmError((chart, svc, { secret }) => svc.job.addVolume(kplus.Volume.fromSecret(chart, 'vol', secret))))
      .toMatch(/Invalid Secret read by the migration Job \(volume [^)]+\) with Delivery\.helm\(\) "myapp-db"/);
    expect(helmError((chart, svc, { secret }) => svc.job.addVolume(kplus.Volume.fromSecret(chart, 'vol', secret, { optional: true }))))
      .toBe('');
  });

  test('GIVEN one ConfigMap read twice WHEN synthesized THEN it is reported once', () => {
    const message = helmError(() => undefined, ({ config }) => ({
      envFrom: [kplus.Env.fromConfigMap(config)],
      envVariables: { LOG_LEVEL: kplus.EnvValue.fromConfigMap(config, 'LOG_LEVEL') },
    }));
    expect(message.match(/Invalid ConfigMap read by the migration Job/g)).toHaveLength(1);
    expect(message).toContain('(envFrom)');
  });

  test('GIVEN a ConfigMap and a Secret of the same name WHEN synthesized THEN both are reported', () => {
    const both = (() => {
      try {
        synth(chart => {
          const config = new kplus.ConfigMap(chart, 'config', { metadata: { name: 'myapp-settings' } });
          const secret = new kplus.Secret(chart, 'secret', { metadata: { name: 'myapp-settings' } });
          new MigratedService(chart, 'myapp', baseProps({ delivery: Delivery.helm(), envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)] }));
        });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(both).toMatch(/Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.helm\(\) "myapp-settings"/);
    expect(both).toMatch(/Invalid Secret read by the migration Job \(envFrom\) with Delivery\.helm\(\) "myapp-settings"/);
    // Each is looked up as itself: the ConfigMap made a hook passes, the Secret of the same name does not.
    const secretOnly = (() => {
      try {
        synth(chart => {
          const config = new kplus.ConfigMap(chart, 'config', { metadata: { name: 'myapp-settings' } });
          const secret = new kplus.Secret(chart, 'secret', { metadata: { name: 'myapp-settings' } });
          Delivery.helmPreInstall(config, -1);
          new MigratedService(chart, 'myapp', baseProps({ delivery: Delivery.helm(), envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)] }));
        });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(secretOnly).toMatch(/Invalid Secret read by the migration Job \(envFrom\) with Delivery\.helm\(\) "myapp-settings"/);
    expect(secretOnly).not.toMatch(/Invalid ConfigMap/);
  });

  test('GIVEN a hook ConfigMap the Job reads and an ordinary one it does not WHEN synthesized THEN each is looked up by its name', () => {
    expect(() => synth(chart => {
      const read = new kplus.ConfigMap(chart, 'read', { metadata: { name: 'myapp-read' } });
      Delivery.helmPreInstall(read, -1);
      new kplus.ConfigMap(chart, 'other', { metadata: { name: 'myapp-other' } });
      new MigratedService(chart, 'myapp', baseProps({ delivery: Delivery.helm(), envFrom: [kplus.Env.fromConfigMap(read)] }));
    })).not.toThrow();
  });

  test('GIVEN a ConfigMap of the same name in another namespace WHEN synthesized THEN it is not taken for the Job\'s input', () => {
    const m = synth(chart => {
      const other = new Chart(chart.node.root as App, 'other', { namespace: 'elsewhere' });
      new kplus.ConfigMap(other, 'config', { metadata: { name: 'myapp-config' } });
      new MigratedService(chart, 'myapp', baseProps({
        delivery: Delivery.helm(),
        envFrom: [kplus.Env.fromConfigMap(kplus.ConfigMap.fromConfigMapName(chart, 'ext', 'myapp-config'))],
      }));
    });
    expect(all(m, 'ConfigMap')).toHaveLength(1);
  });
});

describe('delivery kinds', () => {
  test('GIVEN each delivery WHEN asked its kind THEN it names itself', () => {
    expect([Delivery.flux(), Delivery.argoCd(), Delivery.helm(), Delivery.kubectl()].map(d => d.kind)).toEqual(['flux', 'argocd', 'helm', 'kubectl']);
  });
});

describe('hook inputs annotated by hand, and the check outside a synth', () => {
  /** A Helm service reading a plain ApiObject ConfigMap `raw` with the given annotations. */
  function helmReadingRaw(annotations: { [key: string]: string }, hookWeight?: number) {
    return (chart: Chart) => {
      new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw', annotations } });
      new MigratedService(chart, 'myapp', baseProps({
        delivery: Delivery.helm({ hookWeight }),
        envFrom: [kplus.Env.fromConfigMap(kplus.ConfigMap.fromConfigMapName(chart, 'ref', 'raw'))],
      }));
    };
  }

  test('GIVEN a plain ApiObject ConfigMap that is no hook WHEN synthesized THEN the fix names its own path', () => {
    expect(() => synth(helmReadingRaw({}))).toThrow('Delivery.helmPreInstall(<the ConfigMap "test/raw">)');
  });

  test('GIVEN hook phases written with spaces and no weight WHEN the Job weighs 1 THEN the input counts as an earlier pre-install hook', () => {
    expect(() => synth(helmReadingRaw({ 'helm.sh/hook': 'pre-upgrade, pre-install' }, 1))).not.toThrow();
    expect(() => synth(helmReadingRaw({ 'helm.sh/hook': 'pre-upgrade, pre-install' }, 0)))
      .toThrow(/it is a pre-install hook but its helm\.sh\/hook-weight 0 is not below the Job's 0, .*e\.g\. Delivery\.helmPreInstall\(…, -1\)/);
  });

  test('GIVEN a post-install hook WHEN synthesized THEN it does not count as running before the Job', () => {
    expect(() => synth(helmReadingRaw({ 'helm.sh/hook': 'post-install', 'helm.sh/hook-weight': '-5' })))
      .toThrow(/Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.helm\(\) "raw"/);
  });

  test('GIVEN the Job validated on its own, outside a synth, THEN the check still finds the input', () => {
    const app = new App();
    const chart = new Chart(app, 'test', { namespace: 'myapp' });
    helmReadingRaw({})(chart);
    const job = (chart.node.findChild('myapp') as MigratedService).job;

    expect(job.node.validate().join('\n')).toMatch(/Invalid ConfigMap read by the migration Job \(envFrom\) with Delivery\.helm\(\) "raw"/);
  });
});
