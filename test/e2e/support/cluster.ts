/**
 * Which cluster the e2e tier runs on: the one in $KUBECONFIG, else the local single-node cluster of
 * ../shared/local-k8s (started here if it is not running), else none (the tier is skipped, except
 * in CI where the local cluster must be usable).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KUBECTL_IMAGE } from '../../../src/waiter';

/** The repository root (this file is test/e2e/support/cluster.ts). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** `../shared` beside the repository (CI clones the repo with shared/ next to it). */
export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');
/** The local-k8s scripts; LOCAL_K8S_HOME overrides. */
export const LOCAL_K8S_HOME = process.env.LOCAL_K8S_HOME ?? path.join(SHARED_DIR, 'local-k8s');
/** State of the local cluster, as up.sh computes it (env.sh). */
export const LOCAL_K8S_DIR = process.env.LOCAL_K8S_DIR ?? path.join(process.env.TMPDIR ?? '/tmp', 'local-k8s');

export interface Cluster {
  /** Path of the kubeconfig every kubectl call uses. */
  readonly kubeconfig: string;
  /** The kubectl binary. */
  readonly kubectlBin: string;
  /** True for the local-k8s cluster (images are imported into its containerd). */
  readonly local: boolean;
  /** True when this process started the cluster (it is left running either way). */
  readonly startedHere: boolean;
  /** The node IP pods can reach the host on (local-k8s: 10.255.0.1). */
  readonly nodeIp: string;
}

export type ClusterOrSkip = { cluster: Cluster; skip?: undefined } | { cluster?: undefined; skip: string };

let cached: ClusterOrSkip | undefined;

/** kubectl 1.28 as local-k8s picks it (the dispatcher keeps versioned binaries beside itself). */
function localKubectl(): string {
  const link = path.join(LOCAL_K8S_DIR, 'bin', 'kubectl');
  if (fs.existsSync(link)) return link;
  return 'kubectl';
}

function reachable(kubeconfig: string, kubectlBin: string): string | undefined {
  const r = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'],
    { encoding: 'utf-8', timeout: 30_000 });
  if (r.status === 0) return undefined;
  return (r.error?.message ?? r.stderr ?? '').trim().split('\n')[0] || `exit ${r.status}`;
}

function nodeIpOf(kubeconfig: string, kubectlBin: string): string {
  const r = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o',
    'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}'], { encoding: 'utf-8', timeout: 30_000 });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : '10.255.0.1';
}

/**
 * Serialize a critical section across test processes (several jest runs, helpers, benches share
 * the node): mkdir is atomic. A lock older than `staleMs` is taken over (its holder died).
 */
