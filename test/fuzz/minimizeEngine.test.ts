// The minimisation engine on synthetic predicates (it knows nothing about the executor), and the case
// passes and cost order on their own: ddmin finds exactly the ops a failure needs, the cache skips
// candidates already tried, the budget keeps the best value so far, faults weaken and drop by kind,
// arguments move to small values and 2M boundaries, and the design goes back to the campaign defaults.
import { describe, expect, it } from 'vitest';
import { type Case, parseCase } from '../../src/fuzz/case.js';
import { minimizeCase } from '../../src/fuzz/minimize.js';
import { caseCost, simpler } from '../../src/fuzz/minimize/cost.js';
import { chunkRemovals, type Pass, reduce, stableJson } from '../../src/fuzz/minimize/engine.js';
import { CASE_PASSES, simplerDesigns, smallerArgs, smallerGfns, weakerFaults } from '../../src/fuzz/minimize/passes.js';
import { runCase } from '../../src/fuzz/run.js';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';

/** The ddmin pass over a plain list, as the case passes use it. */
const ddmin: Pass<string[]> = function* (xs, { memo }) {
  yield* chunkRemovals(xs, memo, 1);
};
/** "Fails" iff an A comes before a B. */
const aThenB = (xs: string[]): boolean => {
  const a = xs.indexOf('A');
  return a >= 0 && xs.indexOf('B', a + 1) > a;
};

describe('reduce (synthetic predicates)', () => {
  it('ddmin finds exactly [A, B] wherever they sit in a long list', () => {
    for (const [ia, ib, n] of [[0, 1, 2], [3, 17, 40], [38, 39, 40], [0, 63, 64], [10, 11, 97]]) {
      const xs = Array.from({ length: n }, (_, i) => (i === ia ? 'A' : i === ib ? 'B' : `x${i}`));
      const r = reduce(xs, true, aThenB, [ddmin]);
      expect(r.value, `A at ${ia}, B at ${ib} of ${n}`).toEqual(['A', 'B']);
      expect(r.exhausted).toBe(false);
      expect(r.attempts).toBeLessThan(4 * n);
    }
  });

  it('stops when a second budget says it is spent (checked before each call), keeping the best value so far', () => {
    const xs = Array.from({ length: 64 }, (_, i) => (i === 5 ? 'A' : i === 50 ? 'B' : `x${i}`));
    let calls = 0;
    const r = reduce(xs, true, (x) => (calls++, aThenB(x)), [ddmin], { spent: () => calls >= 6 });
    expect(calls).toBe(6);
    expect(r.attempts).toBe(6);
    expect(r.exhausted).toBe(true);
    expect(aThenB(r.value)).toBe(true);
    expect(r.value.length).toBeLessThan(64);
  });

  it('keeps a B before the A when the failure needs B, A, B', () => {
    const need = (xs: string[]) => xs.join('').includes('BAB') || /B.*A.*B/.test(xs.join(''));
    const r = reduce(['x', 'B', 'y', 'A', 'z', 'B', 'w'], true, need, [ddmin]);
    expect(r.value).toEqual(['B', 'A', 'B']);
  });

  it('tries each candidate once (the cache) and never calls the predicate on the start value', () => {
    const calls = new Map<string, number>();
    const start = ['p', 'A', 'q', 'B', 'r'];
    const pred = (xs: string[]) => {
      const k = xs.join();
      calls.set(k, (calls.get(k) ?? 0) + 1);
      return aThenB(xs);
    };
    // the same pass twice: the second proposes nothing new
    const r = reduce(start, true, pred, [ddmin, ddmin]);
    expect(r.value).toEqual(['A', 'B']);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    expect(calls.has(start.join())).toBe(false);
    expect(r.cacheHits).toBeGreaterThan(0);
    expect(r.attempts).toBe(calls.size);
  });

  it('stops at the budget and returns the best value found so far', () => {
    const xs = Array.from({ length: 64 }, (_, i) => (i === 5 ? 'A' : i === 50 ? 'B' : `x${i}`));
    // chunks of 32 and the first of 16 lose A or B; the fourth attempt removes 32..47 and is kept
    const r = reduce(xs, true, aThenB, [ddmin], { maxAttempts: 5 });
    expect(r.exhausted).toBe(true);
    expect(r.attempts).toBe(5);
    expect(aThenB(r.value)).toBe(true);
    expect(r.value.length).toBeLessThan(xs.length);
  });

  it('accepts only strictly better candidates when given an order', () => {
    // a pass that proposes a longer list must not be taken
    const grow: Pass<string[]> = function* (x) {
      yield [...x, 'A', 'B'];
    };
    const r = reduce(['A', 'B'], true, aThenB, [grow], { better: (a, b) => a.length < b.length });
    expect(r.value).toEqual(['A', 'B']);
    expect(r.attempts).toBe(0);
  });

  it('hashes the whole value: a field it does not know about still tells candidates apart', () => {
    expect(stableJson({ b: 1, a: [1, { y: 2, x: 1 }] })).toBe(stableJson({ a: [1, { x: 1, y: 2 }], b: 1 }));
    expect(stableJson({ ops: [], schedule: [1] })).not.toBe(stableJson({ ops: [], schedule: [2] }));
  });
});

const mk = (design: Record<string, unknown>, ops: unknown[]): Case => parseCase({ format: 'tdxfuzz-case', version: 1, design: { ptrs: 16, ...design }, ops });

