import { Delivery, MigrationTool, Waiter } from '../src';
import { podSpecs, restrictedViolations, RESTRICTED_CONTAINER, synthService, one, initContainer } from './support/k8s';

const deliveries: [string, () => Delivery][] = [
  ['flux', () => Delivery.flux()], ['argoCd', () => Delivery.argoCd()], ['helm', () => Delivery.helm()], ['kubectl', () => Delivery.kubectl()],
];
const waiters: [string, () => Waiter][] = [
  ['k8sWaitFor', () => Waiter.k8sWaitFor()], ['kubectl', () => Waiter.kubectl()], ['schemaCheck', () => Waiter.schemaCheck()], ['none', () => Waiter.none()],
];
const tools: [string, () => MigrationTool][] = [
  ['prisma', MigrationTool.prisma], ['alembic', MigrationTool.alembic], ['flyway', MigrationTool.flyway],
  ['liquibase', MigrationTool.liquibase], ['atlas', () => MigrationTool.atlas()], ['golangMigrate', () => MigrationTool.golangMigrate()],
  ['goose', () => MigrationTool.goose()], ['dbmate', MigrationTool.dbmate], ['django', MigrationTool.django], ['rails', MigrationTool.rails],
  ['knex', MigrationTool.knex], ['typeorm', () => MigrationTool.typeorm()], ['sequelize', MigrationTool.sequelize], ['sqitch', MigrationTool.sqitch],
];

const matrix = deliveries.flatMap(([d, delivery]) => waiters.flatMap(([w, waiter]) =>
  tools.map(([t, tool]) => [`${d} × ${w} × ${t}`, delivery, waiter, tool] as const)));

describe('invariant 3: every pod passes the "restricted" Pod Security Standard', () => {
  test.each(matrix)('%s', (_name, delivery, waiter, tool) => {
    const t = tool();
    const props = { delivery: delivery(), waiter: waiter(), migration: { tool: t }, port: 8080 };
    if (_name.includes('schemaCheck') && !t.checkCommand) {
      expect(() => synthService(props)).toThrow(new RegExp(`migration tool "${t.name}" has no command that fails while migrations are pending`));
      return;
    }
    const pods = podSpecs(synthService(props));
    expect(pods.map(p => p.owner.split('/')[0]).sort()).toEqual(['Deployment', 'Job']);
    for (const pod of pods) {
      expect({ owner: pod.owner, violations: restrictedViolations(pod.spec) }).toEqual({ owner: pod.owner, violations: [] });
    }
  });

  test('every container has a read-only root filesystem and a writable /tmp', () => {
    for (const pod of podSpecs(synthService({ waiter: Waiter.kubectl() }))) {
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        const tmp = c.volumeMounts.find((v: any) => v.mountPath === '/tmp');
        expect(pod.spec.volumes.find((v: any) => v.name === tmp.name).emptyDir).toEqual({ sizeLimit: '256Mi' });
      }
    }
  });

  test('the service may opt out of the read-only root filesystem without leaving the restricted standard', () => {
    const m = synthService({ readOnlyRootFilesystem: false });
    const pod = one(m, 'Deployment').spec.template.spec;
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(false);
    expect(restrictedViolations(pod)).toEqual([]);
  });

  test('the waiter has small resource requests, not the cdk8s-plus default of 1 CPU', () => {
    expect(initContainer(synthService()).resources).toEqual({
      requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' },
    });
  });
});

describe('the restricted checker itself', () => {
  const good = () => one(synthService(), 'Deployment').spec.template.spec;
  test.each<[string, (spec: any) => void, RegExp]>([
    ['privilege escalation', s => { s.containers[0].securityContext.allowPrivilegeEscalation = true; }, /allowPrivilegeEscalation/],
    ['root', s => { s.initContainers[0].securityContext.runAsUser = 0; }, /runAsUser 0/],
    ['runAsNonRoot missing', s => { delete s.securityContext.runAsNonRoot; delete s.containers[0].securityContext.runAsNonRoot; }, /runAsNonRoot/],
    ['seccomp missing', s => { delete s.securityContext.seccompProfile; delete s.containers[0].securityContext.seccompProfile; }, /seccompProfile/],
    ['capabilities kept', s => { s.containers[0].securityContext.capabilities = {}; }, /drop ALL/],
    ['capability added', s => { s.containers[0].securityContext.capabilities.add = ['SYS_ADMIN']; }, /adds capabilities/],
    ['hostPath', s => { s.volumes.push({ name: 'h', hostPath: { path: '/' } }); }, /hostPath/],
    ['hostNetwork', s => { s.hostNetwork = true; }, /host namespaces/],
  ])('flags %s', (_name, mutate, expected) => {
    const spec = good();
    mutate(spec);
    expect(restrictedViolations(spec).join('\n')).toMatch(expected);
  });
});

describe('hardening that does not lean on the other level', () => {

  test.each(waiters)('GIVEN Waiter.%s() WHEN synthesized THEN the Job and Deployment pods set seccompProfile RuntimeDefault and runAsNonRoot themselves', (_name, waiter) => {
    const pods = podSpecs(synthService({ waiter: waiter(), migration: { tool: MigrationTool.prisma() } }));

    expect(pods.map(p => p.owner.split('/')[0]).sort()).toEqual(['Deployment', 'Job']);
    for (const pod of pods) {
      expect({ owner: pod.owner, pod: pod.spec.securityContext })
        .toEqual({ owner: pod.owner, pod: expect.objectContaining({ seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true }) });
    }
  });

  test.each(waiters)('GIVEN Waiter.%s() WHEN synthesized THEN every container carries the full restricted context, so it passes without the pod level', (_name, waiter) => {
    const pods = podSpecs(synthService({ waiter: waiter(), migration: { tool: MigrationTool.prisma() } }));

    for (const pod of pods) {
      const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
      for (const c of containers) {
        expect({ container: `${pod.owner}/${c.name}`, securityContext: c.securityContext })
          .toEqual({ container: `${pod.owner}/${c.name}`, securityContext: expect.objectContaining(RESTRICTED_CONTAINER) });
      }
      const withoutPodLevel = { ...pod.spec, securityContext: {} };
      expect({ owner: pod.owner, violations: restrictedViolations(withoutPodLevel) }).toEqual({ owner: pod.owner, violations: [] });
    }
  });
});
