// Every check the oracle names (src/oracle/invariants.ts INVARIANTS) must both FIRE on a broken design or
// a broken state and stay QUIET on the correct design. Guards are switched off through runCase; other
// checks are fired by breaking a System by hand and calling the check functions or the Oracle.
import { afterEach, describe, expect, it } from 'vitest';
import { type Case, type Op, parseCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { resolveDesign } from '../../src/model/config.js';
import type { FiredFault } from '../../src/model/faults.js';
import { PRIVATE, SHARED } from '../../src/model/gmem/gmem.js';
import { Guest } from '../../src/model/guest/guest.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { applyOp } from '../../src/model/ops.js';
import type { OpOutcome } from '../../src/model/outcome.js';
import { System } from '../../src/model/system.js';
import { LEAVES, type Leaf } from '../../src/model/tdx/leaf.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { STATUS_CODES, type StatusName } from '../../src/model/tdx/status.js';
import { faultKind, isTolerable } from '../../src/oracle/faultClass.js';
import { checkLeafInvariants, checkMirrorMatchesSept, checkMixed, checkNoTransient, INVARIANTS } from '../../src/oracle/invariants.js';
import { Oracle, type Violation, WATCHDOG } from '../../src/oracle/oracle.js';

const P = 16;

function mkCase(design: Record<string, unknown>, ops: unknown[]): Case {
  return parseCase({ format: 'tdxfuzz-case', version: 1, design: { ptrs: P, ...design }, ops });
}

function runOps(design: Record<string, unknown>, ops: unknown[]) {
  return runCase(mkCase(design, ops));
}

const touch = (gfn: number, write?: number): Op => (write === undefined ? { op: 'touch', gfn } : { op: 'touch', gfn, write });
const accept = (gfn: number, level: '4K' | '2M'): Op => ({ op: 'accept', gfn, level });
const convert = (start: number, end: number, to: 'shared' | 'private'): Op => ({ op: 'convert', start, end, to });
const BUSY = (leaf: Leaf, nth: number) => ({ leaf, nth, status: 'TDX_OPERAND_BUSY' as const });

/** A System under an Oracle, stepped as runCase steps it, so state can be broken between ops. */
class Rig {
  readonly sys: System;
  readonly guest: Guest;
  readonly oracle: Oracle;
  private i = 0;
  constructor(design: Record<string, unknown> = {}) {
    this.sys = new System(resolveDesign({ ptrs: P, ...design }));
    this.guest = new Guest(this.sys.gfns);
    this.oracle = new Oracle(this.sys);
  }
  /** Run one op under the oracle; the first violation, or the outcome. */
  op(op: Op): { v: Violation | null; out: OpOutcome | null } {
    this.sys.inj.arm(this.i++, op.faults);
    this.sys.counters.reset();
    this.oracle.beginOp(op);
    const path = applyOp(this.sys, this.guest, op);
    for (;;) {
      const r = path.next();
      if (r.done) return { v: this.oracle.afterStep() ?? this.oracle.endOp(r.value), out: r.value };
      const v = this.oracle.afterStep() ?? this.oracle.liveness();
      if (v) return { v, out: null };
    }
  }
  /** Run ops that must all pass. */
  ok(...ops: Op[]): void {
    for (const o of ops) expect(this.op(o).v).toBeNull();
  }
}

afterEach(() => {
  // a failed WATCHDOG test must not leak its lowered budget into later tests
  WATCHDOG.stepsPerOp = 200_000;
});

const covered = new Set<string>();
function check(id: string, body: () => void): void {
  covered.add(id);
  describe(id, body);
}

check('INV-1', () => {
  const ops = [touch(P), convert(P, P + 1, 'shared')];
  it('fires with G1 off: the WIP order splits the folio while KVM still maps it 2M', () => {
    const r = runOps({ guardsOff: ['G1'] }, ops);
    expect(r.signature).toBe('INV-1@convert');
    expect(r.failure!.message).toMatch(/2M leaf at gfn 0x10 but the folio at index 0x10 has order 0/);
    expect(r.failure!.step).toBe('gmem-split-folios');
  });
  it('is quiet on the correct design', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
  });
  it('fires on a 2M leaf over a split folio, or over a truncated one (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    expect(checkLeafInvariants(rig.sys, 0)).toBeNull();
    rig.sys.gmem.splitFolio(0);
    expect(checkLeafInvariants(rig.sys, 0)?.[0]).toBe('INV-1');
    const rig2 = new Rig();
    rig2.ok(touch(0));
    rig2.sys.gmem.truncateFolio(0);
    expect(checkLeafInvariants(rig2.sys, 0)).toEqual(['INV-1', expect.stringMatching(/not the guest_memfd page/)]);
  });
});

