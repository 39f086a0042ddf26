/** Command line of the synth benchmark; the usage text is the doc comment of bench/synth.bench.ts. */
import * as fs from 'fs';
import * as path from 'path';

export type Variant = 'library' | 'hand';
export type RatioKind = 'paired' | 'median' | 'min' | 'cpu';
export const RATIO_KINDS: RatioKind[] = ['paired', 'median', 'min', 'cpu'];
export const VARIANTS: Variant[] = ['library', 'hand'];

export interface Options {
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


export function usage(): string {
  const src = fs.readFileSync(path.join(__dirname, '..', 'synth.bench.ts'), 'utf8');
  return src.slice(src.indexOf('/**') + 3, src.indexOf('*/')).replace(/^ \* ?/gm, '').trim();
}

export function parseArgs(argv: string[]): Options {
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
