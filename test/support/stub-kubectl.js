'use strict';
/**
 * Stand-in for the two kubectl calls of the kubectl waiter's script, used by
 * test/waiter-script.test.ts. It replays lines recorded from real kubectl
 * (test/support/kubectl-recordings/, made by record-kubectl.ts) on a timeline, from the scenario
 * file $STUB_KUBECTL_DIR/scenario.json:
 *
 *   { "job": NAME,
 *     "get": { "found": OUT, "notFound": OUT }, "getRefused": OUT?, "watchRefused": OUT?,
 *     "watchArgs": [...]   the exact arguments of a watch, "<seconds>" standing for the timeout,
 *     "events": [{ "at": <ms after the first watch started>, "line": "ADDED|…" | "MODIFIED|…" | "DELETED|…" } | { "at": ms, "end": true }] }
 *   OUT = { "lines": [{ "stream": "stdout" | "stderr", "text": … }], "code": <exit code> }
 *
 * Like the API server and kubectl: a read answers from the Job's state at that moment; a watch first
 * prints the current state as ADDED (when the Job exists), then each later event line, ends (exit 0)
 * on `end` or when --request-timeout passes. It appends each call's arguments to `calls` (JSON) and
 * each line a watch prints to `emitted` ("<epoch ms> <line>"), before printing it.
 *
 * It is one node process with no children, so killing it leaves nothing behind: the leak check of
 * the script tests sees only what the script itself leaves.
 */
const fs = require('fs');
const path = require('path');

const dir = process.env.STUB_KUBECTL_DIR;
const scenario = JSON.parse(fs.readFileSync(path.join(dir, 'scenario.json'), 'utf8'));
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls'), `${JSON.stringify(args)}\n`);

function answer(out) {
  for (const { stream, text } of out.lines) process[stream].write(`${text}\n`);
  process.exitCode = out.code;
}

function unexpected() {
  process.stderr.write(`stub kubectl: unexpected call: ${JSON.stringify(args)}\n`);
  process.exitCode = 2;
}

// The timeline starts when the script opens its first watch, so what the script sees before it
// (its first read) and on the watch's first line does not depend on how fast the machine is.
const t0File = path.join(dir, 't0');
const isStarted = () => fs.existsSync(t0File);
const elapsed = () => (isStarted() ? Date.now() - Number(fs.readFileSync(t0File, 'utf8')) : 0);

/** The line of the Job's last event at or before now; undefined when it does not exist. */
function current() {
  let line;
  for (const e of scenario.events) {
    if (e.at > elapsed()) break;
    if (e.line) line = e.line.startsWith('DELETED|') ? undefined : e.line;
  }
  return line;
}

const isGet = args.length === 6 && args[0] === 'get' && args[1] === 'job' && args[2] === scenario.job
  && args[3] === '-o' && args[4] === 'name' && /^--request-timeout=\d+s$/.test(args[5]);
const timeoutArg = args.find(a => a.startsWith('--request-timeout='));
const seconds = timeoutArg ? timeoutArg.slice('--request-timeout='.length, -1) : '';
const isWatch = args.length === scenario.watchArgs.length
  && scenario.watchArgs.every((a, i) => a.replace('<seconds>', seconds) === args[i]) && /^\d+$/.test(seconds);

if (isGet) {
  if (scenario.getRefused) answer(scenario.getRefused);
  else answer(current() ? scenario.get.found : scenario.get.notFound);
} else if (!isWatch) {
  unexpected();
} else if (scenario.watchRefused) {
  answer(scenario.watchRefused);
} else {
  if (!isStarted()) fs.writeFileSync(t0File, `${Date.now()}`);
  const startedAt = elapsed();
  const emit = line => {
    fs.appendFileSync(path.join(dir, 'emitted'), `${Date.now()} ${line}\n`);
    process.stdout.write(`${line}\n`);
  };
  const now = current();
  if (now) emit(`ADDED|${now.slice(now.indexOf('|') + 1)}`);
  const end = () => process.exit(0);
  // The watch ends when its request timeout passes, as kubectl's does: exit 0, nothing printed.
  setTimeout(end, Number(seconds) * 1000);
  for (const e of scenario.events.filter(ev => ev.at > startedAt)) {
    setTimeout(() => (e.end ? end() : emit(e.line)), e.at - elapsed());
  }
}