check('INV-2', () => {
  const ops = [convert(0, P, 'shared'), touch(0), convert(5, 6, 'private'), touch(5)];
  it('fires with G16 off: a private 2M leaf over a range with shared gfns', () => {
    const r = runOps({ guardsOff: ['G16'] }, ops);
    expect(r.signature).toBe('INV-2@touch');
    expect(r.failure!.opIndex).toBe(3);
    expect(r.failure!.message).toMatch(/covers SHARED gfn/);
  });
  it('is quiet on the correct design (gfn 5 is mapped 4K)', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
  });
  it('fires when an attribute flips under a private 4K leaf (hand-built)', () => {
    const rig = new Rig();
    rig.ok(accept(3, '4K'));
    expect(checkLeafInvariants(rig.sys, 0)).toBeNull();
    rig.sys.gmem.attr[3] = SHARED;
    expect(checkLeafInvariants(rig.sys, 0)).toEqual(['INV-2', expect.stringMatching(/4K leaf at gfn 0x3 covers SHARED gfn 0x3/)]);
  });
});

check('INV-3', () => {
  it('fires on a mirror 2M leaf with a misaligned pfn (check function and Oracle)', () => {
    const rig = new Rig();
    const m = rig.sys.kvm.mirror;
    m.m2m[1] = Spte.LEAF;
    m.pfn2m[1] = 3;
    expect(checkLeafInvariants(rig.sys, 1)).toEqual(['INV-3', expect.stringMatching(/mirror: 2M mapping gfn 0x10 pfn 0x3 not 2M-aligned/)]);
    rig.sys.touch(1);
    expect(rig.oracle.afterStep()?.inv).toBe('INV-3');
  });
  it('fires on an S-EPT 2M leaf with a misaligned pfn', () => {
    const rig = new Rig();
    rig.sys.tdx.sept.e2m[0] = S.MAPPED;
    rig.sys.tdx.sept.pfn2m[0] = P + 1;
    expect(checkLeafInvariants(rig.sys, 0)?.[0]).toBe('INV-3');
  });
  it('is quiet on a real 2M mapping', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), touch(P));
    expect(checkLeafInvariants(rig.sys, 0)).toBeNull();
    expect(checkLeafInvariants(rig.sys, 1)).toBeNull();
  });
});

check('INV-8', () => {
  it('fires when GUEST_INHIBIT is cleared', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    expect(rig.sys.kvm.lpage.guestInhibit[0]).toBe(1);
    rig.sys.kvm.lpage.guestInhibit[0] = 0;
    rig.sys.touch(0);
    expect(rig.oracle.afterStep()).toEqual({ inv: 'INV-8', message: 'GUEST_INHIBIT of 2M range 0 was cleared' });
  });
  it('fires when GUEST_INHIBIT is set without write mmu_lock', () => {
    const rig = new Rig();
    rig.sys.kvm.mmuLock.readers = 1;
    rig.sys.kvm.lpage.guestInhibit[1] = 1;
    rig.sys.touch(1);
    expect(rig.oracle.afterStep()).toEqual({ inv: 'INV-8', message: 'GUEST_INHIBIT of 2M range 1 set without write mmu_lock' });
  });
  it('is quiet when set under write mmu_lock and kept, as the honour path does', () => {
    const rig = new Rig();
    rig.sys.kvm.mmuLock.writer = true;
    rig.sys.kvm.lpage.guestInhibit[1] = 1;
    rig.sys.touch(1);
    expect(rig.oracle.afterStep()).toBeNull();
    rig.sys.kvm.mmuLock.writer = false;
    rig.sys.touch(1);
    expect(rig.oracle.afterStep()).toBeNull();
    const rig2 = new Rig();
    rig2.ok(touch(0), accept(3, '4K'), accept(4, '4K'), convert(8, 9, 'shared'), convert(8, 9, 'private'));
    expect(rig2.sys.kvm.lpage.guestInhibit[0]).toBe(1);
  });
});

