import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IN_CI, readOnlyCopy, removeCopy, runContainer, synthContainers } from './harness';
import { alembic, alembicProject as project, alembicUnavailable as unavailable, alembicVersion as version } from './presets/alembic';
import { proveTool } from './scenario';
import { MigrationTool } from '../../src';
import { Postgres, startPostgres } from '../support/postgres';

/** `alembic current --check-heads` exists from Alembic 1.17.1 on. */
const hasCheckHeads = version !== undefined
  && version.split('.').map(Number).reduce((acc, n, i) => acc + n * [1e6, 1e3, 1][i], 0) >= 1_017_001;

proveTool(alembic);

if (hasCheckHeads) {
  proveTool({ ...alembic, name: 'alembic-check-heads', title: 'MigrationTool.alembic()', tool: () => MigrationTool.alembic() });
} else {
  (unavailable && !IN_CI ? describe.skip : describe)(`MigrationTool.alembic() with Alembic ${version ?? '(none)'} < 1.17.1`, () => {
    let pg: Postgres;
    let dir: string;
    beforeAll(async () => {
      pg = await startPostgres();
      pg.createDatabase('alembic');
      const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-alembic-'));
      project(src, 2);
      dir = readOnlyCopy(src);
      fs.rmSync(src, { recursive: true });
    });
    afterAll(() => { pg?.stop(); if (dir) removeCopy(dir); });

    it('the default check is refused by the tool itself, before and after apply: it needs Alembic >= 1.17.1', () => {
      const { job, check } = synthContainers(MigrationTool.alembic(), { DATABASE_URL: pg.url('alembic') });
      const before = runContainer(check!, dir);
      expect(before.status).toBe(2);
      expect(before.output).toContain('unrecognized arguments: --check-heads');
      expect(runContainer(job, dir).status).toBe(0);
      const after = runContainer(check!, dir);
      expect(after.status).toBe(2);
      expect(after.output).toContain('unrecognized arguments: --check-heads');
    });
  });
}
