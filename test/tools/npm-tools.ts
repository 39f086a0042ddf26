/** Shared by the npm-based presets' tests: the tools installed by .ci/install-tools.sh under TOOLS_HOME. */
import * as fs from 'fs';
import * as path from 'path';
import { NPM_MODULES } from './harness';

/** The installed version of an npm package, or undefined. */
export function npmVersion(pkg: string): string | undefined {
  const file = path.join(NPM_MODULES, pkg, 'package.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf-8')).version : undefined;
}

/** Why these packages are not there, or undefined. */
export function npmMissing(pkgs: string[]): string | undefined {
  const absent = pkgs.filter(p => !npmVersion(p));
  return absent.length ? `not installed here: npm ${absent.join(', ')} in ${NPM_MODULES} (run .ci/install-tools.sh)` : undefined;
}

/** The app image's node_modules (a link to the installed tools) and a package.json, as `npx` expects. */
export function nodeApp(name: string): { [file: string]: string } {
  return { 'package.json': JSON.stringify({ name, private: true, version: '1.0.0' }) + '\n' };
}

/** Links the project's node_modules to the installed tools (after writeFiles). */
export function linkNodeModules(dir: string): void {
  fs.symlinkSync(NPM_MODULES, path.join(dir, 'node_modules'));
}
