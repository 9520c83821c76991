// Campaign determinism: with --cases N the saved crash and corpus files must not depend on the number of
// workers or the batch size (architecture principle 3). The seed is printed by the test names.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../../src/model/config.js';
import { loadCase } from '../../src/fuzz/case.js';
import { type CampaignOptions, runCampaign } from '../../src/fuzz/coordinator.js';
import { runCase } from '../../src/fuzz/run.js';
import { defaultDesignSpace, designDiff, parseDesignSpace } from '../../src/fuzz/designSpace.js';
import { filesIn, tempDir } from '../helpers/tmp.js';
import { type CampaignOutcome, campaignIn, stableSummary } from '../helpers/campaign.js';

const SEED = 7;
const CASES = 5000;
// What `tdxfuzz fuzz --seed 7 --cases 5000 --guard-off G2` runs: the campaign defaults with G2 off.
const design: Design = resolveDesign({ guardsOff: ['G2'] }, 'design', CAMPAIGN_DEFAULTS);

type Outcome = CampaignOutcome;

const campaign = (o: Partial<CampaignOptions> & { workers: number }): Promise<Outcome> => campaignIn({ design, seed: SEED, cases: CASES, ...o });

describe(`campaign seed ${SEED}, ${CASES} cases, guards off G2`, () => {
  let one: Outcome;
  let two: Outcome;

  it('runs every case once with 1 worker and with 2 workers', async () => {
    one = await campaign({ workers: 1 });
    two = await campaign({ workers: 2 });
    expect(one.summary.cases).toBe(CASES);
    expect(two.summary.cases).toBe(CASES);
    expect(one.summary.interrupted).toBe(false);
  });

  it('saves identical crash files (names and contents) and corpus files with 1 and 2 workers', () => {
    expect(Object.keys(two.crashes)).toEqual(Object.keys(one.crashes));
    expect(two.crashes).toEqual(one.crashes);
    expect(Object.keys(two.corpus)).toEqual(Object.keys(one.corpus));
    expect(two.corpus).toEqual(one.corpus);
    expect(stableSummary(two.summary)).toEqual(stableSummary(one.summary));
  });

  it('finds at least one failure with G2 off (otherwise the comparison above proves little)', () => {
    expect(Object.keys(one.crashes).length).toBeGreaterThan(0);
    expect(one.summary.uniqueFailures.length).toBe(Object.keys(one.crashes).length);
  });

  it('does not depend on the batch size', async () => {
    const small = await campaign({ workers: 2, batchSize: 8 });
    const large = await campaign({ workers: 2, batchSize: 1000 });
    expect(small.crashes).toEqual(one.crashes);
    expect(large.crashes).toEqual(one.crashes);
    expect(small.corpus).toEqual(one.corpus);
    expect(large.corpus).toEqual(one.corpus);
  });

  it('saves files that replay to the verdict they record', () => {
    const files = [
      ...Object.keys(one.crashes).map((n) => join(one.crashesDir, n)),
      ...Object.keys(one.corpus).map((n) => join(one.corpusDir, n)),
    ];
    for (const f of files) {
      const c = loadCase(f);
      const r = runCase(c);
      expect({ file: f, verdict: r.verdict, signature: r.signature ?? undefined }).toEqual({ file: f, ...c.expect });
    }
  });
});

// What `tdxfuzz fuzz --seed 7 --cases 2000 --guard-off G2` runs by default: each case's deployment settings
// drawn from (seed, index). The files must still not depend on the worker count.
describe(`campaign seed ${SEED}, 2000 cases, guards off G2, default design space`, () => {
  const space = defaultDesignSpace(design);
  let one: Outcome;
  let two: Outcome;

  it('saves identical crash and corpus files with 1 and 2 workers', async () => {
    one = await campaign({ workers: 1, cases: 2000, space });
    two = await campaign({ workers: 2, cases: 2000, space, batchSize: 16 });
    expect(one.summary.cases).toBe(2000);
    expect(Object.keys(one.crashes).length).toBeGreaterThan(0);
    expect(two.crashes).toEqual(one.crashes);
    expect(two.corpus).toEqual(one.corpus);
    expect(stableSummary(two.summary)).toEqual(stableSummary(one.summary));
    expect(two.summary.uniqueFailures.map((u) => u.design)).toEqual(one.summary.uniqueFailures.map((u) => u.design));
  });

  it('really varies the design: saved cases run deployments other than the campaign design, and name them', () => {
    const designs = Object.keys(one.corpus).map((n) => loadCase(join(one.corpusDir, n)).design);
    const varied = designs.filter((d) => Object.keys(designDiff(d, design)).length > 0);
    expect(varied.length).toBeGreaterThan(0);
    expect(varied.length).toBeLessThan(designs.length);
    for (const u of one.summary.uniqueFailures) expect(u.design).toEqual(designDiff(loadCase(u.file).design, design));
    expect(one.summary.designSpace?.source).toBe('default deployments');
  });

  it('a design-space file is sampled the same way with 1 and 2 workers', async () => {
    const fileSpace = parseDesignSpace({ refcountPolicy: ['NONE', 'HOLD_ON_ZAP_FAILURE'], conversionOrder: ['V3_ZAP_THEN_SPLIT', 'SEPT_SPLIT_FIRST'] }, 'space.json', design);
    const a = await campaign({ workers: 1, cases: 1000, space: fileSpace });
    const b = await campaign({ workers: 2, cases: 1000, space: fileSpace });
    expect(b.crashes).toEqual(a.crashes);
    expect(b.corpus).toEqual(a.corpus);
    const policies = new Set(Object.keys(a.corpus).map((n) => loadCase(join(a.corpusDir, n)).design.refcountPolicy));
    expect(policies).toEqual(new Set(['NONE', 'HOLD_ON_ZAP_FAILURE']));
  });
});

