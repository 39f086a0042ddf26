/**
 * The status command line: arguments, waiting, text and JSON output, exit codes.
 */
import { Kubectl, KubectlFailed, realKubectl } from './kubectl';
import { PartState, ReleasePart, ReleaseStatus, releaseStatus } from './release';

/** The exit codes, each one thing a CI step can act on. */
export const EXIT_CODES = {
  /** Every part of the newest release is done. */
  done: 0,
  /** A part failed (a Job's Failed condition, a rollout past its progress deadline). */
  failed: 1,
  /** Bad arguments. */
  usage: 2,
  /** kubectl could not reach or read the cluster (refused, forbidden, no kubectl, bad kubeconfig). */
  unreadable: 3,
  /** Not done yet, nothing failed (without --wait). */
  waiting: 4,
  /** --wait: the timeout passed while the release was still not done. */
  timedOut: 5,
} as const;

// --- the command line ---

/**
 * `-o json`: the shape is stable; fields may be added, none removed or changed in meaning.
 * `schema` names this version.
 */
export interface StatusJson {
  readonly schema: 'cdk8s-migrated-service/status/v1';
  readonly service: string;
  readonly namespace: string;
  /** The newest tag, null when unknown (no Deployment yet, or the cluster could not be read). */
  readonly tag: string | null;
  /** `done`, `waiting`, `failed`, or `error` (the cluster could not be read: see `error`). */
  readonly state: PartState | 'error';
  /** The exit code of the command (EXIT_CODES). */
  readonly exitCode: number;
  /** --wait: whether the timeout passed. */
  readonly timedOut: boolean;
  readonly summary: string;
  /** Every part in release order: role, kind, name, state, summary, details. */
  readonly parts: ReleasePart[];
  /** When state is `error`: kubectl's own words. */
  readonly error?: string;
}

/** What the CLI talks to; tests replace each. */
export interface CliIo {
  /** kubectl with these global flags (--kubeconfig, --context). */
  readonly kubectl: (flags: string[]) => Kubectl;
  /** stdout: the report. */
  readonly out: (line: string) => void;
  /** stderr: errors, usage mistakes, --wait's progress. */
  readonly err: (line: string) => void;
  readonly sleep: (ms: number) => void;
  /** Milliseconds, for --timeout. */
  readonly now: () => number;
}

export const USAGE = `usage: cdk8s-migrated-service status <name> -n <namespace> [--wait [--timeout <duration>]] [-o text|json]
                                     [--tag <tag>] [--kubeconfig <file>] [--context <name>]

Judges the newest release of MigratedService <name>: its migration Job, its Deployment, every
workload gated by it and its post-rollout Job. Reads only, with your kubeconfig.

  -n, --namespace <ns>   the service's namespace (required)
  --wait                 poll every 2 s until the release is done or a part has failed
  --timeout <duration>   with --wait: give up after this long (e.g. 90s, 15m, 1h; default 15m)
  -o, --output <format>  text (default) or json (a stable shape, see docs/troubleshooting.md)
  --tag <tag>            judge the release of this image tag, not the one on the Deployment: until
                         it is applied (e.g. by Flux or Argo CD) the release is not done
  --kubeconfig <file>    kubeconfig to use (default: kubectl's, $KUBECONFIG)
  --context <name>       kubeconfig context to use
  -h, --help             this text

Exit codes: 0 done, 1 failed, 2 usage, 3 cannot reach or read the cluster, 4 not done yet,
5 --wait timed out.`;

const POLL_MS = 2_000;
const DEFAULT_TIMEOUT_S = 15 * 60;

interface Options {
  readonly name: string;
  readonly namespace: string;
  readonly wait: boolean;
  readonly timeoutS: number;
  readonly json: boolean;
  readonly flags: string[];
  readonly tag?: string;
}

function defaultIo(): CliIo {
  return {
    kubectl: flags => realKubectl(undefined, flags),
    out: l => console.log(l),
    err: l => console.error(l),
    sleep: ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms),
    now: () => Date.now(),
  };
}

