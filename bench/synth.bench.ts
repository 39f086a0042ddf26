/**
 * Synth benchmark (issue 6): N services in ONE chart, built two ways in the same process —
 *
 *   library  `new MigratedService(...)` (imported from ../src)
 *   hand     the same objects written by hand with cdk8s-plus-28 (ServiceAccount, Role with `get`
 *            on the one Job, RoleBinding, Job with the podFailurePolicy and seccomp patches,
 *            Deployment with the k8s-wait-for init container and the projected-token patches,
 *            Service), which must synthesize to the same YAML
 *
 * and timed as construct + `app.synthYaml()`, alternating the two, several rounds per size.
 *
 *   npx projen bench [-- options]
 *   npx ts-node --project tsconfig.dev.json bench/synth.bench.ts [options]
 *
 * Options:
 *   --sizes 1,10,100,1000   services per chart (default 1,10,100,1000)
 *   --rounds 6              measured rounds per size (default 6), after --warmup rounds
 *   --warmup 1              discarded rounds per size (default 1)
 *   --only library|hand     time one variant only (for `node --cpu-prof`); no ratio, no targets
 *   --gc-each-run           force a full GC (and a 200 ms pause) before every timed run. Off by default:
 *                           V8 runs slower for a while after a forced GC (see docs/performance.md).
 *                           Heap figures always come from separate untimed runs between forced GCs.
 *   --markdown              rewrite the table between the bench markers in docs/performance.md
 *   --json                  write bench/results.json (samples and summary)
 *   --ratio paired|median|min|cpu
 *                           the statistic the targets are judged on (default paired): the median of
 *                           the per-round library/hand wall-time ratios; the ratio of the median wall
 *                           times; of the fastest runs; of the median CPU times (see docs/performance.md)
 *   --check                 exit 1 when a target is missed (default: report only)
 *   --help
 *
 * Targets: library/hand ratio of median times at N=1000 <= 1.10, and the library's time per service
 * at N=1000 <= 1.5 x its time per service at N=100.
 */
import { execSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PerformanceObserver, performance } from 'perf_hooks';
import * as v8 from 'v8';
import * as vm from 'vm';
import { ApiObject, App, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MigratedService, MigrationTool, Waiter } from '../src';

const ROOT = path.resolve(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'performance.md');
const RESULTS = path.join(ROOT, 'bench', 'results.json');
const MARK_START = '<!-- bench:start -->';
const MARK_END = '<!-- bench:end -->';
const TARGET_RATIO = 1.10;
const TARGET_SCALING = 1.5;

type Variant = 'library' | 'hand';
type RatioKind = 'paired' | 'median' | 'min' | 'cpu';
const RATIO_KINDS: RatioKind[] = ['paired', 'median', 'min', 'cpu'];
const VARIANTS: Variant[] = ['library', 'hand'];

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

interface Options {
  sizes: number[];
  rounds: number;
  warmup: number;
  only?: Variant;
  markdown: boolean;
  json: boolean;
  check: boolean;
  gcEachRun: boolean;
  ratio: RatioKind;
}

