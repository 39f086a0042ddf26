/** Timing and statistics of the synth benchmark: timed samples, heap runs, medians and ratios. */
import { PerformanceObserver, performance } from 'perf_hooks';
import * as v8 from 'v8';
import * as vm from 'vm';
import { Variant } from './options';
import { build } from './services';

/** A full GC: `global.gc` with --expose-gc, else the same function obtained through V8 flags. */
export function findGc(): { gc: () => void; how: string } {
  if (typeof (global as any).gc === 'function') return { gc: (global as any).gc, how: '--expose-gc' };
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    if (typeof gc === 'function') return { gc, how: 'v8.setFlagsFromString' };
  } catch { /* fall through */ }
  return { gc: () => undefined, how: 'none (heap figures include garbage)' };
}

export interface Sample {
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

export interface Memory {
  variant: Variant;
  n: number;
  /** heapUsed right after synth minus heapUsed after a full GC before construct: the run's heap high-water mark, roughly. */
  heapGrowthMB: number;
  /** heapUsed after a full GC with the App and the YAML still alive, minus the same baseline. */
  retainedMB: number;
}

export const MB = 1024 * 1024;
export const sleep = (t: number) => new Promise<void>(resolve => setTimeout(resolve, t));

/** A forced full GC, then a pause so V8's concurrent sweeping is done before anything is timed. */
export async function collect(gc: () => void): Promise<void> {
  gc();
  await sleep(200);
}

/**
 * Back-to-back runs per timed sample, so a sample lasts ~100 services' worth of work: a lone N=1 run
 * takes a few milliseconds, which scheduler noise on a shared machine swamps.
 */
export const repsFor = (n: number) => Math.max(1, Math.round(100 / n));

/** One timed sample: the mean over `repsFor(n)` back-to-back runs of construct + synthYaml. */
/** GC pauses reported by V8 (main-thread pause time), collected by a PerformanceObserver. */
export const gcPauses: { start: number; duration: number }[] = [];
new PerformanceObserver(list => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, duration: e.duration });
}).observe({ entryTypes: ['gc'] });

/** Sum of the GC pauses that started in [from, to] (performance.now() time); waits for their delivery. */
export async function gcPauseMs(from: number, to: number): Promise<number> {
  await sleep(10);
  let sum = 0;
  for (const p of gcPauses) if (p.start >= from && p.start <= to) sum += p.duration;
  gcPauses.length = 0;
  return sum;
}

export function measure(variant: Variant, n: number, round: number): Sample {
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
export function measureMemory(variant: Variant, n: number, gc: () => void): Memory {
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

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Row {
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

export function summarize(samples: Sample[], memory: Memory[], n: number, variant: Variant): Row {
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

export interface Ratio {
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

export function ratios(samples: Sample[], rows: Row[], n: number): Ratio {
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