check('INV-10', () => {
  const ops = [touch(0), accept(3, '4K')];
  it('fires with G8 off: the 4K ACCEPT under a 2M leaf never completes', () => {
    const r = runOps({ guardsOff: ['G8'] }, ops);
    expect(r.signature).toBe('INV-10@accept');
    expect(r.failure!.opIndex).toBe(1);
  });
  it('is quiet on the correct design, even with BUSY on every split step', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    const busy = { ...accept(3, '4K'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1), BUSY('TDH.MEM.PAGE.DEMOTE', 1), BUSY('TDG.MEM.PAGE.ACCEPT', 1)] };
    expect(runOps({}, [touch(0), busy]).verdict).toBe('pass');
  });
});

check('INV-11', () => {
  it('fires when MIXED is set on a homogeneous range, or clear on a mixed one', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.kvm.lpage.mixed[0] = 1;
    expect(checkMixed(rig.sys, 0)).toMatch(/MIXED is 1 for 2M range 0 but the range is homogeneous/);
    expect(rig.oracle.endOp({ kind: 'touch', result: 've' })?.inv).toBe('INV-11');
    const rig2 = new Rig();
    rig2.ok(convert(3, 4, 'shared'));
    rig2.sys.kvm.lpage.mixed[0] = 0;
    expect(checkMixed(rig2.sys, 0)).toMatch(/has both attributes/);
  });
  it('is quiet after real conversions', () => {
    const rig = new Rig();
    rig.ok(touch(0), convert(3, 4, 'shared'), convert(P, 2 * P, 'shared'));
    expect(rig.sys.kvm.lpage.mixed[0]).toBe(1);
    expect(checkMixed(rig.sys, 0)).toBeNull();
    expect(checkMixed(rig.sys, 1)).toBeNull();
    rig.ok(convert(3, 4, 'private'));
    expect(rig.sys.kvm.lpage.mixed[0]).toBe(0);
    expect(checkMixed(rig.sys, 0)).toBeNull();
  });
});

check('INV-15', () => {
  it('fires on an S-EPT entry left BLOCKED, or a mirror SPTE left FROZEN, unless the VM is bugged', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'));
    expect(rig.sys.tdx.tdhMemRangeBlock(0, 1).code).toBe(0);
    expect(checkNoTransient(rig.sys, 0)).toBe('S-EPT 2M entry of range 0 left BLOCKED');
    expect(rig.oracle.endOp({ kind: 'accept', result: 'already' })?.inv).toBe('INV-15');
    rig.sys.kvm.bugged = true;
    expect(checkNoTransient(rig.sys, 0)).toBeNull();

    const rig2 = new Rig();
    rig2.ok(accept(3, '4K'));
    rig2.sys.kvm.mirror.m4k[3] = Spte.FROZEN;
    expect(checkNoTransient(rig2.sys, 0)).toMatch(/mirror 4K SPTE gfn 0x3 left FROZEN/);
    rig2.sys.kvm.mirror.m4k[3] = Spte.LEAF;
    rig2.sys.tdx.sept.e4k[5] = S.PENDING_BLOCKED;
    expect(checkNoTransient(rig2.sys, 0)).toMatch(/S-EPT 4K entry gfn 0x5 left PENDING_BLOCKED/);
  });
  it('is quiet after real zaps and splits', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), convert(5, 6, 'shared'), touch(P), convert(P, 2 * P, 'shared'));
    expect(checkNoTransient(rig.sys, 0)).toBeNull();
    expect(checkNoTransient(rig.sys, 1)).toBeNull();
  });
});

