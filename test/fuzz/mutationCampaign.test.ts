// Campaign determinism with mutation on (issue 12): a mutated case's parents come from the pool snapshot of
// its epoch, so the saved crash and corpus files must not depend on the worker count or the batch size.
// The seed is printed by the test names.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../../src/model/config.js';
import { loadCase } from '../../src/fuzz/case.js';
import { type CampaignOptions, type CampaignSummary, runCampaign } from '../../src/fuzz/coordinator.js';
import { EPOCH, mutationOf } from '../../src/fuzz/pool.js';
import { runCase } from '../../src/fuzz/run.js';
import { filesIn, tempDir } from '../helpers/tmp.js';
import { campaignIn } from '../helpers/campaign.js';

const SEED = 7;
const CASES = 2000;
const design: Design = resolveDesign({ guardsOff: ['G2'] }, 'design', CAMPAIGN_DEFAULTS);
const mutation = mutationOf(0.5)!;

const campaign = (o: Partial<CampaignOptions> & { workers: number }) => campaignIn({ design, seed: SEED, cases: CASES, ...o });

function stable(s: CampaignSummary) {
  return { cases: s.cases, mutated: s.mutated, ops: s.ops, steps: s.steps, failingCases: s.failingCases, unique: s.uniqueFailures.map((u) => [u.signature, u.ops, u.caseIndex]), corpusAdded: s.corpusAdded, coverage: s.coverage };
}

describe(`campaign seed ${SEED}, ${CASES} cases, guards off G2, mutation share ${mutation.share}`, () => {
  let one: Awaited<ReturnType<typeof campaign>>;

  it('saves identical crash and corpus files with 1 and 2 workers and any batch size', async () => {
    expect(CASES).toBeGreaterThan(3 * EPOCH); // several epochs, so later ones mutate what earlier ones found
    one = await campaign({ workers: 1, mutation });
    const two = await campaign({ workers: 2, mutation, batchSize: 16 });
    const big = await campaign({ workers: 2, mutation, batchSize: 1000 });
    expect(Object.keys(one.crashes).length).toBeGreaterThan(0);
    expect(two.crashes).toEqual(one.crashes);
    expect(two.corpus).toEqual(one.corpus);
    expect(stable(two.summary)).toEqual(stable(one.summary));
    expect(big.corpus).toEqual(one.corpus);
    expect(stable(big.summary)).toEqual(stable(one.summary));
  });

  it('mutates about the share asked once the pool has entries, and saves mutated cases that replay', () => {
    const s = one.summary;
    // epochs 0 and 1 draw from the (empty) starting corpus: all generated
    expect(s.mutated).toBeGreaterThan(0.4 * (CASES - 2 * EPOCH));
    expect(s.mutated).toBeLessThan(0.6 * (CASES - 2 * EPOCH));
    const mutated = Object.keys(one.corpus).map((n) => loadCase(join(one.corpusDir, n))).filter((c) => c.provenance?.note?.startsWith('mutated'));
    expect(mutated.length).toBeGreaterThan(0);
    for (const c of mutated) {
      expect(c.provenance!.caseIndex).toBeGreaterThanOrEqual(2 * EPOCH);
      expect(runCase(c).verdict).toBe('pass');
    }
    for (const n of Object.keys(one.crashes)) {
      const c = loadCase(join(one.crashesDir, n));
      expect(runCase(c).signature).toBe(c.expect!.signature);
    }
  });

  it('the first epoch is generated as with --mutate 0, a starting corpus or not: the same failures, corpus and coverage', async () => {
    const regression = join(import.meta.dirname, '..', '..', 'corpus', 'regression');
    const m = await campaign({ workers: 2, mutation, cases: EPOCH, readOnlyCorpora: [regression, one.corpusDir] });
    const g = await campaign({ workers: 2, mutation: null, cases: EPOCH, readOnlyCorpora: [regression, one.corpusDir] });
    expect(m.summary.mutated).toBe(0);
    expect(Object.keys(m.crashes).length).toBeGreaterThan(0);
    expect(m.crashes).toEqual(g.crashes);
    expect(m.corpus).toEqual(g.corpus);
    expect(stable(m.summary)).toEqual(stable(g.summary));
  });

  it('a starting corpus is mutated from the second epoch (the first is generated), the same way with 1 and 2 workers', async () => {
    const a = await campaign({ workers: 1, mutation, cases: 900, readOnlyCorpora: [one.corpusDir] });
    const b = await campaign({ workers: 2, mutation, cases: 900, readOnlyCorpora: [one.corpusDir], batchSize: 8 });
    expect(a.summary.mutated).toBeGreaterThan(0.4 * (900 - EPOCH));
    expect(a.summary.mutated).toBeLessThan(0.6 * (900 - EPOCH));
    for (const n of Object.keys(a.corpus)) {
      const c = loadCase(join(a.corpusDir, n));
      if (c.provenance?.note?.startsWith('mutated')) expect(c.provenance.caseIndex).toBeGreaterThanOrEqual(EPOCH);
    }
    expect(b.corpus).toEqual(a.corpus);
    expect(b.crashes).toEqual(a.crashes);
    expect(stable(b.summary)).toEqual(stable(a.summary));
  });
});

describe('what a campaign mutates: parents with its own guards, and with several actors only under --concurrency', () => {
  it('the regression corpus (known-bug variants with guards off, concurrent cases) gives a default campaign no parent of either kind', async () => {
    const ROOT = join(import.meta.dirname, '..', '..');
    const regression = join(ROOT, 'corpus', 'regression');
    const withGuardsOff = Object.keys(filesIn(regression)).map((n) => loadCase(join(regression, n))).filter((c) => c.design.guardsOff.length > 0 && runCase(c).verdict === 'pass');
    const concurrent = Object.keys(filesIn(regression)).map((n) => loadCase(join(regression, n))).filter((c) => c.actors && runCase(c).verdict === 'pass');
    expect(withGuardsOff.length).toBeGreaterThan(0); // BUG-8b and the other performance variants pass without --fail-on perf
    expect(concurrent.length).toBeGreaterThan(0);
    const root = tempDir();
    const s = await runCampaign({ design: CAMPAIGN_DEFAULTS, seed: 3, cases: 900, workers: 1, mutation, readOnlyCorpora: [regression], crashesDir: join(root, 'crashes'), corpusDir: join(root, 'corpus'), warn: () => {} });
    expect(s.mutated).toBeGreaterThan(0.4 * (900 - EPOCH));
    const saved = Object.keys(filesIn(join(root, 'corpus'))).map((n) => loadCase(join(root, 'corpus', n)));
    expect(saved.some((c) => c.provenance?.note?.startsWith('mutated'))).toBe(true);
    for (const c of saved) {
      expect(c.design.guardsOff).toEqual([]);
      expect(c.actors).toBeUndefined();
    }
    expect(s.uniqueFailures).toEqual([]);
  });
});
