/**
 * Issue #28, items 1 and 2, with the real tools and a real PostgreSQL 15: a transaction holds a
 * lock on `widgets` (a report, a stuck worker) while a release's migration alters it, and a
 * client reads `widgets` every 100 ms, as the service would.
 * - Without a lock timeout (`lockTimeout: Duration.millis(0)`), the tool waits for as long as the
 *   blocking transaction lasts, and so does every read queued behind its `ALTER TABLE`.
 * - With the default (3 s, in the migrate container's PGOPTIONS as synthesized), no read waits
 *   longer than the timeout plus 0.5 s, and the migration fails naming the lock timeout. Its first
 *   statement (`CREATE TABLE gadgets`) is rolled back with it where the tool runs each migration in
 *   a transaction (so a retry is safe), and the next run after the blocker is gone succeeds.
 * Every time is PostgreSQL's own clock: the reader records now() (its statement's start, before
 * the lock wait) and clock_timestamp() (after the read); pg_locks.waitstart is when the ALTER
 * began to wait. Figures go to test-reports/tools/lock-timeout.json (docs/migration-tools.md).
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Container, IN_CI, readOnlyCopy, removeCopy, removeShimDir, runContainer, RunResult, startContainer, synthContainers } from './harness';
import { alembic } from './presets/alembic';
import { dbmate } from './presets/dbmate';
import { django } from './presets/django';
import { knex } from './presets/knex';
import { rails } from './presets/rails';
import { sequelize } from './presets/sequelize';
import { sqitch } from './presets/sqitch';
import { typeorm } from './presets/typeorm';
import { ToolSpec } from './scenario';
import { MigrationSql, SQL } from './sql';
import { Postgres, PG_BIN, startPostgres } from '../support/postgres';

/** How long the blocking transaction holds its lock after the ALTER began to wait (test clock; the figures are PostgreSQL's). */
const BLOCK_SECONDS = 8;
const DEFAULT_TIMEOUT_SECONDS = 3;

/** The third migration: a statement that takes no lock anyone holds, then the ALTER that waits. */
const LOCKED: MigrationSql = { ...SQL, broken: ['CREATE TABLE gadgets (id integer)', 'ALTER TABLE widgets ADD COLUMN colour text'] };

interface Case {
  readonly spec: ToolSpec;
  /** Whether the tool runs each migration in a transaction: a failed one leaves nothing behind, so a retry is safe. */
  readonly transactional: boolean;
  /** The retries to ask for where the preset does not retry by default (sqitch: its scripts are transactional). */
  readonly retries?: number;
}

const CASES: Case[] = [
  { spec: knex, transactional: true },
  { spec: alembic, transactional: true },
  { spec: django, transactional: true },
  { spec: rails, transactional: true },
  { spec: sqitch, transactional: true, retries: 3 }, // its deploy scripts' own BEGIN/COMMIT (as `sqitch add` writes them)
  { spec: typeorm, transactional: true },
  { spec: dbmate, transactional: true },
  { spec: sequelize, transactional: false },
];

/** The first backoff of the retry test: short, the blocker is gone by then. */
const BACKOFF_SECONDS = 2;

interface Figures {
  tool: string;
  version?: string;
  pgOptions?: string;
  without: { heldSeconds: number; maxStallSeconds: number; exit: number | null };
  with: { maxStallSeconds: number; exit: number | null; message: string; leftBehind: boolean; rerunExit: number | null };
  /** The default retries, the blocker gone after the first lock timeout. */
  retried?: { runs: number; exit: number | null; maxStallSeconds: number };
}
const figures: Figures[] = [];

/** A psql session of the superuser on the server's socket, fed on stdin (no PGOPTIONS of its own). */
function session(pg: Postgres, db: string): { proc: ChildProcessWithoutNullStreams; output: () => string; ended: Promise<void> } {
  const proc = spawn(path.join(PG_BIN, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-h', path.join(pg.dir, 'run'), '-p', String(pg.port), '-U', 'postgres', '-d', db],
  { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } });
  let out = '';
  proc.stdout.on('data', d => { out += d; });
  proc.stderr.on('data', d => { out += d; });
  const ended = new Promise<void>(resolve => proc.on('close', () => resolve()));
  return { proc, output: () => out, ended };
}