function usage(): string {
  const src = fs.readFileSync(__filename, 'utf8');
  return src.slice(src.indexOf('/**') + 3, src.indexOf('*/')).replace(/^ \* ?/gm, '').trim();
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizes: [1, 10, 100, 1000], rounds: 6, warmup: 1, markdown: false, json: false, check: false, gcEachRun: false, ratio: 'paired' };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--') continue;
    // --flag=value
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      argv.splice(i + 1, 0, a.slice(eq + 1));
      a = a.slice(0, eq);
    }
    switch (a) {
      case '--sizes':
        o.sizes = value(i++, a).split(',').map(s => Number(s.trim()));
        if (o.sizes.length === 0 || o.sizes.some(n => !Number.isInteger(n) || n < 1 || n > 100_000)) {
          throw new Error(`--sizes must be a comma-separated list of whole numbers from 1 to 100000, got ${argv[i]}`);
        }
        break;
      case '--rounds':
        o.rounds = Number(value(i++, a));
        if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error(`--rounds must be a whole number >= 1, got ${argv[i]}`);
        break;
      case '--warmup':
        o.warmup = Number(value(i++, a));
        if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new Error(`--warmup must be a whole number >= 0, got ${argv[i]}`);
        break;
      case '--only': {
        const v = value(i++, a);
        if (v !== 'library' && v !== 'hand') throw new Error(`--only must be "library" or "hand", got ${v}`);
        o.only = v;
        break;
      }
      case '--ratio': {
        const v = value(i++, a);
        if (!RATIO_KINDS.includes(v as RatioKind)) throw new Error(`--ratio must be one of ${RATIO_KINDS.join(', ')}, got ${v}`);
        o.ratio = v as RatioKind;
        break;
      }
      case '--gc-each-run': o.gcEachRun = true; break;
      case '--markdown': o.markdown = true; break;
      case '--json': o.json = true; break;
      case '--check': o.check = true; break;
      case '--help': case '-h':
        console.log(usage());
        process.exit(0);
      default:
        throw new Error(`unknown argument ${a} (try --help)`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The workload: service i of N, identical input for both variants
// ---------------------------------------------------------------------------------------------

interface Shared {
  readonly envFrom: kplus.EnvFrom[];
}

function newChart(): { app: App; chart: Chart; shared: Shared } {
  const app = new App();
  const chart = new Chart(app, 'bench', { namespace: 'bench' });
  const config = new kplus.ConfigMap(chart, 'config', { metadata: { name: 'bench-config' }, data: { LOG_LEVEL: 'info' } });
  const secret = kplus.Secret.fromSecretName(chart, 'secrets', 'bench-db');
  return { app, chart, shared: { envFrom: [kplus.Env.fromConfigMap(config), kplus.Env.fromSecret(secret)] } };
}

const serviceName = (i: number) => `svc-${i}`;
const imageRepo = (i: number) => `registry.example.com/team/svc-${i}`;
/** A distinct CI-style tag per service; its dots make the Job name carry a hash, as in real use. */
const imageTag = (i: number) => `v1.${2286938253 + i}.0`;
const PORT = 8080;
const UID = 1000;

function libraryService(chart: Chart, shared: Shared, i: number): void {
  new MigratedService(chart, serviceName(i), {
    image: imageRepo(i),
    imageTag: imageTag(i),
    migration: { tool: MigrationTool.prisma() },
    envFrom: shared.envFrom,
    port: PORT,
    runAsUser: UID,
    // The hand-written variant has the k8s-wait-for init container (the default until the
    // rollout benchmark chose Waiter.kubectl()).
    waiter: Waiter.k8sWaitFor(),
  });
}

/**
 * The same objects written by hand with cdk8s-plus-28, as a user without the library would.
 * The construct ids match the library's, so the `cdk8s.io/metadata.addr` selectors are the same.
 */
function handService(chart: Chart, shared: Shared, i: number): void {
  const name = serviceName(i);
  const tag = imageTag(i);
  const image = `${imageRepo(i)}:${tag}`;
  // The tag is not a DNS label (dots): dashes instead, plus a short hash so v1.2 and v1-2 differ.
  const jobName = `${name}-migrate-${tag.replace(/\./g, '-')}-${createHash('sha256').update(tag).digest('hex').slice(0, 10)}`;
  const labels = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/version': tag,
    'app.kubernetes.io/managed-by': 'cdk8s-migrated-service',
  };
  const jobLabels = { ...labels, 'app.kubernetes.io/component': 'migration' };
  const annotations = { 'migrated-service.cdk8s.io/image-tag': tag };
  const hardened = (user?: number, group?: number): kplus.ContainerSecurityContextProps => ({
    ensureNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
    user,
    group,
  });
  const podSeccomp = JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' });

  const scope = new Construct(chart, name);
  const sa = new kplus.ServiceAccount(scope, 'ServiceAccount', { metadata: { name, labels }, automountToken: false });
  const deploymentTmp = kplus.Volume.fromEmptyDir(scope, 'DeploymentTmp', 'tmp', { sizeLimit: Size.mebibytes(256) });
  const role = new kplus.Role(scope, 'Role', { metadata: { name: `${name}-migration-waiter`, labels } });
  const binding = new kplus.RoleBinding(scope, 'RoleBinding', { metadata: { name: `${name}-migration-waiter`, labels }, role });
  binding.addSubjects(sa);

  const jobTmp = kplus.Volume.fromEmptyDir(scope, 'JobTmp', 'tmp', { sizeLimit: Size.mebibytes(256) });
  const job = new kplus.Job(scope, 'Job', {
    metadata: { name: jobName, labels: jobLabels, annotations: { ...annotations, 'kustomize.toolkit.fluxcd.io/force': 'Enabled' } },
    podMetadata: { labels: jobLabels, annotations },
    backoffLimit: 0,
    restartPolicy: kplus.RestartPolicy.NEVER,
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true },
    volumes: [jobTmp],
    containers: [{
      name: 'migrate',
      image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['npx', 'prisma', 'migrate', 'deploy'],
      envFrom: shared.envFrom,
      envVariables: { HOME: kplus.EnvValue.fromValue('/tmp') },
      volumeMounts: [{ path: '/tmp', volume: jobTmp }],
      securityContext: hardened(UID),
    }],
  });
  ApiObject.of(job).addJsonPatch(podSeccomp, JsonPatch.add('/spec/podFailurePolicy', {
    rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
  }));
  role.allow(['get'], job);

  const deployment = new kplus.Deployment(scope, 'Deployment', {
    metadata: { name, labels, annotations },
    podMetadata: { labels, annotations },
    replicas: 2,
    progressDeadline: Duration.minutes(10),
    serviceAccount: sa,
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true },
    volumes: [deploymentTmp],
    initContainers: [{
      name: 'wait-for-migration',
      image: 'groundnuty/k8s-wait-for:no-root-v2.0',
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: ['job-wr', jobName],
      envVariables: { HOME: kplus.EnvValue.fromValue('/tmp') },
      volumeMounts: [{ path: '/tmp', volume: deploymentTmp }],
      resources: {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
        memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) },
      },
      securityContext: hardened(1100, 1100),
    }],
    containers: [{
      name: 'app',
      image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      portNumber: PORT,
      envFrom: shared.envFrom,
      volumeMounts: [{ path: '/tmp', volume: deploymentTmp }],
      securityContext: hardened(UID),
    }],
  });
  ApiObject.of(deployment).addJsonPatch(
    podSeccomp,
    JsonPatch.add('/spec/template/spec/volumes/-', {
      name: 'waiter-api-access',
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardApi: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }),
    JsonPatch.add('/spec/template/spec/initContainers/0/volumeMounts/-', {
      name: 'waiter-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true,
    }),
  );

  const service = deployment.exposeViaService({
    name,
    serviceType: kplus.ServiceType.CLUSTER_IP,
    ports: [{ port: PORT, targetPort: PORT, name: 'http' }],
  });
  service.metadata.addAnnotation('migrated-service.cdk8s.io/image-tag', tag);
  for (const [k, v] of Object.entries(labels)) service.metadata.addLabel(k, v);
}

