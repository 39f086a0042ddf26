/**
 * The harness must run containers as Kubernetes would, or the tier proves nothing: these tests
 * hold it to that with a custom tool whose "migration" reports what it sees.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expand, readOnlyCopy, removeCopy, runContainer, synthContainers } from './harness';
import { MigrationTool } from '../../src';

const PROBE = 'echo "uid=$(id -u) home=$HOME url=$1"; touch "$HOME/written" && echo home-writable; touch ./written 2>/dev/null && echo cwd-writable; exit 0';

describe('the tool tier harness', () => {
  let dir: string;
  beforeAll(() => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-harness-'));
    fs.writeFileSync(path.join(src, 'marker'), 'x');
    dir = readOnlyCopy(src);
    fs.rmSync(src, { recursive: true });
  });
  afterAll(() => removeCopy(dir));

  test('expands $(VAR) as the kubelet does', () => {
    const env = { URL: 'postgres://u:p@h/db' };
    expect(expand('$(URL)', env)).toBe(env.URL);
    expect(expand('x$(UNSET)y', env)).toBe('x$(UNSET)y');
    expect(expand('$$(URL) $1 $ $(URL', env)).toBe('$(URL) $1 $ $(URL');
  });

  test('GIVEN a tool that needs no HOME THEN it runs non-root, with an unwritable HOME=/ and a read-only working tree', () => {
    const tool = MigrationTool.custom({ name: 'probe', command: ['sh', '-c', PROBE, 'probe', '$(DATABASE_URL)'] });
    const { job } = synthContainers(tool, { DATABASE_URL: 'postgres://u:p@h/db' });
    const r = runContainer(job, dir);
    expect(r.status).toBe(0);
    if (process.getuid?.() === 0) expect(r.output).not.toContain('uid=0 ');
    expect(r.output).toContain('home=/ url=postgres://u:p@h/db');
    expect(r.output).not.toContain('home-writable');
    expect(r.output).not.toContain('cwd-writable');
  });

  test('GIVEN a tool that needs a writable HOME THEN HOME is a fresh writable dir, as the /tmp emptyDir is', () => {
    const tool = MigrationTool.custom({ name: 'probe', command: ['sh', '-c', PROBE, 'probe', 'x'], needsWritableHome: true });
    const r = runContainer(synthContainers(tool, {}).job, dir);
    expect(r.output).toContain('home-writable');
    expect(r.output).not.toContain('home=/tmp ');
    expect(r.output).not.toContain('cwd-writable');
  });
});
