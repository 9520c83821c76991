// A split under the shared mmu_lock, placed where v3 has the rule (kernel-facts.md 2.5): the TDP MMU's
// fault path splits a 2M leaf for a 4K fault under the shared lock (tdp_mmu_split_huge_page(..., shared));
// the TDX hook tdx_sept_split_private_spte() refuses it with WARN_ON_ONCE and -EOPNOTSUPP unless the module
// has NON-BLOCKING-RESIZE; the TDP MMU restores the mirror SPTE and the fault is retried.
import { describe, expect, it } from 'vitest';
import { Spte } from '../../src/model/kvm/mirror.js';
import { SeptState } from '../../src/model/tdx/sept.js';
import { accept, count, drive, P, Rig, run, touch, traced } from '../helpers/model.js';
import { splitCrossBoundaryLeafs } from '../../src/model/kvm/tdpMmu.js';
import { readLock, readUnlock } from '../../src/model/kvm/locks.js';
import { EOPNOTSUPP } from '../../src/model/errno.js';
import { Owner } from '../../src/model/host/phys.js';

const WARN = 'WARN_ON_ONCE: split_external_spte under shared mmu_lock refused';

describe('split under the shared mmu_lock', () => {
  it('reaches the TDX hook, which refuses it: the mirror 2M leaf is restored and the new S-EPT page freed', () => {
    const rig = new Rig({}, true);
    rig.runAll([touch(0)]);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.LEAF);
    const septBefore = rig.sys.phys.owner.filter((o) => o === Owner.SEPT).length;
    const ret = drive((function* () {
      yield* readLock(rig.sys, 'test');
      const r = yield* splitCrossBoundaryLeafs(rig.sys, 3, 4, true);
      yield* readUnlock(rig.sys, 'test');
      return r;
    })());
    expect(ret).toBe(-EOPNOTSUPP);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.LEAF);
    expect(rig.sys.tdx.sept.e2m[0]).not.toBe(SeptState.NL_MAPPED);
    expect(rig.sys.phys.owner.filter((o) => o === Owner.SEPT).length).toBe(septBefore) // the new S-EPT page went back; the split cache keeps its top-up;
    const lines = rig.sys.trace.lines!.map((l) => l.text);
    expect(count(lines, WARN)).toBe(1);
  });
  it('the 4K fault under a 2M leaf (G8 off: no split before the fault) meets the hook, warns once, and retries (INV-10)', () => {
    const { r, opLines } = traced({ guardsOff: ['G8'] }, [touch(0), accept(3, '4K')]);
    expect(r.signature).toBe('INV-10@accept');
    const lines = opLines(1);
    expect(count(lines, WARN)).toBe(1); // WARN_ON_ONCE, although the fault met the refusal many times
    expect(count(lines, 'split under shared mmu_lock failed (-95) -> RET_PF_RETRY')).toBeGreaterThan(1);
    expect(count(lines, 'split 2M leaf gfn 0x0')).toBeGreaterThan(1); // the mirror split, then restored
  });
  it('with NON-BLOCKING-RESIZE the hook accepts the shared-lock split and the fault maps 4K (G8 off)', () => {
    const r = run({ guardsOff: ['G8'], nonBlockingResize: true }, [touch(0), accept(3, '4K'), touch(3, 9), touch(3)]);
    expect(r.verdict, r.failure?.message).toBe('pass');
  });
  it('is quiet on the default design: the honoured ACCEPT level splits under the write lock first, no warning', () => {
    const { r, all } = traced({}, [touch(0), accept(3, '4K'), touch(4), accept(P, '2M'), accept(P + 5, '4K')]);
    expect(r.verdict, r.failure?.message).toBe('pass');
    expect(count(all, WARN)).toBe(0);
  });
});
