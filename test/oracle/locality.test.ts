// Locality of linearizability (src/oracle/locality.ts): overlapping ops on disjoint gfns are ordered apart,
// so the search costs the sum of the groups' orders, not their product (corpus/regression/flow-linearize-independent-gfn-groups-apart.json).
import { describe, expect, it } from 'vitest';
import { combineGroupStates, independentGroups } from '../../src/oracle/locality.js';
import { resolveDesign } from '../../src/model/config.js';
import { NO, Reference, UNKNOWN, YES } from '../../src/oracle/reference.js';

interface Ev { name: string; foot: [number, number] | null; prev?: Ev }
const group = (evs: Ev[]): string[][] => independentGroups(evs, (e) => e.foot, (e) => e.prev, 32).map((g) => g.events.map((e) => e.name));

describe('independentGroups', () => {
  it('splits ops on disjoint gfns and joins ops that share one, transitively', () => {
    const a: Ev = { name: 'a', foot: [0, 16] };
    const b: Ev = { name: 'b', foot: [16, 18] };
    const c: Ev = { name: 'c', foot: [3, 4] };
    const d: Ev = { name: 'd', foot: [17, 22] };
    const e: Ev = { name: 'e', foot: [21, 26] };
    expect(group([a, b, c, d, e])).toEqual([['a', 'c'], ['b', 'd', 'e']]);
  });
  it('keeps program order in one group and lets an op of the whole VM join everything', () => {
    const a: Ev = { name: 'a', foot: [0, 1] };
    const b: Ev = { name: 'b', foot: [20, 21], prev: a };
    const c: Ev = { name: 'c', foot: [10, 11] };
    expect(group([a, b, c])).toEqual([['a', 'b'], ['c']]);
    expect(group([a, c, { name: 'deleteSlot', foot: null }])).toEqual([['a', 'c', 'deleteSlot']]);
  });
  it('marks the gfns of each group', () => {
    const [g0, g1] = independentGroups<Ev>([{ name: 'a', foot: [0, 2] }, { name: 'b', foot: [5, 6] }], (e) => e.foot, () => undefined, 8);
    expect([...g0.mask]).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect([...g1.mask]).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
  });
});

describe('combineGroupStates', () => {
  const design = resolveDesign({ ptrs: 16 });
  const mask = (lo: number, hi: number): Uint8Array => new Uint8Array(32).fill(1, lo, hi);
  const masks = [mask(0, 16), mask(16, 32)];
  /** A state `from` left with gfn g accepted (contents v) or not. */
  const left = (from: Reference, g: number, v: number | null): Reference => {
    const r = from.clone();
    if (v !== null) [r.accepted[g], r.known[g], r.data[g]] = [YES, 1, v];
    return r;
  };

  it('completes each starting state with every combination of its groups\' states, at each group\'s gfns', () => {
    const s0 = new Reference(design, 32);
    const s1 = new Reference(design, 32);
    s1.poison[30] = 1; // the two starting states differ outside the groups' changes
    const parts = [
      new Map([[0, [left(s0, 1, 5), left(s0, 1, null)]], [1, [left(s1, 1, 7)]]]),
      new Map([[0, [left(s0, 17, 6), left(s0, 17, 8)]], [1, [left(s1, 17, 9)]]]),
    ];
    const c = combineGroupStates([s0, s1], masks, parts, 32);
    expect(c.widened).toBe(false);
    const seen = c.states.map((r) => [r.accepted[1] === YES ? r.data[1] : null, r.data[17], r.poison[30]]);
    expect(seen).toEqual([[5, 6, 0], [5, 8, 0], [null, 6, 0], [null, 8, 0], [7, 9, 1]]);
  });

  it('drops a starting state some group found no order for', () => {
    const s0 = new Reference(design, 32);
    const s1 = new Reference(design, 32);
    const parts = [new Map([[0, [left(s0, 1, 5)]], [1, [left(s1, 1, 7)]]]), new Map([[1, [left(s1, 17, 9)]]])];
    expect(combineGroupStates([s0, s1], masks, parts, 32).states.map((r) => r.data[1])).toEqual([7]);
  });

  it('past the cap the last state kept accepts what every combination left out would', () => {
    const s0 = new Reference(design, 32);
    const parts = [new Map([[0, [left(s0, 1, 5), left(s0, 1, null)]]]), new Map([[0, [left(s0, 17, 6), left(s0, 17, 8)]]])];
    const c = combineGroupStates([s0], masks, parts, 3);
    expect(c.widened).toBe(true);
    expect(c.exact).toBe(true);
    expect(c.states.length).toBe(3);
    const last = c.states[2];
    expect([last.accepted[1], last.known[1]]).toEqual([UNKNOWN, 0]); // accepted (5) or not, whichever
    expect([last.accepted[17], last.known[17]]).toEqual([YES, 0]); // accepted, contents 6 or 8
    expect(last.accepted[2]).toBe(NO);
  });
});
