/**
 * What every bench script shares: its command-line options and the docs block it rewrites.
 */
import * as fs from 'fs';

/** `--name N` from the command line, else `fallback`. */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** `--name` is on the command line. */
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Replace what stands between `<!-- <marker>:start -->` and `<!-- <marker>:end -->` in `doc` with `text`. */
export function writeMarkdownBlock(doc: string, marker: string, text: string): void {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const content = fs.readFileSync(doc, 'utf8');
  const a = content.indexOf(start);
  const b = content.indexOf(end);
  if (a < 0 || b < 0) throw new Error(`${doc} has no ${start} ... ${end} block`);
  fs.writeFileSync(doc, `${content.slice(0, a + start.length)}\n${text}\n${content.slice(b)}`);
}

/** The machine's load average, for the record of a run. */
export const loadAverage = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
