// The campaign folder through runCampaign: resume gives the same files as one uninterrupted campaign,
// findings that are not failures are counted with one example each, a model exception becomes a saved
// finding, and a worker that dies is replaced with its cases reported. Seeds are in the test names.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../../src/model/config.js';
import { loadCase } from '../../src/fuzz/case.js';
import { campaignLayout, readCampaignState } from '../../src/fuzz/campaignState.js';
import { type CampaignOptions, runCampaign } from '../../src/fuzz/coordinator.js';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { findingKinds } from '../../src/fuzz/findings.js';
import { runCase } from '../../src/fuzz/run.js';
import { readStats } from '../../src/fuzz/stats.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const design: Design = resolveDesign({ guardsOff: ['G2'] }, 'design', CAMPAIGN_DEFAULTS);
const space = defaultDesignSpace(design);

function folder(root = tempDir()) {
  const l = campaignLayout(join(root, 'out'));
  return { l, o: { crashesDir: l.crashes, corpusDir: l.corpus, findingsDir: l.findings, stateFile: l.state, statsFile: l.stats, warn: () => {} } satisfies Partial<CampaignOptions> };
}

function saved(l: ReturnType<typeof campaignLayout>) {
  return { crashes: filesIn(l.crashes), corpus: filesIn(l.corpus), findings: filesIn(l.findings) };
}

describe('resume (seed 21, 2400 cases, G2 off, default design space)', () => {
  it('1200 cases, then --resume up to 2400, saves the same files as 2400 cases in one go', async () => {
    const base = { design, space, seed: 21, workers: 2 };
    const whole = folder();
    const one = await runCampaign({ ...base, ...whole.o, cases: 2400 });
    const split = folder();
    const first = await runCampaign({ ...base, ...split.o, cases: 1200 });
    const state = readCampaignState(split.l.state);
    expect(state?.progress.next).toBe(1200);
    expect(first.nextIndex).toBe(1200);
    const second = await runCampaign({ ...base, ...split.o, cases: 2400, resume: state!.progress });
    expect(second.cases).toBe(1200);
    expect(second.campaignCases).toBe(2400);
    expect(Object.keys(saved(whole.l).crashes).length).toBeGreaterThan(0);
    expect(saved(split.l)).toEqual(saved(whole.l));
    // the summary of the whole campaign adds up from its two runs
    expect(first.failingCases + second.failingCases).toBe(one.failingCases);
    expect(first.corpusAdded + second.corpusAdded).toBe(one.corpusAdded);
    expect([...first.uniqueFailures, ...second.uniqueFailures].map((u) => u.signature)).toEqual(one.uniqueFailures.map((u) => u.signature));
    const named = (fs: typeof one.findings) => fs.map((x) => ({ ...x, file: x.file.slice(x.file.lastIndexOf('/') + 1) }));
    expect(named(second.findings)).toEqual(named(one.findings));
    // campaign.json names the campaign; stats.jsonl has records of both runs
    const end = readCampaignState(split.l.state)!;
    expect(end.identity).toMatchObject({ seed: 21, shard: null, failOnPerf: false });
    expect(end.identity.designSpace).toEqual(space);
    expect(end.progress).toMatchObject({ next: 2400, cases: 2400, pendingMinimize: [] });
    const { records, skipped } = readStats(split.l.stats);
    expect(skipped).toBe(0);
    expect(new Set(records.map((r) => r.run))).toEqual(new Set([1, 2]));
    expect(records.at(-1)).toMatchObject({ cases: 2400, corpus: Object.keys(saved(split.l).corpus).length, uniqueNew: Object.keys(saved(split.l).crashes).length });
  });
});

describe('findings that are not failures (seed 1, 1000 cases, G2 off)', () => {
  it('are counted per kind over the passing cases, with one example case each that shows the finding', async () => {
    const f = folder();
    const s = await runCampaign({ design, space, seed: 1, workers: 2, cases: 1000, ...f.o });
    const expected = new Map<string, { cases: number; first: number }>();
    for (let i = 0; i < 1000; i++) {
      const r = runCase(campaignCase(design, space, 1, i));
      if (r.verdict !== 'pass') continue;
      for (const kind of findingKinds(r).keys()) {
        const e = expected.get(kind) ?? { cases: 0, first: i };
        e.cases++;
        expected.set(kind, e);
      }
    }
    expect(expected.size, 'the first 1000 cases show findings (else this test proves little)').toBeGreaterThan(0);
    expect(new Map(s.findings.map((x) => [x.kind, { cases: x.cases, first: x.caseIndex }]))).toEqual(expected);
    expect(readdirSync(f.l.findings)).toHaveLength(expected.size);
    for (const x of s.findings) {
      const c = loadCase(x.file);
      expect(c.provenance?.caseIndex).toBe(x.caseIndex);
      const r = runCase(c);
      expect(r.verdict).toBe('pass');
      expect(findingKinds(r).has(x.kind)).toBe(true);
    }
  });
});

describe('faults of the harness', () => {
  it('an exception inside a model op becomes a saved, minimised HARNESS-EXCEPTION finding and the campaign goes on (seed 3)', async () => {
    const f = folder();
    const s = await runCampaign({ design, space: null, seed: 3, workers: 2, cases: 300, ...f.o, selfTest: { throwIn: 'punch' } });
    expect(s.cases).toBe(300);
    const u = s.uniqueFailures.find((x) => x.signature.startsWith('HARNESS-EXCEPTION@punch'));
    expect(u, JSON.stringify(s.uniqueFailures)).toBeDefined();
    const c = loadCase(u!.file);
    expect(c.expect).toEqual({ verdict: 'fail', signature: u!.signature });
    expect(c.ops.filter((o) => o.op === 'punch')).toHaveLength(1);
    expect(c.ops.length).toBeLessThan(campaignCase(design, null, 3, u!.caseIndex).ops.length);
    const r = runCase(c, { selfTestThrowIn: 'punch' });
    expect(r.signature).toBe(u!.signature);
    expect(r.failure?.message).toMatch(/^exception in the model or oracle: Error: self-test exception in punch/);
    // other failures of the campaign are still found
    expect(s.uniqueFailures.some((x) => !x.signature.startsWith('HARNESS'))).toBe(true);
  });

  it('a worker that dies is replaced; its batch is retried, and the cases that kill it every time are reported as lost (seed 4)', async () => {
    const f = folder();
    const s = await runCampaign({ design, space: null, seed: 4, workers: 2, cases: 400, batchSize: 20, ...f.o, selfTest: { exitAt: 130 } });
    expect(s.workerRestarts).toBe(2);
    expect(s.lostCases).toEqual([{ index: 120, count: 20, error: expect.any(String) }]);
    expect(s.cases).toBe(380);
    expect(s.nextIndex).toBe(400);
    expect(s.interrupted).toBe(false);
    expect(existsSync(f.l.state)).toBe(true);
  });
});
