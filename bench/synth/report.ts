/** Reporting of the synth benchmark: machine facts, tables, targets, noise notes, docs/performance.md. */
import { execSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Ratio, Row } from './measure';
import { RatioKind } from './options';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DOC = path.join(ROOT, 'docs', 'performance.md');
export const RESULTS = path.join(ROOT, 'bench', 'results.json');
const MARK_START = '<!-- bench:start -->';
const MARK_END = '<!-- bench:end -->';
const TARGET_RATIO = 1.10;
const TARGET_SCALING = 1.5;

export const RATIO_LABEL: Record<RatioKind, string> = {
  paired: 'median of per-round wall-time ratios',
  median: 'ratio of median wall times',
  min: 'ratio of fastest wall times',
  cpu: 'ratio of median CPU times',
};
export const PER_SERVICE_LABEL: Record<RatioKind, string> = {
  paired: 'median wall times',
  median: 'median wall times',
  min: 'fastest wall times',
  cpu: 'median CPU times',
};

export interface Target {
  name: string;
  stat: string;
  limit: number;
  value?: number;
  pass?: boolean;
}

export function machine(gcHow: string, loadStart: number[], loadEnd: number[]): { [k: string]: string } {
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

export const f1 = (x: number) => x.toFixed(1);
export const f2 = (x: number) => x.toFixed(2);
export const f3 = (x: number) => x.toFixed(3);
export const fmtMs = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function timeTable(rows: Row[]): string[] {
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

export function ratioTable(rs: Ratio[]): string[] {
  return [
    '| N | library / hand-written: paired by round (wall) | medians (wall) | fastest runs (wall) | medians (CPU) |',
    '|--:|--:|--:|--:|--:|',
    ...rs.map(r => `| ${r.n} | ${f3(r.paired)} | ${f3(r.median)} | ${f3(r.min)} | ${f3(r.cpu)} |`),
  ];
}

export function evaluate(rows: Row[], rs: Ratio[], kind: RatioKind): Target[] {
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
export function noiseNotes(rows: Row[], rs: Ratio[], loadStart: number[], loadEnd: number[]): string[] {
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

export function targetLines(targets: Target[]): string[] {
  return targets.map(t => `${t.pass === undefined ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.name} (${t.stat}): ` +
    `${t.value === undefined ? 'not measured (needs sizes 100 and 1000, both variants)' : f3(t.value)}, target <= ${f2(t.limit)}`);
}

export function writeMarkdown(block: string): void {
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
