// StrykerJS config for `npm run mutation` (bench/mutation/run.ts): the mutation score of the oracle.
// A mutant of src/model is killed when the fixed default campaign fails a case: bench/mutation/
// campaign.spec.ts runs its cases in chunks under Stryker's vitest runner, which records which chunks
// reach each mutant and runs only those (a mutant no case reaches is "no coverage": unreachable by the
// campaign). Measured on src/model/gmem/punch.ts and src/model/kvm/lpage.ts, the command runner driving
// `node dist/bench/mutation/campaign.js` gave the same verdict for every mutant at a higher cost.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/model/**/*.ts'],
  testRunner: 'vitest',
  vitest: { configFile: 'bench/mutation/vitest.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // Mutants in trace text (what `tdxfuzz show` prints) cannot change a verdict: reported as ignored.
  appendPlugins: ['./bench/mutation/ignore-presentation.mjs'],
  ignorers: ['trace-text'],
  // Only what the campaign reads goes into the sandbox (vitest runs the TypeScript sources directly).
  ignorePatterns: ['dist', 'test', 'corpus', 'crashes', 'docs', 'bench/results', 'reports', '*.tmp'],
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  concurrency: 2,
  // A mutant that loops forever is stopped by Stryker's hit limit or this timeout and counted as detected
  // (the report lists timeouts apart). The margin is wide because the machine is shared.
  timeoutMS: 10000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};
