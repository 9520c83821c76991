// First failure fast (issue 14): the first batches run in the main thread until a worker thread is up,
// ramped up from one case, a main-thread batch ends at its first failure, failures are minimised as soon as
// a batch reports them, and the corpus is seeded in the pool meanwhile. None of it may change what a
// campaign saves: the same files and summary as a campaign run wholly in one worker thread.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../../src/model/config.js';
import { EPOCH, mutationOf } from '../../src/fuzz/pool.js';
import { type CampaignOutcome, campaignIn, stableSummary } from '../helpers/campaign.js';

const SEED = 1;
const CASES = 1100; // three epochs: the main thread's batches cross the first boundary
const MAIN_UNTIL = 700;
// What `tdxfuzz fuzz --guard-off G1` runs, with the regression corpus read (its G1 case fails: no parent to wait for).
const design: Design = resolveDesign({ guardsOff: ['G1'] }, 'design', CAMPAIGN_DEFAULTS);
const regression = join(import.meta.dirname, '..', '..', 'corpus', 'regression');
const mutation = mutationOf(0.5)!;

describe(`campaign seed ${SEED}, ${CASES} cases, guards off G1, mutation share ${mutation.share}, regression corpus read`, () => {
  const batches: { start: number; count: number; mainThread: boolean }[] = [];
  let pool: CampaignOutcome;
  let main: CampaignOutcome;
  const workersStart: { pool?: number; main?: number } = {};

  it('saves the same files and summary whether the first cases run in the main thread or all in a worker', async () => {
    const o = { design, seed: SEED, cases: CASES, mutation, readOnlyCorpora: [regression] };
    pool = await campaignIn({ ...o, workers: 1, mainThreadStart: false, onWorkersStart: (n) => (workersStart.pool = n) });
    main = await campaignIn({ ...o, workers: 2, mainThreadUntil: MAIN_UNTIL, onBatch: (b) => batches.push(b), onWorkersStart: (n) => (workersStart.main = n) });
    expect(main.summary.cases).toBe(CASES);
    expect(Object.keys(pool.crashes).length).toBeGreaterThan(0);
    expect(main.crashes).toEqual(pool.crashes);
    expect(main.corpus).toEqual(pool.corpus);
    expect(stableSummary(main.summary)).toEqual(stableSummary(pool.summary));
    expect(pool.summary.mutated).toBeGreaterThan(0); // the epoch after the first two mutates what they found
  });

  it('the main thread ran the first batches, ramped up from one case, each within one epoch', () => {
    const here = batches.filter((b) => b.mainThread);
    expect(here.length).toBeGreaterThan(0);
    expect(batches.filter((b) => b.start < MAIN_UNTIL).every((b) => b.mainThread)).toBe(true);
    expect(batches.slice(0, 4).map((b) => b.count)).toEqual([1, 2, 4, 8]);
    for (const b of batches) expect((b.start % EPOCH) + b.count).toBeLessThanOrEqual(EPOCH);
    expect(batches.some((b) => b.start < EPOCH && b.start + b.count === EPOCH)).toBe(true); // a batch was cut at the boundary
  });

  it('the worker threads start once the main thread has run its first 128 cases (at once without it)', () => {
    expect(workersStart.pool).toBe(0);
    expect(workersStart.main).toBeGreaterThanOrEqual(128);
    expect(workersStart.main).toBeLessThan(256); // the batch that crossed 128 cases
  });

  it('a main-thread batch ends at its first failure and the next one starts after it', () => {
    const cut = batches.findIndex((b, i) => i + 1 < batches.length && b.mainThread && batches[i + 1].start < b.start + b.count);
    expect(cut).toBeGreaterThanOrEqual(0);
    const b = batches[cut];
    const failed = batches[cut + 1].start - 1;
    expect(failed).toBeGreaterThanOrEqual(b.start);
    // the case it ended at failed: the first failure of the campaign is at or before it
    expect(main.summary.firstFailure!.caseIndex).toBeLessThanOrEqual(failed);
    // every case ran exactly once: consecutive batches leave no gap
    for (let i = 1; i < batches.length; i++) expect(batches[i].start).toBeLessThanOrEqual(batches[i - 1].start + batches[i - 1].count);
  });
});

// G8b's regression case passes (a performance variant, without --fail-on perf): it is a starting parent. The
// first epoch is generated without waiting for it; the second waits only for the corpus cases up to it.
describe(`campaign seed ${SEED}, 800 cases, guards off G8b, mutation share ${mutation.share}, regression corpus read`, () => {
  it('mutates its starting parent from the second epoch, the same way in the main thread and in the pool', async () => {
    const g8b: Design = resolveDesign({ guardsOff: ['G8b'] }, 'design', CAMPAIGN_DEFAULTS);
    const o = { design: g8b, seed: SEED, cases: 800, mutation, readOnlyCorpora: [regression] };
    const pool = await campaignIn({ ...o, workers: 1, mainThreadStart: false });
    const main = await campaignIn({ ...o, workers: 2, mainThreadUntil: 600 });
    expect(pool.summary.mutated).toBeGreaterThan(0.4 * (800 - EPOCH)); // about half of cases 512-799, all from the regression case
    expect(pool.summary.mutated).toBeLessThan(0.6 * (800 - EPOCH));
    expect(main.crashes).toEqual(pool.crashes);
    expect(main.corpus).toEqual(pool.corpus);
    expect(stableSummary(main.summary)).toEqual(stableSummary(pool.summary));
  });
});

// G19's first failure with seed 1 is case 1284, found by the main thread (it runs every batch here) long after
// the worker threads are up: its minimisation runs in the main thread, whose code is warm, not in a worker.
describe(`campaign seed ${SEED}, 1300 cases, guards off G19, no mutation`, () => {
  it('minimises the first failure in the main thread that found it, with the same result as the pool', async () => {
    const g19: Design = resolveDesign({ guardsOff: ['G19'] }, 'design', CAMPAIGN_DEFAULTS);
    const o = { design: g19, seed: SEED, cases: 1300 };
    const minimizations: { index: number; mainThread: boolean; workersUp: boolean }[] = [];
    const pool = await campaignIn({ ...o, workers: 1, mainThreadStart: false });
    const main = await campaignIn({ ...o, workers: 2, mainThreadUntil: 1300, onMinimize: (m) => minimizations.push(m) });
    expect(main.summary.firstFailure?.caseIndex).toBe(1284);
    expect(minimizations[0]).toEqual({ index: 1284, mainThread: true, workersUp: true });
    expect(main.crashes).toEqual(pool.crashes);
    expect(stableSummary(main.summary)).toEqual(stableSummary(pool.summary));
  });
});
