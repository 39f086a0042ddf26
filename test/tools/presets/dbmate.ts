import * as path from 'path';
import { MigrationTool } from '../../../src';
import { NPM_MODULES, shimDir, writeFiles } from '../harness';
import { npmMissing, npmVersion } from '../npm-tools';
import { ToolSpec } from '../scenario';
import { SQL, Statements, statements } from '../sql';

/** The dbmate binary itself (the npm package ships it per platform), as in the dbmate image. */
const DBMATE = path.join(NPM_MODULES, '@dbmate', 'linux-x64', 'bin', 'dbmate');

const migration = (sql: Statements): string => `-- migrate:up\n${statements(sql).map(s => `${s};\n`).join('')}\n-- migrate:down\n`;

export const dbmate: ToolSpec = {
  title: 'MigrationTool.dbmate()',
  name: 'dbmate',
  tool: () => MigrationTool.dbmate(),
  installable: true,
  unavailable: () => npmMissing(['dbmate', '@dbmate/linux-x64']),
  version: () => `dbmate ${npmVersion('@dbmate/linux-x64')}`,
  pathDirs: () => [shimDir({ dbmate: DBMATE })],
  // dbmate's PostgreSQL driver wants TLS unless told; the schema dump cannot be written to a
  // read-only tree (examples/dockerfiles/dbmate.Dockerfile sets the same).
  env: (pg, db) => ({ DATABASE_URL: `${pg.url(db)}?sslmode=disable`, DBMATE_NO_DUMP_SCHEMA: 'true' }),
  project: (dir, count, sql = SQL) => writeFiles(dir, {
    'db/migrations/20240101000001_widgets.sql': migration(sql.first),
    'db/migrations/20240101000002_size.sql': migration(sql.second),
    ...(count === 3 ? { 'db/migrations/20240101000003_broken.sql': migration(sql.broken) } : {}),
  }),
};