describe('case passes and the cost order', () => {
  it('moves gfns toward 0 and 2M boundaries (ptrs 16)', () => {
    expect(smallerGfns(0, 16)).toEqual([]);
    expect(smallerGfns(16, 16)).toEqual([0]);
    expect(smallerGfns(21, 16)).toEqual([0, 16, 18, 20]);
    expect(smallerGfns(3, 16)).toEqual([0, 1, 2]);
    const d = resolveDesign({ ptrs: 16 });
    expect(smallerArgs({ op: 'punch', start: 17, end: 33 }, d)).toEqual([
      { op: 'punch', start: 0, end: 16 },
      { op: 'punch', start: 16, end: 32 },
    ]);
    expect(smallerArgs({ op: 'hostAlloc', pages: 16 }, d)).toEqual([{ op: 'hostAlloc', pages: 1 }, { op: 'hostAlloc', pages: 8 }, { op: 'hostAlloc', pages: 15 }]);
  });

  it('weakens a fault: earlier call, plain contention, the first status of its class, one call instead of a storm', () => {
    expect(weakerFaults({ leaf: 'TDH.MEM.PAGE.REMOVE', nth: 3, status: 'TDX_SW_ERROR' })).toEqual([
      { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 1, status: 'TDX_SW_ERROR' },
      { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 2, status: 'TDX_SW_ERROR' },
      { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 3, status: 'TDX_OPERAND_BUSY' },
      // every hard error is TDX_BUG_ON alike: one name for the class
      { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 3, status: 'TDX_EPT_ENTRY_STATE_INCORRECT' },
    ]);
    expect(weakerFaults({ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE', every: true })).toEqual([
      { leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' },
    ]);
  });

  it('proposes designs one setting nearer the campaign defaults, and each guard back on', () => {
    const d = resolveDesign({ ptrs: 16, slotBaseGfn: 8, dpamt: false, guardsOff: ['G2', 'G5'] });
    const ds = simplerDesigns(d);
    expect(ds.map((x) => [x.slotBaseGfn, x.dpamt, x.guardsOff.join()])).toEqual([
      [8, true, 'G2,G5'],
      [0, false, 'G2,G5'],
      [8, false, 'G5'],
      [8, false, 'G2'],
    ]);
    expect(simplerDesigns(resolveDesign({ ...CAMPAIGN_DEFAULTS }))).toEqual([]);
  });

  it('orders cases: fewer ops, then fewer faults, then weaker ones, then the design, then smaller arguments', () => {
    const busy = { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 1, status: 'TDX_OPERAND_BUSY' };
    const hard = { ...busy, status: 'TDX_SW_ERROR' };
    const a = mk({}, [{ op: 'touch', gfn: 5 }, { op: 'punch', start: 0, end: 16, faults: [hard] }]);
    const fewer = mk({}, [{ op: 'punch', start: 0, end: 16, faults: [hard] }]);
    const weaker = mk({}, [{ op: 'touch', gfn: 5 }, { op: 'punch', start: 0, end: 16, faults: [busy] }]);
    const smaller = mk({}, [{ op: 'touch', gfn: 0 }, { op: 'punch', start: 0, end: 16, faults: [hard] }]);
    const moved = mk({ slotBaseGfn: 8 }, [{ op: 'touch', gfn: 0 }, { op: 'punch', start: 0, end: 16, faults: [hard] }]);
    for (const x of [fewer, weaker, smaller]) expect(simpler(x, a), stableJson(caseCost(x))).toBe(true);
    expect(simpler(a, a)).toBe(false);
    expect(simpler(moved, a)).toBe(false); // a design further from the defaults costs more than gfn 5
  });
});

describe('minimizeCase with every pass', () => {
  it('shrinks a padded BUG-5 case to the spec sequence, weakening the hard error the original carried', () => {
    // BUG-5: touch(0) -> REMOVE fails -> punch -> ... (model-spec.md section 6)
    const c = mk({ guardsOff: ['G5'], dpamt: false }, [
      { op: 'touch', gfn: 20, write: 7 },
      { op: 'touch', gfn: 3 },
      { op: 'accept', gfn: 9, level: '2M' },
      { op: 'touch', gfn: 21 },
      { op: 'punch', start: 0, end: 16, faults: [{ leaf: 'TDH.MEM.PAGE.REMOVE', nth: 1, status: 'TDX_SW_ERROR' }] },
      { op: 'touch', gfn: 22 },
      { op: 'hostAlloc', pages: 16 },
    ]);
    const orig = runCase(c);
    expect(orig.verdict).toBe('fail');
    const m = minimizeCase(c);
    expect(m.result.verdict).toBe('fail');
    expect(m.case.ops.length).toBeLessThanOrEqual(3);
    expect(m.case.ops[0]).toEqual({ op: 'touch', gfn: 0 });
    expect(m.case.design.dpamt).toBe(true); // back to the default
    expect(m.case.design.guardsOff).toEqual(['G5']);
    expect(runCase(m.case).signature).toBe(m.result.signature);
    expect(m.reliability).toEqual({ ok: 3, runs: 3 });
  });

  it('runs the passes it is given (a schedule pass would be added the same way)', () => {
    const c = mk({ guardsOff: ['G1'] }, [{ op: 'touch', gfn: 3 }, { op: 'touch', gfn: 0 }, { op: 'accept', gfn: 0, level: '2M' }, { op: 'convert', start: 0, end: 1, to: 'shared' }]);
    const none = minimizeCase(c, { passes: [] });
    expect(none.case.ops).toEqual(c.ops);
    expect(none.attempts).toBe(0);
    const all = minimizeCase(c, { passes: CASE_PASSES });
    expect(all.case.ops.length).toBeLessThan(c.ops.length);
  });
});