check('INV-16', () => {
  it('fires when the mirror and the S-EPT disagree, unless the VM is bugged', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.kvm.mirror.pfn2m[0] = 2 * P; // aligned, so INV-3 stays quiet
    expect(checkMirrorMatchesSept(rig.sys, 0)).toMatch(/2M leaf pfn differs/);
    rig.sys.kvm.bugged = true;
    expect(checkMirrorMatchesSept(rig.sys, 0)).toBeNull();

    const rig2 = new Rig();
    rig2.ok(accept(3, '4K'));
    rig2.sys.kvm.mirror.m4k[3] = Spte.NONE; // mirror forgot a leaf the S-EPT still has
    expect(checkMirrorMatchesSept(rig2.sys, 0)).toMatch(/gfn 0x3: mirror has no 4K leaf but the S-EPT entry is MAPPED/);
    expect(rig2.oracle.endOp({ kind: 'accept', result: 'already' })?.inv).toBe('INV-16');

    const rig3 = new Rig();
    rig3.sys.kvm.mirror.m2m[1] = Spte.LEAF;
    rig3.sys.kvm.mirror.pfn2m[1] = P;
    expect(checkMirrorMatchesSept(rig3.sys, 1)).toMatch(/mirror has a 2M leaf but the S-EPT entry is FREE/);
  });
  it('is quiet after real maps, splits and zaps', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), convert(5, 6, 'shared'), touch(P), accept(P, '2M'));
    expect(checkMirrorMatchesSept(rig.sys, 0)).toBeNull();
    expect(checkMirrorMatchesSept(rig.sys, 1)).toBeNull();
  });
});

check('INV-18', () => {
  const ops = [accept(0, '2M'), convert(1, 2, 'shared')];
  it('fires with G2 off: zapping the whole 2M leaf loses accepted gfns outside the range', () => {
    const r = runOps({ guardsOff: ['G2'] }, ops);
    expect(r.signature).toBe('INV-18@convert');
    expect(r.failure!.message).toMatch(/outside the convert range lost its accepted mapping/);
  });
  it('fires with G2 off for a punch too (ZAP_ONLY)', () => {
    const r = runOps({ guardsOff: ['G2'], punchPartialHuge: 'ZAP_ONLY' }, [accept(0, '2M'), { op: 'punch', start: 1, end: 2 }]);
    expect(r.signature).toBe('INV-18@punch');
  });
  it('is quiet on the correct design', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    expect(runOps({ punchPartialHuge: 'ZAP_ONLY' }, [accept(0, '2M'), { op: 'punch', start: 1, end: 2 }]).verdict).toBe('pass');
  });
  it('data written outside the range must survive too', () => {
    const rig = new Rig();
    rig.ok(accept(0, '2M'), touch(7, 70));
    rig.sys.phys.content[rig.sys.gmem.pfn[7]] = 1; // what a sloppy zap might do
    expect(rig.op(convert(1, 2, 'shared')).v).toEqual({ inv: 'INV-18', message: expect.stringMatching(/gfn 0x7 holds 1 but the guest last wrote 70/) });
  });
});

check('VM-BUGGED', () => {
  const ops = [touch(0), { ...convert(0, P, 'shared'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1)] }];
  it('fires with G15 off: a single BUSY kills the VM', () => {
    const r = runOps({ guardsOff: ['G15'] }, ops);
    expect(r.signature).toBe('VM-BUGGED@convert+OPERAND_BUSY');
    expect(r.failure!.faultKinds).toEqual(['TDX_OPERAND_BUSY@TDH.MEM.RANGE.BLOCK']);
  });
  it('fires when the VM dies with no fault injected at all', () => {
    const rig = new Rig();
    rig.sys.kvm.bugged = true;
    expect(rig.oracle.afterStep()).toEqual({ inv: 'VM-BUGGED', message: 'VM bugged with no injected fault' });
  });
  it('is quiet on the correct design: BUSY is retried after a kick', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
  });
  it('is quiet when the VM dies of a fatal-by-design fault (BUSY after the kick, or a hard error)', () => {
    const twice = [touch(0), { ...convert(0, P, 'shared'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1), BUSY('TDH.MEM.RANGE.BLOCK', 2)] }, touch(P)];
    expect(runOps({}, twice).verdict).toBe('pass');
    const hard = [{ ...touch(0), faults: [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_SW_ERROR' }] }, touch(1)];
    expect(runOps({}, hard).verdict).toBe('pass');
  });
});

