import { MigrationTool } from '../../../src';
import { writeFiles } from '../harness';
import { linkNodeModules, nodeApp, npmMissing, npmVersion } from '../npm-tools';
import { ToolSpec } from '../scenario';
import { SQL, Statements, statements } from '../sql';

const migration = (sql: Statements): string => 'module.exports = {\n  up: async queryInterface => {\n' +
  statements(sql).map(s => `    await queryInterface.sequelize.query(${JSON.stringify(s)});\n`).join('') +
  '  },\n  down: async () => {},\n};\n';

export const sequelize: ToolSpec = {
  title: 'MigrationTool.sequelize()',
  name: 'sequelize',
  tool: () => MigrationTool.sequelize(),
  installable: true,
  unavailable: () => npmMissing(['sequelize-cli', 'sequelize', 'pg']),
  version: () => `sequelize-cli ${npmVersion('sequelize-cli')}, sequelize ${npmVersion('sequelize')}, pg ${npmVersion('pg')}`,
  // sequelize-cli picks the config block by NODE_ENV; `use_env_variable` reads the URL from the env.
  env: (pg, db) => ({ DATABASE_URL: pg.url(db), NODE_ENV: 'production' }),
  project: (dir, count, sql = SQL) => {
    writeFiles(dir, {
      ...nodeApp('sequelize-app'),
      'config/config.json': JSON.stringify({ production: { use_env_variable: 'DATABASE_URL', dialect: 'postgres' } }) + '\n',
      'migrations/20240101000001-widgets.js': migration(sql.first),
      'migrations/20240101000002-size.js': migration(sql.second),
      ...(count === 3 ? { 'migrations/20240101000003-broken.js': migration(sql.broken) } : {}),
    });
    linkNodeModules(dir);
  },
};
