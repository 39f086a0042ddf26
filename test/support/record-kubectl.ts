/**
 * Records what real kubectl prints for each state of a migration Job, with the exact arguments the
 * kubectl waiter's script uses, into test/support/kubectl-recordings/*.txt. The script tests
 * (test/waiter-script.test.ts) replay these lines through the stub kubectl, so they test the
 * script against what kubectl really prints, not against lines we wrote.
 *
 *   source /tmp/local-k8s/env    # or any cluster in $KUBECONFIG (needs the image below)
 *   npx ts-node --project tsconfig.dev.json test/support/record-kubectl.ts
 *
 * It uses the namespace `waiter-recordings` (restricted Pod Security), service-account tokens as a
 * waiter pod has them, and deletes the namespace at the end. About three minutes.
 *
 * File format: `#` header lines (what, kubectl and server versions, date, argv as JSON), then one
 * line per output line, `<ms since start> stdout|stderr <text>`, and last `<ms> exit <code>`.
 * Events the recorder caused are `<ms> note <what>` lines.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KUBECTL_WATCH_JSONPATH } from '../../src/waiter';

/** The Job name the script tests use. */
export const RECORDED_JOB = 'myapp-migrate-v1-2-3-e3cad1a6f9';
const NS = 'waiter-recordings';
const IMAGE = process.env.RECORD_IMAGE ?? 'docker.io/alpine/kubectl:1.34.1';
const OUT = path.join(__dirname, 'kubectl-recordings');

/** The script's two kubectl calls (see KUBECTL_WAIT_SCRIPT). */
export const getArgs = (job: string) => ['get', 'job', job, '-o', 'name', '--request-timeout=10s'];
export const watchArgs = (job: string, seconds: number) => ['get', 'jobs', '--field-selector', `metadata.name=${job}`,
  '--watch', '--output-watch-events', '-o', `jsonpath=${KUBECTL_WATCH_JSONPATH}`, `--request-timeout=${seconds}s`];
/** The previous script's watch, kept to record why it never saw a change. */
const RANGE_JSONPATH = '{.status.succeeded}|{range .status.conditions[*]}{.type}={.status}={.reason}={.message};{end}{"\\n"}';

/** A recording as the script tests replay it. */
export interface RecordedRun {
  /** kubectl's argv, from the header. */
  readonly argv: string[];
  readonly code: number;
  /** Output lines with when kubectl printed them, ms after it started. */
  readonly timed: { at: number; stream: string; text: string }[];
  readonly lines: { stream: 'stdout' | 'stderr'; text: string }[];
}

/** The recording test/support/kubectl-recordings/NAME.txt. */
export function readRecording(name: string): RecordedRun {
  const text = fs.readFileSync(path.join(OUT, `${name}.txt`), 'utf8');
  let argv: string[] = [];
  let code = -1;
  const timed: RecordedRun['timed'] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# argv: ')) argv = JSON.parse(line.slice('# argv: '.length));
    const m = /^(\d+) (stdout|stderr|exit|note) ?(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] === 'exit') code = Number(m[3]);
    else if (m[2] !== 'note') timed.push({ at: Number(m[1]), stream: m[2], text: m[3] });
  }
  return { argv, code, timed, lines: timed.map(l => ({ stream: l.stream as 'stdout' | 'stderr', text: l.text })) };
}

function admin(args: string[], input?: string): string {
  return execFileSync('kubectl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A kubeconfig that authenticates with `token`, as an in-cluster client does. */
function kubeconfigFor(dir: string, name: string, token: string): string {
  const server = admin(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
  const ca = admin(['config', 'view', '--minify', '--raw', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority-data}']);
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(file, JSON.stringify({
    'apiVersion': 'v1',
    'kind': 'Config',
    'current-context': 'c',
    'clusters': [{ name: 'c', cluster: { 'server': server, 'certificate-authority-data': ca || undefined } }],
    'users': [{ name: 'u', user: { token } }],
    'contexts': [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: NS } }],
  }));
  if (!ca) {
    // A kubeconfig with a CA file (local-k8s): copy the file's content.
    const caFile = admin(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority}']);
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    config.clusters[0].cluster['certificate-authority-data'] = fs.readFileSync(caFile).toString('base64');
    fs.writeFileSync(file, JSON.stringify(config));
  }
  return file;
}

interface JobSpec {
  readonly script: string;
  readonly podFailurePolicy?: boolean;
  readonly activeDeadlineSeconds?: number;
}

/** A Job like the library's migration Job, running `script` in busybox sh. */
function createJob(spec: JobSpec): void {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: RECORDED_JOB, namespace: NS },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: spec.activeDeadlineSeconds,
      // As the library emits it (issue 12): a non-zero exit of the migration fails the Job at once,
      // with a message that names the container and the exit code; evictions do not count.
      podFailurePolicy: spec.podFailurePolicy ? {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailJob', onExitCodes: { containerName: 'migrate', operator: 'NotIn', values: [0] } },
        ],
      } : undefined,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'migrate',
            image: IMAGE,
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', spec.script],
            resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  };
  admin(['apply', '-f', '-'], JSON.stringify(job));
}

