/**
 * The POSIX shells the in-pod scripts (the kubectl waiter, the migration lock) are tested under.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface Shell {
  readonly label: string;
  readonly argv?: string[];
  readonly skip?: string;
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** /bin/sh always; dash and busybox sh when installed and not the same binary as /bin/sh. */
export function shells(): Shell[] {
  const seen = new Set<string>();
  const candidates: { label: string; file?: string; argv: (file: string) => string[] }[] = [
    { label: '/bin/sh', file: fs.existsSync('/bin/sh') ? '/bin/sh' : undefined, argv: f => [f] },
    { label: 'dash', file: onPath('dash'), argv: f => [f] },
    // The chainguard kubectl image's sh is busybox.
    { label: 'busybox sh', file: onPath('busybox'), argv: f => [f, 'sh'] },
  ];
  return candidates.map(c => {
    if (!c.file) return { label: c.label, skip: 'not installed' };
    const real = fs.realpathSync(c.file);
    const label = `${c.label} (${path.basename(real)})`;
    if (seen.has(real)) return { label, skip: 'same binary as above' };
    seen.add(real);
    return { label, argv: c.argv(c.file) };
  });
}

