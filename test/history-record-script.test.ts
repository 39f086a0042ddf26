/**
 * The history's check (in the lock container) and record (beside migrate) scripts, run under sh,
 * dash and busybox sh with a stand-in kubectl that answers as kubectl 1.28 did on the local cluster
 * (test/support/stub-history-kubectl.js). The real runs are test/e2e/rollback.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { shells } from './support/shells';
import { HISTORY_CHECK_SCRIPT, RECORD_SCRIPT } from '../src/history/history-scripts';

const runnable = shells().filter(s => !s.skip);
const STUB = path.join(__dirname, 'support', 'stub-history-kubectl.js');
const LOG = '1|migrated|v1|2026-12-07T10:39:12Z|shop-migrate-v1\n2|migrated|v2|2026-12-07T10:40:00Z|shop-migrate-v2\n';

describe.each(runnable.map(s => [s.label, s.argv!] as const))('the history scripts under %s', (_label, argv) => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'history-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'bin', 'kubectl'), `#!/bin/sh\nexec "${process.execPath}" "${STUB}" "$@"\n`, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The script with the pod's /tmp files and termination log in this test's directory. */
  const local = (script: string) => script.split('/tmp/.migration').join(`${dir}/.migration`).split('/dev/termination-log').join(`${dir}/termination-log`);
  const run = (script: string, env: { [k: string]: string }) => spawnSync(argv[0], [...argv.slice(1), '-c', local(script), 'test'], {
    encoding: 'utf-8',
    timeout: 30_000,
    env: {
      PATH: `${dir}/bin:${process.env.PATH}`,
      STUB_DIR: dir,
      TMPDIR: dir,
      MIGRATION_HISTORY: 'shop-migration-history',
      MIGRATION_STEP: 'migrated',
      JOB_NAME: 'shop-migrate-v3',
      POD_NAME: 'shop-migrate-v3-x',
      HISTORY_SELECTOR: 'h=shop',
      HISTORY_LIMIT: '100',
      JOB_HISTORY_LIMIT: '',
      ...env,
    },
  });
  const put = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const got = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf-8') : undefined);
  const log = () => got('cm')?.split('\n').slice(1).filter(Boolean).map(l => l.replace(/\|20\d\d-[^|]+\|/, '|T|'));
  const calls = () => (got('calls') ?? '').split('\n').filter(Boolean).map(l => JSON.parse(l));

  describe('the check', () => {
    test('GIVEN a tag the history does not know THEN it runs: no skip file; the history it read is left for the record', () => {
      put('cm', `10172\n${LOG}`);
      const r = run(HISTORY_CHECK_SCRIPT, { MIGRATION_TAG: 'v3' });
      expect({ status: r.status, out: r.stdout, skip: got('.migration-skip') }).toEqual({ status: 0, out: 'migration history: migrated v3 not recorded; running it\n', skip: undefined });
      expect(got('.migration-history')).toBe(`10172\n${LOG}`);
    });

    test('GIVEN a tag that migrated before a newer one THEN the skip file says so in the issue\'s words', () => {
      put('cm', `10172\n${LOG}`);
      const r = run(HISTORY_CHECK_SCRIPT, { MIGRATION_TAG: 'v1' });
      const why = 'v1 migrated at 2026-12-07T10:39:12Z; the schema has since been migrated by v2; not running v1\'s migration again';
      expect({ status: r.status, out: r.stdout, skip: got('.migration-skip') }).toEqual({ status: 0, out: `migration history: ${why}\n`, skip: `${why}\n` });
    });

    test('GIVEN the newest tag applied again THEN it is skipped, naming its Job', () => {
      put('cm', `10172\n${LOG}`);
      run(HISTORY_CHECK_SCRIPT, { MIGRATION_TAG: 'v2' });
      expect(got('.migration-skip')).toBe('v2 migrated at 2026-12-07T10:40:00Z (Job shop-migrate-v2); not running its migration again\n');
    });

    test('GIVEN a contract step that ran THEN the post-rollout Job skips it; a migrated line does not count for it', () => {
      put('cm', `10172\n${LOG}3|contracted|v1|2026-12-07T10:41:00Z|shop-post-v1\n`);
      run(HISTORY_CHECK_SCRIPT, { MIGRATION_TAG: 'v1', MIGRATION_STEP: 'contracted' });
      expect(got('.migration-skip')).toBe('the post-rollout migration of v1 ran at 2026-12-07T10:41:00Z (Job shop-post-v1); not running it again\n');
      fs.rmSync(path.join(dir, '.migration-skip'));
      run(HISTORY_CHECK_SCRIPT, { MIGRATION_TAG: 'v2', MIGRATION_STEP: 'contracted' });
      expect(got('.migration-skip')).toBeUndefined();
    });

    test('GIVEN no history yet THEN it runs, and leaves an empty history for the record', () => {
      const r = run(HISTORY_CHECK_SCRIPT, { MIGRATION_TAG: 'v1' });
      expect({ status: r.status, skip: got('.migration-skip'), read: got('.migration-history') }).toEqual({ status: 0, skip: undefined, read: '\n' });
    });
  });

  describe('the record', () => {
    test('GIVEN the first success and no history THEN it creates the ConfigMap with line 1', () => {
      put('.migration-history', '\n');
      put('.migration-exit', '0\n');
      const r = run(RECORD_SCRIPT, { MIGRATION_TAG: 'v1', JOB_NAME: 'shop-migrate-v1' });
      expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: expect.stringMatching(/^migration history: recorded migrated v1 at 20\d\d-\S+Z\n$/) });
      expect(log()).toEqual(['1|migrated|v1|T|shop-migrate-v1']);
      expect(got('writes')).toContain('app.kubernetes.io/component": "migration-history"');
    });

    test('GIVEN a history THEN it appends the next line by compare-and-swap on the version the check read', () => {
      put('cm', `10172\n${LOG}`);
      put('.migration-history', `10172\n${LOG}`);
      put('.migration-exit', '0\n');
      run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3' });
      expect(log()).toEqual(['1|migrated|v1|T|shop-migrate-v1', '2|migrated|v2|T|shop-migrate-v2', '3|migrated|v3|T|shop-migrate-v3']);
      expect(calls().filter(c => c[0] === 'replace')).toHaveLength(1);
    });

    test('GIVEN the history changed since the check (an allow-rollback) THEN the swap conflicts, it reads again and keeps both lines', () => {
      put('cm', `10180\n${LOG}3|allowed|v1|2026-12-07T10:45:00Z|0 why\n`);
      put('.migration-history', `10172\n${LOG}`);
      put('.migration-exit', '0\n');
      const r = run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3' });
      expect(r.status).toBe(0);
      expect(log()).toEqual(['1|migrated|v1|T|shop-migrate-v1', '2|migrated|v2|T|shop-migrate-v2', '3|allowed|v1|T|0 why', '4|migrated|v3|T|shop-migrate-v3']);
      expect(calls().map(c => c.slice(0, 2))).toEqual([['replace', '-f'], ['get', 'configmap'], ['replace', '-f']]);
    });

    test('GIVEN HISTORY_LIMIT lines already THEN the oldest go: the history stays bounded', () => {
      put('cm', `10172\n${LOG}`);
      put('.migration-history', `10172\n${LOG}`);
      put('.migration-exit', '0\n');
      run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3', HISTORY_LIMIT: '2' });
      expect(log()).toEqual(['2|migrated|v2|T|shop-migrate-v2', '3|migrated|v3|T|shop-migrate-v3']);
    });

    test('GIVEN the migration failed THEN nothing is recorded and it exits 0 (the Job fails on migrate\'s exit code)', () => {
      put('cm', `10172\n${LOG}`);
      put('.migration-history', `10172\n${LOG}`);
      put('.migration-exit', '3\n');
      const r = run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3' });
      expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: 'migration history: the migrated step of v3 failed (exit code 3): nothing recorded\n' });
      expect(got('cm')).toBe(`10172\n${LOG}`);
    });

    test('GIVEN a skipped run THEN it annotates its Job with why and writes nothing', () => {
      put('cm', `10172\n${LOG}`);
      put('.migration-skip', 'v1 migrated at T; not running its migration again\n');
      put('.migration-exit', '0\n');
      const r = run(RECORD_SCRIPT, { MIGRATION_TAG: 'v1', JOB_NAME: 'shop-migrate-v1' });
      expect(r.status).toBe(0);
      expect(calls()).toContainEqual(['annotate', 'job', 'shop-migrate-v1', '--overwrite',
        'migrated-service.cdk8s.io/skipped=v1 migrated at T; not running its migration again', '--request-timeout=20s']);
      expect(got('termination-log')).toBe('v1 migrated at T; not running its migration again');
      expect(got('writes')).toBeUndefined();
    });

    test('GIVEN JOB_HISTORY_LIMIT 2 and three finished Jobs THEN the oldest two go (this one will be the second); unfinished ones stay', () => {
      put('jobs', 'shop-migrate-v1|True\nshop-migrate-v2|True\nshop-migrate-old|\nshop-migrate-v2b|True\nshop-migrate-v3|\n');
      put('.migration-history', '\n');
      put('.migration-exit', '0\n');
      const r = run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3', JOB_HISTORY_LIMIT: '2' });
      expect(calls()).toContainEqual(['delete', 'jobs', 'shop-migrate-v1', 'shop-migrate-v2', '--wait=false', '--request-timeout=20s']);
      expect(r.stdout).toContain('migration history: deleted finished Jobs shop-migrate-v1 shop-migrate-v2 (keeping 2)');
    });

    test('GIVEN no more finished Jobs than the limit THEN none is deleted', () => {
      put('jobs', 'shop-migrate-v2|True\nshop-migrate-v3|\n');
      put('.migration-history', '\n');
      put('.migration-exit', '0\n');
      run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3', JOB_HISTORY_LIMIT: '2' });
      expect(calls().filter(c => c[0] === 'delete')).toEqual([]);
    });

    test('GIVEN the migrate container ended without the wrapper (no sh in its image) THEN its pod status says so and it ends', () => {
      put('pod-exit', '128');
      const r = run(RECORD_SCRIPT, { MIGRATION_TAG: 'v3' });
      expect({ status: r.status, err: r.stderr }).toEqual({ status: 0, err: expect.stringContaining('the migrate container ended with code 128 without running the history\'s wrapper') });
      expect(got('writes')).toBeUndefined();
    }, 30_000);
  });
});
