/**
 * The peers of the rollout bench (issue 29 item 6): what a user writes by hand instead of the
 * library, as plain cdk8s-plus-28 objects. Nothing here uses the library's code. Each peer keeps
 * cdk8s-plus-28's defaults (its TCP startup probe every 10 s, its 25%/25% rolling update, its
 * container security context) and adds only what the pods need to run at all: the image's user,
 * and the two fields the namespaces' restricted Pod Security Standard requires that cdk8s-plus
 * does not set (capabilities drop ALL, seccomp RuntimeDefault).
 *
 * - **seed pattern**: a Job, a Deployment whose init container is groundnuty/k8s-wait-for in
 *   `job-wr` mode polling that Job, and a Role with `get` on that Job for the pods' ServiceAccount
 *   (which the waiter needs a token for);
 * - **CI sequencing**: the same Job applied alone, `kubectl wait --for=condition=complete` on it,
 *   then the same Deployment without a gate (the bench runs these steps as a CI job would).
 */
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { APP, APP_PORT, APP_UID, MIGRATION, SMALL } from './support/bench-app';

/** The public image the seed's waiter names (a local stand-in on the bench cluster). */
const WAIT_FOR_IMAGE = 'groundnuty/k8s-wait-for:no-root-v2.0';
/** The UID that image is built for. */
const WAIT_FOR_UID = 1100;
/** The name of every peer's Deployment (as the library's, so the bench reads them alike). */
export const PEER_DEPLOYMENT = 'bench';

/** cdk8s-plus' container security context plus what restricted Pod Security requires. */
const security = (user: number): kplus.ContainerSecurityContextProps => ({
  user,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
});

export interface PeerRelease {
  readonly namespace: string;
  readonly tag: string;
  readonly replicas: number;
}

/** A peer release: the Job's name and the YAML of each `kubectl apply`, in order. */
export interface PeerManifests {
  readonly jobName: string;
  readonly applies: string[];
}

function migrationJob(chart: Chart, r: PeerRelease): kplus.Job {
  return new kplus.Job(chart, 'migrate', {
    metadata: { name: `${PEER_DEPLOYMENT}-migrate-${r.tag}` },
    containers: [{
      name: 'migrate',
      image: `${APP}:${r.tag}`,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['sh', '-c', MIGRATION],
      resources: SMALL,
      securityContext: security(APP_UID),
    }],
  });
}

function appDeployment(chart: Chart, r: PeerRelease, props: Partial<kplus.DeploymentProps> = {}): kplus.Deployment {
  return new kplus.Deployment(chart, 'app', {
    metadata: { name: PEER_DEPLOYMENT },
    replicas: r.replicas,
    containers: [{
      name: 'app',
      image: `${APP}:${r.tag}`,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      portNumber: APP_PORT,
      resources: SMALL,
      securityContext: security(APP_UID),
    }],
    ...props,
  });
}

function yamlOf(r: PeerRelease, build: (chart: Chart) => void): string {
  const app = new App();
  build(new Chart(app, 'peer', { namespace: r.namespace }));
  return app.synthYaml();
}

/** The seed pattern: Job, RBAC and a Deployment gated by k8s-wait-for, applied together. */
export function seedPattern(r: PeerRelease): PeerManifests {
  let jobName = '';
  const yaml = yamlOf(r, chart => {
    const migrate = migrationJob(chart, r);
    jobName = migrate.name;
    const account = new kplus.ServiceAccount(chart, 'waiter', { metadata: { name: `${PEER_DEPLOYMENT}-waiter` } });
    const role = new kplus.Role(chart, 'read-job', { metadata: { name: `${PEER_DEPLOYMENT}-read-job` } });
    role.allow(['get'], migrate);
    role.bind(account);
    appDeployment(chart, r, {
      serviceAccount: account,
      automountServiceAccountToken: true,
      initContainers: [{
        name: 'wait-for-migration',
        image: WAIT_FOR_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: ['job-wr', jobName],
        resources: SMALL,
        securityContext: security(WAIT_FOR_UID),
      }],
    });
  });
  return { jobName, applies: [yaml] };
}

/** CI sequencing: the same Job, and the same Deployment without a gate, applied one after the other. */
export function ciSequencing(r: PeerRelease): PeerManifests {
  let jobName = '';
  const job = yamlOf(r, chart => {
    jobName = migrationJob(chart, r).name;
  });
  return { jobName, applies: [job, yamlOf(r, chart => appDeployment(chart, r))] };
}
