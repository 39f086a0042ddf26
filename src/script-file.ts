import { readFileSync } from 'fs';
import { join } from 'path';

/**
 * The directory of the in-pod scripts: `sh/` beside `src/` and `lib/`, in the repository and in
 * the npm package alike.
 */
const SCRIPTS_DIR = join(__dirname, '..', 'sh');

const INCLUDE = /^(\s*)#@ include ([\w.-]+\.sh)$/;
const DEFINE = /^\s*#@ define ([A-Z][A-Z0-9_]*)$/;
const END = /^\s*#@ end$/;
const PLACEHOLDER = /@@([A-Z][A-Z0-9_]*)@@/g;

/** Values for a script's `@@NAME@@` placeholders. */
export type ScriptValues = Readonly<Record<string, string>>;

const files = new Map<string, string>();

function source(name: string): string {
  let text = files.get(name);
  if (text === undefined) {
    text = readFileSync(join(SCRIPTS_DIR, name), 'utf-8');
    files.set(name, text);
  }
  return text;
}

/**
 * Renders an in-pod script from its file in `sh/`, as a pod's `sh -c` gets it.
 *
 * The files are POSIX sh with three additions, so that a fact is written once (in `src/facts.ts`)
 * and a shared part once (its own file):
 * - `@@NAME@@` is replaced by `values[NAME]`. Lines after the first of a multi-line value are
 *   indented like the line the placeholder is on.
 * - A line `#@ include FILE.sh` is replaced by that file, rendered with the same values and
 *   indented like the directive.
 * - Lines between `#@ define NAME` and `#@ end` are not output: they set NAME (dedented) for the
 *   rest of the file and its includes, for a shared part that takes a block of the caller's.
 *
 * Lines starting with `##` document the file and are left out, so the YAML carries only what the
 * shell runs and the comments that explain it there.
 *
 * @param name the file's name in `sh/`
 * @param values the placeholders' values
 * @throws if a placeholder has no value or a directive is malformed: a script must never reach a
 *   pod with a hole in it
 * @internal
 */
export function renderScript(name: string, values: ScriptValues = {}): string {
  return `${render(name, values).join('\n')}\n`;
}

function render(name: string, inherited: ScriptValues): string[] {
  const values: Record<string, string> = { ...inherited };
  const lines = source(name).replace(/\n$/, '').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('##')) continue;
    const define = DEFINE.exec(line);
    if (define) {
      const block: string[] = [];
      for (i++; i < lines.length && !END.test(lines[i]); i++) block.push(lines[i]);
      if (i === lines.length) throw new Error(`${name}: '#@ define ${define[1]}' has no '#@ end'`);
      values[define[1]] = dedent(block).join('\n');
      continue;
    }
    const include = INCLUDE.exec(line);
    if (include) {
      out.push(...render(include[2], values).map(l => indent(include[1], l)));
      continue;
    }
    if (line.trimStart().startsWith('#@')) throw new Error(`${name}: unknown directive '${line.trim()}'`);
    out.push(...substitute(name, line, values).split('\n'));
  }
  return out;
}

function substitute(name: string, line: string, values: ScriptValues): string {
  const lead = /^\s*/.exec(line)![0];
  return line.replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${name}: no value for @@${key}@@`);
    return value.split('\n').map((l, n) => (n === 0 ? l : indent(lead, l))).join('\n');
  });
}

function indent(lead: string, line: string): string {
  return line === '' ? line : lead + line;
}

function dedent(block: string[]): string[] {
  const widths = block.filter(l => l.trim() !== '').map(l => /^\s*/.exec(l)![0].length);
  const cut = widths.length ? Math.min(...widths) : 0;
  return block.map(l => l.slice(cut));
}
