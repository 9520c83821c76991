// One case of the mutation campaign and its verdict as one line, shared by the command-line campaign
// (campaign.ts) and the vitest one Stryker drives (campaign.spec.ts). The "killed-by: ..." line becomes
// Stryker's status reason, from which report.ts tells oracle verdicts from exceptions.
import { CAMPAIGN_DEFAULTS, type Design } from '../../src/model/config.js';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { runCase } from '../../src/fuzz/run.js';
import { MUTATION_CASES } from './settings.js';

/** The default design exactly as a default campaign gets it (`tdxfuzz fuzz` without --config). */
export const campaignDesign = (): Design => ({ ...CAMPAIGN_DEFAULTS, guardsOff: [] });

/** Is case `index` of the mutation campaign one of its concurrent cases (settings.ts)? */
export const isConcurrentCase = (index: number): boolean => index >= MUTATION_CASES;

/** Runs case `index` of campaign `seed` on `design`; null if it passes, else the line that names why it failed. */
export function checkCase(design: Design, seed: number, index: number): string | null {
  const where = `case ${index} of seed ${seed}`;
  try {
    // as `tdxfuzz fuzz --fail-on perf` runs it: the deployments of the default design space, and performance
    // findings (a missing FIXUP-3 merge, a 4K map where 2M is due) counted, since the design has none
    // from MUTATION_CASES on, dealt to actors as `--concurrency 1 --schedule mix` deals them
    const concurrency = isConcurrentCase(index) ? ({ share: 1, schedule: 'mix' } as const) : null;
    const r = runCase(campaignCase(design, defaultDesignSpace(design), seed, index, concurrency), { failOnPerf: true });
    if (r.verdict === 'pass') return null;
    const f = r.failure!;
    // runCase turns a throw inside the model into a HARNESS-EXCEPTION finding: the oracle did not judge it
    if (f.inv === 'HARNESS-EXCEPTION') return `killed-by: exception in ${where}: ${f.message}`;
    return `killed-by: violation ${f.inv} in ${where}, op ${f.opIndex} (${f.opKind}) at ${f.step}: ${f.message}`;
  } catch (e) {
    return `killed-by: exception in ${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}
