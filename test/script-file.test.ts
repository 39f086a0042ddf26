/**
 * renderScript(): the in-pod scripts are files in sh/, with placeholders, includes and blocks. The
 * renderer reads sh/ beside src/, so these tests write their files into a scratch copy of it.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const SH = join(__dirname, '..', 'sh');

/** renderScript() of a module loaded with `sh/` replaced by a scratch directory holding `files`. */
function renderer(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'script-file-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  let render!: typeof import('../src/script-file').renderScript;
  jest.isolateModules(() => {
    jest.doMock('path', () => {
      const real = jest.requireActual('path');
      return { ...real, join: (...parts: string[]) => (parts[parts.length - 1] === 'sh' ? dir : real.join(...parts)) };
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module that reads the scratch sh/
    render = require('../src/script-file').renderScript;
  });
  jest.dontMock('path');
  return render;
}

describe('renderScript', () => {
  test('GIVEN placeholders WHEN rendered THEN each is replaced, a multi-line value indented like its line', () => {
    const render = renderer({ 'a.sh': 'x=@@ONE@@\n  @@BLOCK@@\n' });
    expect(render('a.sh', { ONE: 'v', BLOCK: 'echo 1\n  echo 2' })).toBe('x=v\n  echo 1\n    echo 2\n');
  });

  test('GIVEN a placeholder without a value WHEN rendered THEN it throws, naming the file and the placeholder', () => {
    const render = renderer({ 'a.sh': 'selector="@@LOCK_LABEL@@=$svc"\n' });
    expect(() => render('a.sh', {})).toThrow('a.sh: no value for @@LOCK_LABEL@@');
  });

  test('GIVEN an include WHEN rendered THEN the file comes in its place, indented like the directive, with the same values', () => {
    const render = renderer({
      'a.sh': 'while :; do\n  #@ include b.sh\ndone\n',
      'b.sh': 'echo @@NAME@@\nif x; then\n  y\nfi\n\nz\n',
    });
    expect(render('a.sh', { NAME: 'n' })).toBe('while :; do\n  echo n\n  if x; then\n    y\n  fi\n\n  z\ndone\n');
  });

  test('GIVEN a block WHEN an include uses it THEN it is dedented and placed at the include\'s indentation; the block itself is not output', () => {
    const render = renderer({
      'a.sh': 'while :; do\n  #@ define BODY\n  case $l in\n    x) y ;;\n  esac\n  #@ end\n  #@ include loop.sh\ndone\n',
      'loop.sh': 'while read -r l; do\n  @@BODY@@\ndone\n',
    });
    expect(render('a.sh')).toBe('while :; do\n  while read -r l; do\n    case $l in\n      x) y ;;\n    esac\n  done\ndone\n');
  });

  test('GIVEN a block at the margin with a blank line in it WHEN used THEN it keeps its blank line, unindented, and its own indentation', () => {
    const render = renderer({
      'a.sh': '#@ define BODY\nx\n\n  y\n#@ end\nif :; then\n  @@BODY@@\nfi\n',
    });
    expect(render('a.sh')).toBe('if :; then\n  x\n\n    y\nfi\n');
  });

  test('GIVEN ## lines WHEN rendered THEN they are left out; other comments stay', () => {
    const render = renderer({ 'a.sh': '## about the file\n##\n# why\nx\n' });
    expect(render('a.sh')).toBe('# why\nx\n');
  });

  test('GIVEN a malformed directive WHEN rendered THEN it throws', () => {
    expect(() => renderer({ 'a.sh': '#@ inclde b.sh\n' })('a.sh')).toThrow("a.sh: unknown directive '#@ inclde b.sh'");
    expect(() => renderer({ 'a.sh': '#@ define X\nx\n' })('a.sh')).toThrow("a.sh: '#@ define X' has no '#@ end'");
    expect(() => renderer({ 'a.sh': 'if :; then\n  #@ include b.bash\nfi\n' })('a.sh')).toThrow("a.sh: unknown directive '#@ include b.bash'");
  });

  test('every file in sh/ is documented (## header) and POSIX sh: no bash-only syntax the renderer would pass through', () => {
    const files = readdirSync(SH).filter(f => f.endsWith('.sh'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const text = readFileSync(join(SH, f), 'utf-8');
      expect([f, text.startsWith('## ')]).toEqual([f, true]);
      expect([f, /\[\[|\blocal\b|\bfunction\b/.test(text.replace(/^#.*$/gm, ''))]).toEqual([f, false]);
    }
  });
});