check('REF-RESULT', () => {
  it('fires when an op returns something the reference does not predict', () => {
    const rig = new Rig();
    const op = touch(0);
    rig.oracle.beginOp(op);
    // an unaccepted private page must #VE, not read
    expect(rig.oracle.endOp({ kind: 'touch', result: 'read', value: 0 })).toEqual({
      inv: 'REF-RESULT',
      message: 'unaccepted private gfn 0x0: expected #VE, got read 0',
    });
    const rig2 = new Rig();
    rig2.oracle.beginOp({ op: 'convert', start: 0, end: 1, to: 'shared' });
    expect(rig2.oracle.endOp({ kind: 'convert', ret: -22 })?.inv).toBe('REF-RESULT');
  });
  it('is quiet on the real outcomes', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), touch(1, 5), touch(1), convert(0, 1, 'shared'), touch(0), { op: 'punch', start: 0, end: 1 });
  });
  it('a mismatch caused by a fatal-by-design fault in the same op is a note, not a failure', () => {
    const r = runOps({}, [{ ...accept(0, '4K'), faults: [{ leaf: 'TDG.MEM.PAGE.ACCEPT', nth: 1, status: 'TDX_SW_ERROR' }] }]);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([expect.stringMatching(/fatal-by-design fault: 4K ACCEPT of gfn 0x0: expected accepted, got error TDX_SW_ERROR/)]);
  });
});

check('REF-ACCEPT', () => {
  it('fires when an accepted gfn loses its MAPPED leaf', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'));
    rig.sys.tdx.sept.e2m[0] = S.PENDING; // the module "forgot" the ACCEPT; mirror still agrees (INV-16 quiet)
    expect(rig.op(touch(P)).v).toEqual({ inv: 'REF-ACCEPT', message: expect.stringMatching(/accepted gfn 0x0 lost its accepted mapping \(S-EPT PENDING\)/) });
  });
  it('fires when the S-EPT has a MAPPED page the guest never accepted', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.tdx.sept.e2m[0] = S.MAPPED;
    expect(rig.op(touch(P)).v).toEqual({ inv: 'REF-ACCEPT', message: 'gfn 0x0 is MAPPED (accepted) in the S-EPT but the guest has not accepted it' });
  });
  it('is quiet through accept, split, conversion and re-accept', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), accept(0, '2M'), convert(0, 2, 'shared'), convert(0, 2, 'private'), accept(1, '4K'), touch(1));
  });
});

check('REF-DATA', () => {
  it('fires when an accepted page loses the data the guest wrote', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), touch(2, 1234));
    rig.sys.phys.content[rig.sys.tdx.sept.pfn2m[0] + 2] = 999;
    expect(rig.op(touch(P)).v).toEqual({ inv: 'REF-DATA', message: 'gfn 0x2 holds 999 but the guest last wrote 1234' });
  });
  it('fires when an accepted page is not zero after ACCEPT', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'));
    rig.sys.phys.content[5] = 3;
    expect(rig.op(touch(P)).v?.inv).toBe('REF-DATA');
  });
  it('is quiet when data moves through a DEMOTE', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), touch(2, 1234), convert(9, 10, 'shared'), touch(2));
  });
});

check('REF-ATTR', () => {
  it('fires when guest_memfd attributes change behind the reference', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.gmem.attr.fill(SHARED, P, 2 * P); // a whole range, so MIXED stays right (INV-11 quiet)
    expect(rig.op(touch(0)).v).toEqual({ inv: 'REF-ATTR', message: 'gfn 0x10 is SHARED in guest_memfd but the reference says PRIVATE' });
  });
  it('is quiet after real conversions both ways', () => {
    const rig = new Rig();
    rig.ok(convert(P, 2 * P, 'shared'), convert(P + 3, P + 4, 'private'));
    expect(rig.sys.gmem.attr[P + 3]).toBe(PRIVATE);
    expect(rig.sys.gmem.attr[P + 4]).toBe(SHARED);
  });
});

