/**
 * The fixture service of the rollout scenarios: one image per version holding busybox (httpd, sh),
 * psql and its libraries, the version's SQL and three scripts. The migration runs real SQL against
 * the PostgreSQL in DATABASE_URL and records itself in `schema_migrations`; the check fails while
 * this version is not recorded there; the service answers HTTP with its version.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildImage } from './images';

export const FIXTURE_REPOSITORY = 'registry.example.com/e2e-shop';
export const FIXTURE_PORT = 8080;
/** UID the fixture image runs as (its /etc/passwd has `app`). */
export const FIXTURE_UID = 1000;

/** Every run is logged in `migration_runs` before anything else, so tests can count runs. */
const MIGRATE = `#!/bin/sh
set -eu
v=$(cat /app/VERSION)
export PGCONNECT_TIMEOUT=10
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS migration_runs (version text NOT NULL, pod text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp()); INSERT INTO migration_runs (version, pod) VALUES ('$v', '$HOSTNAME')"
echo "migration $v started on $HOSTNAME"
# Stop at once on SIGTERM (eviction, deletion), as migration tools do; the SQL has not run yet.
trap 'echo "migration $v interrupted"; exit 143' TERM
if [ -f /app/slow ]; then echo "slow migration: $(cat /app/slow)s before the SQL"; sleep "$(cat /app/slow)" & wait $!; fi
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -1 -f /app/migration.sql \\
  -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())" \\
  -c "INSERT INTO schema_migrations (version) VALUES ('$v') ON CONFLICT DO NOTHING"
echo "migration $v applied"
`;

/** The tool's "fail if pending" check: exits 1 while this version's migration is not recorded. */
const CHECK = `#!/bin/sh
v=$(cat /app/VERSION)
export PGCONNECT_TIMEOUT=10
if [ "$(psql "$DATABASE_URL" -X -tAc "SELECT count(*) FROM schema_migrations WHERE version = '$v'" 2>&1)" = 1 ]; then
  echo "schema is at $v"; exit 0
fi
echo "migration $v pending" >&2; exit 1
`;

export interface FixtureVersion {
  /** Image tag, e.g. `v1`. */
  readonly tag: string;
  /** SQL of this version's migration (runs in one transaction). */
  readonly sql: string;
  /** Seconds the migration sleeps before its SQL (to interrupt it). @default 0 */
  readonly slowSeconds?: number;
}

/** The versions of the scenarios: v2's migration fails, v4's takes a while. */
export const FIXTURE_VERSIONS: FixtureVersion[] = [
  { tag: 'v1', sql: 'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);' },
  { tag: 'v2', sql: 'ALTER TABLE no_such_table ADD COLUMN price integer;' },
  { tag: 'v3', sql: 'ALTER TABLE items ADD COLUMN price integer;' },
  { tag: 'v4', sql: 'CREATE INDEX items_name ON items (name);', slowSeconds: 25 },
];

/** psql of the machine's PostgreSQL 15 (the Debian `psql` is a perl wrapper). */
function psqlBinary(): string {
  const candidates = [path.join(process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin', 'psql'), '/usr/lib/postgresql/15/bin/psql'];
  const found = candidates.find(p => fs.existsSync(p));
  if (!found) throw new Error(`no psql binary in ${candidates.join(', ')} (apt-get install postgresql-client-15)`);
  return found;
}

/** Build (or find cached) the image of one version; returns its full name. */
export function buildFixtureImage(version: FixtureVersion): string {
  return buildImage({
    name: `${FIXTURE_REPOSITORY}:${version.tag}`,
    files: [`${psqlBinary()}:/usr/bin/psql`],
    contents: {
      '/app/VERSION': `${version.tag}\n`,
      '/app/migration.sql': `${version.sql}\n`,
      '/app/migrate.sh': MIGRATE,
      '/app/check.sh': CHECK,
      '/www/index.html': `${version.tag}\n`,
      ...(version.slowSeconds ? { '/app/slow': `${version.slowSeconds}\n` } : {}),
    },
    cmd: ['httpd', '-f', '-p', `${FIXTURE_PORT}`, '-h', '/www'],
  });
}