function build(variant: Variant, n: number): App {
  const { app, chart, shared } = newChart();
  const add = variant === 'library' ? libraryService : handService;
  for (let i = 0; i < n; i++) add(chart, shared, i);
  return app;
}

// ---------------------------------------------------------------------------------------------
// Equivalence: the two variants must synthesize the same objects
// ---------------------------------------------------------------------------------------------

/** Objects of a YAML stream, keys sorted recursively, as canonical JSON strings keyed by kind/name. */
function canonicalObjects(app: App): Map<string, string> {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortKeys((v as any)[k])]));
    }
    return v;
  };
  const out = new Map<string, string>();
  for (const chart of app.charts) {
    for (const obj of chart.toJson()) {
      out.set(`${obj.kind}/${obj.metadata?.name}`, JSON.stringify(sortKeys(obj)));
    }
  }
  return out;
}

/** Returns a one-line verdict; throws when the variants do not produce the same objects. */
function verifyEquivalence(n: number): string {
  const yaml = { library: build('library', n).synthYaml(), hand: build('hand', n).synthYaml() };
  if (yaml.library === yaml.hand) {
    return `N=${n}: library and hand-written YAML are byte-identical (${Buffer.byteLength(yaml.library)} bytes)`;
  }
  const lib = canonicalObjects(build('library', n));
  const hand = canonicalObjects(build('hand', n));
  const problems: string[] = [];
  for (const k of new Set([...lib.keys(), ...hand.keys()])) {
    if (!lib.has(k)) problems.push(`only hand-written: ${k}`);
    else if (!hand.has(k)) problems.push(`only library: ${k}`);
    else if (lib.get(k) !== hand.get(k)) problems.push(`differs: ${k}`);
  }
  const sizeDiff = Math.abs(yaml.library.length - yaml.hand.length) / yaml.hand.length;
  if (problems.length > 0 || sizeDiff > 0.03) {
    throw new Error(`N=${n}: the hand-written variant does not produce the library's objects; the comparison ` +
      `would be meaningless:\n  ${problems.join('\n  ')}\n  YAML sizes ${yaml.library.length} vs ${yaml.hand.length}`);
  }
  return `WARNING N=${n}: same objects after normalizing, but the YAML text differs (object order?); sizes ` +
    `${yaml.library.length} vs ${yaml.hand.length} bytes`;
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

/** A full GC: `global.gc` with --expose-gc, else the same function obtained through V8 flags. */
function findGc(): { gc: () => void; how: string } {
  if (typeof (global as any).gc === 'function') return { gc: (global as any).gc, how: '--expose-gc' };
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    if (typeof gc === 'function') return { gc, how: 'v8.setFlagsFromString' };
  } catch { /* fall through */ }
  return { gc: () => undefined, how: 'none (heap figures include garbage)' };
}