/** Deletes the Job object at once (its pods go in the background), as pruning or a TTL does. */
function deleteJob(): void {
  admin(['-n', NS, 'delete', 'job', RECORDED_JOB, '--ignore-not-found', '--wait=true', '--cascade=background']);
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Polls (as admin) until the Job has condition `type`; bounded, so a broken cluster fails the recording. */
async function untilCondition(type: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const got = admin(['-n', NS, 'get', 'job', RECORDED_JOB, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].status}`]);
    if (got === 'True') return;
    await sleep(200);
  }
  throw new Error(`Job ${RECORDED_JOB} never got condition ${type}`);
}

/** Polls (as admin) until the Job has an active pod. */
async function untilActive(ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (admin(['-n', NS, 'get', 'job', RECORDED_JOB, '-o', 'jsonpath={.status.active}']) === '1') return;
    await sleep(200);
  }
  throw new Error(`Job ${RECORDED_JOB} never got an active pod`);
}

interface Recording {
  readonly name: string;
  readonly what: string;
  readonly kubeconfig: string;
  readonly args: string[];
  /** Drives the Job while kubectl runs; `note` marks the moments in the recording. */
  readonly during?: (note: (what: string) => void) => Promise<void>;
}

let header = '';

async function record(r: Recording): Promise<void> {
  const lines: string[] = [];
  const t0 = Date.now();
  const at = () => String(Date.now() - t0);
  const note = (what: string) => lines.push(`${at()} note ${what}`);
  const child = spawn('kubectl', r.args, { env: { ...process.env, KUBECONFIG: r.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (stream: 'stdout' | 'stderr') => {
    let rest = '';
    child[stream].on('data', (d: Buffer) => {
      rest += d.toString('utf8');
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        lines.push(`${at()} ${stream} ${rest.slice(0, i)}`);
        rest = rest.slice(i + 1);
      }
    });
    child[stream].on('end', () => { if (rest) lines.push(`${at()} ${stream} ${rest}`); });
  };
  collect('stdout');
  collect('stderr');
  const exited = new Promise<string>(resolve => child.on('close', code => resolve(`${at()} exit ${code ?? -1}`)));
  if (r.during) await r.during(note);
  lines.push(await exited);
  lines.sort((a, b) => Number(a.slice(0, a.indexOf(' '))) - Number(b.slice(0, b.indexOf(' '))));
  const text = [`# ${r.what}`, header, `# argv: ${JSON.stringify(['kubectl', ...r.args])}`, ...lines].join('\n') + '\n';
  fs.writeFileSync(path.join(OUT, `${r.name}.txt`), text);
  console.log(`recorded ${r.name}: ${lines.length} lines`);
}

async function main(): Promise<void> {
  const client = JSON.parse(admin(['version', '-o', 'json'])) as any;
  header = `# kubectl ${client.clientVersion.gitVersion}, server ${client.serverVersion.gitVersion}; ` +
    `recorded ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by test/support/record-kubectl.ts`;
  fs.mkdirSync(OUT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'record-kubectl-'));
  admin(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true']);
  admin(['create', 'namespace', NS]);
  try {
    admin(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
    // The waiter's Role as the library emits it, a get-only Role, and an account with none.
    for (const [sa, verbs] of [['waiter', 'get,list,watch'], ['get-only', 'get'], ['nobody', '']]) {
      admin(['-n', NS, 'create', 'serviceaccount', sa]);
      if (verbs) {
        admin(['-n', NS, 'create', 'role', sa, `--verb=${verbs}`, '--resource=jobs.batch', `--resource-name=${RECORDED_JOB}`]);
        admin(['-n', NS, 'create', 'rolebinding', sa, `--role=${sa}`, `--serviceaccount=${NS}:${sa}`]);
      }
    }
    const token = (sa: string) => admin(['-n', NS, 'create', 'token', sa, '--duration=1h']).trim();
    const waiter = kubeconfigFor(dir, 'waiter', token('waiter'));
    const getOnly = kubeconfigFor(dir, 'get-only', token('get-only'));
    const nobody = kubeconfigFor(dir, 'nobody', token('nobody'));
    const badToken = kubeconfigFor(dir, 'bad-token', 'not-a-valid-token');

    await record({ name: 'get-not-found', what: 'the script\'s first read, before the Job exists', kubeconfig: waiter, args: getArgs(RECORDED_JOB) });
    await record({ name: 'watch-no-job', what: 'watch while no Job exists, until --request-timeout', kubeconfig: waiter, args: watchArgs(RECORDED_JOB, 2) });
    await record({
      name: 'watch-complete',
      what: 'watch from before the Job exists: created, runs 2 s, completes, is deleted; then --request-timeout',
      kubeconfig: waiter,
      args: watchArgs(RECORDED_JOB, 15),
      during: async note => {
        await sleep(1000);
        note('creating the Job (sleep 2; exit 0)');
        createJob({ script: 'sleep 2' });
        await untilCondition('Complete');
        note('admin sees Complete=True');
        await record({ name: 'get-found', what: 'the script\'s first read while the Job exists', kubeconfig: waiter, args: getArgs(RECORDED_JOB) });
        await record({ name: 'watch-existing-complete', what: 'watch started after the Job completed', kubeconfig: waiter, args: watchArgs(RECORDED_JOB, 2) });
        note('deleting the Job');
        deleteJob();
        note('deleted');
      },
    });
    deleteJob();
    createJob({ script: 'sleep 30' });
    await untilActive();
    await record({ name: 'watch-existing-running', what: 'watch started while the Job runs (sleep 30), until --request-timeout', kubeconfig: waiter, args: watchArgs(RECORDED_JOB, 3) });
    await record({
      name: 'watch-with-range',
      what: 'the previous script\'s watch (a {range} jsonpath) on a running Job that then fails: kubectl exits 0 and prints nothing',
      kubeconfig: waiter,
      args: ['get', 'job', RECORDED_JOB, '--watch', '-o', `jsonpath=${RANGE_JSONPATH}`, '--request-timeout=30s'],
      during: async note => {
        await sleep(1000);
        note('setting activeDeadlineSeconds: 1, so the Job fails with DeadlineExceeded');
        admin(['-n', NS, 'patch', 'job', RECORDED_JOB, '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":1}}']);
      },
    });
    deleteJob();

    for (const [name, what, spec, condition] of [
      ['watch-failed-pod-failure-policy', 'Job whose container exits 3 under the podFailurePolicy FailJob rule the library emits',
        { script: 'echo migrating; sleep 2; echo "relation users already exists" >&2; exit 3', podFailurePolicy: true }, 'Failed'],
      ['watch-failed-backoff-limit', 'Job whose container exits 4, backoffLimit 0, no podFailurePolicy',
        { script: 'sleep 2; exit 4' }, 'Failed'],
      ['watch-failed-deadline', 'Job that runs longer than activeDeadlineSeconds: 3',
        { script: 'sleep 60', activeDeadlineSeconds: 3 }, 'Failed'],
    ] as [string, string, JobSpec, string][]) {
      await record({
        name,
        what: `watch from before the Job exists: ${what}; then --request-timeout`,
        kubeconfig: waiter,
        args: watchArgs(RECORDED_JOB, 12),
        during: async note => {
          await sleep(1000);
          note('creating the Job');
          createJob(spec);
          await untilCondition(condition);
          note(`admin sees ${condition}=True`);
        },
      });
      deleteJob();
    }

    deleteJob();
    createJob({ script: 'sleep 60' });
    await untilActive();
    await record({
      name: 'watch-deleted-running',
      what: 'watch started while the Job runs; the Job is deleted, then re-created and completes; then --request-timeout',
      kubeconfig: waiter,
      args: watchArgs(RECORDED_JOB, 15),
      during: async note => {
        await sleep(1500);
        note('deleting the running Job');
        deleteJob();
        note('deleted; creating it again (sleep 1; exit 0)');
        createJob({ script: 'sleep 1' });
        await untilCondition('Complete');
        note('admin sees Complete=True');
      },
    });
    deleteJob();

    await record({ name: 'watch-forbidden', what: 'watch under a Role with get only', kubeconfig: getOnly, args: watchArgs(RECORDED_JOB, 5) });
    await record({ name: 'get-forbidden', what: 'first read by an account without a Role', kubeconfig: nobody, args: getArgs(RECORDED_JOB) });
    await record({ name: 'get-unauthorized', what: 'first read with a token the API server rejects', kubeconfig: badToken, args: getArgs(RECORDED_JOB) });
    await record({ name: 'watch-unauthorized', what: 'watch with a token the API server rejects', kubeconfig: badToken, args: watchArgs(RECORDED_JOB, 5) });
  } finally {
    admin(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    process.exit(1);
  });
}
