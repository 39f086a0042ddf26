import * as path from 'path';
import { NPM_MODULES, shimDir, writeFiles } from './harness';
import { npmMissing, npmVersion } from './npm-tools';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';

/** The dbmate binary itself (the npm package ships it per platform), as in the dbmate image. */
const DBMATE = path.join(NPM_MODULES, '@dbmate', 'linux-x64', 'bin', 'dbmate');

const migration = (sql: string): string => `-- migrate:up\n${sql};\n\n-- migrate:down\n`;

proveTool({
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
  project: (dir, count) => writeFiles(dir, {
    'db/migrations/20240101000001_widgets.sql': migration(SQL.first),
    'db/migrations/20240101000002_size.sql': migration(SQL.second),
    ...(count === 3 ? { 'db/migrations/20240101000003_broken.sql': migration(SQL.broken) } : {}),
  }),
});
