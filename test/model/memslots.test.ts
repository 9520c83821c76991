// Several memslots (issue 11): the guest range cut into two memslots bound to the one guest_memfd at
// consistent offsets; the lpage disallow counts a cut inside a 2M range gives both slots; the per-slot walk of
// KVM_SET_MEMORY_ATTRIBUTES and of the guest_memfd conversion, where a split failing in the second memslot
// leaves the first split (and, for KVM_SET_MEMORY_ATTRIBUTES, zapped); deleting one memslot of two.
import { describe, expect, it } from 'vitest';
import { DesignError, resolveDesign } from '../../src/model/config.js';
import { EFAULT, EINVAL, ENOMEM } from '../../src/model/errno.js';
import { memslotLayout } from '../../src/model/kvm/memslot.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import type { Op } from '../../src/model/ops.js';
import { System } from '../../src/model/system.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, convert, P, Rig, touch, withFaults } from '../helpers/model.js';

const TWO = { memslots: 2, slotSplitGfn: P };
const disallow = (design: Record<string, unknown>): number[] => Array.from(new System(resolveDesign({ ptrs: P, ...design })).kvm.lpage.disallowCount);
const del = (slot: '0' | '1'): Op => ({ op: 'deleteSlot', slot });
/** Map both 2M ranges huge and accept them; the guest writes 7 at gfn 2 and 9 at gfn P + 1. */
const ACCEPTED_BOTH: Op[] = [touch(0), accept(0, '2M'), touch(2, 7), touch(P), accept(P, '2M'), touch(P + 1, 9)];

describe('memslot layout', () => {
  it('two slots cut at slotSplitGfn share the guest_memfd at consistent offsets', () => {
    const d = resolveDesign({ ptrs: P, slotBaseGfn: 4, gmemOffset: 4, memslots: 2, slotSplitGfn: 8, uaddrOffset: 1 });
    expect(memslotLayout(d)).toEqual([
      { id: 0, baseGfn: 4, npages: 4, gmemOffset: 4, uaddr: 5 },
      { id: 1, baseGfn: 8, npages: 2 * P - 8, gmemOffset: 8, uaddr: 9 },
    ]);
    const sys = new System(d);
    expect([sys.slotOf(3), sys.slotOf(4), sys.slotOf(7), sys.slotOf(8), sys.slotOf(2 * P - 1)]).toEqual([-1, 0, 0, 1, 1]);
    for (let g = 4; g < 2 * P; g++) expect(sys.index(g)).toBe(g);
    expect(sys.slotRanges(2, 12)).toEqual([{ slot: 0, start: 4, end: 8 }, { slot: 1, start: 8, end: 12 }]);
  });

  it('the default design has one memslot, and the settings are checked', () => {
    expect(memslotLayout(resolveDesign({ ptrs: P }))).toEqual([{ id: 0, baseGfn: 0, npages: 2 * P, gmemOffset: 0, uaddr: 0 }]);
    expect(() => resolveDesign({ ptrs: P, memslots: 3 })).toThrow(DesignError);
    expect(() => resolveDesign({ ptrs: P, slotSplitGfn: 8 })).toThrow(/must be 0 with one memslot/);
    expect(() => resolveDesign({ ptrs: P, memslots: 2 })).toThrow(/both memslots keep at least one page/);
    expect(() => resolveDesign({ ptrs: P, memslots: 2, slotBaseGfn: 8, slotSplitGfn: 8 })).toThrow(/both memslots keep at least one page/);
    expect(() => resolveDesign({ ptrs: P, memslots: 2, slotSplitGfn: 2 * P })).toThrow(/both memslots keep at least one page/);
  });

  it('a boundary inside a 2M range disallows that range from both slots (003:L176); a 2M-aligned one disallows nothing', () => {
    expect(disallow(TWO)).toEqual([0, 0]);
    expect(disallow({ memslots: 2, slotSplitGfn: 8 })).toEqual([2, 0]); // slot 0's tail and slot 1's head
    expect(disallow({ memslots: 2, slotSplitGfn: P + 1 })).toEqual([0, 2]);
    expect(disallow({ memslots: 2, slotSplitGfn: 8, guardsOff: ['G17'] })).toEqual([0, 0]); // BUG-17
  });

  it('a fault in the range a boundary cuts maps 4K, elsewhere 2M', () => {
    const rig = new Rig({ memslots: 2, slotSplitGfn: 8 });
    rig.runAll([touch(0), touch(P)]);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    expect(rig.sys.kvm.mirror.m2m[1]).toBe(Spte.LEAF);
  });
});

