// The command line as two bundles (issue 14, first failure fast): Node loads one file per entry instead of
// resolving and compiling a hundred ES modules, which took about half of `tdxfuzz --version`. Bundled from
// tsc's output in dist/, so the code is the code the tests import. piscina stays a package (its worker
// threads load piscina's own worker file next to it); vega, vega-lite and junit-report-builder stay packages
// too (loaded only by `plot` and `--junit`).
import { defineConfig } from 'rolldown';

export default defineConfig({
  input: { main: 'dist/src/cli/main.js', worker: 'dist/src/fuzz/worker.js' },
  platform: 'node',
  external: ['piscina', 'vega', 'vega-lite', 'junit-report-builder'],
  output: { dir: 'dist/bundle', format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name].js' },
});
