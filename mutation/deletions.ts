/**
 * Deletion mutants: the mutations StrykerJS does not make. Stryker changes operators, conditions,
 * literals and empties whole blocks, but never removes one statement among several, one property
 * of an object literal or one element of an array; exactly the edits that drop `hardenPod(job)`,
 * `fsGroup` or a label from the output. This script makes each of those deletions in src/ in turn
 * and runs the unit tests that reach it; a deletion no test notices is a survivor.
 *
 * How: a scratch copy of src/ and test/ (the checkout is never touched) gets every deletion
 * compiled in behind a switch, `DEL_MUT=<id>`, like Stryker's mutant switching. One run with no
 * mutant active records which test files reach which deletion; then each deletion runs only those
 * files, with --bail. Same tests as Stryker's (`stryker.config.json`'s ignore list).
 *
 * Survivors that are equivalent (the output does not change, e.g. a value equal to cdk8s-plus's
 * default) are listed with a reason in mutation/deletions-accepted.json; any other survivor fails
 * the run. Results: reports/deletions.json.
 *
 *   npx projen mutate-deletions                      # all of src/ (about 1 h on 2 cores)
 *   npx projen mutate-deletions src/gate.ts          # some files
 *   DELETIONS_PARALLEL=4 npx projen mutate-deletions # more jest processes at once
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

interface Mutant {
  readonly id: number;
  readonly file: string;
  readonly kind: 'statement' | 'property' | 'element';
  readonly line: number;
  /** The deleted code, whitespace collapsed: with file and kind, the key of an accepted survivor. */
  readonly text: string;
}
interface Result extends Mutant {
  readonly status: 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout';
  /** The first failing test, for a killed mutant. */
  readonly killedBy?: string;
}
interface Accepted { readonly file: string; readonly kind: string; readonly text: string; readonly reason: string }

const ROOT = path.resolve(__dirname, '..');
const ACCEPTED_FILE = path.join(ROOT, 'mutation', 'deletions-accepted.json');
const REPORT = path.join(ROOT, 'reports', 'deletions.json');
const PARALLEL = Number(process.env.DELETIONS_PARALLEL ?? 2);
const MUTANT_TIMEOUT_MS = 180_000;
const SWITCH = 'const __del = (id: number): boolean => { ((globalThis as any).__delHits ??= new Set()).add(id); return process.env.DEL_MUT === String(id); };\n';

