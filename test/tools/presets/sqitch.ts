import { spawnSync } from 'child_process';
import { MigrationTool } from '../../../src';
import { writeFiles } from '../harness';
import { ToolSpec } from '../scenario';
import { SQL, statements } from '../sql';

// Debian's sqitch with DBD::Pg; it runs `psql` for the change scripts.
const probe = spawnSync('sqitch', ['--version'], { encoding: 'utf-8' });
const version = probe.status === 0 ? probe.stdout.trim() : undefined;
const hasPsql = spawnSync('psql', ['--version']).status === 0;

export const sqitch: ToolSpec = {
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
  project: (dir, count, sql = SQL) => {
    const changes = ([['widgets', sql.first], ['size', sql.second], ['broken', sql.broken]] as const).slice(0, count);
    writeFiles(dir, {
      'sqitch.conf': '[core]\n\tengine = pg\n',
      'sqitch.plan': [
        '%syntax-version=1.0.0',
        '%project=tiny',
        '',
        ...changes.map(([name], i) => `${name} 2024-01-01T00:00:0${i + 1}Z Tiny <tiny@example.com> # ${name}`),
        '',
      ].join('\n'),
      // BEGIN/COMMIT as `sqitch add` writes them: sqitch itself runs a script outside a transaction.
      ...Object.fromEntries(changes.flatMap(([name, s]) => [
        [`deploy/${name}.sql`, `BEGIN;\n${statements(s).map(x => `${x};\n`).join('')}COMMIT;\n`],
        [`revert/${name}.sql`, 'SELECT 1;\n'],
        [`verify/${name}.sql`, 'SELECT 1;\n'],
      ])),
    });
  },
};