/**
 * Reads `widgets` every 100 ms, each read its own transaction, from its first read on (so that a
 * slow start on a busy machine cannot miss the wait); `stop()` returns each read's [start, end]
 * in epoch seconds.
 */
async function startReader(pg: Postgres, db: string): Promise<{ stop(): Promise<[number, number][]> }> {
  const s = session(pg, db);
  s.proc.stdin.write("SELECT 'read', extract(epoch FROM now()), extract(epoch FROM clock_timestamp()) FROM (SELECT count(*) FROM widgets) w \\watch 0.1\n");
  await until(() => s.output().includes('read|'), 'the reader\'s first read');
  return {
    stop: async () => {
      s.proc.kill('SIGINT');
      s.proc.stdin.end();
      await s.ended;
      return s.output().split('\n').filter(l => l.startsWith('read|')).map(l => {
        const [, start, end] = l.split('|').map(Number);
        return [start, end];
      });
    },
  };
}

/** A transaction holding a share lock on `widgets` until `release()`, which returns when it ended (PostgreSQL's clock). */
async function startBlocker(pg: Postgres, db: string): Promise<{ release(): Promise<number> }> {
  const s = session(pg, db);
  s.proc.stdin.write("BEGIN;\nSELECT count(*) FROM widgets;\nSELECT 'held';\n");
  await until(() => s.output().includes('held'), 'the blocker to take its lock');
  return {
    release: async () => {
      s.proc.stdin.end("SELECT 'released', extract(epoch FROM clock_timestamp());\nCOMMIT;\n");
      await s.ended;
      const line = s.output().split('\n').find(l => l.startsWith('released|'));
      if (!line) throw new Error(`the blocker did not end cleanly:\n${s.output()}`);
      return Number(line.split('|')[1]);
    },
  };
}

async function until(test: () => boolean, what: string, seconds = 120): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

/** When the ALTER on `widgets` began to wait (epoch seconds), or undefined while it does not wait. */
function alterWaitStart(pg: Postgres, db: string): number | undefined {
  const v = pg.psql('SELECT extract(epoch FROM l.waitstart) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation ' +
    "WHERE c.relname = 'widgets' AND l.mode = 'AccessExclusiveLock' AND NOT l.granted AND l.waitstart IS NOT NULL", db);
  return v === '' ? undefined : Number(v);
}

const maxStall = (reads: [number, number][]): number => Math.max(...reads.map(([a, b]) => b - a));
const round = (n: number): number => Math.round(n * 100) / 100;

