// The campaign a mutant of src/model must fail (npm run mutation): CAMPAIGN_DEFAULTS, a fixed seed and a
// fixed case count, run in this process with no worker pool, so the verdict depends only on the code.
// Exit 0: every case passed (the mutant survives). Exit 1: the first failing case, printed on one line
// as "killed-by: violation ..." or "killed-by: exception ..." (Stryker keeps it as the status reason,
// and bench/mutation/report.ts splits oracle verdicts from crashes with it). Exit 2: bad arguments.
import { CAMPAIGN_DEFAULTS } from '../../src/model/config.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { runCase } from '../../src/fuzz/run.js';

/** The fixed campaign behind the score; changing either invalidates the incremental file (run.ts hashes this file). */
export const MUTATION_SEED = 1;
export const MUTATION_CASES = 1500;

const HELP = `usage: node dist/bench/mutation/campaign.js [--seed N] [--cases N]
Runs cases 0..N-1 of the default campaign (CAMPAIGN_DEFAULTS) with campaign seed S in this process and
exits 1 on the first failing case (an oracle violation or an exception from the model), 0 if all pass.
Defaults: --seed ${MUTATION_SEED} --cases ${MUTATION_CASES} (the campaign the mutation score uses).`;

function parseArgs(argv: string[]): { seed: number; cases: number } {
  const o = { seed: MUTATION_SEED, cases: MUTATION_CASES };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${HELP}\n`);
      process.exit(0);
    }
    if (a !== '--seed' && a !== '--cases') usage(`unknown argument ${a}`);
    const v = argv[++k];
    if (v === undefined || !/^\d+$/.test(v)) usage(`${a} needs a non-negative integer, got ${v ?? 'nothing'}`);
    o[a === '--seed' ? 'seed' : 'cases'] = Number(v);
  }
  return o;
}

function usage(msg: string): never {
  process.stderr.write(`bench/mutation/campaign: ${msg}\n${HELP}\n`);
  process.exit(2);
}

const { seed, cases } = parseArgs(process.argv.slice(2));
const design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };
for (let i = 0; i < cases; i++) {
  let where = `case ${i} of seed ${seed}`;
  try {
    const c = generateCase(design, seed, i);
    const r = runCase(c);
    if (r.verdict === 'fail') {
      const f = r.failure!;
      process.stdout.write(`killed-by: violation ${f.inv} in ${where}, op ${f.opIndex} (${f.opKind}) at ${f.step}: ${f.message}\n`);
      process.exit(1);
    }
  } catch (e) {
    where += e instanceof Error ? `: ${e.name}: ${e.message}` : `: ${String(e)}`;
    process.stdout.write(`killed-by: exception in ${where}\n`);
    process.exit(1);
  }
}
process.stdout.write(`survived: ${cases} cases of seed ${seed} passed\n`);
