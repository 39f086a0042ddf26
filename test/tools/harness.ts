/**
 * The tool tier's harness: runs a preset's migration Job and schema-check init container on this
 * machine exactly as Kubernetes would run them, minus the container:
 * - argv and env come from the synthesized manifests of a real `MigratedService` (public API);
 * - `$(VAR)` in command/args is expanded from the container's env as the kubelet does;
 * - the process runs as a non-root user, in a copy of the tiny project that is read-only (the
 *   image's working directory under a read-only root filesystem);
 * - HOME is what the container gets: `HOME=/tmp` (the preset's emptyDir) becomes a fresh writable
 *   dir; no HOME becomes `/`, which the user cannot write (an image's HOME for an unknown UID).
 */
import { spawn, spawnSync, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedService, MigrationOptions, MigrationTool, Waiter } from '../../src';

/** Where .ci/install-tools.sh put the npm tools (same rule as the script). */
export const TOOLS_HOME = process.env.TOOLS_HOME
  ?? (process.getuid?.() === 0 ? '/var/cache/cdk8s-migrated-service-tools'
    : path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'cdk8s-migrated-service-tools'));
export const NPM_MODULES = path.join(TOOLS_HOME, 'npm', 'node_modules');

/** In CI every tool that .ci/install-tools.sh installs must run: a missing one fails instead of skipping. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export interface Container {
  readonly name: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; value?: string }[];
}

export interface Containers {
  /** The migration Job's container. */
  readonly job: Container;
  /** The `Waiter.schemaCheck()` init container, when the tool has a check. */
  readonly check?: Container;
  /** The Job's `clear-tool-lock` init container, when the tool has an unlock command. */
  readonly unlock?: Container;
}

/** Synthesizes a MigratedService for `tool` with `env` as its envVariables (and `migration` options) and picks the containers. */
export function synthContainers(tool: MigrationTool, env: { [name: string]: string }, migration: Omit<MigrationOptions, 'tool'> = {}): Containers {
  const app = new App();
  const chart = new Chart(app, 'tools', { namespace: 'tools' });
  const envVariables: { [name: string]: kplus.EnvValue } = {};
  for (const [k, v] of Object.entries(env)) envVariables[k] = kplus.EnvValue.fromValue(v);
  new MigratedService(chart, 'svc', {
    image: 'registry.example.com/svc',
    imageTag: 'v1.0.0',
    migration: { ...migration, tool },
    waiter: tool.checkCommand ? Waiter.schemaCheck() : Waiter.none(),
    envVariables,
  });
  const objects = chart.toJson();
  const jobSpec = objects.find(o => o.kind === 'Job').spec.template.spec;
  const init = objects.find(o => o.kind === 'Deployment').spec.template.spec.initContainers?.[0];
  const unlock = jobSpec.initContainers?.find((c: Container) => c.name === 'clear-tool-lock');
  return { job: jobSpec.containers[0], check: tool.checkCommand ? init : undefined, unlock };
}

/**
 * Kubernetes' expansion of `$(VAR)` in command and args (k8s.io/kubernetes third_party/forked/golang/expansion):
 * `$$` is an escaped `$`, `$(NAME)` of a defined variable is its value, an undefined one stays as written.
 */
export function expand(input: string, env: { [name: string]: string }): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) { out += input[i]; continue; }
    const next = input[i + 1];
    if (next === '$') { out += '$'; i++; continue; }
    if (next === '(') {
      const end = input.indexOf(')', i + 2);
      if (end < 0) { out += input.slice(i); break; }
      const name = input.slice(i + 2, end);
      out += name in env ? env[name] : input.slice(i, end + 1);
      i = end;
      continue;
    }
    out += '$';
  }
  return out;
}

/** The non-root user the tools run as when the tests run as root. */
const RUN_AS = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

export interface RunResult {
  readonly status: number | null;
  readonly output: string;
  readonly argv: string[];
}

const SHIM_PREFIX = 'tools-bin-';

