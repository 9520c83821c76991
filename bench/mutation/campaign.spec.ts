// The mutation campaign as Stryker's vitest runner sees it (stryker.config.mjs): cases 0..N-1 of the
// default campaign in chunks, one test per chunk. Stryker records which chunks reach each mutant and runs
// only those, stopping at the first failure, so a mutant costs what the cases that reach it cost; a mutant
// no case reaches is reported "no coverage". Killed = some case of the campaign fails, as with campaign.ts.
// Not part of `npm test` (vitest.config.ts includes test/ only); run by `npm run mutation`.
import { describe, test } from 'vitest';
import { campaignDesign, checkCase } from './check.js';
import { MUTATION_TOTAL, MUTATION_CHUNK, MUTATION_SEED } from './settings.js';

describe(`default campaign, seed ${MUTATION_SEED}`, () => {
  const design = campaignDesign();
  for (let start = 0; start < MUTATION_TOTAL; start += MUTATION_CHUNK) {
    const end = Math.min(MUTATION_TOTAL, start + MUTATION_CHUNK);
    test(`cases ${start}..${end - 1}`, () => {
      for (let i = start; i < end; i++) {
        const why = checkCase(design, MUTATION_SEED, i);
        if (why) throw new Error(why);
      }
    });
  }
});
