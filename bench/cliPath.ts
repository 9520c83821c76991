// The command line of a tdxfuzz tree as its package.json installs it (the `bin` entry): what a user of that
// tree runs. This tree: the bundle in dist/bundle; older commits: tsc's dist/src/cli/main.js.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function cliPath(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  return join(root, pkg.bin?.tdxfuzz ?? join('dist', 'src', 'cli', 'main.js'));
}
