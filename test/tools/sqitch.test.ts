import { spawnSync } from 'child_process';
import { writeFiles } from './harness';
import { proveTool, SQL } from './scenario';
import { MigrationTool } from '../../src';

// Debian's sqitch with DBD::Pg; it runs `psql` for the change scripts.
const probe = spawnSync('sqitch', ['--version'], { encoding: 'utf-8' });
const version = probe.status === 0 ? probe.stdout.trim() : undefined;
const hasPsql = spawnSync('psql', ['--version']).status === 0;

const CHANGES = [['widgets', SQL.first], ['size', SQL.second], ['broken', SQL.broken]];

proveTool({
  title: 'MigrationTool.sqitch()',
  name: 'sqitch',
  tool: () => MigrationTool.sqitch(),
  installable: true,
  unavailable: () => (version && hasPsql ? undefined : 'not installed here: sqitch, libdbd-pg-perl, psql (run .ci/install-tools.sh)'),
  version: () => version!,
  // sqitch takes the target and the committer from its own variables (the sqitch image's convention).
  env: (pg, db) => ({
    SQITCH_TARGET: `db:pg://${pg.user}@${pg.host}:${pg.port}/${db}`,
    SQITCH_PASSWORD: pg.password,
    SQITCH_FULLNAME: 'Migration Job',
    SQITCH_EMAIL: 'migrations@example.com',
  }),
  project: (dir, count) => {
    const changes = CHANGES.slice(0, count);
    writeFiles(dir, {
      'sqitch.conf': '[core]\n\tengine = pg\n',
      'sqitch.plan': [
        '%syntax-version=1.0.0',
        '%project=tiny',
        '',
        ...changes.map(([name], i) => `${name} 2024-01-01T00:00:0${i + 1}Z Tiny <tiny@example.com> # ${name}`),
        '',
      ].join('\n'),
      ...Object.fromEntries(changes.flatMap(([name, sql]) => [
        [`deploy/${name}.sql`, `BEGIN;\n${sql};\nCOMMIT;\n`],
        [`revert/${name}.sql`, 'SELECT 1;\n'],
        [`verify/${name}.sql`, 'SELECT 1;\n'],
      ])),
    });
  },
});