interface Sample {
  variant: Variant;
  n: number;
  round: number;
  /** Wall-clock time of construct + synthYaml. */
  totalMs: number;
  /** User + system CPU time of the process over the same span (includes V8's GC helper threads). */
  cpuMs: number;
  constructMs: number;
  synthMs: number;
  /** Main-thread GC pause time during the sample (per run). */
  gcMs: number;
  /** performance.now() at the start and end of the sample. */
  window: [number, number];
  yamlBytes: number;
}

interface Memory {
  variant: Variant;
  n: number;
  /** heapUsed right after synth minus heapUsed after a full GC before construct: the run's heap high-water mark, roughly. */
  heapGrowthMB: number;
  /** heapUsed after a full GC with the App and the YAML still alive, minus the same baseline. */
  retainedMB: number;
}

const MB = 1024 * 1024;
const sleep = (t: number) => new Promise<void>(resolve => setTimeout(resolve, t));

/** A forced full GC, then a pause so V8's concurrent sweeping is done before anything is timed. */
async function collect(gc: () => void): Promise<void> {
  gc();
  await sleep(200);
}

/**
 * Back-to-back runs per timed sample, so a sample lasts ~100 services' worth of work: a lone N=1 run
 * takes a few milliseconds, which scheduler noise on a shared machine swamps.
 */
const repsFor = (n: number) => Math.max(1, Math.round(100 / n));

/** One timed sample: the mean over `repsFor(n)` back-to-back runs of construct + synthYaml. */
/** GC pauses reported by V8 (main-thread pause time), collected by a PerformanceObserver. */
const gcPauses: { start: number; duration: number }[] = [];
new PerformanceObserver(list => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, duration: e.duration });
}).observe({ entryTypes: ['gc'] });

