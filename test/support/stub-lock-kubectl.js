'use strict';
/**
 * Stand-in for the kubectl calls of the migration lock's script (test/migration-lock-script.test.ts).
 * It answers from $STUB_KUBECTL_DIR/scenario.json:
 *
 *   { "read": [OUT...], "swap": [OUT...], "watch": [OUT...] }
 *   OUT = { "stdout": text, "stderr": text, "code": exit code }   (the shape of kubectl-recordings/lock/*.json)
 *
 * Each kind of call takes the next answer of its list; the last one repeats. `read` is
 * `get leases,jobs,pods`, `swap` is `create -f -` or `replace -f -` (its stdin is recorded),
 * `watch` is `get pods --watch`. Every call is appended to `calls` as one JSON line.
 */
const fs = require('fs');
const path = require('path');

const dir = process.env.STUB_KUBECTL_DIR;
const scenario = JSON.parse(fs.readFileSync(path.join(dir, 'scenario.json'), 'utf8'));
const args = process.argv.slice(2);

const kind = args[0] === 'get' && args[1] === 'leases,jobs,pods' ? 'read'
  : args[0] === 'get' && args[1] === 'pods' && args.includes('--watch') ? 'watch'
    : ['create', 'replace'].includes(args[0]) ? 'swap' : undefined;

const stdin = kind === 'swap' ? fs.readFileSync(0, 'utf8') : undefined;
fs.appendFileSync(path.join(dir, 'calls'), `${JSON.stringify({ kind, args, stdin })}\n`);

if (!kind || !scenario[kind]) {
  process.stderr.write(`stub kubectl: unexpected call: ${JSON.stringify(args)}\n`);
  process.exit(2);
}
const counter = path.join(dir, `count-${kind}`);
const n = fs.existsSync(counter) ? Number(fs.readFileSync(counter, 'utf8')) : 0;
fs.writeFileSync(counter, String(n + 1));
const answers = scenario[kind];
const out = answers[Math.min(n, answers.length - 1)];
process.stdout.write(out.stdout ?? '');
process.stderr.write(out.stderr ?? '');
process.exitCode = out.code ?? 0;
