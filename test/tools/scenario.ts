/**
 * The one scenario every preset goes through against a real PostgreSQL (issue #11):
 * 1. check before anything is applied: non-zero;
 * 2. apply: 0, and the schema of both migrations exists (table `widgets` with `id` and `size`);
 * 3. check again: 0; apply again: 0 and nothing changes;
 * 4. a third, broken migration (it selects from a table that does not exist): apply non-zero, and
 *    the check keeps failing.
 * What each run printed goes to test-reports/tools/<tool>.log (to replay in unit tests).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Containers, IN_CI, readOnlyCopy, removeCopy, removeShimDir, runContainer, RunResult, synthContainers } from './harness';
import { MigrationSql } from './sql';
import { MigrationTool } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';


export { SQL } from './sql';

export interface ToolSpec {
  /** Test title, e.g. `MigrationTool.django()`. */
  readonly title: string;
  /** File name of the run log. */
  readonly name: string;
  readonly tool: () => MigrationTool;
  /** Why the tool cannot run here, or undefined. */
  readonly unavailable: () => string | undefined;
  /** Whether .ci/install-tools.sh installs it: then CI must run it (no skip). */
  readonly installable: boolean;
  /** The env a user gives the service (DATABASE_URL and friends) for this database. */
  readonly env: (pg: Postgres, db: string) => { [name: string]: string };
  /**
   * Writes the tiny project with the first `count` migrations (2, or 3 with the broken one);
   * `sql` swaps their statements (several statements run one by one in one migration).
   */
  readonly project: (dir: string, count: 2 | 3, sql?: MigrationSql) => void;
  /** Extra PATH dirs (before /usr/local/bin:/usr/bin:/bin), e.g. a `python` shim. */
  readonly pathDirs?: () => string[];
  /** The tool's version, for the log and the docs. */
  readonly version?: () => string;
}

/** Declares the scenario's tests for one preset. */
export function proveTool(spec: ToolSpec): void {
  const reason = spec.unavailable();
  if (reason && !(IN_CI && spec.installable)) {
    describe(`${spec.title} against PostgreSQL`, () => {
      it.skip(`skipped: ${reason}`, () => undefined);
    });
    return;
  }

  describe(`${spec.title} against PostgreSQL ${spec.installable ? '' : '(optional tool)'}`.trim(), () => {
    let pg: Postgres;
    let containers: Containers;
    let two: string;
    let three: string;
    let pathDirs: string[];
    const log: string[] = [];
    const run = (which: 'job' | 'check', dir: string, label: string): RunResult => {
      const c = which === 'job' ? containers.job : containers.check!;
      const r = runContainer(c, dir, pathDirs);
      log.push(`### ${label}: ${r.argv.join(' ')}\n### exit ${r.status}\n${r.output}`);
      return r;
    };
    const columns = (): string => pg.psql(
      "SELECT coalesce(string_agg(column_name, ',' ORDER BY column_name), '') FROM information_schema.columns " +
      "WHERE table_schema = 'public' AND table_name = 'widgets'", spec.name, true);
    const expectExit = (r: RunResult, zero: boolean): void => {
      const ok = zero ? r.status === 0 : r.status !== 0 && r.status !== null;
      if (!ok) {
        throw new Error(`expected ${r.argv.join(' ')} to exit ${zero ? '0' : 'non-zero'}, got ${r.status}:\n${r.output}`);
      }
    };

    beforeAll(async () => {
      if (reason) throw new Error(`${spec.title}: ${reason}; CI must run it`);
      pg = await startPostgres();
      pg.createDatabase(spec.name);
      containers = synthContainers(spec.tool(), spec.env(pg, spec.name));
      pathDirs = spec.pathDirs?.() ?? [];
      const build = (count: 2 | 3): string => {
        const src = fs.mkdtempSync(path.join(os.tmpdir(), `tools-${spec.name}-`));
        spec.project(src, count);
        const copy = readOnlyCopy(src);
        fs.rmSync(src, { recursive: true, force: true });
        return copy;
      };
      two = build(2);
      three = build(3);
      if (spec.version) log.push(`### version: ${spec.version()}`);
    });

    afterAll(() => {
      pg?.stop();
      for (const d of [two, three]) if (d) removeCopy(d);
      for (const d of pathDirs ?? []) removeShimDir(d);
      fs.mkdirSync('test-reports/tools', { recursive: true });
      fs.writeFileSync(`test-reports/tools/${spec.name}.log`, log.join('\n') + '\n');
    });

    // Tools without a check get no check steps (Waiter.schemaCheck() is refused for them at synth).
    const hasCheck = spec.tool().checkCommand !== undefined;
    const withCheck = (title: string, fn: () => void): void => { if (hasCheck) it(title, fn); };

    withCheck('check before anything is applied exits non-zero', () => {
      expectExit(run('check', two, 'check, nothing applied'), false);
      expect(columns()).toBe('');
    });

    it('apply exits 0 and creates the schema of both migrations', () => {
      expect(columns()).toBe('');
      expectExit(run('job', two, 'apply'), true);
      expect(columns()).toBe('id,size');
    });

    withCheck('check after apply exits 0', () => {
      expectExit(run('check', two, 'check, all applied'), true);
    });

    it('apply again is a no-op and exits 0', () => {
      const before = pg.psql('SELECT count(*) FROM pg_stat_user_tables', spec.name);
      expectExit(run('job', two, 'apply again'), true);
      expect(columns()).toBe('id,size');
      expect(pg.psql('SELECT count(*) FROM pg_stat_user_tables', spec.name)).toBe(before);
    });

    it(`with a third, broken migration: ${hasCheck ? 'check fails, apply fails, check keeps failing' : 'apply fails'}`, () => {
      if (hasCheck) expectExit(run('check', three, 'check, broken migration pending'), false);
      expectExit(run('job', three, 'apply broken'), false);
      if (hasCheck) expectExit(run('check', three, 'check after the broken apply'), false);
      expect(columns()).toBe('id,size');
    });
  });
}

/** A placeholder suite for a preset whose tool cannot be installed here: one skipped test saying why. */
export function notHere(title: string, reason: string): void {
  describe(`${title} against PostgreSQL`, () => {
    it.skip(`skipped: ${reason}`, () => undefined);
  });
}
