import { MigrationTool } from '../../../src';
import { writeFiles } from '../harness';
import { linkNodeModules, nodeApp, npmMissing, npmVersion } from '../npm-tools';
import { ToolSpec } from '../scenario';
import { SQL, Statements, statements } from '../sql';

const migration = (sql: Statements): string =>
  `exports.up = async knex => {\n${statements(sql).map(s => `  await knex.raw(${JSON.stringify(s)});\n`).join('')}};\n` +
  'exports.down = () => Promise.resolve();\n';

export const knex: ToolSpec = {
  title: 'MigrationTool.knex()',
  name: 'knex',
  tool: () => MigrationTool.knex(),
  installable: true,
  unavailable: () => npmMissing(['knex', 'pg']),
  version: () => `knex ${npmVersion('knex')}, pg ${npmVersion('pg')}`,
  env: (pg, db) => ({ DATABASE_URL: pg.url(db) }),
  project: (dir, count, sql = SQL) => {
    writeFiles(dir, {
      ...nodeApp('knex-app'),
      'knexfile.js': "module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } };\n",
      'migrations/20240101000001_widgets.js': migration(sql.first),
      'migrations/20240101000002_size.js': migration(sql.second),
      ...(count === 3 ? { 'migrations/20240101000003_broken.js': migration(sql.broken) } : {}),
    });
    linkNodeModules(dir);
  },
};
