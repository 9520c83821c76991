// runCase is deterministic and the generator is a pure function of (design, seed, index); the correct
// design passes a batch of generated cases, and switching a guard off is found quickly.
import { describe, expect, it } from 'vitest';
import { type Case, parseCase } from '../../src/fuzz/case.js';
import { generateCase, GENERATOR_VERSION } from '../../src/fuzz/generate.js';
import { runCase } from '../../src/fuzz/run.js';
import { resolveDesign } from '../../src/model/config.js';

const SEED = Number(process.env.TDXFUZZ_TEST_SEED ?? 20260106);

function same(c: Case) {
  const a = runCase(c);
  const b = runCase(c);
  expect(b.verdict).toBe(a.verdict);
  expect(b.signature).toBe(a.signature);
  expect(b.traceHash).toBe(a.traceHash);
  expect(b.features).toEqual(a.features);
  expect(b.steps).toBe(a.steps);
  expect(b.opsRun).toBe(a.opsRun);
  expect(b.failure).toEqual(a.failure);
  return a;
}

describe('runCase determinism', () => {
  it('a hand-written case gives identical results twice, with and without a trace', () => {
    const c = parseCase({
      format: 'tdxfuzz-case',
      version: 1,
      design: { ptrs: 16 },
      ops: [
        { op: 'touch', gfn: 0 },
        { op: 'accept', gfn: 3, level: '4K' },
        { op: 'convert', start: 0, end: 2, to: 'shared', faults: [{ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 1, status: 'TDX_OPERAND_BUSY' }] },
        { op: 'touch', gfn: 3, write: 9 },
      ],
    });
    const a = same(c);
    expect(a.verdict).toBe('pass');
    expect(a.traceHash).toMatch(/^[0-9a-f]{8}$/);
    expect(a.features.length).toBeGreaterThan(0);
    expect([...a.features]).toEqual([...a.features].sort((x, y) => x - y));
    const t = runCase(c, { trace: true });
    expect(t.traceHash).toBe(a.traceHash); // keeping lines does not change the hash
    expect(t.features).toEqual(a.features);
    expect(a.trace).toBeUndefined();
    expect(t.trace!.length).toBeGreaterThan(0);
  });

  it('a failing case gives identical verdict, signature, traceHash and features twice', () => {
    const d = resolveDesign({ ptrs: 16, guardsOff: ['G1'] });
    let found = 0;
    for (let i = 0; i < 200 && found < 5; i++) {
      const c = generateCase(d, SEED, i);
      const a = same(c);
      if (a.verdict === 'fail') found++;
    }
    expect(found).toBeGreaterThan(0);
  });

  it('different cases give different trace hashes', () => {
    const d = resolveDesign({ ptrs: 16 });
    const hashes = new Set<string>();
    for (let i = 0; i < 50; i++) hashes.add(runCase(generateCase(d, SEED, i)).traceHash);
    expect(hashes.size).toBeGreaterThan(45);
  });
});

describe('generateCase', () => {
  const d = resolveDesign({ ptrs: 16 });
  it('is a pure function of (design, seed, index)', () => {
    for (let i = 0; i < 20; i++) expect(generateCase(d, SEED, i)).toEqual(generateCase(d, SEED, i));
  });
  it('differs across indices and seeds', () => {
    const ops = new Set<string>();
    for (let i = 0; i < 20; i++) ops.add(JSON.stringify(generateCase(d, SEED, i).ops));
    expect(ops.size).toBe(20);
    expect(generateCase(d, SEED + 1, 0).ops).not.toEqual(generateCase(d, SEED, 0).ops);
  });
  it('records provenance and copies the design, varying only the workload (memslot layout, start phase)', () => {
    const layouts = new Set<string>();
    const slotCounts = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const c = generateCase(d, SEED, i);
      expect(c.provenance).toEqual({ campaignSeed: SEED, caseIndex: i, generatorVersion: GENERATOR_VERSION });
      const { slotBaseGfn, gmemOffset, uaddrOffset, startPhase: _p, memslots, slotSplitGfn, ...rest } = c.design;
      const { slotBaseGfn: _b, gmemOffset: _o, uaddrOffset: _u, startPhase: _q, memslots: _m, slotSplitGfn: _s, ...want } = d;
      expect(rest).toEqual(want);
      expect(c.design).not.toBe(d);
      expect(c.design.guardsOff).not.toBe(d.guardsOff);
      layouts.add(`${slotBaseGfn}/${gmemOffset}/${uaddrOffset}`);
      // a second memslot starts inside the guest range, after the first (issue 11)
      if (memslots === 2) expect(slotSplitGfn).toBeGreaterThan(slotBaseGfn);
      else expect(slotSplitGfn).toBe(0);
      slotCounts.add(memslots);
    }
    expect(layouts.has('0/0/0')).toBe(true); // most cases keep the aligned slot
    expect(layouts.size).toBeGreaterThan(3); // and some are misaligned
    expect([...slotCounts].sort()).toEqual([1, 2]); // and some cut the guest range into two memslots
  });
  it('keeps a layout the campaign design fixes', () => {
    const fixed = resolveDesign({ ptrs: 16, slotBaseGfn: 8 });
    for (let i = 0; i < 100; i++) expect(generateCase(fixed, SEED, i).design.slotBaseGfn).toBe(8);
  });
  it('keeps two memslots a campaign fixes, varying the first base only below the second', () => {
    const fixed = resolveDesign({ ptrs: 16, memslots: 2, slotSplitGfn: 8 });
    const bases = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const c = generateCase(fixed, SEED, i);
      expect([c.design.memslots, c.design.slotSplitGfn]).toEqual([2, 8]);
      expect(() => resolveDesign(c.design as unknown as Record<string, unknown>)).not.toThrow();
      bases.add(c.design.slotBaseGfn);
    }
    expect([...bases].sort((a, b) => a - b)).toEqual([0, 1]);
  });
  it('produces cases parseCase accepts unchanged', () => {
    for (let i = 0; i < 300; i++) {
      const c = generateCase(d, SEED, i);
      const p = parseCase(JSON.parse(JSON.stringify(c)));
      expect(p.ops).toEqual(c.ops);
    }
  });
});

describe(`generated cases on the default design (ptrs 16), seed ${SEED}`, () => {
  it('2000 cases all pass', () => {
    const d = resolveDesign({ ptrs: 16 });
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = runCase(generateCase(d, SEED, i));
      if (r.verdict !== 'pass') failures.push(`#${i} ${r.signature}: ${r.failure?.message}`);
    }
    expect(failures).toEqual([]);
  });

  it("with guardsOff ['G1'] some case in the first 500 fails with INV-1@convert", () => {
    const d = resolveDesign({ ptrs: 16, guardsOff: ['G1'] });
    let hit = -1;
    for (let i = 0; i < 500 && hit < 0; i++) {
      const r = runCase(generateCase(d, SEED, i));
      if (r.signature?.startsWith('INV-1@convert')) hit = i;
    }
    expect(hit).toBeGreaterThanOrEqual(0);
  });
});
