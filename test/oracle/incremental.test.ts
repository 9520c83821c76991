// The oracle's incremental end-of-op checks (issue: "after a step check what it touched; check everything at
// quiescence and at the end"): each op's end checks the 2M ranges it touched or named, every
// FULL_CHECK_EVERY-th op and the end of the case check every range and run the whole-host scans.
import { describe, expect, it } from 'vitest';
import { CaseRunner } from '../../src/fuzz/run.js';
import { resolveDesign } from '../../src/model/config.js';
import { Guest } from '../../src/model/guest/guest.js';
import { applyOp, type Op } from '../../src/model/ops.js';
import { System } from '../../src/model/system.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { FULL_CHECK_EVERY, Oracle, type Violation } from '../../src/oracle/oracle.js';
import { accept, P, touch } from '../helpers/model.js';

function rig() {
  const sys = new System(resolveDesign({ ptrs: P }));
  const guest = new Guest(sys.gfns);
  const oracle = new Oracle(sys);
  let i = 0;
  const op = (o: Op): Violation | null => {
    sys.inj.arm(i++, o.faults);
    sys.counters.reset();
    oracle.beginOp(o);
    const path = applyOp(sys, guest, o);
    for (;;) {
      const r = path.next();
      if (r.done) return oracle.afterStep() ?? oracle.endOp(r.value);
      const v = oracle.afterStep() ?? oracle.liveness();
      if (v) return v;
    }
  };
  return { sys, oracle, op };
}

describe('incremental end-of-op checks', () => {
  it(`an op that neither touches nor names a broken range does not look at it; the ${FULL_CHECK_EVERY}th op checks everything`, () => {
    const { sys, op } = rig();
    expect(op(touch(0))).toBeNull();
    expect(op(accept(0, '2M'))).toBeNull();
    sys.tdx.sept.e2m[0] = S.PENDING; // the module "forgot" gfn 0..P-1 were accepted (range 0)
    let ran = 2;
    let v: Violation | null = null;
    while (v === null && ran < 2 * FULL_CHECK_EVERY) {
      v = op(touch(P + ran)); // range 1 only
      ran++;
    }
    expect(v?.inv).toBe('REF-ACCEPT');
    expect(ran, 'found by the op that completes a full-check period, not before').toBe(FULL_CHECK_EVERY);
  });

  it('an op that names the broken range checks it at once', () => {
    const { sys, op } = rig();
    expect(op(touch(0))).toBeNull();
    expect(op(accept(0, '2M'))).toBeNull();
    sys.tdx.sept.e2m[0] = S.PENDING;
    expect(op({ op: 'prefault', start: 0, end: 1 })?.inv).toBe('REF-ACCEPT');
  });

  it('the end of a case checks everything, and the failure names the last op and the step "end of case"', () => {
    const runner = new CaseRunner(resolveDesign({ ptrs: P }));
    expect(runner.runOp(touch(0), 0)).toBeNull();
    expect(runner.runOp(accept(0, '2M'), 1)).toBeNull();
    runner.sys.tdx.sept.e2m[0] = S.PENDING;
    expect(runner.runOp(touch(P), 2)).toBeNull();
    const r = runner.result();
    expect(r.verdict).toBe('fail');
    expect(r.signature).toBe('REF-ACCEPT@touch');
    expect(r.failure).toMatchObject({ opIndex: 2, step: 'end of case' });
  });

  it('is quiet on the correct design: the end-of-case check passes a case the end-of-op checks passed', () => {
    const runner = new CaseRunner(resolveDesign({ ptrs: P }));
    const ops = [touch(0), accept(0, '2M'), touch(P), accept(P + 3, '4K'), touch(5, 9)];
    ops.forEach((o, i) => expect(runner.runOp(o, i)).toBeNull());
    expect(runner.result().verdict).toBe('pass');
  });
});
