// StrykerJS config for `npm run mutation -- --unit`: which mutants of src/model the unit tests of the model
// and the oracle (test/model, test/oracle) kill. Reported apart (bench/results/mutation-unit-<date>.md);
// it does not count for the oracle's score, but a campaign survivor that a unit test kills changes
// behaviour, so it is not equivalent (the campaign report marks those).
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'bench/mutation/vitest.unit.config.ts', related: false },
  ignorePatterns: ['dist', 'corpus', 'crashes', 'docs', 'bench/results', 'reports', '*.tmp'],
  incrementalFile: 'reports/mutation-unit/stryker-incremental.json',
  htmlReporter: { fileName: 'reports/mutation-unit/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation-unit/mutation.json' },
};
