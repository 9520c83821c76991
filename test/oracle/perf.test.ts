// The performance oracle (src/oracle/perf.ts; model-spec.md 8 "expected 2M" predicate; BUG-8b, BUG-17b,
// BUG-18): a 2M range the design should map with one leaf but maps 4K (PERF-2M), and a range a to-private
// conversion made wholly private again whose folio stays split (INV-33). They are reported in
// RunResult.perf and fail a case only with failOnPerf (--fail-on perf).
import { describe, expect, it } from 'vitest';
import { isPerfSignature } from '../../src/fuzz/signature.js';
import { expect2M, unmergedFolios } from '../../src/oracle/perf.js';
import { accept, convert, P, Rig, run, touch } from '../helpers/model.js';

describe('expect2M: would the design ideally map this 2M range with one leaf?', () => {
  it('yes for a private range over a 2M folio of a running TD, also with a misaligned uaddr (FIXUP-4)', () => {
    for (const design of [{}, { uaddrOffset: 1 }, { uaddrOffset: 1, guardsOff: ['G17b'] }]) {
      const rig = new Rig(design);
      rig.runAll([touch(0), touch(P)]);
      expect(expect2M(rig.sys, 0), JSON.stringify(design)).toBe(true);
      expect(expect2M(rig.sys, 1), JSON.stringify(design)).toBe(true);
    }
  });

  it('no where 4K is right: GUEST_INHIBIT, a shared gfn, a split folio, no folio yet', () => {
    const inhibit = new Rig();
    inhibit.runAll([touch(0), accept(3, '4K')]);
    expect(expect2M(inhibit.sys, 0)).toBe(false);
    const shared = new Rig();
    shared.runAll([touch(0), convert(5, 6, 'shared')]);
    expect(expect2M(shared.sys, 0)).toBe(false);
    const split = new Rig();
    split.runAll([touch(0), convert(5, 6, 'shared'), convert(5, 6, 'private')]);
    expect(split.sys.gmem.orderAt(0)).toBe(split.sys.gmem.hugeOrder); // merged back (G18): 2M again
    expect(expect2M(split.sys, 0)).toBe(true);
    const unmerged = new Rig({ guardsOff: ['G18'] });
    unmerged.runAll([touch(0), convert(5, 6, 'shared'), convert(5, 6, 'private')]);
    expect(expect2M(unmerged.sys, 0)).toBe(false);
    expect(expect2M(new Rig().sys, 0)).toBe(false);
  });

  it('no when the design cannot map 2M at all: huge pages off, an old module, build time, a misaligned binding', () => {
    for (const design of [{ tdxHugePage: false }, { enhancedDemoteInterruptibility: false }, { gmemOffset: 8 }, { slotBaseGfn: 8 }]) {
      const rig = new Rig(design);
      rig.runAll([touch(P)]);
      expect(expect2M(rig.sys, 1), JSON.stringify(design)).toBe(false);
    }
    const build = new Rig({ startPhase: 'BUILD' });
    build.run({ op: 'initMemRegion', start: 0, end: 1, data: 1 });
    expect(expect2M(build.sys, 0)).toBe(false);
  });

  it('under CONTIGUITY a contiguous block counts, whatever its folios', () => {
    const rig = new Rig({ mappingRule: 'CONTIGUITY', guardsOff: ['G18'] });
    rig.runAll([touch(0), convert(5, 6, 'shared'), convert(5, 6, 'private')]);
    expect(rig.sys.gmem.orderAt(0)).toBe(0);
    expect(expect2M(rig.sys, 0)).toBe(true);
  });
});

describe('unmergedFolios: INV-33 after a to-private conversion', () => {
  const wasShared = (gfns: number[]) => (g: number) => gfns.includes(g);

  it('names a range made wholly private again whose hugetlb folio stays split (G18 off)', () => {
    const rig = new Rig({ guardsOff: ['G18'] });
    rig.runAll([touch(0), convert(0, 1, 'shared'), convert(0, 1, 'private')]);
    expect(unmergedFolios(rig.sys, 0, 1, wasShared([0]))).toBe('2M range 0 is private again but its hugetlb folio stays split (FIXUP-3 merge missing)');
    // not this conversion's business when none of its gfns was shared before it
    expect(unmergedFolios(rig.sys, 0, 1, wasShared([]))).toBeNull();
  });

  it('is null when merged (G18 on), while part of the range is still shared, under CONTIGUITY, or with 4K backing', () => {
    const merged = new Rig();
    merged.runAll([touch(0), convert(0, 1, 'shared'), convert(0, 1, 'private')]);
    expect(unmergedFolios(merged.sys, 0, 1, wasShared([0]))).toBeNull();
    const partial = new Rig({ guardsOff: ['G18'] });
    partial.runAll([touch(0), convert(0, 2, 'shared'), convert(0, 1, 'private')]);
    expect(unmergedFolios(partial.sys, 0, 1, wasShared([0]))).toBeNull();
    for (const design of [{ mappingRule: 'CONTIGUITY', guardsOff: ['G18'] }, { backing: '4K', guardsOff: ['G18'] }]) {
      const rig = new Rig(design);
      rig.runAll([touch(0), convert(0, 1, 'shared'), convert(0, 1, 'private')]);
      expect(unmergedFolios(rig.sys, 0, 1, wasShared([0])), JSON.stringify(design)).toBeNull();
    }
  });
});

describe('performance findings in runCase', () => {
  const g8b = [touch(0), accept(0, '2M'), touch(P), accept(P, '2M')];
  const msg = (r: number) => `PERF-2M: a 4K table is linked for 2M range ${r}, which the design should map with one 2M leaf`;

  it('are reported in RunResult.perf, one per table linked where 2M was expected, and the case passes', () => {
    const r = run({ guardsOff: ['G8b'] }, g8b);
    expect(r.verdict).toBe('pass');
    expect(r.signature).toBeNull();
    expect(r.perf).toEqual([msg(0), msg(1)]);
  });

  it('fail the case with failOnPerf, at the op that found the first one, with a performance signature', () => {
    const r = run({ guardsOff: ['G8b'] }, g8b, { failOnPerf: true });
    expect(r.verdict).toBe('fail');
    expect(r.signature).toBe('PERF-2M@touch');
    expect(r.failure!.opIndex).toBe(0);
    expect(r.failure!.step).toBe('end of op');
    expect(r.opsRun).toBe(1);
    expect(isPerfSignature(r.signature)).toBe(true);
    expect(isPerfSignature('INV-33@convert')).toBe(true);
    expect(isPerfSignature('INV-3@touch')).toBe(false);
    expect(isPerfSignature(null)).toBe(false);
  });

  it('a safety failure is not a performance one: G17 off fails without failOnPerf', () => {
    const r = run({ gmemOffset: 8, guardsOff: ['G17'] }, [touch(0)]);
    expect(r.signature).toBe('INV-3@touch');
    expect(isPerfSignature(r.signature)).toBe(false);
  });

  it('the correct design reports none over a mixed workload, even with failOnPerf', () => {
    const ops = [touch(0), accept(3, '4K'), touch(P), accept(P, '2M'), convert(P, P + 1, 'shared'), convert(P, P + 1, 'private'), touch(P + 1)];
    const r = run({}, ops, { failOnPerf: true });
    expect(r.verdict).toBe('pass');
    expect(r.perf).toEqual([]);
  });
});
