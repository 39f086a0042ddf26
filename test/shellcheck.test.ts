/**
 * Every shell script the library puts in a pod passes `shellcheck -s sh`, as the pod runs it: taken
 * from the synthesized YAML of every delivery × waiter × migration tool (with a post-rollout
 * migration and the lock's and history's variants), after the API server's own `$$` → `$`
 * expansion of a container's command, and Helm's `{{`...`}}` escaping undone.
 *
 * One check is left out, for all scripts: SC2317 ("command appears to be unreachable"), which
 * shellcheck 0.9 reports for every line of a function it sees called only from a `trap`.
 *
 * Without shellcheck the test is skipped, except in CI (CI=true), where `.ci/run` installs it.
 */
import { execFileSync, spawnSync } from 'child_process';
import { App, Chart } from 'cdk8s';
import { MigratedService, MigrationHistory, MigrationLock } from '../src';
import { DELIVERIES, MIGRATION_TOOLS, WAITERS } from './support/matrix';

const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
if (!shellcheck && process.env.CI === 'true') throw new Error('CI=true but shellcheck is not installed (.ci/run installs it)');
const maybe = shellcheck ? test : test.skip;

/** The API server's expansion of a container's command: `$$` is a literal `$`. */
const asThePodRunsIt = (script: string) => script.replace(/\$\$/g, '$').replace(/\{\{`\{\{`\}\}/g, '{{');

/** Every `<shell> -c SCRIPT` of a synthesized object, with the container's name. */
function scripts(node: unknown, found: Map<string, string>): void {
  if (Array.isArray(node)) return node.forEach(n => scripts(n, found));
  if (!node || typeof node !== 'object') return;
  const { command, name } = node as { command?: unknown; name?: unknown };
  if (Array.isArray(command) && command.length >= 3 && /(^|\/)(sh|dash|bash)$/.test(command[0]) && command[1] === '-c') {
    const script = asThePodRunsIt(command[2]);
    if (!found.has(script)) found.set(script, `${name}`);
  }
  Object.values(node).forEach(v => scripts(v, found));
}

function allScripts(): Map<string, string> {
  const found = new Map<string, string>();
  const variants = [
    {},
    { postRollout: { command: ['./contract'] } },
    { migrationLock: MigrationLock.none() },
    { migrationHistory: MigrationHistory.none() },
  ];
  for (const delivery of Object.keys(DELIVERIES)) {
    for (const waiter of Object.keys(WAITERS)) {
      for (const tool of Object.keys(MIGRATION_TOOLS)) {
        for (const variant of variants) {
          const app = new App();
          const chart = new Chart(app, 'lint', { namespace: 'shop' });
          try {
            new MigratedService(chart, 'orders', {
              image: 'registry.example.com/orders',
              imageTag: 'v4.1.0',
              delivery: DELIVERIES[delivery](),
              waiter: WAITERS[waiter](),
              migration: { tool: MIGRATION_TOOLS[tool](), image: 'registry.example.com/orders-migration' },
              ...variant,
            });
          } catch {
            continue; // a combination refused at synth time puts nothing in a pod
          }
          scripts(app.charts.flatMap(c => c.toJson()), found);
        }
      }
    }
  }
  return found;
}

describe('shellcheck', () => {
  maybe('finds nothing in any script a pod runs', () => {
    const found = allScripts();
    // GIVEN every script shape: the lock (with the history check), the check alone, the wrapper, the
    // record container, both waiters, the rollout waiter and the Atlas schema check
    expect(new Set(found.values())).toEqual(new Set([
      'migration-lock', 'migrate', 'record-migration', 'wait-for-migration', 'wait-for-rollout', 'check-migration',
      'migration-history',
    ]));
    const findings = [...found].flatMap(([script, container]) => {
      const run = spawnSync('shellcheck', ['-s', 'sh', '-e', 'SC2317', '-f', 'gcc', '-'], { input: script, encoding: 'utf-8' });
      return run.status === 0 ? [] : [`${container}:\n${run.stdout}${run.stderr}`];
    });
    expect(findings).toEqual([]);
  });

  maybe('is a real check: it reports a script with a finding', () => {
    expect(() => execFileSync('shellcheck', ['-s', 'sh', '-'], { input: 'x= y\necho $x\n', stdio: 'pipe' })).toThrow();
  });
});
