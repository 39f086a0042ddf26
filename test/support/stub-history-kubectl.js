'use strict';
/**
 * Stand-in for the kubectl calls of the history's scripts (test/history-record-script.test.ts),
 * answering as real kubectl 1.28 did on the local cluster (the messages below were recorded there):
 * the history ConfigMap lives in $STUB_DIR/cm (resourceVersion on the first line, then the log);
 * `create`/`replace -f -` compare-and-swap it; `get jobs` prints $STUB_DIR/jobs; `get pods` prints
 * $STUB_DIR/pod-exit; `annotate` and `delete` are appended to $STUB_DIR/calls. Every call's
 * arguments go to $STUB_DIR/calls too.
 */
const fs = require('fs');
const path = require('path');

const dir = process.env.STUB_DIR;
const args = process.argv.slice(2);
const file = name => path.join(dir, name);
const read = name => (fs.existsSync(file(name)) ? fs.readFileSync(file(name), 'utf-8') : undefined);
fs.appendFileSync(file('calls'), `${JSON.stringify(args)}\n`);
const fail = text => { process.stderr.write(`${text}\n`); process.exit(1); };

const [verb, kind] = args;
if (verb === 'get' && kind === 'configmap') {
  const cm = read('cm');
  if (cm === undefined) fail(`Error from server (NotFound): configmaps "${args[2]}" not found`);
  process.stdout.write(cm);
} else if (verb === 'create' || verb === 'replace') {
  const yaml = fs.readFileSync(0, 'utf-8');
  fs.appendFileSync(file('writes'), `${yaml}\n---\n`);
  const name = /name: "([^"]+)"/.exec(yaml)[1];
  const cm = read('cm');
  if (verb === 'create' && cm !== undefined) fail(`Error from server (AlreadyExists): error when creating "STDIN": configmaps "${name}" already exists`);
  if (verb === 'replace') {
    if (cm === undefined) fail(`Error from server (NotFound): error when replacing "STDIN": configmaps "${name}" not found`);
    const rv = /resourceVersion: "(\d+)"/.exec(yaml)?.[1];
    if (rv !== cm.split('\n')[0]) {
      fail(`Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
  }
  const log = yaml.split('\n').filter(l => l.startsWith('    ')).map(l => l.slice(4)).join('\n');
  const next = cm === undefined ? 10172 : Number(cm.split('\n')[0]) + 1;
  fs.writeFileSync(file('cm'), `${next}\n${log}\n`);
  process.stdout.write(`configmap/${name} ${verb === 'create' ? 'created' : 'replaced'}\n`);
} else if (verb === 'get' && kind === 'jobs') {
  process.stdout.write(read('jobs') ?? '');
} else if (verb === 'get' && kind === 'pods') {
  process.stdout.write(read('pod-exit') ?? '');
} else if (verb === 'annotate') {
  process.stdout.write(`job.batch/${args[2]} annotated\n`);
} else if (verb === 'delete') {
  process.stdout.write(args.slice(2).filter(a => !a.startsWith('-')).map(j => `job.batch "${j}" deleted\n`).join(''));
} else {
  fail(`stub kubectl: unexpected call: ${JSON.stringify(args)}`);
}
