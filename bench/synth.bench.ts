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
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { collect, findGc, gcPauseMs, measure, measureMemory, Memory, ratios, repsFor, Sample, summarize } from './synth/measure';
import { parseArgs, VARIANTS } from './synth/options';
import {
  DOC, evaluate, f1, f2, fmtMs, machine, noiseNotes, ratioTable, RESULTS, ROOT, targetLines, timeTable, writeMarkdown,
} from './synth/report';
import { verifyEquivalence } from './synth/services';

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
