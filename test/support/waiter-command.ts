import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Run a waiter's synthesized command with a `kubectl` first on PATH that records its arguments and
 * answers every call as an API server that refuses the service account would.
 */
export function runWaiterCommand(command: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waiter-command-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'kubectl'), [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >>'${dir}/calls'`,
      'echo \'Error from server (Forbidden): jobs.batch is forbidden: User "system:serviceaccount:myapp:myapp" cannot get resource "jobs"\' >&2',
      'exit 1',
      '',
    ].join('\n'), { mode: 0o755 });
    const [cmd, ...args] = command;
    const result = spawnSync(cmd, args, {
      env: { PATH: `${bin}${path.delimiter}${process.env.PATH}`, TMPDIR: dir, HOME: dir, LC_ALL: 'C' },
      encoding: 'utf-8',
      timeout: 60_000,
    });
    const calls = fs.existsSync(path.join(dir, 'calls'))
      ? fs.readFileSync(path.join(dir, 'calls'), 'utf-8').split('\n').filter(l => l).map(l => l.split(' '))
      : [];
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