/** Sum of the GC pauses that started in [from, to] (performance.now() time); waits for their delivery. */
async function gcPauseMs(from: number, to: number): Promise<number> {
  await sleep(10);
  let sum = 0;
  for (const p of gcPauses) if (p.start >= from && p.start <= to) sum += p.duration;
  gcPauses.length = 0;
  return sum;
}

function measure(variant: Variant, n: number, round: number): Sample {
  const reps = repsFor(n);
  let constructNs = 0n;
  let synthNs = 0n;
  let yamlBytes = 0;
  const p0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const app = build(variant, n);
    const t1 = process.hrtime.bigint();
    const yaml = app.synthYaml();
    const t2 = process.hrtime.bigint();
    constructNs += t1 - t0;
    synthNs += t2 - t1;
    yamlBytes = Buffer.byteLength(yaml);
  }
  const cpu = process.cpuUsage(cpu0);
  const constructMs = Number(constructNs) / 1e6 / reps;
  const synthMs = Number(synthNs) / 1e6 / reps;
  return {
    variant,
    n,
    round,
    totalMs: constructMs + synthMs,
    cpuMs: (cpu.user + cpu.system) / 1000 / reps,
    constructMs,
    synthMs,
    gcMs: 0,
    window: [p0, performance.now()],
    yamlBytes,
  };
}

