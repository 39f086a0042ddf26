/**
 * Test support: a throwaway PostgreSQL server (Debian's PostgreSQL 15 binaries), on a free port,
 * with its data in a temp dir, run as a non-root user, stopped and removed by `stop()` (and, as a
 * last resort, when the test process exits).
 *
 * ```ts
 * let pg: Postgres;
 * beforeAll(async () => { pg = await startPostgres(); });
 * afterAll(() => pg?.stop());
 * ```
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Where Debian puts the server binaries; `PG_BIN` overrides it. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresOptions {
  /**
   * The address the server listens on and the URLs name. Pods of the local cluster reach the
   * node IP `10.255.0.1`, not 127.0.0.1.
   *
   * @default "127.0.0.1"
   */
  readonly host?: string;
  /** @default "app" (a password user, not a superuser, owner of every database made here) */
  readonly user?: string;
  /** @default "app-secret" */
  readonly password?: string;
}

export interface Postgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The data directory's parent (temp dir), removed by `stop()`. */
  readonly dir: string;
  /** `postgres://user:password@host:port/db` (db defaults to `app`, created at start). */
  url(db?: string): string;
  /** Runs SQL as the superuser (unless `asUser`), returns psql's unaligned, tuples-only output, trimmed. Throws on error. */
  psql(sql: string, db?: string, asUser?: boolean): string;
  /** Creates a database owned by the password user; returns its URL. */
  createDatabase(name: string): string;
  /**
   * Restarts the server as a crash would: every session is ended at once (`-m immediate`), and the
   * server is back on the same port and data when this returns.
   */
  restart(): void;
  /** Stops the server and removes its files. Safe to call twice. */
  stop(): void;
}

const live = new Set<() => void>();
process.on('exit', () => { for (const stop of [...live]) stop(); });

/** The non-root user the server runs as when this process is root. */
function serverUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    if (spawnSync('id', ['-u', name]).status === 0) return name;
  }
  throw new Error('no non-root user (postgres, nobody) to run PostgreSQL as');
}

/** Runs a server binary as the server user. */
function runAs(user: string | undefined, bin: string, args: string[], opts: { input?: string } = {}): string {
  const [file, argv] = user
    ? ['runuser', ['-u', user, '--', path.join(PG_BIN, bin), ...args]]
    : [path.join(PG_BIN, bin), args];
  return execFileSync(file, argv, { encoding: 'utf-8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], cwd: '/' });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Starts a fresh server; rejects (after cleaning up) if it cannot. */
export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const host = options.host ?? '127.0.0.1';
  const user = options.user ?? 'app';
  const password = options.password ?? 'app-secret';
  const owner = serverUser();
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    throw new Error(`PostgreSQL binaries not found in ${PG_BIN} (apt-get install postgresql-15, or set PG_BIN)`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-'));
  const data = path.join(dir, 'data');
  const sockets = path.join(dir, 'run');
  fs.mkdirSync(sockets);
  if (owner) {
    const uid = Number(execFileSync('id', ['-u', owner], { encoding: 'utf-8' }));
    const gid = Number(execFileSync('id', ['-g', owner], { encoding: 'utf-8' }));
    fs.chownSync(dir, uid, gid);
    fs.chownSync(sockets, uid, gid);
  }
  // Everyone may traverse the dir (the socket lives there); only the server user owns the data.
  fs.chmodSync(dir, 0o755);

  let stopped = false;
  let started = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    live.delete(stop);
    if (started) {
      try {
        runAs(owner, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
      } catch { /* already gone */ }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  live.add(stop);

  try {
    runAs(owner, 'initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256',
      '-E', 'UTF8', '--locale=C', '--no-sync']);
    // Password auth from any address (pods connect from the pod network); trust on the socket.
    fs.writeFileSync(path.join(data, 'pg_hba.conf'), [
      'local all all trust',
      'host all all 0.0.0.0/0 scram-sha-256',
      'host all all ::/0 scram-sha-256',
      '',
    ].join('\n'));

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort(host);
      try {
        started = true;
        runAs(owner, 'pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o',
          `-p ${port} -k ${sockets} -c listen_addresses=${host} -c fsync=off -c synchronous_commit=off ` +
          '-c full_page_writes=off -c shared_buffers=16MB -c max_connections=50', 'start']);
        break;
      } catch (e) {
        started = false;
        // Another process may have taken the port between the probe and the start: try another.
        if (attempt >= 3) {
          const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf-8') : '';
          throw new Error(`PostgreSQL did not start: ${(e as Error).message}\n${log}`);
        }
      }
    }

    const psql = (sql: string, db = 'postgres', asUser = false): string => {
      const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', asUser ? host : sockets, '-p', String(port),
        '-U', asUser ? user : 'postgres', '-d', db, '-c', sql];
      const r = spawnSync(path.join(PG_BIN, 'psql'), args, {
        encoding: 'utf-8', env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      });
      if (r.status !== 0) {
        throw new Error(`psql failed (${r.status}) on ${JSON.stringify(sql)}: ${r.stderr}`);
      }
      return r.stdout.trim();
    };
    const url = (db = 'app'): string =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(db)}`;
    const createDatabase = (name: string): string => {
      psql(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(user)}`);
      return url(name);
    };

    const restart = (): void => {
      runAs(owner, 'pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-m', 'immediate', '-w', '-t', '60', 'restart']);
    };

    psql(`CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(password)}`);
    createDatabase('app');
    return { host, port, user, password, dir, url, psql, createDatabase, restart, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