/** Rewrites one source file with every deletion behind `__del(id)`; returns its mutants. */
function instrument(file: string, text: string, firstId: number): { code: string; mutants: Mutant[] } {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const mutants: Mutant[] = [];
  const edits: { pos: number; insert: string; closing: boolean }[] = [];
  const add = (kind: Mutant['kind'], node: ts.Node, open: (id: number) => string, close: string) => {
    const id = firstId + mutants.length;
    const start = node.getStart(sf);
    mutants.push({ id, file, kind, line: sf.getLineAndCharacterOfPosition(start).line + 1, text: node.getText(sf).replace(/\s+/g, ' ') });
    edits.push({ pos: start, insert: open(id), closing: false }, { pos: node.getEnd(), insert: close, closing: true });
  };
  const visit = (n: ts.Node): void => {
    // super() must stay: a constructor without it does not compile, and it is plainly needed.
    const isSuper = ts.isExpressionStatement(n) && ts.isCallExpression(n.expression) && n.expression.expression.kind === ts.SyntaxKind.SuperKeyword;
    if (ts.isExpressionStatement(n) && !isSuper) add('statement', n, id => `if (__del(${id})) {} else `, '');
    if (ts.isObjectLiteralExpression(n)) {
      for (const p of n.properties) {
        if (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p) || ts.isSpreadAssignment(p)) {
          add('property', p, id => `...(__del(${id}) ? {} : { `, ' })');
        }
      }
    }
    if (ts.isArrayLiteralExpression(n) && n.elements.length >= 2) {
      for (const e of n.elements) add('element', e, id => `...(__del(${id}) ? [] : [`, '])');
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  // From the end backwards; at one position an inner node's closing goes before an outer opening.
  edits.sort((a, b) => b.pos - a.pos || Number(a.closing) - Number(b.closing));
  let code = text;
  for (const e of edits) code = code.slice(0, e.pos) + e.insert + code.slice(e.pos);
  const imports = sf.statements.filter(ts.isImportDeclaration);
  const at = imports.length ? code.indexOf('\n', code.indexOf(imports[imports.length - 1].getText(sf))) + 1 : 0;
  return { code: code.slice(0, at) + SWITCH + code.slice(at), mutants };
}

function jest(scratch: string, env: NodeJS.ProcessEnv, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise(resolve => {
    const p = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '-c', path.join(scratch, 'jest.config.json'), '--ci', '--silent', ...args],
      { cwd: scratch, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', d => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', code => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).map(f => path.relative(ROOT, path.resolve(f)));
  const files = (only.length ? only
    : (fs.readdirSync(path.join(ROOT, 'src'), { recursive: true }) as string[]).map(f => `src/${f.split(path.sep).join('/')}`))
    .filter(f => f.endsWith('.ts') && f !== 'src/index.ts');

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deletions-'));
  for (const d of ['src', 'test']) fs.cpSync(path.join(ROOT, d), path.join(scratch, d), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.dev.json']) fs.copyFileSync(path.join(ROOT, f), path.join(scratch, f));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(scratch, 'node_modules'));

  const mutants: Mutant[] = [];
  for (const f of files) {
    const r = instrument(f, fs.readFileSync(path.join(ROOT, f), 'utf-8'), mutants.length);
    fs.writeFileSync(path.join(scratch, f), r.code);
    mutants.push(...r.mutants);
  }
  const stryker = JSON.parse(fs.readFileSync(path.join(ROOT, 'stryker.config.json'), 'utf-8'));
  fs.writeFileSync(path.join(scratch, 'hits.js'), `const fs = require('fs');
afterAll(() => {
  const h = globalThis.__delHits;
  if (process.env.HITS_OUT) fs.appendFileSync(process.env.HITS_OUT, JSON.stringify({ file: expect.getState().testPath, hits: h ? [...h] : [] }) + '\\n');
});
`);
  fs.writeFileSync(path.join(scratch, 'jest.config.json'), JSON.stringify({
    rootDir: scratch,
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: stryker.jest.config.testPathIgnorePatterns,
    setupFilesAfterEnv: [path.join(scratch, 'hits.js')],
    testTimeout: 30_000,
    // Type errors are expected: a deleted property leaves an object of the wrong type.
    transform: { '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'tsconfig.dev.json', diagnostics: false }] },
  }));

  console.log(`${mutants.length} deletion mutants in ${files.length} files; scratch copy ${scratch}`);
  const hitsFile = path.join(scratch, 'hits.ndjson');
  const dry = await jest(scratch, { HITS_OUT: hitsFile }, [], 600_000);
  if (dry.code !== 0) throw new Error(`the tests fail with no mutant active:\n${dry.stderr.slice(-3000)}`);
  const hits = fs.readFileSync(hitsFile, 'utf-8').trim().split('\n').map(l => JSON.parse(l) as { file: string; hits: number[] });

  const results: Result[] = [];
  const queue = [...mutants];
  const t0 = Date.now();
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const id = m.id;
      const tests = hits.filter(h => h.hits.includes(id)).map(h => h.file);
      let result: Result;
      if (!tests.length) {
        result = { ...m, status: 'NoCoverage' };
      } else {
        const r = await jest(scratch, { DEL_MUT: String(id) }, ['--bail', '-i', ...tests], MUTANT_TIMEOUT_MS);
        const status = r.code === null ? 'Timeout' : r.code === 0 ? 'Survived' : 'Killed';
        result = { ...m, status, killedBy: status === 'Killed' ? (r.stderr.match(/● (.+)/) ?? [])[1]?.trim() : undefined };
      }
      results.push(result);
      if (result.status === 'Survived' || result.status === 'NoCoverage') console.log(`${result.status}: ${m.file}:${m.line} ${m.kind} ${m.text.slice(0, 100)}`);
      if (results.length % 50 === 0) console.log(`${results.length}/${mutants.length} in ${Math.round((Date.now() - t0) / 60000)} min`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  fs.rmSync(scratch, { recursive: true, force: true });

  results.sort((a, b) => a.id - b.id);
  const accepted: Accepted[] = JSON.parse(fs.readFileSync(ACCEPTED_FILE, 'utf-8')).accepted;
  const isAccepted = (r: Result) => accepted.some(a => a.file === r.file && a.kind === r.kind && a.text === r.text);
  const survivors = results.filter(r => r.status !== 'Killed');
  const unexpected = survivors.filter(r => !isAccepted(r));
  const stale = accepted.filter(a => files.includes(a.file) && !survivors.some(r => a.file === r.file && a.kind === r.kind && a.text === r.text));
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, JSON.stringify({ date: new Date().toISOString(), results }, null, 1));

  const killed = results.length - survivors.length;
  console.log(`\n${results.length} deletion mutants: ${killed} killed, ${survivors.length} survived `
    + `(${survivors.length - unexpected.length} accepted as equivalent), in ${Math.round((Date.now() - t0) / 60000)} min; report ${path.relative(ROOT, REPORT)}`);
  for (const a of stale) console.log(`accepted but no longer surviving (remove it from ${path.relative(ROOT, ACCEPTED_FILE)}): ${a.file} ${a.kind} ${a.text}`);
  for (const r of unexpected) console.log(`NOT ACCEPTED ${r.status}: ${r.file}:${r.line} ${r.kind} ${r.text}`);
  process.exitCode = unexpected.length ? 1 : 0;
}

main().catch(e => { console.error(e); process.exitCode = 2; });