describe('campaign state across runs', () => {
  it('a repeated campaign adds no corpus cases and reports its failures as known', async () => {
    const root = tempDir();
    const o: CampaignOptions = { design, seed: 3, cases: 1500, workers: 2, crashesDir: join(root, 'crashes'), corpusDir: join(root, 'corpus'), warn: () => {} };
    const first = await runCampaign(o);
    const crashes = filesIn(o.crashesDir);
    const second = await runCampaign(o);
    expect(second.corpusAdded).toBe(0);
    expect(second.corpusSeeded).toBe(first.corpusAdded);
    expect(second.uniqueFailures).toEqual([]);
    expect(second.knownFailures.map((k) => k.signature)).toEqual(first.uniqueFailures.map((u) => u.signature));
    expect(filesIn(o.crashesDir)).toEqual(crashes);
  });

  it('skips unreadable corpus files with a warning', async () => {
    const root = tempDir();
    const corpusDir = join(root, 'corpus');
    mkdirSync(corpusDir);
    writeFileSync(join(corpusDir, 'broken.json'), '{"format":"tdxfuzz-case","version":99,"ops":[]}');
    const warnings: string[] = [];
    const s = await runCampaign({ design, seed: 1, cases: 50, workers: 1, crashesDir: join(root, 'crashes'), corpusDir, warn: (m) => warnings.push(m) });
    expect(s.cases).toBe(50);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('broken.json: version: unsupported case format version 99');
  });
});

describe('stopping a campaign', () => {
  it('an abort before the start runs nothing', async () => {
    const root = tempDir();
    const ac = new AbortController();
    ac.abort();
    const s = await runCampaign({ design, seed: 1, workers: 2, crashesDir: join(root, 'k'), corpusDir: join(root, 'c'), signal: ac.signal, warn: () => {} });
    expect(s.interrupted).toBe(true);
    expect(s.cases).toBe(0);
  });

  it('an abort mid-campaign finishes the work in flight and saves every failure found', async () => {
    const root = tempDir();
    const crashesDir = join(root, 'crashes');
    const ac = new AbortController();
    // No --cases, no --duration: runs until aborted, here once the counters show progress.
    const s = await runCampaign({
      design,
      seed: 11,
      workers: 2,
      crashesDir,
      corpusDir: join(root, 'corpus'),
      warn: () => {},
      signal: ac.signal,
      onProgress: (p) => {
        if (p.cases >= 2000) ac.abort();
      },
    });
    expect(s.interrupted).toBe(true);
    expect(s.cases).toBeGreaterThanOrEqual(2000);
    expect(Object.keys(filesIn(crashesDir))).toHaveLength(s.uniqueFailures.length);
    for (const u of s.uniqueFailures) {
      const c = loadCase(u.file);
      expect(runCase(c).signature).toBe(u.signature);
    }
  });
});

// 600 cases: with damage first a G20 campaign has many more unique failures to minimise (structural INV-1/2
// and the damage after them), and 1500 cases took over two minutes on a loaded 2-core machine
describe(`campaign seed ${SEED}, 600 cases, guards off G20, concurrency on`, () => {
  const g20: Design = resolveDesign({ guardsOff: ['G20'] }, 'design', CAMPAIGN_DEFAULTS);
  const concurrency = { share: 0.7, schedule: 'mix' as const };

  it('saves identical crash and corpus files with 1 and 2 workers, and the crashes carry actors and recorded switches', async () => {
    const one = await campaign({ workers: 1, cases: 600, design: g20, concurrency });
    const two = await campaign({ workers: 2, cases: 600, design: g20, concurrency, batchSize: 16 });
    expect(Object.keys(one.crashes).length).toBeGreaterThan(0);
    expect(two.crashes).toEqual(one.crashes);
    expect(two.corpus).toEqual(one.corpus);
    expect(stableSummary(two.summary)).toEqual(stableSummary(one.summary));
    expect(two.summary.busyUninjected).toBe(one.summary.busyUninjected);
    const concurrent = Object.keys(one.crashes).map((n) => loadCase(join(one.crashesDir, n))).filter((c) => c.actors);
    expect(concurrent.length).toBeGreaterThan(0);
    for (const c of concurrent) {
      expect(Array.isArray(c.schedule)).toBe(true); // switch points, not a policy
      expect(runCase(c).signature).toBe(c.expect!.signature);
    }
  }, 240_000);
});