/** A dir of program names the images would have on PATH (e.g. `python` in python images); see removeShimDir. */
export function shimDir(links: { [name: string]: string }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), SHIM_PREFIX));
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, name));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Removes a dir made by shimDir (and nothing else). */
export function removeShimDir(dir: string): void {
  if (path.basename(dir).startsWith(SHIM_PREFIX)) fs.rmSync(dir, { recursive: true, force: true });
}

/** How to start a synthesized container as Kubernetes would (see the file comment); `cleanup` after it ended. */
function prepare(c: Container, workdir: string, pathDirs: string[]) {
  const env: { [name: string]: string } = {};
  for (const e of c.env ?? []) {
    if (e.value === undefined) throw new Error(`env ${e.name} of ${c.name} has no plain value`);
    env[e.name] = expand(e.value, env);
  }
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map(a => expand(a, env));
  let home = '/';
  let scratch: string | undefined;
  if (env.HOME === '/tmp') {
    // The pod's /tmp is an emptyDir: a fresh, empty, writable dir.
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-home-'));
    fs.chmodSync(scratch, 0o1777);
    home = scratch;
  } else if (env.HOME) {
    throw new Error(`unexpected HOME=${env.HOME} in ${c.name}`);
  }
  const PATH = [...pathDirs, '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  // TOOLS_MEASURE=1: GNU time reports peak memory and CPU of each run into the log (exit status passes through).
  const measure = process.env.TOOLS_MEASURE === '1' ? ['/usr/bin/time', '-f', 'measured: maxrss_kb=%M user_s=%U sys_s=%S wall_s=%e', '--'] : [];
  const [file, ...rest] = [...measure, ...argv];
  const options = { cwd: workdir, env: { PATH, ...env, HOME: home, LANG: 'C.UTF-8' }, ...RUN_AS };
  const cleanup = () => { if (scratch) fs.rmSync(scratch, { recursive: true, force: true }); };
  return { file, rest, argv, options, cleanup };
}

/** Runs a synthesized container in `workdir` as Kubernetes would (see the file comment). */
export function runContainer(c: Container, workdir: string, pathDirs: string[] = []): RunResult {
  const { file, rest, argv, options, cleanup } = prepare(c, workdir, pathDirs);
  const r = spawnSync(file, rest, { ...options, encoding: 'utf-8', timeout: 240_000 });
  cleanup();
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`, argv };
}

/**
 * Starts a synthesized container as `runContainer` runs it, in its own process group, for a test
 * that works while it runs: `done` when it ends by itself, or `kill()` (SIGKILL to the group, as
 * the kubelet does after the grace period).
 */
export function startContainer(c: Container, workdir: string, pathDirs: string[] = []):
{ done: Promise<RunResult>; kill(): Promise<RunResult>; output(): string } {
  const { file, rest, argv, options, cleanup } = prepare(c, workdir, pathDirs);
  const child = spawn(file, rest, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', d => { output += d; });
  child.stderr.on('data', d => { output += d; });
  const ended = new Promise<number | null>(resolve => child.on('close', code => resolve(code)));
  return {
    /** What it printed so far. */
    output: () => output,
    /** Resolves when the process ends by itself. */
    done: ended.then(status => { cleanup(); return { status, output, argv }; }),
    kill: async () => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* ended already */ }
      const status = await ended;
      cleanup();
      return { status, output, argv };
    },
  };
}

/** Copies a project tree to a fresh temp dir that nobody can write (the image's read-only working tree). */
export function readOnlyCopy(src: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-project-'));
  fs.cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
  execFileSync('chmod', ['-R', 'a+rX,a-w', dir]);
  return dir;
}

/** Removes a read-only copy. */
export function removeCopy(dir: string): void {
  execFileSync('chmod', ['-R', 'u+w', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes files (path → content) under `dir`. */
export function writeFiles(dir: string, files: { [file: string]: string }): void {
  for (const [file, content] of Object.entries(files)) {
    const p = path.join(dir, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content, { mode: file.startsWith('bin/') ? 0o755 : 0o644 });
  }
}
