import { writeFiles } from './harness';
import { linkNodeModules, nodeApp, npmMissing, npmVersion } from './npm-tools';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';

const migration = (sql: string): string =>
  `exports.up = knex => knex.raw(${JSON.stringify(sql)});\nexports.down = () => Promise.resolve();\n`;

proveTool({
  title: 'MigrationTool.knex()',
  name: 'knex',
  tool: () => MigrationTool.knex(),
  installable: true,
  unavailable: () => npmMissing(['knex', 'pg']),
  version: () => `knex ${npmVersion('knex')}, pg ${npmVersion('pg')}`,
  env: (pg, db) => ({ DATABASE_URL: pg.url(db) }),
  project: (dir, count) => {
    writeFiles(dir, {
      ...nodeApp('knex-app'),
      'knexfile.js': "module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } };\n",
      'migrations/20240101000001_widgets.js': migration(SQL.first),
      'migrations/20240101000002_size.js': migration(SQL.second),
      ...(count === 3 ? { 'migrations/20240101000003_broken.js': migration(SQL.broken) } : {}),
    });
    linkNodeModules(dir);
  },
});
