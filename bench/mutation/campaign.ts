// The mutation campaign from the command line: CAMPAIGN_DEFAULTS, a fixed seed and case count, run in
// this process with no worker pool, so the verdict depends only on the code. `npm run mutation` runs the
// same cases under Stryker as campaign.spec.ts; this entry point checks that the unmutated model passes
// them (a mutation score needs a campaign with no false alarm) and tries other seeds or counts.
// Exit 0: every case passed. Exit 1: the first failing case, printed as one "killed-by: ..." line.
// Exit 2: bad arguments.
import { campaignDesign, checkCase } from './check.js';
import { MUTATION_TOTAL, MUTATION_SEED } from './settings.js';

const HELP = `usage: node dist/bench/mutation/campaign.js [--seed N] [--cases N]
Runs cases 0..N-1 of the default campaign (CAMPAIGN_DEFAULTS) with campaign seed S in this process and
exits 1 on the first failing case (an oracle violation or an exception from the model), 0 if all pass.
Defaults: --seed ${MUTATION_SEED} --cases ${MUTATION_TOTAL} (the campaign the mutation score uses).`;

function usage(msg: string): never {
  process.stderr.write(`bench/mutation/campaign: ${msg}\n${HELP}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { seed: number; cases: number } {
  const o = { seed: MUTATION_SEED, cases: MUTATION_TOTAL };
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

const { seed, cases } = parseArgs(process.argv.slice(2));
const design = campaignDesign();
for (let i = 0; i < cases; i++) {
  const why = checkCase(design, seed, i);
  if (why) {
    process.stdout.write(`${why}\n`);
    process.exit(1);
  }
}
process.stdout.write(`passed: ${cases} cases of seed ${seed}\n`);
