// Every design guard of model-spec.md section 6 (src/model/guards.ts), one test each: with the guard off the
// case fails with the invariant the spec names for its BUG-n (or, for the performance guards G8b, G17b and
// G18, reports a performance finding that fails only with failOnPerf); with the guard on, the same case
// passes. G20 needs two actors and is driven by hand.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { isPerfSignature } from '../../src/fuzz/signature.js';
import type { FaultSpec } from '../../src/model/faults.js';
import { GUARD_IDS, type GuardId, GUARDS } from '../../src/model/guards.js';
import { EFAULT } from '../../src/model/errno.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { checkLeafInvariants } from '../../src/oracle/invariants.js';
import { accept, convert, destroy, drive, hostAlloc, hostOp, mkCase, P, punch, Rig, run, touch, withFaults } from '../helpers/model.js';

const fault = (leaf: string, status = 'TDX_OPERAND_BUSY', nth = 1): FaultSpec => ({ leaf, nth, status }) as FaultSpec;
const destroyWith = (...f: FaultSpec[]): Op => withFaults(destroy, ...f);

interface GuardCase {
  /** Design settings besides the guard (the same with the guard on and off). */
  design?: Record<string, unknown>;
  ops: Op[];
  /** Signature with the guard off (with failOnPerf for a performance guard). */
  off: string;
  /** Damage first: the structural violation the case hit before the damage its signature names. */
  structural?: string;
}

