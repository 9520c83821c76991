// One case of the mutation campaign and its verdict as one line, shared by the command-line campaign
// (campaign.ts) and the vitest one Stryker drives (campaign.spec.ts). The "killed-by: ..." line becomes
// Stryker's status reason, from which report.ts tells oracle verdicts from exceptions.
import { CAMPAIGN_DEFAULTS, type Design } from '../../src/model/config.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { runCase } from '../../src/fuzz/run.js';

/** The default design exactly as a default campaign gets it (`tdxfuzz fuzz` without --config). */
export const campaignDesign = (): Design => ({ ...CAMPAIGN_DEFAULTS, guardsOff: [] });

/** Runs case `index` of campaign `seed` on `design`; null if it passes, else the line that names why it failed. */
export function checkCase(design: Design, seed: number, index: number): string | null {
  const where = `case ${index} of seed ${seed}`;
  try {
    const r = runCase(generateCase(design, seed, index));
    if (r.verdict === 'pass') return null;
    const f = r.failure!;
    return `killed-by: violation ${f.inv} in ${where}, op ${f.opIndex} (${f.opKind}) at ${f.step}: ${f.message}`;
  } catch (e) {
    return `killed-by: exception in ${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}
