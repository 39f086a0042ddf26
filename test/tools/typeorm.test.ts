import { writeFiles } from './harness';
import { linkNodeModules, nodeApp, npmMissing, npmVersion } from './npm-tools';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';

/** A compiled TypeORM migration class (what `tsc` makes of one), named with its timestamp. */
const migration = (name: string, sql: string): string => [
  `class ${name} {`,
  `  constructor() { this.name = '${name}'; }`,
  `  async up(queryRunner) { await queryRunner.query(${JSON.stringify(sql)}); }`,
  '  async down() {}',
  '}',
  `module.exports = { ${name} };`,
  '',
].join('\n');

proveTool({
  title: 'MigrationTool.typeorm()',
  name: 'typeorm',
  tool: () => MigrationTool.typeorm(),
  installable: true,
  unavailable: () => npmMissing(['typeorm', 'pg', 'reflect-metadata']),
  version: () => `typeorm ${npmVersion('typeorm')}, pg ${npmVersion('pg')}`,
  env: (pg, db) => ({ DATABASE_URL: pg.url(db) }),
  project: (dir, count) => {
    writeFiles(dir, {
      ...nodeApp('typeorm-app'),
      'dist/data-source.js': [
        "const { DataSource } = require('typeorm');",
        "exports.default = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL,",
        "  migrations: [__dirname + '/migrations/*.js'] });",
        '',
      ].join('\n'),
      'dist/migrations/1700000000001-Widgets.js': migration('Widgets1700000000001', SQL.first),
      'dist/migrations/1700000000002-Size.js': migration('Size1700000000002', SQL.second),
      ...(count === 3 ? { 'dist/migrations/1700000000003-Broken.js': migration('Broken1700000000003', SQL.broken) } : {}),
    });
    linkNodeModules(dir);
  },
});