for (const { spec, transactional, retries } of CASES) {
  const reason = spec.unavailable();
  const suite = reason && !(IN_CI && spec.installable) ? describe.skip : describe;

  suite(`${spec.title}: a migration behind a long transaction${reason ? ` (skipped: ${reason})` : ''}`, () => {
    let pg: Postgres;
    let two: string;
    let three: string;
    let pathDirs: string[];
    const fig: Partial<Figures> = { tool: spec.name };
    const log: string[] = [];

    /** A database with the first two migrations applied; widgets(id, size) exists. */
    const migratedDatabase = (db: string, containers: { job: Container }): void => {
      pg.createDatabase(db);
      const r = runContainer(containers.job, two, pathDirs);
      if (r.status !== 0) throw new Error(`setup of ${db} failed:\n${r.output}`);
    };
    const columns = (db: string): string => pg.psql("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns " +
      "WHERE table_schema = 'public' AND table_name = 'widgets'", db);
    const gadgets = (db: string): boolean => pg.psql("SELECT to_regclass('public.gadgets') IS NOT NULL", db) === 't';
    const record = (label: string, r: RunResult): void => { log.push(`### ${label}: ${r.argv.join(' ')}\n### exit ${r.status}\n${r.output}`); };

    beforeAll(async () => {
      if (reason) throw new Error(`${spec.title}: ${reason}; CI must run it`);
      pg = await startPostgres();
      pathDirs = spec.pathDirs?.() ?? [];
      const build = (count: 2 | 3): string => {
        const src = fs.mkdtempSync(path.join(os.tmpdir(), `tools-lt-${spec.name}-`));
        spec.project(src, count, LOCKED);
        const copy = readOnlyCopy(src);
        fs.rmSync(src, { recursive: true, force: true });
        return copy;
      };
      two = build(2);
      three = build(3);
      fig.version = spec.version?.();
    });

    afterAll(() => {
      pg?.stop();
      for (const d of [two, three]) if (d) removeCopy(d);
      for (const d of pathDirs ?? []) removeShimDir(d);
      fs.mkdirSync('test-reports/tools', { recursive: true });
      fs.writeFileSync(`test-reports/tools/lock-timeout-${spec.name}.log`, log.join('\n') + '\n');
      if (fig.with && fig.without) figures.push(fig as Figures);
      const file = 'test-reports/tools/lock-timeout.json';
      const before = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf-8')) : {};
      fs.writeFileSync(file, JSON.stringify({ ...before, ...Object.fromEntries(figures.map(f => [f.tool, f])) }, null, 2) + '\n');
    });

    test('WITHOUT a lock timeout: the tool waits for the whole blocking transaction, and so does every read of the table', async () => {
      const db = `${spec.name}_without`;
      const containers = synthContainers(spec.tool(), spec.env(pg, db), { lockTimeout: Duration.millis(0) });
      expect(containers.job.env?.find(e => e.name === 'PGOPTIONS')).toBeUndefined();
      migratedDatabase(db, containers);

      const blocker = await startBlocker(pg, db);
      const reader = await startReader(pg, db);
      const run = startContainer(containers.job, three, pathDirs);
      let waitStart: number | undefined;
      await until(() => (waitStart = alterWaitStart(pg, db)) !== undefined, `the ALTER of ${spec.name} to wait for its lock`);
      await new Promise(r => setTimeout(r, BLOCK_SECONDS * 1000));
      const released = await blocker.release();
      const result = await run.done;
      const reads = await reader.stop();
      record('apply, no lock timeout, behind an 8 s transaction', result);

      const held = released - waitStart!;
      const stall = maxStall(reads);
      fig.without = { heldSeconds: round(held), maxStallSeconds: round(stall), exit: result.status };
      // THEN the migration waited and then succeeded
      expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: expect.any(String) });
      expect(columns(db)).toBe('colour,id,size');
      // AND a read stalled for about as long as the blocker held its lock after the ALTER began to wait
      expect(held).toBeGreaterThanOrEqual(BLOCK_SECONDS);
      expect(stall).toBeGreaterThanOrEqual(held - 1);
    });

    test(`WITH the default (${DEFAULT_TIMEOUT_SECONDS} s) and no retry: no read waits longer than the timeout plus 0.5 s, the migration fails naming the lock timeout, and the next run succeeds once the blocker is gone`, async () => {
      const db = `${spec.name}_with`;
      const containers = synthContainers(spec.tool(), spec.env(pg, db), { lockTimeoutRetries: 0 });
      const pgOptions = containers.job.env?.find(e => e.name === 'PGOPTIONS')?.value;
      expect(pgOptions).toBe(`-c lock_timeout=${DEFAULT_TIMEOUT_SECONDS}s`);
      migratedDatabase(db, containers);

      const blocker = await startBlocker(pg, db);
      const reader = await startReader(pg, db);
      const run = startContainer(containers.job, three, pathDirs);
      const result = await run.done;
      const stillWaiting = alterWaitStart(pg, db);
      const reads = await reader.stop();
      const leftBehind = gadgets(db);
      await blocker.release();
      record(`apply, lock timeout ${DEFAULT_TIMEOUT_SECONDS}s, behind a transaction`, result);
      const message = result.output.split('\n').find(l => /lock timeout/.test(l))?.trim() ?? '';

      // THEN the migration failed, naming the lock timeout, and the ALTER no longer waits
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/canceling statement due to lock timeout/);
      expect(stillWaiting).toBeUndefined();
      expect(columns(db)).toBe('id,size');
      // AND reads queued behind the waiting ALTER, but none longer than the timeout plus 0.5 s
      const stall = maxStall(reads);
      expect(stall).toBeGreaterThanOrEqual(1);
      expect(stall).toBeLessThanOrEqual(DEFAULT_TIMEOUT_SECONDS + 0.5);
      // AND the migration's first statement is rolled back with it only where the tool runs each migration in a transaction
      expect(leftBehind).toBe(!transactional);

      // WHEN the next release runs after the blocker is gone
      const again = runContainer(containers.job, three, pathDirs);
      record('apply again, blocker gone', again);
      fig.with = {
        maxStallSeconds: round(stall),
        exit: result.status,
        message,
        leftBehind,
        rerunExit: again.status,
      };
      fig.pgOptions = pgOptions;
      if (transactional) {
        // THEN it succeeds: nothing of the failed run was left to apply twice
        expect({ status: again.status, output: again.output }).toEqual({ status: 0, output: expect.any(String) });
        expect(columns(db)).toBe('colour,id,size');
      } else {
        // THEN it fails on what the failed run left behind: a retry is not safe for this tool
        expect(again.status).not.toBe(0);
        expect(again.output).toMatch(/relation "gadgets" already exists/);
      }
    });

    const retryTest = transactional ? test : test.skip;
    retryTest(`WITH ${retries === undefined ? 'the default retries' : `${retries} retries`} from ${BACKOFF_SECONDS} s, the blocker gone after the first lock timeout: the second run migrates, all of it once, and no read waited longer than the timeout plus 0.5 s`, async () => {
      const db = `${spec.name}_retry`;
      const containers = synthContainers(spec.tool(), spec.env(pg, db), {
        ...retries === undefined ? {} : { lockTimeoutRetries: retries },
        lockTimeoutRetryBackoff: Duration.seconds(BACKOFF_SECONDS),
      });
      expect(containers.job.env?.find(e => e.name === 'LOCK_TIMEOUT_RETRIES')?.value).toBe(`${retries ?? 3}`);
      migratedDatabase(db, containers);

      const blocker = await startBlocker(pg, db);
      const reader = await startReader(pg, db);
      const run = startContainer(containers.job, three, pathDirs);
      // No clock: the blocker ends when the wrapper says it will run the tool again.
      await until(() => /running it again in/.test(run.output()), `${spec.name}'s first lock timeout`);
      await blocker.release();
      const result = await run.done;
      const reads = await reader.stop();
      record(`apply, lock timeout ${DEFAULT_TIMEOUT_SECONDS}s, retries, blocker gone after the first`, result);
      const runs = (result.output.match(/running it again in/g) ?? []).length + 1;
      const stall = maxStall(reads);
      fig.retried = { runs, exit: result.status, maxStallSeconds: round(stall) };

      // THEN the first run hit the lock timeout once, the second migrated: the whole migration,
      // its first statement included (a run that had left it behind would fail on it)
      expect({ status: result.status, runs }).toEqual({ status: 0, runs: 2 });
      expect(result.output).toMatch(/canceling statement due to lock timeout/);
      expect(result.output).toMatch(`running it again in ${BACKOFF_SECONDS}s (retry 1 of ${retries ?? 3})`);
      expect(columns(db)).toBe('colour,id,size');
      expect(gadgets(db)).toBe(true);
      // AND no read waited longer than the timeout plus 0.5 s
      expect(stall).toBeLessThanOrEqual(DEFAULT_TIMEOUT_SECONDS + 0.5);
    });
  });
}