export function withLock<T>(name: string, fn: () => T, staleMs = 10 * 60_000): T {
  const dir = path.join(os.tmpdir(), `cdk8s-migrated-service-e2e-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  const deadline = Date.now() + staleMs + 60_000;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      break;
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(dir).mtimeMs > staleMs) fs.rmSync(dir, { recursive: true, force: true });
      } catch { /* removed meanwhile */ }
      if (Date.now() > deadline) throw new Error(`lock ${dir} held for too long`);
      execFileSync('sleep', ['0.5']);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * up.sh checks the node IP with `ip addr show | grep -q` under `pipefail`: when grep has matched and
 * exited before ip's last write, ip dies of SIGPIPE, the check reads as "address missing" and the
 * `ip addr add` that follows fails with this message (seen in CI; 194 of 500 tries on a loaded
 * machine here). It fails before up.sh has started anything, and up.sh is idempotent, so a fresh
 * attempt is safe; each one is an independent draw of the same race.
 */
const UP_RACE = 'Address already assigned';
const UP_ATTEMPTS = 10;

function run(script: string, ...args: string[]): void {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync('bash', [script, ...args], { encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000 });
    if (r.status === 0) return;
    if (attempt < UP_ATTEMPTS && (r.stderr ?? '').includes(UP_RACE)) {
      process.stdout.write(`e2e: ${script} lost its node-IP check race (attempt ${attempt}); running it again\n`);
      continue;
    }
    throw new Error(`${script} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * The cluster for this run, or why there is none. Synchronous, so a test file can decide between
 * `describe` and `describe.skip` when it loads. Safe to call from several processes at once.
 */
export function ensureCluster(): ClusterOrSkip {
  if (cached) return cached;
  cached = findCluster();
  return cached;
}

function findCluster(): ClusterOrSkip {
  const mustRun = process.env.CI === 'true' && fs.existsSync(LOCAL_K8S_HOME);
  const skip = (reason: string): ClusterOrSkip => {
    if (mustRun) throw new Error(`e2e: CI=true and ${LOCAL_K8S_HOME} exists, so the e2e tier must run, but ${reason}`);
    return { skip: reason };
  };

  // 1. A cluster the user chose (kind, or any other).
  const userConfig = process.env.KUBECONFIG;
  const ownConfig = path.join(LOCAL_K8S_DIR, 'kubeconfig', 'admin.kubeconfig');
  if (userConfig && path.resolve(userConfig) !== path.resolve(ownConfig)) {
    const kubectlBin = process.env.KUBECTL ?? 'kubectl';
    const why = reachable(userConfig, kubectlBin);
    if (why) return skip(`the cluster in KUBECONFIG=${userConfig} is not reachable: ${why}`);
    return { cluster: { kubeconfig: userConfig, kubectlBin, local: false, startedHere: false, nodeIp: nodeIpOf(userConfig, kubectlBin) } };
  }

  // 2. The local cluster: already running, or started now (up.sh is idempotent; the lock keeps
  //    two test processes from starting it at the same time).
  const up = path.join(LOCAL_K8S_HOME, 'up.sh');
  if (!fs.existsSync(up)) return skip(`KUBECONFIG is not set and ${up} does not exist`);
  if (process.getuid && process.getuid() !== 0 && reachable(ownConfig, localKubectl()) !== undefined) {
    return skip(`KUBECONFIG is not set and ${up} needs root to start the local cluster`);
  }
  let startedHere = false;
  withLock('cluster', () => {
    if (!fs.existsSync(ownConfig) || reachable(ownConfig, localKubectl()) !== undefined) {
      process.stdout.write(`e2e: starting the local cluster with ${up}\n`);
      run(up);
      startedHere = true;
    }
    if (!standInsPresent()) run(path.join(LOCAL_K8S_HOME, 'stand-ins.sh'), KUBECTL_IMAGE);
  });
  const kubectlBin = localKubectl();
  const why = reachable(ownConfig, kubectlBin);
  if (why) return skip(`the local cluster did not become reachable: ${why}`);
  return { cluster: { kubeconfig: ownConfig, kubectlBin, local: true, startedHere, nodeIp: nodeIpOf(ownConfig, kubectlBin) } };
}

/** The stand-in waiter images (named like the public ones) are imported in the local containerd. */
function standInsPresent(): boolean {
  // The library's default kubectl image (a versioned tag) is built as a stand-in too, under its name.
  const names = ['docker.io/groundnuty/k8s-wait-for:no-root-v2.0', 'cgr.dev/chainguard/kubectl:latest-dev', KUBECTL_IMAGE];
  const r = spawnSync('ctr', ['--address', containerdSocket(), '-n', 'k8s.io', 'images', 'ls', '-q'], { encoding: 'utf-8' });
  return r.status === 0 && names.every(n => r.stdout.split('\n').includes(n));
}

/** containerd socket of the local cluster. */
export function containerdSocket(): string {
  return process.env.CONTAINERD_ADDRESS ?? path.join(LOCAL_K8S_DIR, 'containerd', 'containerd.sock');
}

/**
 * `describe` when a cluster is available, else `describe.skip` after one line saying why.
 * Use it for every top-level block of an e2e test file.
 */
export function describeOnCluster(name: string, fn: (cluster: () => Cluster) => void): void {
  const found = ensureCluster();
  if (found.skip !== undefined) {
    process.stdout.write(`e2e skipped: ${found.skip}\n`);
    describe.skip(name, () => fn(() => { throw new Error('no cluster'); }));
    return;
  }
  const cluster = found.cluster;
  describe(name, () => fn(() => cluster));
}