describe('KVM_SET_MEMORY_ATTRIBUTES over two memslots (kernel-facts.md 3.2, V3-15)', () => {
  it('a split failing in the second memslot returns the error with the attributes unchanged; the first is already zapped', () => {
    const rig = new Rig({ ...TWO, vmMemoryAttributes: true });
    rig.runAll(ACCEPTED_BOTH);
    // ALLOC visit 1 is xa_reserve; memslot 0's part [0, P) needs no split; visit 2 is memslot 1's split at P + 8
    const out = rig.run(withFaults(convert(0, P + 8, 'shared'), { site: 'ALLOC', nth: 2 }));
    expect(out).toEqual({ kind: 'convert', ret: -ENOMEM });
    expect(rig.sys.inj.fired).toEqual([expect.objectContaining({ site: 'ALLOC', slot: 1 })]);
    for (let g = 0; g < 2 * P; g++) expect(rig.sys.kvm.attrs[g]).toBe(1);
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.FREE); // memslot 0: zapped
    expect(rig.sys.tdx.sept.e2m[1]).toBe(S.MAPPED); // memslot 1: untouched, still 2M
  });

  it('a split failing in the first memslot zaps nothing', () => {
    const rig = new Rig({ ...TWO, vmMemoryAttributes: true });
    rig.runAll(ACCEPTED_BOTH);
    const out = rig.run(withFaults(convert(4, P + 8, 'shared'), { site: 'ALLOC', nth: 2 }));
    expect(out).toEqual({ kind: 'convert', ret: -ENOMEM });
    expect(rig.sys.inj.fired).toEqual([expect.objectContaining({ site: 'ALLOC', slot: 0 })]);
    expect([rig.sys.tdx.sept.e2m[0], rig.sys.tdx.sept.e2m[1]]).toEqual([S.MAPPED, S.MAPPED]);
  });
});

describe('guest_memfd conversion over two bindings (kernel-facts.md 3.1, V3-16)', () => {
  it('a split failing in the second binding leaves the first split but nothing zapped (the zap comes after every split)', () => {
    const rig = new Rig(TWO);
    rig.runAll(ACCEPTED_BOTH);
    // visit 1: memslot 0's split at gfn 4 (its S-EPT page); then its split cache; the failing visit is memslot 1's
    let nth = 1;
    for (; nth < 12; nth++) {
      const r = new Rig(TWO);
      r.runAll(ACCEPTED_BOTH);
      r.run(withFaults(convert(4, P + 8, 'shared'), { site: 'ALLOC', nth }));
      if (r.sys.inj.fired[0]?.slot === 1) break;
    }
    expect(nth).toBeLessThan(12);
    const out = rig.run(withFaults(convert(4, P + 8, 'shared'), { site: 'ALLOC', nth }));
    expect(out).toEqual({ kind: 'convert', ret: -ENOMEM });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED); // split
    for (let g = 0; g < P; g++) expect(rig.sys.tdx.sept.e4k[g]).toBe(S.MAPPED); // not zapped
    expect(rig.sys.tdx.sept.e2m[1]).toBe(S.MAPPED);
    for (let i = 0; i < 2 * P; i++) expect(rig.sys.gmem.attr[i]).toBe(1);
  });
});

describe('deleting one memslot of two', () => {
  it('zaps only that slot; its gfns fault with -EFAULT (no memslot), the other slot runs on', () => {
    const rig = new Rig(TWO);
    rig.runAll(ACCEPTED_BOTH);
    expect(rig.run(del('1'))).toEqual({ kind: 'deleteSlot', ret: 0 });
    expect(rig.sys.tdx.sept.e2m[1]).toBe(S.FREE);
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.MAPPED);
    expect(rig.run(touch(P + 1))).toMatchObject({ result: 'exit', errno: -EFAULT });
    expect(rig.run(touch(2))).toEqual({ kind: 'touch', result: 'read', value: 7 });
    expect(rig.run(del('1'))).toEqual({ kind: 'deleteSlot', ret: -EFAULT });
    expect(rig.run(del('0'))).toEqual({ kind: 'deleteSlot', ret: 0 });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.FREE);
  });

  it('a slot the VM does not have is refused with -EINVAL; the default slot field is slot 0', () => {
    const rig = new Rig();
    expect(rig.run(del('1'))).toEqual({ kind: 'deleteSlot', ret: -EINVAL });
    expect(rig.run({ op: 'deleteSlot' })).toEqual({ kind: 'deleteSlot', ret: 0 });
    expect(rig.sys.kvm.slotDeleted).toEqual([true]);
  });
});