/** Heap figures of one untimed run, between forced GCs. */
function measureMemory(variant: Variant, n: number, gc: () => void): Memory {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const app = build(variant, n);
  const yaml = app.synthYaml();
  const heap1 = process.memoryUsage().heapUsed;
  gc();
  const heap2 = process.memoryUsage().heapUsed;
  // Keep app and yaml reachable until after the second GC.
  if (app.node.children.length < 0 || yaml.length < 0) console.log('unreachable');
  return { variant, n, heapGrowthMB: (heap1 - heap0) / MB, retainedMB: (heap2 - heap0) / MB };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Row {
  n: number;
  variant: Variant;
  rounds: number;
  totalMs: number;
  minMs: number;
  maxMs: number;
  cpuMs: number;
  constructMs: number;
  synthMs: number;
  gcMs: number;
  perServiceMs: number;
  perServiceCpuMs: number;
  heapGrowthMB: number;
  retainedMB: number;
  yamlBytes: number;
}

function summarize(samples: Sample[], memory: Memory[], n: number, variant: Variant): Row {
  const s = samples.filter(x => x.n === n && x.variant === variant);
  const m = memory.find(x => x.n === n && x.variant === variant);
  const total = median(s.map(x => x.totalMs));
  const cpu = median(s.map(x => x.cpuMs));
  return {
    n,
    variant,
    rounds: s.length,
    totalMs: total,
    minMs: Math.min(...s.map(x => x.totalMs)),
    maxMs: Math.max(...s.map(x => x.totalMs)),
    cpuMs: cpu,
    constructMs: median(s.map(x => x.constructMs)),
    synthMs: median(s.map(x => x.synthMs)),
    gcMs: median(s.map(x => x.gcMs)),
    perServiceMs: total / n,
    perServiceCpuMs: cpu / n,
    heapGrowthMB: m ? m.heapGrowthMB : NaN,
    retainedMB: m ? m.retainedMB : NaN,
    yamlBytes: s[0].yamlBytes,
  };
}

interface Ratio {
  n: number;
  /** median over rounds of library/hand wall time in the same round */
  paired: number;
  /** median(library wall) / median(hand wall) */
  median: number;
  /** min(library wall) / min(hand wall) */
  min: number;
  /** median(library CPU) / median(hand CPU) */
  cpu: number;
}

function ratios(samples: Sample[], rows: Row[], n: number): Ratio {
  const lib = rows.find(r => r.n === n && r.variant === 'library')!;
  const hand = rows.find(r => r.n === n && r.variant === 'hand')!;
  const paired: number[] = [];
  for (const r of new Set(samples.filter(x => x.n === n).map(x => x.round))) {
    const l = samples.find(x => x.n === n && x.round === r && x.variant === 'library');
    const h = samples.find(x => x.n === n && x.round === r && x.variant === 'hand');
    if (l && h) paired.push(l.totalMs / h.totalMs);
  }
  return { n, paired: median(paired), median: lib.totalMs / hand.totalMs, min: lib.minMs / hand.minMs, cpu: lib.cpuMs / hand.cpuMs };
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

const RATIO_LABEL: Record<RatioKind, string> = {
  paired: 'median of per-round wall-time ratios',
  median: 'ratio of median wall times',
  min: 'ratio of fastest wall times',
  cpu: 'ratio of median CPU times',
};
const PER_SERVICE_LABEL: Record<RatioKind, string> = {
  paired: 'median wall times',
  median: 'median wall times',
  min: 'fastest wall times',
  cpu: 'median CPU times',
};

interface Target {
  name: string;
  stat: string;
  limit: number;
  value?: number;
  pass?: boolean;
}

function machine(gcHow: string, loadStart: number[], loadEnd: number[]): { [k: string]: string } {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- src', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += ' + uncommitted src/ changes';
  } catch { /* not a git checkout */ }
  // What was measured, even when src/ has uncommitted changes: a hash over src/*.ts.
  const srcDir = path.join(ROOT, 'src');
  const srcHash = createHash('sha256');
  for (const f of fs.readdirSync(srcDir).filter(x => x.endsWith('.ts')).sort()) {
    srcHash.update(f).update('\0').update(fs.readFileSync(path.join(srcDir, f))).update('\0');
  }
  const pkg = (name: string) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  const load = (l: number[]) => l.map(x => x.toFixed(2)).join(' / ');
  return {
    'date': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    'cpu': `${os.cpus()[0]?.model?.trim() ?? '?'}, nproc ${os.availableParallelism?.() ?? os.cpus().length}`,
    'memory': `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    'node': `${process.version} (${process.platform}/${process.arch})`,
    'cdk8s / cdk8s-plus-28 / constructs': `${pkg('cdk8s')} / ${pkg('cdk8s-plus-28')} / ${pkg('constructs')}`,
    'commit': commit,
    'sha256 of src/*.ts': srcHash.digest('hex').slice(0, 12),
    'forced full GC': gcHow,
    'load average (1/5/15 min) at start': load(loadStart),
    'load average (1/5/15 min) at end': load(loadEnd),
    'process max RSS': `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  };
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const fmtMs = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function timeTable(rows: Row[]): string[] {
  const lines = [
    '| N | variant | wall ms, median (min–max) | CPU ms, median | construct / synth ms | GC pauses ms | wall ms per service | heap growth during run, MiB | heap retained, MiB | YAML bytes |',
    '|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.n} | ${r.variant === 'hand' ? 'hand-written' : 'library'} | ${fmtMs(r.totalMs)} (${fmtMs(r.minMs)}–${fmtMs(r.maxMs)}) | ` +
      `${fmtMs(r.cpuMs)} | ${fmtMs(r.constructMs)} / ${fmtMs(r.synthMs)} | ${fmtMs(r.gcMs)} | ${f3(r.perServiceMs)} | ` +
      `${f1(r.heapGrowthMB)} | ${f1(r.retainedMB)} | ${r.yamlBytes.toLocaleString('en-US')} |`);
  }
  return lines;
}

function ratioTable(rs: Ratio[]): string[] {
  return [
    '| N | library / hand-written: paired by round (wall) | medians (wall) | fastest runs (wall) | medians (CPU) |',
    '|--:|--:|--:|--:|--:|',
    ...rs.map(r => `| ${r.n} | ${f3(r.paired)} | ${f3(r.median)} | ${f3(r.min)} | ${f3(r.cpu)} |`),
  ];
}

function evaluate(rows: Row[], rs: Ratio[], kind: RatioKind): Target[] {
  const r1000 = rs.find(r => r.n === 1000);
  const lib1000 = rows.find(r => r.n === 1000 && r.variant === 'library');
  const lib100 = rows.find(r => r.n === 100 && r.variant === 'library');
  const ratio = r1000 ? r1000[kind] : undefined;
  // Time per service in the same statistic (paired has no per-variant form: medians).
  const per = (r: Row) => (kind === 'cpu' ? r.perServiceCpuMs : kind === 'min' ? r.minMs / r.n : r.perServiceMs);
  const scaling = lib1000 && lib100 ? per(lib1000) / per(lib100) : undefined;
  const verdict = (v: number | undefined, limit: number) => (v === undefined ? undefined : v <= limit);
  return [
    { name: 'library / hand-written at N=1000', stat: RATIO_LABEL[kind], limit: TARGET_RATIO, value: ratio, pass: verdict(ratio, TARGET_RATIO) },
    { name: 'library time per service, N=1000 / N=100', stat: PER_SERVICE_LABEL[kind], limit: TARGET_SCALING, value: scaling, pass: verdict(scaling, TARGET_SCALING) },
  ];
}

/** Warnings when the figures are likely distorted by other work on the machine. */
function noiseNotes(rows: Row[], rs: Ratio[], loadStart: number[], loadEnd: number[]): string[] {
  const notes: string[] = [];
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const load = Math.max(loadStart[0], loadEnd[0]);
  // The benchmark itself keeps about one core busy.
  if (load > cores) {
    notes.push(`the 1-minute load average reached ${f2(load)} on ${cores} cores: other work competed for the CPU`);
  }
  for (const r of rows) {
    if (r.n >= 100 && r.maxMs / r.minMs > 1.4) {
      notes.push(`N=${r.n} ${r.variant}: slowest run ${f2(r.maxMs / r.minMs)}x the fastest`);
    }
  }
  for (const r of rs) {
    const xs = [r.paired, r.median, r.min, r.cpu];
    if (Math.max(...xs) - Math.min(...xs) > 0.1) {
      notes.push(`N=${r.n}: the four ratios disagree by ${f3(Math.max(...xs) - Math.min(...xs))}`);
    }
  }
  return notes.map(n => `NOISE  ${n}`);
}

function targetLines(targets: Target[]): string[] {
  return targets.map(t => `${t.pass === undefined ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.name} (${t.stat}): ` +
    `${t.value === undefined ? 'not measured (needs sizes 100 and 1000, both variants)' : f3(t.value)}, target <= ${f2(t.limit)}`);
}

function writeMarkdown(block: string): void {
  if (!fs.existsSync(DOC)) {
    throw new Error(`${path.relative(ROOT, DOC)} does not exist; create it with ${MARK_START} and ${MARK_END} markers`);
  }
  const doc = fs.readFileSync(DOC, 'utf8');
  const a = doc.indexOf(MARK_START);
  const b = doc.indexOf(MARK_END);
  if (a < 0 || b < a) throw new Error(`${path.relative(ROOT, DOC)} lacks the ${MARK_START} ... ${MARK_END} markers`);
  fs.writeFileSync(DOC, `${doc.slice(0, a + MARK_START.length)}\n${block}\n${doc.slice(b)}`);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const { gc, how: gcHow } = findGc();
  const loadStart = os.loadavg();
  const variants = opts.only ? [opts.only] : VARIANTS;

  console.log(`synth benchmark: sizes ${opts.sizes.join(',')}, ${opts.warmup} warm-up + ${opts.rounds} measured rounds, ` +
    `variants ${variants.join(' + ')}, gc: ${gcHow}, load ${loadStart.map(f2).join(' ')}`);
  if (!opts.only) {
    console.log(verifyEquivalence(1));
    console.log(verifyEquivalence(3));
  }

  const samples: Sample[] = [];
  for (const n of opts.sizes) {
    for (let round = 0; round < opts.warmup + opts.rounds; round++) {
      // Alternate which variant goes first, so neither always runs first after the other's garbage.
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      const line: string[] = [];
      for (const variant of order) {
        // No forced GC between timed runs by default: V8 runs this code markedly slower for several
        // runs after a forced full GC (see docs/performance.md), which would distort N <= 100.
        if (opts.gcEachRun) await collect(gc);
        const s = measure(variant, n, round);
        s.gcMs = await gcPauseMs(...s.window) / repsFor(n);
        line.push(`${variant} ${fmtMs(s.totalMs)} ms (cpu ${fmtMs(s.cpuMs)}, gc ${fmtMs(s.gcMs)})`);
        if (round >= opts.warmup) samples.push(s);
      }
      console.log(`  N=${n} round ${round + 1}/${opts.warmup + opts.rounds}${round < opts.warmup ? ' (warm-up)' : ''}: ${line.join(', ')}`);
    }
  }
  // Heap figures last, from untimed runs between forced GCs, so the GCs cannot slow any timed run.
  const memory: Memory[] = [];
  for (const n of opts.sizes) {
    for (const variant of variants) memory.push(measureMemory(variant, n, gc));
    console.log(`  N=${n} heap (untimed run between forced GCs): ` +
      memory.filter(m => m.n === n).map(m => `${m.variant} +${f1(m.heapGrowthMB)} MiB during the run, ${f1(m.retainedMB)} MiB retained`).join('; '));
  }
  const loadEnd = os.loadavg();

  const rows = opts.sizes.flatMap(n => variants.map(v => summarize(samples, memory, n, v)));
  const rs = opts.only ? [] : opts.sizes.map(n => ratios(samples, rows, n));
  const targets = opts.only ? [] : evaluate(rows, rs, opts.ratio);
  const info = machine(`${gcHow}; ${opts.gcEachRun ? 'before each timed run (--gc-each-run) and ' : ''}around the untimed heap runs only`, loadStart, loadEnd);
  const tlines = targetLines(targets);
  const nlines = noiseNotes(rows, rs, loadStart, loadEnd);
  const command = `npx projen bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  console.log('');
  for (const [k, v] of Object.entries(info)) console.log(`${k}: ${v}`);
  console.log('');
  for (const l of timeTable(rows)) console.log(l);
  if (rs.length) {
    console.log('');
    for (const l of ratioTable(rs)) console.log(l);
  }
  console.log('');
  for (const l of tlines) console.log(l);
  for (const l of nlines) console.log(l);

  if (opts.markdown) {
    if (opts.only) throw new Error('--markdown needs both variants (drop --only)');
    const block = [
      `Generated by \`${command}\`: ${opts.warmup} warm-up + ${opts.rounds} measured rounds per size, ` +
      'the two variants alternating within each round; below N=100 a sample is the mean of ' +
      'round(100/N) back-to-back runs.',
      '',
      ...Object.entries(info).map(([k, v]) => `- ${k}: ${v}`),
      '',
      ...timeTable(rows),
      '',
      ...ratioTable(rs),
      '',
      ...tlines.map(l => `- ${l.replace(/^(PASS|FAIL|SKIP) {2}/, '**$1** ')}`),
      ...nlines.map(l => `- ${l.replace(/^NOISE {2}/, 'noise: ')}`),
    ].join('\n');
    writeMarkdown(block);
    console.log(`\nwrote ${path.relative(ROOT, DOC)}`);
  }
  if (opts.json) {
    fs.writeFileSync(RESULTS, JSON.stringify({ options: opts, machine: info, summary: rows, ratios: rs, targets, samples, memory }, null, 2) + '\n');
    console.log(`wrote ${path.relative(ROOT, RESULTS)}`);
  }
  const failed = targets.some(t => t.pass === false);
  if (failed && opts.check) {
    console.error('\nFAIL: a performance target was missed (--check)');
    return 1;
  }
  return 0;
}

main().then(code => {
  process.exitCode = code;
}, e => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
});
