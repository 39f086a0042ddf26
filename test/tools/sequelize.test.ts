import { writeFiles } from './harness';
import { linkNodeModules, nodeApp, npmMissing, npmVersion } from './npm-tools';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';

const migration = (sql: string): string =>
  `module.exports = {\n  up: queryInterface => queryInterface.sequelize.query(${JSON.stringify(sql)}),\n  down: async () => {},\n};\n`;

proveTool({
  title: 'MigrationTool.sequelize()',
  name: 'sequelize',
  tool: () => MigrationTool.sequelize(),
  installable: true,
  unavailable: () => npmMissing(['sequelize-cli', 'sequelize', 'pg']),
  version: () => `sequelize-cli ${npmVersion('sequelize-cli')}, sequelize ${npmVersion('sequelize')}, pg ${npmVersion('pg')}`,
  // sequelize-cli picks the config block by NODE_ENV; `use_env_variable` reads the URL from the env.
  env: (pg, db) => ({ DATABASE_URL: pg.url(db), NODE_ENV: 'production' }),
  project: (dir, count) => {
    writeFiles(dir, {
      ...nodeApp('sequelize-app'),
      'config/config.json': JSON.stringify({ production: { use_env_variable: 'DATABASE_URL', dialect: 'postgres' } }) + '\n',
      'migrations/20240101000001-widgets.js': migration(SQL.first),
      'migrations/20240101000002-size.js': migration(SQL.second),
      ...(count === 3 ? { 'migrations/20240101000003-broken.js': migration(SQL.broken) } : {}),
    });
    linkNodeModules(dir);
  },
});
