// A System under an Oracle, stepped as runCase steps it, so a test can break state between ops or at a
// named step of an op (a planted model bug) and see which violation the oracle reports.
import { expect } from 'vitest';
import type { Op } from '../../src/fuzz/case.js';
import { resolveDesign } from '../../src/model/config.js';
import { Guest } from '../../src/model/guest/guest.js';
import { applyOp } from '../../src/model/ops.js';
import type { OpOutcome } from '../../src/model/outcome.js';
import { System } from '../../src/model/system.js';
import { Oracle, type Violation } from '../../src/oracle/oracle.js';
import { P } from './model.js';

export class OracleRig {
  readonly sys: System;
  readonly guest: Guest;
  readonly oracle: Oracle;
  private i = 0;
  constructor(design: Record<string, unknown> = {}) {
    this.sys = new System(resolveDesign({ ptrs: P, ...design }));
    this.guest = new Guest(this.sys.gfns);
    this.oracle = new Oracle(this.sys);
  }
  /**
   * Run one op under the oracle; `poke` runs once right after the path yields the step named `at`. With
   * `ran`, the model runs that op while the oracle judges `op` (a planted model bug that loses an argument).
   */
  op(op: Op, at?: string, poke?: () => void, ran: Op = op): { v: Violation | null; out: OpOutcome | null } {
    this.sys.inj.arm(this.i++, op.faults);
    this.sys.counters.reset();
    this.oracle.beginOp(op);
    const path = applyOp(this.sys, this.guest, ran);
    let poked = false;
    for (;;) {
      const r = path.next();
      if (!r.done && !poked && r.value === at) {
        poked = true;
        poke!();
      }
      if (r.done) {
        if (at !== undefined) expect(poked, `step ${at} reached`).toBe(true);
        return { v: this.oracle.afterStep() ?? this.oracle.endOp(r.value), out: r.value };
      }
      const v = this.oracle.afterStep() ?? this.oracle.liveness();
      if (v) return { v, out: null };
    }
  }
  /** Run ops that must all pass; returns their outcomes. */
  ok(...ops: Op[]): OpOutcome[] {
    return ops.map((o) => {
      const r = this.op(o);
      expect(r.v, `${o.op}: ${r.v?.message}`).toBeNull();
      return r.out!;
    });
  }
}
