import { MigrationTool } from '../../../src';
import { writeFiles } from '../harness';
import { linkNodeModules, nodeApp, npmMissing, npmVersion } from '../npm-tools';
import { ToolSpec } from '../scenario';
import { SQL, Statements, statements } from '../sql';

/** A compiled TypeORM migration class (what `tsc` makes of one), named with its timestamp. */
const migration = (name: string, sql: Statements): string => [
  `class ${name} {`,
  `  constructor() { this.name = '${name}'; }`,
  '  async up(queryRunner) {',
  ...statements(sql).map(s => `    await queryRunner.query(${JSON.stringify(s)});`),
  '  }',
  '  async down() {}',
  '}',
  `module.exports = { ${name} };`,
  '',
].join('\n');

export const typeorm: ToolSpec = {
  title: 'MigrationTool.typeorm()',
  name: 'typeorm',
  tool: () => MigrationTool.typeorm(),
  installable: true,
  unavailable: () => npmMissing(['typeorm', 'pg', 'reflect-metadata']),
  version: () => `typeorm ${npmVersion('typeorm')}, pg ${npmVersion('pg')}`,
  env: (pg, db) => ({ DATABASE_URL: pg.url(db) }),
  project: (dir, count, sql = SQL) => {
    writeFiles(dir, {
      ...nodeApp('typeorm-app'),
      'dist/data-source.js': [
        "const { DataSource } = require('typeorm');",
        "exports.default = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL,",
        "  migrations: [__dirname + '/migrations/*.js'] });",
        '',
      ].join('\n'),
      'dist/migrations/1700000000001-Widgets.js': migration('Widgets1700000000001', sql.first),
      'dist/migrations/1700000000002-Size.js': migration('Size1700000000002', sql.second),
      ...(count === 3 ? { 'dist/migrations/1700000000003-Broken.js': migration('Broken1700000000003', sql.broken) } : {}),
    });
    linkNodeModules(dir);
  },
};