/** The invariant model-spec.md section 6 names for each BUG-n, and a shortest case that shows it. */
const CASES: Record<Exclude<GuardId, 'G20'>, GuardCase> = {
  G1: { ops: [touch(P), convert(P, P + 1, 'shared')], off: 'INV-1@convert' },
  G2: { ops: [touch(0), accept(0, '2M'), touch(5, 7), convert(0, 1, 'shared'), touch(5)], off: 'INV-18@convert' },
  G3: {
    design: { enhancedDemoteInterruptibility: false },
    ops: [touch(0), withFaults(accept(3, '4K'), { leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE', every: true })],
    // the storm keeps the DEMOTE loop going: the hang (INV-30's bounded-loop clause, damage) after the 2M AUG
    // on a module without ENHANCED_DEMOTE (its first clause, structural)
    off: 'INV-30:damage@accept+INTERRUPTED_RESTARTABLE',
    structural: 'INV-30',
  },
  G4: { ops: [touch(0), accept(3, '4K')], off: 'INV-12@accept' },
  G5: { ops: [touch(0), withFaults(punch(0, P), fault('TDH.MEM.PAGE.REMOVE', 'TDX_SW_ERROR')), hostAlloc(P)], off: 'INV-20@punch+SW_ERROR' },
  G6: { ops: [touch(0), accept(0, '2M'), convert(0, 1, 'shared'), convert(0, 1, 'private'), touch(0)], off: 'VM-BUGGED@touch', structural: 'INV-6' }, // the module refuses the PROMOTE: TDX_BUG_ON
  G7: { ops: [touch(0), accept(0, '2M'), convert(0, 1, 'shared')], off: 'INV-13@convert' },
  G7b: { ops: [touch(0), accept(3, '4K')], off: 'INV-13@accept' },
  G8: { ops: [touch(0), accept(3, '4K')], off: 'INV-10@accept' },
  G8b: { ops: [touch(0), accept(0, '2M')], off: 'PERF-2M@touch' },
  G9: { ops: [touch(0), accept(1, '4K')], off: 'INV-8@accept' },
  G10: { design: { startPhase: 'BUILD' }, ops: [{ op: 'initMemRegion', start: 0, end: P, data: 100 }], off: 'VM-BUGGED@initMemRegion', structural: 'INV-4' }, // PAGE.ADD at 2M fails: KVM_BUG_ON
  G11: { ops: [touch(0), accept(3, '4K'), destroyWith(fault('TDH.PHYMEM.CACHE.WB', 'TDX_SW_ERROR'))], off: 'INV-7@destroy+SW_ERROR' },
  G12: { ops: [touch(0), accept(3, '4K'), destroyWith(fault('TDH.PHYMEM.PAGE.RECLAIM'))], off: 'INV-22@destroy+OPERAND_BUSY' },
  G13: { ops: [touch(0), destroy], off: 'VM-BUGGED@destroy', structural: 'INV-27' }, // RECLAIM with the HKID assigned fails: KVM_BUG_ON
  G14: { ops: [touch(0), convert(0, 1, 'shared')], off: 'INV-24@convert' },
  // model-spec.md names VM-BUGGED (INV-17 in its list); the oracle reports the benign BUSY that killed the VM as INV-17
  G15: { ops: [touch(0), withFaults(convert(0, P, 'shared'), fault('TDH.MEM.RANGE.BLOCK'))], off: 'INV-17@convert+OPERAND_BUSY' },
  // the range is shared while its folio is allocated 2M (a shared touch), then gfn 5 alone goes private again
  G16: { ops: [convert(0, P, 'shared'), touch(0), convert(5, 6, 'private'), touch(5)], off: 'INV-2@touch' },
  G17: { design: { gmemOffset: 8 }, ops: [touch(P)], off: 'INV-3@touch' },
  G17b: { design: { uaddrOffset: 1 }, ops: [touch(0), accept(0, '2M')], off: 'PERF-2M@touch' },
  G18: { ops: [touch(0), convert(0, 1, 'shared'), convert(0, 1, 'private'), touch(0)], off: 'INV-33@convert' },
  G19: { ops: [touch(0), accept(0, '2M'), touch(5, 9), withFaults(convert(0, 1, 'shared'), { site: 'FOLIO_SPLIT', nth: 1 }), touch(5)], off: 'INV-31@convert+FOLIO_SPLIT' },
  // the module refuses REMOVE without TRACK (kernel-facts.md 2.7): TDX_BUG_ON, the damage BUG-21 shows
  G21: { ops: [touch(0), accept(0, '2M'), convert(0, P, 'shared')], off: 'VM-BUGGED@convert', structural: 'INV-19' },
  G22: { ops: [withFaults(touch(0), { site: 'NON_TDX_PFN', nth: 1 })], off: 'TDX-PFN@touch+NON_TDX_PFN' },
  G23: { ops: [touch(0), hostOp('memoryFailure', 3), touch(0)], off: 'INV-26@touch' },
};

describe('every guard switched off changes behaviour; switched on, the same case passes', () => {
  it('the table covers every guard the model knows (G20 below), and every guard is modelled', () => {
    expect([...Object.keys(CASES), 'G20'].sort()).toEqual([...GUARD_IDS].sort());
    expect(GUARDS.every((g) => g.modelled)).toBe(true);
  });

  for (const [id, c] of Object.entries(CASES) as [GuardId, GuardCase][]) {
    const info = GUARDS.find((g) => g.id === id)!;
    const perf = isPerfSignature(c.off);
    it(`${id} (${info.bug}): off -> ${c.off}${perf ? ' (performance)' : ''}; on -> pass`, () => {
      const design = c.design ?? {};
      const off = mkCase({ ...design, guardsOff: [id] }, c.ops);
      if (perf) {
        // a performance finding is reported, and fails the case only when asked
        const lenient = runCase(off);
        expect(lenient.verdict).toBe('pass');
        expect(lenient.perf).toEqual([expect.stringMatching(new RegExp(`^${c.off.split('@')[0]}: `))]);
      }
      const r = runCase(off, { failOnPerf: perf });
      expect(r.signature, r.failure?.message).toBe(c.off);
      expect(r.failure?.after?.inv).toBe(c.structural);
      const on = runCase(mkCase(design, c.ops), { failOnPerf: true });
      expect(on.signature, on.failure?.message).toBeNull();
      expect(on.verdict).toBe('pass');
      expect(on.perf).toEqual([]);
    });
  }
});

describe('G20 (BUG-20): the mmu_invalidate_retry check in the fault path', () => {
  /**
   * Two actors by hand: the vCPU's fault for gfn 3 runs up to kvm_gmem_get_pfn() (step 'gmem-get-pfn': pfn and
   * mmu_invalidate_seq read, mmu_lock not yet taken), then a whole conversion of gfn 3 to shared runs, then the
   * fault resumes.
   */
  function race(design: Record<string, unknown>) {
    const rig = new Rig(design);
    const fault = rig.start(touch(3));
    let step = fault.next();
    while (!step.done && step.value !== 'gmem-get-pfn') step = fault.next();
    expect(step.done).toBe(false);
    expect(rig.run(convert(3, 4, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    const out = drive(fault);
    return { rig, out };
  }

  it('G20 on: the fault sees the invalidation, retries, and then exits on the attribute mismatch; nothing is mapped', () => {
    const { rig, out } = race({});
    const { sys } = rig;
    expect(sys.counters.pageFaultRetries).toBe(1);
    expect(out).toMatchObject({ kind: 'touch', result: 'exit', errno: -EFAULT, exit: { reason: 'memory-fault', private: true } });
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONE);
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
    for (let r = 0; r < sys.regions; r++) expect(checkLeafInvariants(sys, r)).toBeNull();
  });

  it('G20 off: the fault installs a private mapping of the now-shared gfn -> INV-2', () => {
    const { rig, out } = race({ guardsOff: ['G20'] });
    const { sys } = rig;
    expect(sys.counters.pageFaultRetries).toBe(0);
    expect(out).toEqual({ kind: 'touch', result: 've' });
    expect(sys.kvm.mirror.m4k[3]).toBe(Spte.LEAF);
    expect(sys.tdx.sept.e4k[3]).toBe(S.PENDING);
    expect(checkLeafInvariants(sys, 0)).toEqual(['INV-2', 'mirror: private 4K leaf at gfn 0x3 covers SHARED gfn 0x3']);
  });

  it('a single actor cannot show it: the same ops one after another pass with G20 off', () => {
    expect(run({ guardsOff: ['G20'] }, [touch(3), convert(3, 4, 'shared'), touch(3)]).verdict).toBe('pass');
  });
});
