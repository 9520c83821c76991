// The linearizability check over several windows: overlapping ops may fit serial orders that leave different
// reference states, and only a later op tells them apart, so the oracle keeps every distinct one (Porcupine
// keeps every order alive); past MAX_REFS the last one kept is widened to stand for the rest.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase, type Op } from '../../src/fuzz/case.js';
import { CaseRunner, runCase } from '../../src/fuzz/run.js';
import { resolveDesign } from '../../src/model/config.js';
import { EEXIST } from '../../src/model/errno.js';
import { Guest } from '../../src/model/guest/guest.js';
import { applyOp } from '../../src/model/ops.js';
import type { OpOutcome } from '../../src/model/outcome.js';
import { System } from '../../src/model/system.js';
import type { Oracle } from '../../src/oracle/oracle.js';
import { MAYBE, NO, POISONED, Reference, UNKNOWN, YES } from '../../src/oracle/reference.js';

const REGRESSION = join(__dirname, '..', '..', 'corpus', 'regression');

describe('serial orders that leave different reference states', () => {
  const c = loadCase(join(REGRESSION, 'flow-poison-before-punch-fresh-page-after.json'));

  it('keeps the state of each: the memory failure before the punch (gfn clean) and after it (gfn maybe poisoned)', () => {
    // the case without its last guest touch: the overlapping accept, convert, punch and memory failure
    const head = { ...c, ops: c.ops.filter((o) => o.op !== 'touch') };
    const runner = new CaseRunner(head.design, {}, 1);
    runner.runScheduled(head);
    expect(runner.result().verdict).toBe('pass');
    const states = (runner as unknown as { oracle: Oracle }).oracle.states;
    const poison = states.map((r) => r.poison[0x10]);
    expect(poison).toContain(NO);
    // after the punch the gfn has no page for sure (its 4K ACCEPT got its answer before the punch began, so it
    // comes first in every order): the page the memory failure hit may be the one the truncation let go of
    expect(poison).toContain(MAYBE);
    expect(poison).not.toContain(POISONED);
  });

  it('the later touch tells them apart: a fresh PENDING page (#VE) fits the order that punched the poisoned folio away', () => {
    const r = runCase(c);
    expect(r.verdict).toBe('pass');
  });
});

describe('Reference.widenWith', () => {
  const design = resolveDesign({ ptrs: 16 });

  it('accepts what either state would: acceptance unknown, contents unknown, poison maybe', () => {
    const a = new Reference(design, 32);
    const b = new Reference(design, 32);
    a.accepted[1] = YES; a.known[1] = 1; a.data[1] = 5; // accepted with known contents in one state only
    b.accepted[2] = YES; b.known[2] = 1; b.data[2] = 6;
    a.accepted[3] = YES; a.known[3] = 1; a.data[3] = 7; // accepted in both, different contents
    b.accepted[3] = YES; b.known[3] = 1; b.data[3] = 8;
    a.accepted[4] = YES; a.known[4] = 1; a.data[4] = 9; // the same in both: kept
    b.accepted[4] = YES; b.known[4] = 1; b.data[4] = 9;
    b.poison[5] = POISONED;
    expect(a.widenWith([b])).toBe(true);
    expect([a.accepted[1], a.known[1], a.accepted[2], a.known[2]]).toEqual([UNKNOWN, 0, UNKNOWN, 0]);
    expect([a.accepted[3], a.known[3]]).toEqual([YES, 0]);
    expect([a.accepted[4], a.known[4], a.data[4]]).toEqual([YES, 1, 9]);
    expect(a.poison[5]).toBe(MAYBE);
  });

  it('says when the states differ in what it cannot widen (host mappings)', () => {
    const a = new Reference(design, 32);
    const b = new Reference(design, 32);
    b.hostMaps[3] = 1;
    expect(a.widenWith([b])).toBe(false);
  });
});

describe('KVM_TDX_INIT_MEM_REGION with other actors about', () => {
  const run = (sys: System, op: Op): OpOutcome => {
    const path = applyOp(sys, new Guest(sys.gfns), op);
    for (;;) {
      const r = path.next();
      if (r.done) return r.value;
    }
  };
  const init = (start: number, end: number): Op => ({ op: 'initMemRegion', start, end, data: 100 });

  it('reports how many pages it added before it stopped (the region struct copied back to userspace)', () => {
    const sys = new System(resolveDesign({ ptrs: 16, startPhase: 'BUILD', backing: '4K' }));
    sys.otherUsers = 1;
    expect(run(sys, init(2, 3))).toEqual({ kind: 'initMemRegion', ret: 0, pages: 1 });
    expect(run(sys, init(0, 4))).toEqual({ kind: 'initMemRegion', ret: -EEXIST, pages: 2 }); // gfns 0 and 1, then gfn 2
  });

  it('one actor: the outcome is the return value alone, as before', () => {
    const sys = new System(resolveDesign({ ptrs: 16, startPhase: 'BUILD', backing: '4K' }));
    expect(run(sys, init(0, 2))).toEqual({ kind: 'initMemRegion', ret: 0 });
  });

  it('a memory failure between two of its pages fits the order page 0, the failure, page 1', () => {
    expect(runCase(loadCase(join(REGRESSION, 'flow-init-mem-region-page-by-page-poison-between.json'))).verdict).toBe('pass');
  });
});
