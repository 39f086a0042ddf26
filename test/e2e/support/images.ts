/**
 * Images for the e2e tier, built from local files with ../shared/local-k8s/mkrootfs.sh and
 * mkimage.sh (nothing can be pulled). A build is skipped when an image of the same name and
 * content hash is already in the cluster's containerd.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { containerdSocket, ensureCluster, LOCAL_K8S_HOME, withLock } from './cluster';

export interface ImageSpec {
  /** Image name as pods use it, e.g. `registry.example.com/e2e-app:v1`. */
  readonly name: string;
  /** `SRC[:DEST]` entries for mkrootfs.sh (files get their shared libraries too). */
  readonly files?: string[];
  /** Files written into the root filesystem: DEST path → content (scripts, SQL). Mode 0755. */
  readonly contents?: { [dest: string]: string };
  /** Image entrypoint. @default - none */
  readonly entrypoint?: string;
  /** Image cmd. @default ["/bin/sh"] */
  readonly cmd?: string[];
}

const HASH_LABEL = 'cdk8s-migrated-service.e2e/content-hash';

/** What containerd and the kubelet call the image (mkimage.sh normalizes the same way). */
export function normalizeImageName(name: string): string {
  let ref = name;
  const first = ref.split('/')[0];
  if (!(first.includes('.') || first.includes(':') || first === 'localhost') || !ref.includes('/')) {
    ref = ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
  }
  if (!ref.split('/').pop()!.includes(':') && !ref.includes('@')) ref += ':latest';
  return ref;
}

function hashOf(spec: ImageSpec): string {
  const h = createHash('sha256');
  for (const script of ['mkrootfs.sh', 'mkimage.sh']) h.update(fs.readFileSync(path.join(LOCAL_K8S_HOME, script)));
  h.update(JSON.stringify({ name: spec.name, entrypoint: spec.entrypoint, cmd: spec.cmd, files: spec.files, contents: spec.contents }));
  for (const f of spec.files ?? []) {
    const src = f.split(':')[0];
    const st = fs.statSync(src);
    // Files by content; directories by their listing and mtimes (cheap, and changes when they do).
    if (st.isFile()) h.update(fs.readFileSync(src));
    else h.update(`${src}:${st.mtimeMs}:${fs.readdirSync(src).join(',')}`);
  }
  return h.digest('hex').slice(0, 32);
}

function ctr(args: string[]): { code: number; out: string } {
  const r = spawnSync('ctr', ['--address', containerdSocket(), '-n', 'k8s.io', ...args], { encoding: 'utf-8' });
  return { code: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync(cmd, args, { encoding: 'utf-8', env: { ...process.env, ...env }, timeout: 5 * 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * Build `spec` and make it available to the cluster's node: imported into the local containerd,
 * or loaded into kind (`KIND_CLUSTER_NAME`) when the cluster is not the local one. Returns the name.
 */
export function buildImage(spec: ImageSpec): string {
  const found = ensureCluster();
  if (!found.cluster) throw new Error(`no cluster: ${found.skip}`);
  const ref = normalizeImageName(spec.name);
  const hash = hashOf(spec);
  const local = found.cluster.local;
  return withLock(`image-${ref}`, () => {
    if (local && ctr(['images', 'ls', `name==${ref}`, `labels."${HASH_LABEL}"==${hash}`]).out.includes(ref)) {
      return spec.name;
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-image-'));
    try {
      const files = [...(spec.files ?? [])];
      for (const [dest, content] of Object.entries(spec.contents ?? {})) {
        const src = path.join(work, 'files', dest);
        fs.mkdirSync(path.dirname(src), { recursive: true });
        fs.writeFileSync(src, content, { mode: 0o755 });
        files.push(`${src}:${dest}`);
      }
      const root = path.join(work, 'root');
      sh('bash', [path.join(LOCAL_K8S_HOME, 'mkrootfs.sh'), root, ...files]);
      const tar = path.join(work, 'image.tar');
      const args = [path.join(LOCAL_K8S_HOME, 'mkimage.sh'), ...(spec.entrypoint ? ['--entrypoint', spec.entrypoint] : []),
        root, spec.name, ...(spec.cmd ?? [])];
      if (local) {
        sh('bash', args, { IMAGE_TAR: tar });
        const labelled = ctr(['images', 'label', ref, `${HASH_LABEL}=${hash}`]);
        if (labelled.code !== 0) throw new Error(`ctr images label ${ref}: ${labelled.out}`);
      } else {
        sh('bash', args, { IMAGE_TAR: tar, NO_IMPORT: '1' });
        const kind = process.env.KIND_CLUSTER_NAME;
        if (!kind) {
          throw new Error(`cannot load image ${spec.name} into the cluster in KUBECONFIG: set KIND_CLUSTER_NAME for kind ` +
            '(the tier runs `kind load image-archive`), or unset KUBECONFIG to use ../shared/local-k8s');
        }
        sh('kind', ['load', 'image-archive', tar, '--name', kind]);
      }
      return spec.name;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}
