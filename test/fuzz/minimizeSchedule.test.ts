// Removing ops from a concurrent case keeps the interleaving of the ops that stay: the removal passes move
// each switch back by the steps the removed ops ran before it (RunResult.stepOps), so an op that only
// padded the schedule can go without losing the race (issue 10: minimised to <= 10 ops, <= 10 switches).
import { describe, expect, it } from 'vitest';
import { type Case, loadCase } from '../../src/fuzz/case.js';
import { minimizeCase } from '../../src/fuzz/minimize.js';
import { reduce, stableJson } from '../../src/fuzz/minimize/engine.js';
import { dropSwitches } from '../../src/fuzz/minimize/schedule.js';
import type { Switch } from '../../src/fuzz/schedule.js';
import { shiftSwitches } from '../../src/fuzz/minimize/passes.js';
import { runCase } from '../../src/fuzz/run.js';
import { coreSignature } from '../../src/fuzz/signature.js';

const FIND = 'test/fixtures/bug-04-campaign-find-10-ops.json';

describe('shiftSwitches', () => {
  // steps 0-2 ran op 0, 3-4 op 1, 5-7 op 2
  const stepOps = [0, 0, 0, 1, 1, 2, 2, 2];
  it('moves a switch back by the steps of removed ops before it, and leaves earlier switches', () => {
    expect(shiftSwitches([{ step: 2, to: 1 }, { step: 6, to: 0 }], stepOps, new Set([0, 2]))).toEqual([
      { step: 2, to: 1 },
      { step: 4, to: 0 },
    ]);
    expect(shiftSwitches([{ step: 6, to: 0 }], stepOps, new Set([1, 2]))).toEqual([{ step: 3, to: 0 }]);
  });
  it('keeps the later of two switches that meet at one step', () => {
    expect(shiftSwitches([{ step: 3, to: 1 }, { step: 5, to: 2 }], stepOps, new Set([0, 2]))).toEqual([{ step: 3, to: 2 }]);
  });
});

describe('dropSwitches', () => {
  it('shrinks a livelock-sized schedule in chunks: 20,000 switches to the 2 a synthetic predicate needs, in a few hundred attempts', () => {
    const schedule = Array.from({ length: 20_000 }, (_, k) => ({ step: 3 * k, to: k % 3 }));
    const c = loadCase(FIND);
    const big: Case = { ...c, schedule };
    // the "failure" needs the switches at steps 3000 and 45000 and nothing else
    const hit = { failure: { opIndex: 0 } };
    const needs = (x: Case): typeof hit | null => (Array.isArray(x.schedule) && [3000, 45_000].every((st) => (x.schedule as Switch[]).some((w) => w.step === st)) ? hit : null);
    const r = reduce(big, hit, needs, [dropSwitches], { maxAttempts: 3000 });
    expect(r.value.schedule).toEqual([{ step: 3000, to: 1000 % 3 }, { step: 45_000, to: 15_000 % 3 }]);
    expect(r.exhausted).toBe(false);
    expect(r.attempts).toBeLessThan(700);
  });
});

describe('minimising a concurrent campaign find', () => {
  const c = loadCase(FIND);
  const found = runCase(c);

  it('the fixture is BUG-4 by damage: a BLOCK meets an entry left BLOCKED, TDX_BUG_ON, with no fault injected', () => {
    expect(found.signature).toBe('VM-BUGGED@touch');
    expect(found.structuralHits).toContain('INV-12');
    expect(c.ops.length).toBe(10);
  });

  it('drops the padding ops, keeping the race: <= 4 ops, <= 10 switches, same signature, passes with G4 on', () => {
    const m = minimizeCase(c);
    expect(coreSignature(m.result.signature!)).toBe('VM-BUGGED@touch');
    expect(m.case.ops.length).toBeLessThanOrEqual(4);
    expect(Array.isArray(m.case.schedule) ? m.case.schedule.length : 99).toBeLessThanOrEqual(10);
    expect(m.reliability).toEqual({ ok: 3, runs: 3 });
    expect(runCase({ ...m.case, design: { ...m.case.design, guardsOff: [] } }).verdict).toBe('pass');
  });

  it('a step budget bounds the work deterministically: the same steps give the same result, a tiny one stops early', () => {
    const a = minimizeCase(c, { maxSteps: 2000 });
    const b = minimizeCase(c, { maxSteps: 2000 });
    expect(a.exhausted).toBe(true);
    expect(a.attempts).toBeLessThan(minimizeCase(c).attempts);
    expect(stableJson(a.case)).toBe(stableJson(b.case));
  });

  it('without moving the switches, no single op of the find can go (the shift is what makes removal work)', () => {
    // removing any one op with the switches left where they were loses the race or changes the failure
    let kept = 0;
    for (let i = 0; i < c.ops.length; i++) {
      const r = runCase({ ...c, ops: c.ops.filter((_, j) => j !== i) });
      if (r.signature === found.signature) kept++;
    }
    expect(kept).toBe(0);
  });
});
