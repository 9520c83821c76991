// StrykerJS config for `npm run mutation` (bench/mutation/run.ts): the mutation score of the oracle.
// A mutant of src/model is killed when the fixed default campaign (bench/mutation/campaign.ts, run in
// one process; the command runner passes the mutant through __STRYKER_ACTIVE_MUTANT__) fails a case.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/model/**/*.ts'],
  testRunner: 'command',
  commandRunner: { command: 'node dist/bench/mutation/campaign.js' },
  // Compiles the instrumented code without type checking (the mutant switches do not type-check) and
  // switches off Stryker's coverage counting, which the command runner cannot use (see that file).
  buildCommand: 'node bench/mutation/sandbox-build.mjs',
  // The command runner reports no per-test coverage: every mutant runs the whole campaign.
  coverageAnalysis: 'off',
  // Only what the build and the campaign read goes into the sandbox.
  ignorePatterns: ['dist', 'test', 'corpus', 'crashes', 'docs', 'bench/results', 'reports', '*.tmp'],
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  concurrency: 2,
  // A mutant that loops forever inside one model step times out (Stryker counts it as detected; the
  // report lists timeouts apart). The margin is wide because the machine is shared.
  timeoutMS: 10000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportScoreTable: true, reportMutants: false },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};
