// The fixed campaign behind `npm run mutation`: the default design with its default space of deployments
// (as `tdxfuzz fuzz --fail-on perf` runs it), this seed, this many cases. Changing
// either changes every verdict, so bench/mutation/run.ts then reruns all mutants (it fingerprints this file).
// 1500 cases take ~0.9 s unmutated and ~1.2-2.5 s with all of src/model instrumented (2 shared cores).
export const MUTATION_SEED = 1;
export const MUTATION_CASES = 1500;
/**
 * Cases MUTATION_CASES.. of the same seed dealt to several actors (share 1, PCT and random schedules half
 * each, as `--concurrency 1` deals them): the locking, invalidation and retry code of src/model is reached
 * only when actors interleave. The one-actor cases come first, so their kills are the same as without these.
 */
export const MUTATION_CONCURRENT_CASES = 500;
/** Every case of the campaign: the one-actor ones, then the concurrent ones. */
export const MUTATION_TOTAL = MUTATION_CASES + MUTATION_CONCURRENT_CASES;
/** Cases per test in campaign.spec.ts: Stryker runs a mutant only on the chunks whose cases reach it. */
export const MUTATION_CHUNK = 50;

/** Where Stryker writes its JSON report (stryker.config.mjs jsonReporter.fileName). */
export const STRYKER_JSON = 'reports/mutation/mutation.json';
/** Stryker's incremental file (stryker.config.mjs incrementalFile); the campaign fingerprint sits beside it. */
export const INCREMENTAL_FILE = 'reports/mutation/stryker-incremental.json';

/** The same for the unit-test run (`npm run mutation -- --unit`, stryker.unit.config.mjs). */
export const UNIT_STRYKER_JSON = 'reports/mutation-unit/mutation.json';
export const UNIT_INCREMENTAL_FILE = 'reports/mutation-unit/stryker-incremental.json';
