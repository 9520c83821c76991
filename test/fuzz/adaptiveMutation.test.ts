// --mutate auto (issue 12): the share of mutated cases follows the new coverage each arm brought in the
// epochs committed before a snapshot. The rule (epochShare) on hand-made records, then campaigns: the share
// moves, and the files saved stay the same for any worker count, batch size and --resume. Seeds are in the
// test names.
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../../src/model/config.js';
import { campaignLayout, readCampaignState } from '../../src/fuzz/campaignState.js';
import { type CampaignOptions, type CampaignSummary, runCampaign } from '../../src/fuzz/coordinator.js';
import { defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { ADAPTIVE_MAX, ADAPTIVE_MIN, ADAPTIVE_START, ADAPTIVE_WINDOW, EPOCH, type EpochYield, epochShare, mutationOf, YIELDS_KEPT } from '../../src/fuzz/pool.js';
import { stableSummary } from '../helpers/campaign.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const auto = mutationOf('auto')!;
const y = (epoch: number, cases: number, mutated: number, fromMutated: number, fromGenerated: number): EpochYield => ({ epoch, cases, mutated, fromMutated, fromGenerated });

describe('epochShare: the share an epoch mutates', () => {
  it('a fixed --mutate S is S whatever the record', () => {
    expect(epochShare(mutationOf(0.5)!, 9, [y(7, EPOCH, 256, 100, 0)])).toBe(0.5);
  });

  it('starts at ADAPTIVE_START while no epoch before the snapshot has mutated cases', () => {
    expect(auto.share).toBe(ADAPTIVE_START);
    expect(epochShare(auto, 1, [])).toBe(ADAPTIVE_START);
    // epoch 2's snapshot sees epoch 0 only, which is generated
    expect(epochShare(auto, 2, [y(0, EPOCH, 0, 0, 300), y(1, EPOCH, 128, 40, 10)])).toBe(ADAPTIVE_START);
  });

  it('moves toward the arm that brought more new coverage per case, within its bounds', () => {
    // mutated cases: 40 features in 128 cases; generated: 10 in 384
    const toMutation = epochShare(auto, 3, [y(1, EPOCH, 128, 40, 10)]);
    expect(toMutation).toBeGreaterThan(0.5);
    expect(toMutation).toBeLessThanOrEqual(ADAPTIVE_MAX);
    const toGeneration = epochShare(auto, 3, [y(1, EPOCH, 128, 4, 90)]);
    expect(toGeneration).toBeLessThan(0.5);
    expect(toGeneration).toBeGreaterThanOrEqual(ADAPTIVE_MIN);
    // even rates, or nothing found by either: half and half
    expect(epochShare(auto, 3, [y(1, 2 * 256, 256, 31, 31)])).toBe(0.5);
    expect(epochShare(auto, 3, [y(1, 2 * 256, 256, 0, 0)])).toBe(0.5);
    // twice the coverage per case once each rate is shrunk toward the common one (30 and 10 features in 256
    // cases each: (30 + 10/4) / 384 against (10 + 10/4) / 384): four fifths, squared rates
    expect(epochShare(auto, 3, [y(1, 2 * 256, 256, 30, 10)])).toBeCloseTo(0.8, 12);
    expect(epochShare(auto, 3, [y(1, 2 * 256, 256, 10, 30)])).toBeCloseTo(0.2, 12);
    // an arm that ran few cases is judged mostly by the common rate: 1 feature in 10 mutated cases against
    // 20 in 2000 generated ones is not a tenfold lead (which would give the bound)
    const few = epochShare(auto, 3, [y(1, 2010, 10, 1, 20)]);
    expect(few).toBeGreaterThan(0.5);
    expect(few).toBeLessThan(0.8);
    // one arm bringing everything stays inside the bounds
    expect(epochShare(auto, 3, [y(1, 100_000, 50_000, 50_000, 0)])).toBe(ADAPTIVE_MAX);
    expect(epochShare(auto, 3, [y(1, 100_000, 50_000, 0, 50_000)])).toBe(ADAPTIVE_MIN);
  });

  it('reads the ADAPTIVE_WINDOW epochs up to epoch-2 only: not the epoch before (its cases may still run), not older ones', () => {
    const k = 10;
    const inWindow = [y(k - 2, EPOCH, 256, 10, 10)];
    const base = epochShare(auto, k, inWindow);
    expect(epochShare(auto, k, [...inWindow, y(k - 1, EPOCH, 256, 500, 0), y(k, EPOCH, 256, 500, 0)])).toBe(base);
    expect(epochShare(auto, k, [y(k - 2 - ADAPTIVE_WINDOW, EPOCH, 256, 0, 500), ...inWindow])).toBe(base);
    expect(epochShare(auto, k, [y(k - 1 - ADAPTIVE_WINDOW, EPOCH, 256, 0, 500), ...inWindow])).toBeLessThan(base);
  });
});

const design: Design = resolveDesign({ guardsOff: ['G2'] }, 'design', CAMPAIGN_DEFAULTS);
const space = defaultDesignSpace(design);
const CASES = 7 * EPOCH;

function folder(root = tempDir()) {
  const l = campaignLayout(join(root, 'out'));
  return { l, o: { crashesDir: l.crashes, corpusDir: l.corpus, findingsDir: l.findings, stateFile: l.state, warn: () => {} } satisfies Partial<CampaignOptions> };
}
const saved = (l: ReturnType<typeof campaignLayout>) => ({ crashes: filesIn(l.crashes), corpus: filesIn(l.corpus), findings: filesIn(l.findings) });
/** The stable summary, with finding files named without their folder. */
const stable = (s: CampaignSummary) => ({ ...stableSummary(s), findings: s.findings.map((f) => ({ ...f, file: basename(f.file) })) });

describe(`campaigns with --mutate auto (seed 13, ${CASES} cases, G2 off, default design space)`, () => {
  it('the share moves off its start, and 1 or 2 workers, any batch size and a --resume save the same files', async () => {
    const base = { design, space, seed: 13, mutation: auto };
    const one = folder();
    const s1 = await runCampaign({ ...base, ...one.o, workers: 1, cases: CASES });
    const two = folder();
    const s2 = await runCampaign({ ...base, ...two.o, workers: 2, batchSize: 16, cases: CASES });
    expect(Object.keys(saved(one.l).crashes).length).toBeGreaterThan(0);
    expect(saved(two.l)).toEqual(saved(one.l));
    expect(stable(s2)).toEqual(stable(s1));
    expect(s2.mutationShare).toBe(s1.mutationShare);
    // campaign.json keeps the record: every epoch's cases, the mutated ones counted as the summary counts them
    const state = readCampaignState(one.l.state)!;
    expect(state.identity.mutation).toEqual(auto);
    const yields = state.progress.yields!;
    expect(yields.length).toBe(Math.min(YIELDS_KEPT, CASES / EPOCH));
    expect(yields.map((e) => [e.epoch, e.cases])).toEqual(yields.map((_, k) => [k, EPOCH]));
    expect(yields.reduce((n, e) => n + e.mutated, 0)).toBe(s1.mutated);
    expect(yields[0].mutated).toBe(0); // the first epoch is generated
    expect(yields.some((e) => e.fromMutated > 0)).toBe(true);
    // the shares it set: the last one is the summary's, and they moved with the record
    const shares = yields.slice(1).map((e) => epochShare(auto, e.epoch, yields));
    expect(shares[0]).toBe(ADAPTIVE_START);
    expect(shares.at(-1)).toBe(s1.mutationShare);
    expect(new Set(shares).size).toBeGreaterThan(1);
    for (const x of shares) expect(x >= ADAPTIVE_MIN && x <= ADAPTIVE_MAX).toBe(true);
    // interrupted after the share has moved (mid-epoch), resumed on another worker count
    const split = folder();
    const cut = 5 * EPOCH + 100;
    await runCampaign({ ...base, ...split.o, workers: 2, cases: cut });
    const resumed = await runCampaign({ ...base, ...split.o, workers: 1, batchSize: 40, cases: CASES, resume: readCampaignState(split.l.state)!.progress });
    expect(resumed.cases).toBe(CASES - cut);
    expect(saved(split.l)).toEqual(saved(one.l));
    expect(resumed.mutationShare).toBe(s1.mutationShare);
  });
});
