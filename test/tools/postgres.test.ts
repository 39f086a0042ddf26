import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { Postgres, startPostgres } from '../support/postgres';

/** The node IP that pods of the local cluster reach; present only where local-k8s runs. */
const NODE_IP = '10.255.0.1';
const hasNodeIp = Object.values(os.networkInterfaces()).flat().some(a => a?.address === NODE_IP);

describe('throwaway PostgreSQL (test/support/postgres.ts)', () => {
  let pg: Postgres;
  beforeAll(async () => { pg = await startPostgres(); });
  afterAll(() => pg?.stop());

  test('GIVEN a started server WHEN the password user connects over TCP THEN it owns the app database', () => {
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.url()).toBe(`postgres://app:app-secret@127.0.0.1:${pg.port}/app`);
    expect(pg.psql('SELECT current_user || \'@\' || current_database()', 'app', true)).toBe('app@app');
    expect(pg.psql('CREATE TABLE t (id int); SELECT count(*) FROM t', 'app', true)).toBe('0');
  });

  test('GIVEN createDatabase WHEN called THEN the password user owns the new database', () => {
    const url = pg.createDatabase('second');
    expect(url).toBe(`postgres://app:app-secret@127.0.0.1:${pg.port}/second`);
    expect(pg.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'second'")).toBe('app');
  });

  test('GIVEN a wrong password WHEN connecting over TCP THEN auth fails (scram, not trust)', () => {
    const r = spawnSync('psql', ['-X', '-h', pg.host, '-p', String(pg.port), '-U', 'app', '-d', 'app', '-c', 'SELECT 1'],
      { encoding: 'utf-8', env: { ...process.env, PGPASSWORD: 'nope' } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/password authentication failed/);
  });

  test('GIVEN the server runs WHEN its processes are listed THEN none runs as root', () => {
    const r = execFileSync('ps', ['-o', 'user=', '-C', 'postgres'], { encoding: 'utf-8' });
    expect(r.trim().split('\n').filter(Boolean).every(u => u.trim() !== 'root')).toBe(true);
  });

  test('GIVEN stop() WHEN called (twice) THEN the server is gone and its files removed', async () => {
    const other = await startPostgres();
    expect(fs.existsSync(other.dir)).toBe(true);
    other.stop();
    other.stop();
    expect(fs.existsSync(other.dir)).toBe(false);
    expect(() => other.psql('SELECT 1')).toThrow(/psql failed/);
  });

  (hasNodeIp ? test : test.skip)('GIVEN host 10.255.0.1 (reachable from pods) WHEN started THEN the URL names it and password auth works', async () => {
    const node = await startPostgres({ host: NODE_IP, user: 'svc', password: 's3cret' });
    try {
      expect(node.url('app')).toBe(`postgres://svc:s3cret@${NODE_IP}:${node.port}/app`);
      expect(node.psql('SELECT inet_server_addr()', 'app', true)).toBe(NODE_IP);
    } finally {
      node.stop();
    }
  });
});
