/**
 * Stryker over src/ one file at a time, then the score of all of src/ from the per-file reports.
 *
 * Why not one `stryker run`: on 2 cores a run over all of src/ takes one to two hours, and Stryker
 * writes its report (and its incremental file) only at the end, so a run stopped at 90 % leaves
 * nothing. Per file, each report is kept as soon as that file is done (reports/per-file/), and each
 * file has its own incremental file (reports/inc/), so a re-run tests only what changed in it.
 * Every mutant of src/ is in exactly one file's run, tested against the same tests as a full run, so
 * the sum of the files is the score of a full run (docs/mutation-testing.md).
 *
 *   npx projen mutate-per-file                   # every file of src/ Stryker mutates, then the total
 *   npx projen mutate-per-file src/gate.ts       # some files, then the total of all reports present
 *   npx projen mutate-per-file --force           # ignore the incremental files (see the docs on static mutants)
 *   npx projen mutate-per-file --report          # only the total of the reports present
 *
 * Exit 1 when a file's run leaves no report or when the total is below the config's break threshold.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const CONFIG = JSON.parse(fs.readFileSync(path.join(ROOT, 'stryker.config.json'), 'utf-8'));
const PER_FILE = path.join(ROOT, 'reports', 'per-file');
const INCREMENTAL = path.join(ROOT, 'reports', 'inc');
const REPORT = path.join(ROOT, CONFIG.jsonReporter.fileName);

/** The src files the config mutates (every .ts below src/) minus its `!` patterns. */
function mutatedFiles(): string[] {
  const excluded = (CONFIG.mutate as string[]).filter(p => p.startsWith('!')).map(p => p.slice(1));
  return (fs.readdirSync(path.join(ROOT, 'src'), { recursive: true }) as string[])
    .filter(f => f.endsWith('.ts')).map(f => `src/${f.split(path.sep).join('/')}`)
    .filter(f => !excluded.includes(f)).sort();
}

/** A file's name for its reports: its path below src/ (`src/run/resolve.ts`: `run_resolve`). */
const reportName = (file: string) => file.replace(/^src\//, '').replace(/\.ts$/, '').replace(/\//g, '_');
const reportOf = (file: string) => path.join(PER_FILE, `${reportName(file)}.json`);

interface Count { killed: number; survived: number; noCoverage: number; errors: number }

function count(file: string): Count | undefined {
  if (!fs.existsSync(reportOf(file))) return undefined;
  const report = JSON.parse(fs.readFileSync(reportOf(file), 'utf-8'));
  const c: Count = { killed: 0, survived: 0, noCoverage: 0, errors: 0 };
  for (const m of report.files[file]?.mutants ?? []) {
    if (m.status === 'Killed' || m.status === 'Timeout') c.killed++;
    else if (m.status === 'Survived') c.survived++;
    else if (m.status === 'NoCoverage') c.noCoverage++;
    else c.errors++; // CompileError, RuntimeError, Ignored: left out of the score, as Stryker does
  }
  return c;
}

const score = (c: Count) => 100 * c.killed / Math.max(1, c.killed + c.survived + c.noCoverage);

function main(): number {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const reportOnly = args.includes('--report');
  const given = args.filter(a => !a.startsWith('--')).map(f => path.relative(ROOT, path.resolve(f)));
  const all = mutatedFiles();
  let failed = false;
  fs.mkdirSync(PER_FILE, { recursive: true });
  for (const file of reportOnly ? [] : given.length ? given : all) {
    const started = Date.now();
    console.log(`\n== ${file}`);
    fs.rmSync(REPORT, { force: true });
    spawnSync('npx', ['stryker', 'run', 'stryker.config.json', '--mutate', file,
      '--incrementalFile', path.relative(ROOT, path.join(INCREMENTAL, `${reportName(file)}.json`)),
      '--reporters', 'clear-text,progress,json', ...(force ? ['--force'] : [])], { cwd: ROOT, stdio: 'inherit' });
    // Stryker exits 1 also for a file below the break threshold; only a missing report is a failure here.
    if (!fs.existsSync(REPORT)) {
      console.error(`${file}: Stryker wrote no report`);
      failed = true;
      continue;
    }
    fs.copyFileSync(REPORT, reportOf(file));
    console.log(`== ${file}: done in ${Math.round((Date.now() - started) / 60000)} min`);
  }

  const rows: string[] = [];
  const total: Count = { killed: 0, survived: 0, noCoverage: 0, errors: 0 };
  const missing: string[] = [];
  for (const file of all) {
    const c = count(file);
    if (!c) {
      missing.push(file);
      continue;
    }
    for (const k of Object.keys(total) as (keyof Count)[]) total[k] += c[k];
    const measured = fs.statSync(reportOf(file)).mtime.toISOString().slice(0, 16).replace('T', ' ');
    rows.push(`| \`${file}\` | ${score(c).toFixed(1)} % | ${c.killed} | ${c.survived} | ${c.noCoverage} | ${c.errors} | ${measured} |`);
  }
  console.log('\n| file | score | killed | survived | no coverage | errors (left out) | report written (UTC) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`| **all of src/** | **${score(total).toFixed(1)} %** | ${total.killed} | ${total.survived} | ${total.noCoverage} | ${total.errors} | |`);
  if (missing.length) {
    console.log(`\nNo report yet for ${missing.join(', ')}: the total covers only the files above.`);
  }
  const threshold: number = CONFIG.thresholds.break;
  if (score(total) < threshold) {
    console.error(`\nThe score of all of src/, ${score(total).toFixed(1)} %, is below the break threshold ${threshold} %.`);
    failed = true;
  }
  return failed || missing.length > 0 ? 1 : 0;
}

process.exitCode = main();