check('WATCHDOG', () => {
  it('fires when an op exceeds the step budget', () => {
    WATCHDOG.stepsPerOp = 3;
    try {
      const r = runOps({}, [touch(0)]);
      expect(r.signature).toBe('WATCHDOG@touch');
      expect(r.failure!.message).toBe('touch still running after 3 steps');
    } finally {
      WATCHDOG.stepsPerOp = 200_000;
    }
  });
  it('is quiet with the default budget', () => {
    expect(WATCHDOG.stepsPerOp).toBe(200_000);
    expect(runOps({}, [touch(0), accept(3, '4K'), accept(0, '2M'), convert(0, 2 * P, 'shared')]).verdict).toBe('pass');
  });
});

describe('coverage of INVARIANTS', () => {
  it('every check the oracle names has a FIRE and a QUIET test above', () => {
    expect([...covered].sort()).toEqual(INVARIANTS.map((i) => i.id).sort());
  });
});

describe('faultClass.isTolerable', () => {
  const HOST_RETRIED: Leaf[] = ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE', 'TDH.MEM.PAGE.DEMOTE'];
  const RETRY_BY_FAULT: Leaf[] = ['TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD', 'TDG.MEM.PAGE.ACCEPT'];
  /** The design's promise (case-format.md "Faults", kernel-facts.md 2.1-2.5), written independently. */
  function expected(leaf: Leaf, status: StatusName, afterKick: boolean): boolean {
    if (status === 'TDX_INTERRUPTED_RESTARTABLE') return true; // never seen where huge pages are used
    if (status !== 'TDX_OPERAND_BUSY') return false; // other errors: TDX_BUG_ON
    if (RETRY_BY_FAULT.includes(leaf)) return true; // RET_PF_RETRY / the guest retries
    if (HOST_RETRIED.includes(leaf)) return !afterKick; // one retry after the kick must succeed
    return false; // WBINVD: no retry in KVM
  }
  const statuses = (Object.keys(STATUS_CODES) as StatusName[]).filter((s) => s !== 'TDX_SUCCESS');
  for (const leaf of LEAVES) {
    for (const afterKick of [false, true]) {
      it(`${leaf}${afterKick ? ' (after kick)' : ''}: every status`, () => {
        for (const status of statuses) {
          for (const underWriteLock of [false, true]) {
            const f: FiredFault = { opIndex: 0, leaf, nth: 1, status, afterKick, underWriteLock };
            expect(isTolerable(f), `${status}@${leaf} afterKick=${afterKick}`).toBe(expected(leaf, status, afterKick));
          }
        }
      });
    }
  }
  it('spot checks: BUSY on BLOCK, BUSY on the retry, PREVIOUS_TLB_EPOCH_BUSY on TRACK, BUSY on WBINVD', () => {
    const f = (leaf: Leaf, status: StatusName, afterKick = false): FiredFault => ({ opIndex: 0, leaf, nth: 1, status, afterKick, underWriteLock: true });
    expect(isTolerable(f('TDH.MEM.RANGE.BLOCK', 'TDX_OPERAND_BUSY'))).toBe(true);
    expect(isTolerable(f('TDH.MEM.RANGE.BLOCK', 'TDX_OPERAND_BUSY', true))).toBe(false);
    expect(isTolerable(f('TDH.MEM.TRACK', 'TDX_PREVIOUS_TLB_EPOCH_BUSY'))).toBe(false);
    expect(isTolerable(f('TDH.PHYMEM.PAGE.WBINVD', 'TDX_OPERAND_BUSY'))).toBe(false);
    expect(isTolerable(f('TDH.MEM.PAGE.AUG', 'TDX_SW_ERROR'))).toBe(false);
    expect(faultKind(f('TDH.MEM.PAGE.REMOVE', 'TDX_OPERAND_BUSY', true))).toBe('TDX_OPERAND_BUSY@TDH.MEM.PAGE.REMOVE(after kick)');
  });
});