/** The CLI: parses argv, prints the report, returns the exit code. */
export function main(argv: string[], io: Partial<CliIo> = {}): number {
  const cli: CliIo = { ...defaultIo(), ...io };
  const parsed = parseArgs(argv);
  if (parsed === 'help') {
    cli.out(USAGE);
    return EXIT_CODES.done;
  }
  if (typeof parsed === 'string') {
    cli.err(`${parsed}\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  const kubectl = cli.kubectl(parsed.flags);
  const start = cli.now();
  let lastProgress = '';
  for (;;) {
    let report: ReleaseStatus | KubectlFailed;
    try {
      report = releaseStatus(kubectl, parsed.name, parsed.namespace, parsed.tag);
    } catch (e) {
      if (!(e instanceof KubectlFailed)) throw e;
      report = e;
    }
    const elapsedS = Math.floor((cli.now() - start) / 1000);
    const timedOut = parsed.wait && elapsedS >= parsed.timeoutS;
    const refused = report instanceof KubectlFailed && /forbidden|unauthorized/i.test(report.message);
    const settled = !(report instanceof KubectlFailed) && report.state !== 'waiting';
    if (!parsed.wait || settled || timedOut || refused) {
      return print(cli, parsed, report, timedOut);
    }
    // Waiting (or the cluster briefly unreachable): say so when it changes, on stderr.
    const progress = report instanceof KubectlFailed ? `cannot read the cluster: ${report.message}` : report.summary;
    if (progress !== lastProgress) cli.err(`[${elapsedS}s] ${progress}`);
    lastProgress = progress;
    cli.sleep(Math.min(POLL_MS, Math.max(0, parsed.timeoutS * 1000 - (cli.now() - start))));
  }
}

function print(cli: CliIo, o: Options, report: ReleaseStatus | KubectlFailed, timedOut: boolean): number {
  if (report instanceof KubectlFailed) {
    const lines = [`kubectl ${report.args.join(' ')} -n ${o.namespace}: ${report.message}`];
    if (/forbidden/i.test(report.message)) {
      lines.push('refused: this command needs get and list on deployments, replicasets, statefulsets, daemonsets, jobs, ' +
        `cronjobs and pods, and get on pods/log, in namespace ${o.namespace}`);
    }
    lines.forEach(cli.err);
    if (o.json) {
      cli.out(JSON.stringify(statusJson(o, undefined, EXIT_CODES.unreadable, timedOut, lines.join('\n')), null, 2));
    }
    return EXIT_CODES.unreadable;
  }
  const code = report.state === 'done' ? EXIT_CODES.done : report.state === 'failed' ? EXIT_CODES.failed
    : timedOut ? EXIT_CODES.timedOut : EXIT_CODES.waiting;
  if (o.json) {
    cli.out(JSON.stringify(statusJson(o, report, code, timedOut), null, 2));
  } else {
    cli.out(`service ${report.service} in namespace ${report.namespace}: newest tag ${report.tag ?? '(unknown)'}`);
    for (const p of report.parts) {
      cli.out(`[${p.state}] ${p.role} ${p.kind} ${p.name}: ${p.summary}`);
      p.details.forEach(cli.out);
    }
    cli.out(report.summary);
  }
  if (timedOut && code === EXIT_CODES.timedOut) cli.err(`timed out after ${o.timeoutS}s: ${report.summary}`);
  return code;
}

function statusJson(o: Options, report: ReleaseStatus | undefined, exitCode: number, timedOut: boolean, error?: string): StatusJson {
  return {
    schema: 'cdk8s-migrated-service/status/v1',
    service: o.name,
    namespace: o.namespace,
    tag: report?.tag ?? null,
    state: report?.state ?? 'error',
    exitCode,
    timedOut,
    summary: report?.summary ?? `cannot read the cluster: ${error}`,
    // Each part's fields in one order, whatever order the check wrote them in.
    parts: (report?.parts ?? []).map(p => ({ role: p.role, kind: p.kind, name: p.name, state: p.state, summary: p.summary, details: p.details })),
    ...error === undefined ? {} : { error },
  };
}

/** DNS-1035 (a service name), DNS-1123 (a namespace). */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The options, 'help', or what is wrong. */
function parseArgs(argv: string[]): Options | 'help' | string {
  if (argv.includes('-h') || argv.includes('--help') || argv[0] === 'help') return 'help';
  const [command, ...rest] = argv;
  if (command !== 'status') return command === undefined ? 'missing command "status"' : `unknown command ${JSON.stringify(command)}`;
  const values: { [flag: string]: string } = {};
  let name: string | undefined;
  let wait = false;
  const withValue: { [flag: string]: string } = {
    '-n': 'namespace',
    '--namespace': 'namespace',
    '--timeout': 'timeout',
    '-o': 'output',
    '--output': 'output',
    '--kubeconfig': 'kubeconfig',
    '--context': 'context',
    '--tag': 'tag',
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('-') && eq > 0 ? a.slice(0, eq) : a;
    if (withValue[flag]) {
      const value = flag === a ? rest[++i] : a.slice(eq + 1);
      if (value === undefined || value === '') return `${flag} needs a value`;
      values[withValue[flag]] = value;
    } else if (a === '--wait') {
      wait = true;
    } else if (name === undefined && !a.startsWith('-')) {
      name = a;
    } else {
      return `unexpected argument ${JSON.stringify(a)}`;
    }
  }
  if (!name) return 'missing <name>';
  if (!SERVICE_NAME.test(name)) return `invalid <name> ${JSON.stringify(name)}: a service name is a DNS-1035 label (lowercase letters, digits and "-", at most 63)`;
  const namespace = values.namespace;
  if (!namespace) return 'missing -n <namespace>';
  if (!NAMESPACE.test(namespace)) return `invalid namespace ${JSON.stringify(namespace)}: a namespace is a DNS-1123 label`;
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') return `invalid output ${JSON.stringify(output)}: text or json`;
  if (values.timeout !== undefined && !wait) return '--timeout needs --wait';
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : parseDuration(values.timeout);
  if (timeoutS === undefined) return `invalid --timeout ${JSON.stringify(values.timeout)}: e.g. 90s, 15m, 1h or 1h30m`;
  const flags = [
    ...values.kubeconfig ? ['--kubeconfig', values.kubeconfig] : [],
    ...values.context ? ['--context', values.context] : [],
  ];
  return { name, namespace, wait, timeoutS, json: output === 'json', flags, tag: values.tag };
}

/** `90`, `90s`, `15m`, `1h30m` → seconds; undefined when not a duration. */
function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

