// kvm.vm_memory_attributes=Y (design vmMemoryAttributes; src/model/kvm/memAttributes.ts, kernel-facts.md 3.2,
// V3-15): KVM_SET_MEMORY_ATTRIBUTES keeps the attribute in the VM, splits cross-boundary leaves and zaps
// without touching guest_memfd folios, shared memory is ordinary userspace memory; KVM_PRE_FAULT_MEMORY and
// memslot deletion (src/model/kvm/slot.ts; 003:L129-131, 004:L117-120).
import { describe, expect, it } from 'vitest';
import { EFAULT, EIO, EOPNOTSUPP } from '../../src/model/errno.js';
import { PRIVATE } from '../../src/model/gmem/gmem.js';
import { Owner } from '../../src/model/host/phys.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, convert, count, deleteSlot, expectInOrder, P, prefault, Rig, run, touch, traced, withFaults } from '../helpers/model.js';

const Y = { vmMemoryAttributes: true } as const;

describe('conversion with vm_memory_attributes=Y', () => {
  it('to shared splits the S-EPT leaf and zaps only the range; guest_memfd folios are not split', () => {
    const ops = [touch(0), accept(0, '2M'), touch(5, 77), convert(0, 1, 'shared'), touch(0, 4), touch(0), touch(5), convert(0, 1, 'private'), touch(0)];
    const { r, opLines } = traced(Y, ops);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(3), ['TDH.MEM.PAGE.DEMOTE(gfn=0x0 level=2M', 'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=4K', 'KVM_SET_MEMORY_ATTRIBUTES [0x0, 0x1) -> SHARED', '-> ret 0']);
    expect(count(opLines(3), 'gmem: split')).toBe(0);
    expect(count(opLines(3), 'TDH.MEM.PAGE.REMOVE')).toBe(1);
    const rig = new Rig(Y);
    const outs = rig.runAll(ops);
    const { sys } = rig;
    expect(sys.gmem.orderAt(0)).toBe(sys.gmem.hugeOrder);
    // the attribute lives in the VM; guest_memfd's own stays PRIVATE
    expect(sys.kvm.attrs[0]).toBe(1);
    expect(sys.gmem.attr[0]).toBe(PRIVATE);
    // shared memory is an ordinary userspace page, not the guest_memfd page
    expect(outs[5]).toEqual({ kind: 'touch', result: 'read', value: 4 });
    expect(outs[6]).toEqual({ kind: 'touch', result: 'read', value: 77 });
    expect(sys.kvm.sharedBacking[0]).toBeGreaterThanOrEqual(0);
    expect(sys.phys.owner[sys.kvm.sharedBacking[0]]).toBe(Owner.HOST_OTHER);
    expect(sys.kvm.sharedBacking[0]).not.toBe(sys.gmem.pfn[0]);
  });

  it('a shared gfn in a range keeps it off 2M through MIXED alone (the folio stays 2M)', () => {
    const rig = new Rig(Y);
    rig.runAll([convert(5, 6, 'shared'), touch(0)]);
    const { sys } = rig;
    expect(sys.kvm.lpage.mixed[0]).toBe(1);
    expect(sys.gmem.orderAt(0)).toBe(sys.gmem.hugeOrder);
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 1 });
    expect(run(Y, [convert(5, 6, 'shared'), touch(0), touch(5, 1), touch(5)]).verdict).toBe('pass');
  });

  it('G16 off: nothing else stops a 2M private leaf over the shared gfn -> INV-2', () => {
    const r = run({ ...Y, guardsOff: ['G16'] }, [convert(5, 6, 'shared'), touch(0)]);
    expect(r.signature).toBe('INV-2@touch');
    expect(r.failure!.message).toBe('S-EPT: private 2M leaf at gfn 0x0 covers SHARED gfn 0x5');
  });

  it('an xa_reserve failure (fault site ALLOC) fails the ioctl with the attributes unchanged', () => {
    const rig = new Rig(Y);
    rig.run(touch(0));
    expect(rig.run(withFaults(convert(0, 1, 'shared'), { site: 'ALLOC', nth: 1 }))).toEqual({ kind: 'convert', ret: -12 });
    expect(rig.sys.kvm.attrs[0]).toBe(1);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.LEAF);
    expect(run(Y, [touch(0), withFaults(convert(0, 1, 'shared'), { site: 'ALLOC', nth: 1 }), touch(0)]).verdict).toBe('pass');
  });
});

describe('KVM_PRE_FAULT_MEMORY', () => {
  it('maps PENDING without an ACCEPT: the guest still gets #VE until it accepts', () => {
    for (const design of [{}, Y]) {
      const rig = new Rig(design);
      expect(rig.run(prefault(0, P))).toEqual({ kind: 'prefault', ret: 0 });
      expect(rig.sys.tdx.sept.e2m[0]).toBe(S.PENDING);
      expect(rig.sys.kvm.lpage.guestInhibit[0]).toBe(0);
      expect(rig.run(touch(3))).toEqual({ kind: 'touch', result: 've' });
      expect(rig.run(accept(0, '2M'))).toEqual({ kind: 'accept', result: 'accepted' });
      expect(rig.run(touch(3))).toEqual({ kind: 'touch', result: 'read', value: 0 });
      expect(run(design, [prefault(0, P), touch(3), accept(0, '2M'), touch(3), prefault(P, P + 1), accept(P + 1, '4K')]).verdict).toBe('pass');
    }
  });

  it('is refused before finalize (-EOPNOTSUPP) and on a bugged VM (-EIO)', () => {
    const build = new Rig({ startPhase: 'BUILD' });
    expect(build.run(prefault(0, 1))).toEqual({ kind: 'prefault', ret: -EOPNOTSUPP });
    const dead = new Rig();
    dead.runAll([touch(0), withFaults(convert(0, P, 'shared'), { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 1, status: 'TDX_SW_ERROR' })]);
    expect(dead.run(prefault(P, P + 1))).toEqual({ kind: 'prefault', ret: -EIO });
  });
});

describe('memslot deletion', () => {
  it('zaps every guest leaf but keeps the page tables; later touches exit -EFAULT; a second delete -> -EFAULT', () => {
    const ops = [touch(0), accept(0, '2M'), accept(P + 3, '4K'), deleteSlot, touch(0), accept(3, '4K'), deleteSlot];
    for (const design of [{}, Y]) {
      const { r, opLines } = traced(design, ops);
      expect(r.verdict, JSON.stringify(design)).toBe('pass');
      expectInOrder(opLines(3), ['TDH.MEM.PAGE.REMOVE(gfn=0x0 level=2M', 'TDH.MEM.PAGE.REMOVE(gfn=0x13 level=4K', 'memslot deleted', '-> ret 0']);
      const rig = new Rig(design);
      const outs = rig.runAll(ops);
      expect(outs.slice(4)).toEqual([
        { kind: 'touch', result: 'exit', errno: -EFAULT },
        { kind: 'accept', result: 'exit', errno: -EFAULT },
        { kind: 'deleteSlot', ret: -EFAULT },
      ]);
      const { sys } = rig;
      expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
      expect(sys.tdx.sept.e2m[1]).toBe(S.NL_MAPPED); // the table stays while the HKID is assigned (004:L117-120)
      expect(sys.tdx.sept.e4k[P + 3]).toBe(S.FREE);
      expect(sys.kvm.bugged).toBe(false);
    }
  });

  it('slotDeleteZapsTables: with G11 on, reclaim_external_sp refuses the S-EPT page while the HKID is assigned and bugs the VM (VM-BUGGED)', () => {
    const ops = [accept(3, '4K'), deleteSlot];
    for (const design of [{ slotDeleteZapsTables: true }, { ...Y, slotDeleteZapsTables: true }]) {
      const { r, opLines } = traced(design, ops);
      expect(r.signature, JSON.stringify(design)).toBe('VM-BUGGED@deleteSlot');
      expect(r.failure!.message).toMatch(/^VM bugged at step \d+ of op 1 with no injected fault in that op$/);
      expect(opLines(1)).toContain('KVM_BUG_ON: reclaim_external_sp with the HKID assigned; S-EPT page leaked -> VM bugged (dead)');
      const rig = new Rig(design);
      rig.runAll(ops);
      const leaked = [...rig.sys.phys.leakWhy.keys()];
      expect(leaked).toHaveLength(1);
      expect(rig.sys.phys.owner[leaked[0]]).toBe(Owner.LEAKED);
    }
  });

  it('slotDeleteZapsTables with G11 off frees the S-EPT page while the HKID is assigned -> INV-7', () => {
    const r = run({ slotDeleteZapsTables: true, guardsOff: ['G11'] }, [accept(3, '4K'), deleteSlot]);
    expect(r.signature).toBe('INV-7@deleteSlot');
    expect(r.failure!.message).toMatch(/^S-EPT page 0x[0-9a-f]+ freed to the host while the HKID is assigned$/);
    // with only 2M leaves there is no 4K table to free: nothing to guard
    expect(run({ slotDeleteZapsTables: true, guardsOff: ['G11'] }, [touch(0), deleteSlot]).verdict).toBe('pass');
  });
});
