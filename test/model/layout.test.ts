// The memslot layout (model-spec.md 2.4, 003:L176, L321-324): slot base gfn, guest_memfd offset and
// userspace-address offset, the gfn <-> gmem index translation, the 2M lpage disallow counts (G17, G17b),
// and what the guest and userspace see at and beyond the edges of the slot.
import { describe, expect, it } from 'vitest';
import { resolveDesign } from '../../src/model/config.js';
import { EFAULT, EINVAL } from '../../src/model/errno.js';
import { PRIVATE, SHARED } from '../../src/model/gmem/gmem.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { System } from '../../src/model/system.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, convert, count, P, punch, Rig, run, touch, traced } from '../helpers/model.js';

const disallow = (design: Record<string, unknown>): number[] => Array.from(new System(resolveDesign({ ptrs: P, ...design })).kvm.lpage.disallowCount);

describe('gfn <-> guest_memfd index (index = gfn - slotBaseGfn + gmemOffset)', () => {
  it('the default slot binds gfn g to index g over the whole GPA space', () => {
    const sys = new System(resolveDesign({ ptrs: P }));
    expect([sys.slotBase, sys.slotEnd, sys.gmemOffset, sys.gmem.size]).toEqual([0, 2 * P, 0, 2 * P]);
    for (const g of [0, 5, P, 2 * P - 1]) {
      expect(sys.index(g)).toBe(g);
      expect(sys.gfnOf(g)).toBe(g);
    }
  });

  it('a misaligned base and an offset: gfns below the base have no index, indices before the offset no gfn', () => {
    const sys = new System(resolveDesign({ ptrs: P, slotBaseGfn: 8, gmemOffset: 3 }));
    expect(sys.index(7)).toBe(-1);
    expect(sys.index(8)).toBe(3);
    expect(sys.index(2 * P - 1)).toBe(2 * P - 1 - 8 + 3);
    expect(sys.index(2 * P)).toBe(-1);
    expect(sys.gfnOf(2)).toBe(-1);
    expect(sys.gfnOf(3)).toBe(8);
    expect(sys.gfnOf(2 * P - 5)).toBe(-1); // past the end of the slot
    for (let g = 8; g < 2 * P; g++) expect(sys.gfnOf(sys.index(g))).toBe(g);
    // the hugetlb file is a whole number of 2M folios long and covers every bound index
    expect(sys.gmem.size % P).toBe(0);
    expect(sys.gmem.size).toBeGreaterThan(sys.index(2 * P - 1));
  });

  it('gfns outside the slot count as shared (not private)', () => {
    const sys = new System(resolveDesign({ ptrs: P, slotBaseGfn: P }));
    expect(sys.isPrivate(0)).toBe(false);
    expect(sys.isPrivate(P - 1)).toBe(false);
    expect(sys.isPrivate(P)).toBe(true);
  });
});

describe('2M lpage disallow counts (kvm_alloc_memslot_metadata, 003:L176)', () => {
  it('an aligned slot disallows nothing; a 2M range wholly outside the slot is not counted', () => {
    expect(disallow({})).toEqual([0, 0]);
    expect(disallow({ slotBaseGfn: P })).toEqual([0, 0]);
    expect(disallow({ gmemOffset: P })).toEqual([0, 0]);
    expect(disallow({ slotBaseGfn: P, gmemOffset: 2 * P })).toEqual([0, 0]);
  });

  it('a misaligned base disallows the head range (index alignment kept by a matching gmem offset)', () => {
    expect(disallow({ slotBaseGfn: 8, gmemOffset: 8 })).toEqual([1, 0]);
    expect(disallow({ slotBaseGfn: 8, gmemOffset: 8, regions: 3 })).toEqual([1, 0, 0]);
  });

  it('a misaligned base with gmem offset 0 also breaks gfn/index alignment: the head range twice, every range once', () => {
    expect(disallow({ slotBaseGfn: 8 })).toEqual([2, 1]);
    expect(disallow({ slotBaseGfn: 8, regions: 3 })).toEqual([2, 1, 1]);
  });

  it('a misaligned gmem offset disallows every range', () => {
    expect(disallow({ gmemOffset: 8 })).toEqual([1, 1]);
    expect(disallow({ gmemOffset: 1, regions: 4 })).toEqual([1, 1, 1, 1]);
  });

  it('a misaligned uaddr disallows every range only without FIXUP-4 (G17b off); with it, none', () => {
    expect(disallow({ uaddrOffset: 1 })).toEqual([0, 0]);
    expect(disallow({ uaddrOffset: 1, guardsOff: ['G17b'] })).toEqual([1, 1]);
    expect(disallow({ uaddrOffset: 0, guardsOff: ['G17b'] })).toEqual([0, 0]);
  });

  it('G17 off drops the base and gmem-offset terms (BUG-17), not the uaddr term', () => {
    expect(disallow({ slotBaseGfn: 8, guardsOff: ['G17'] })).toEqual([0, 0]);
    expect(disallow({ gmemOffset: 8, guardsOff: ['G17'] })).toEqual([0, 0]);
    expect(disallow({ slotBaseGfn: 8, uaddrOffset: 3, guardsOff: ['G17', 'G17b'] })).toEqual([1, 1]);
  });
});

describe('mapping in a misaligned slot (G17)', () => {
  it('a touch in the misaligned head range maps 4K and the case passes', () => {
    const { r, opLines } = traced({ slotBaseGfn: 8, gmemOffset: 8 }, [touch(8), accept(8, '4K'), touch(8, 3), touch(8), touch(P), accept(P, '2M')]);
    expect(r.verdict).toBe('pass');
    expect(opLines(0).filter((l) => l.startsWith('TDH.MEM.PAGE.AUG') && l.includes('level=2M'))).toEqual([]);
    expect(count(opLines(0), 'TDH.MEM.PAGE.AUG(gfn=0x8 level=4K')).toBe(1);
    expect(opLines(0)).toContain('  -> ve');
    expect(opLines(3)).toContain('  -> read 3');
    const rig = new Rig({ slotBaseGfn: 8, gmemOffset: 8 });
    expect(rig.run(touch(8))).toEqual({ kind: 'touch', result: 've' });
    const { sys } = rig;
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    expect(sys.tdx.sept.e4k[8]).toBe(S.PENDING);
    expect(sys.tdx.sept.pfn4k[8]).toBe(sys.gmem.pfn[8]);
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 1 });
    // the aligned range after the head maps 2M at a 2M-aligned pfn
    expect(rig.run(touch(P))).toEqual({ kind: 'touch', result: 've' });
    expect(sys.tdx.sept.e2m[1]).toBe(S.PENDING);
    expect(sys.tdx.sept.pfn2m[1] % P).toBe(0);
    expect(sys.kvm.stats).toEqual({ pages2m: 1, pages4k: 1 });
  });

  it('with gfn/index misalignment every range maps 4K: a 2M folio spans two GPA ranges', () => {
    const rig = new Rig({ slotBaseGfn: 8 });
    rig.runAll([touch(8), touch(P)]);
    const { sys } = rig;
    // gfns 8..23 are indices 0..15: one 2M folio, mapped 4K in both ranges
    expect(sys.gmem.folioHead[sys.index(8)]).toBe(0);
    expect(sys.gmem.folioHead[sys.index(P)]).toBe(0);
    expect(sys.tdx.sept.pfn4k[P]).toBe(sys.tdx.sept.pfn4k[8] + 8);
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 2 });
    expect(run({ slotBaseGfn: 8 }, [touch(8), accept(P + 3, '4K'), accept(2 * P - 1, '2M'), touch(P + 3, 4), touch(P + 3)]).verdict).toBe('pass');
  });

  // kvm_mmu_hugepage_adjust() rounds the pfn down to 2M (fault->pfn &= ~(KVM_PAGES_PER_HPAGE - 1)), so with
  // G17 off the AUG gets an aligned pfn: what is wrong is the gfn <-> index binding or the slot edge (INV-3).
  it('G17 off (gmem offset 8): a touch asks for a 2M mapping whose gfn and gmem index disagree -> INV-3', () => {
    const { r, opLines } = traced({ gmemOffset: 8, guardsOff: ['G17'] }, [touch(0)]);
    expect(r.signature).toBe('INV-3@touch');
    expect(r.failure!.step).toBe('seamcall');
    expect(r.failure!.message).toBe('TDH.MEM.PAGE.AUG requested: 2M mapping at gfn 0x0 over guest_memfd index 0x8: gfn and index are not 2M-aligned alike');
    // the pfn handed to the AUG is the 2M-aligned head of the folio that holds index 8
    const aug = opLines(0).find((l) => l.startsWith('TDH.MEM.PAGE.AUG('));
    const pfn = parseInt(/pfn=0x([0-9a-f]+)/.exec(aug!)![1], 16);
    expect(aug).toMatch(/^TDH\.MEM\.PAGE\.AUG\(gfn=0x0 level=2M pfn=0x[0-9a-f]+\)/);
    expect(pfn % P).toBe(0);
    expect(run({ gmemOffset: 8 }, [touch(0)]).verdict).toBe('pass');
  });

  it('G17 off (slot base 8): a touch asks for a 2M mapping reaching outside the slot -> INV-3', () => {
    const { r, opLines } = traced({ slotBaseGfn: 8, guardsOff: ['G17'] }, [touch(8)]);
    expect(r.signature).toBe('INV-3@touch');
    expect(r.failure!.message).toBe('TDH.MEM.PAGE.AUG requested: 2M mapping at gfn 0x0 reaches outside the memslot');
    // gfn 8 is index 0; the 2M mapping starts at gfn 0 with the folio's aligned head pfn, not pfn - 8
    expect(opLines(0).filter((l) => l.startsWith('TDH.MEM.PAGE.AUG('))).toEqual([expect.stringMatching(/^TDH\.MEM\.PAGE\.AUG\(gfn=0x0 level=2M pfn=0x0\) = TDX_SUCCESS/)]);
    expect(opLines(0).some((l) => l.includes('TDX_BUG_ON') || l.includes('KVM_BUG_ON'))).toBe(false);
  });

  it('G17 on (slot base 8): the same touch maps 4K and passes', () => {
    expect(run({ slotBaseGfn: 8 }, [touch(8)]).verdict).toBe('pass');
  });

  it('G17 off (gmem offset 8) fails in an aligned GPA range too: the index is what is misaligned', () => {
    const r = run({ gmemOffset: 8, guardsOff: ['G17'] }, [touch(P)]);
    expect(r.signature).toBe('INV-3@touch');
    expect(r.failure!.message).toBe('TDH.MEM.PAGE.AUG requested: 2M mapping at gfn 0x10 over guest_memfd index 0x18: gfn and index are not 2M-aligned alike');
  });

  it('G17b off with a misaligned uaddr maps 4K instead of 2M; the case still passes (performance only)', () => {
    const ops = [touch(0), accept(0, '2M'), touch(5, 7), touch(5), touch(P)];
    for (const [guardsOff, stats] of [
      [[], { pages2m: 2, pages4k: 0 }],
      [['G17b'], { pages2m: 0, pages4k: P + 1 }],
    ] as const) {
      const design = { uaddrOffset: 1, guardsOff: [...guardsOff] };
      expect(run(design, ops).verdict, JSON.stringify(design)).toBe('pass');
      const rig = new Rig(design);
      rig.runAll(ops);
      expect(rig.sys.kvm.stats, JSON.stringify(design)).toEqual(stats);
    }
  });
});

describe('the edges of the memslot', () => {
  it('touch and ACCEPT of a gfn outside the slot exit to userspace with -EFAULT; the case passes', () => {
    const ops = [touch(3), touch(3, 9), accept(3, '4K'), accept(7, '2M'), touch(P)];
    const { r, opLines } = traced({ slotBaseGfn: P }, ops);
    expect(r.verdict).toBe('pass');
    for (let i = 0; i < 4; i++) {
      expect(opLines(i), `op ${i}`).toContain(`  -> exit ${-EFAULT}`);
      expect(count(opLines(i), 'TDH.'), `op ${i}`).toBe(0);
    }
    const rig = new Rig({ slotBaseGfn: P });
    expect(rig.run(touch(3))).toEqual({ kind: 'touch', result: 'exit', errno: -EFAULT });
    expect(rig.run(accept(3, '4K'))).toEqual({ kind: 'accept', result: 'exit', errno: -EFAULT });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 0 });
    // tdx_honor_guest_accept_level() "returns 0 if no slot" (V3-13): no GUEST_INHIBIT for a gfn with no memslot
    expect(rig.sys.kvm.lpage.guestInhibit[0]).toBe(0);
  });

  it('a 2M ACCEPT over a head range that starts outside the slot exits -EFAULT; 4K inside it works', () => {
    const ops = [accept(8, '2M'), accept(8, '4K'), touch(8, 1), touch(8), accept(9, '2M')];
    const { r, opLines } = traced({ slotBaseGfn: 8, gmemOffset: 8 }, ops);
    expect(r.verdict).toBe('pass');
    expect(opLines(0)).toContain(`  -> exit ${-EFAULT}`);
    expect(opLines(1)).toContain('  -> accepted');
    expect(opLines(3)).toContain('  -> read 1');
    expect(opLines(4)).toContain(`  -> exit ${-EFAULT}`);
  });

  it('convert and punch ranges that leave the slot return -EINVAL and change nothing', () => {
    const rig = new Rig({ slotBaseGfn: 8, gmemOffset: 8 });
    rig.run(touch(8));
    expect(rig.run(convert(0, 9, 'shared'))).toEqual({ kind: 'convert', ret: -EINVAL });
    expect(rig.run(convert(7, 8, 'shared'))).toEqual({ kind: 'convert', ret: -EINVAL });
    expect(rig.run(punch(0, P))).toEqual({ kind: 'punch', ret: -EINVAL });
    expect(rig.run(punch(4, 9))).toEqual({ kind: 'punch', ret: -EINVAL });
    expect(rig.sys.gmem.attr[8]).toBe(PRIVATE);
    expect(rig.sys.tdx.sept.e4k[8]).toBe(S.PENDING);
    const { r, opLines } = traced({ slotBaseGfn: 8, gmemOffset: 8 }, [touch(8), convert(0, 9, 'shared'), punch(4, 9), touch(8)]);
    expect(r.verdict).toBe('pass');
    expect(opLines(1)).toContain(`  -> ret ${-EINVAL}`);
    expect(opLines(2)).toContain(`  -> ret ${-EINVAL}`);
    expect(count([...opLines(1), ...opLines(2)], 'TDH.')).toBe(0);
  });

  it('conversions translate gfns to indices: the attribute lands on index gfn - base + offset', () => {
    const rig = new Rig({ slotBaseGfn: 8, gmemOffset: 3 });
    expect(rig.run(convert(10, 12, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    const { sys } = rig;
    for (let i = 0; i < sys.gmem.size; i++) expect(sys.gmem.attr[i], `index ${i}`).toBe(i === 5 || i === 6 ? SHARED : PRIVATE);
    expect(sys.isPrivate(10)).toBe(false);
    expect(sys.isPrivate(12)).toBe(true);
    expect(sys.kvm.lpage.mixed[0]).toBe(1);
    expect(sys.kvm.lpage.mixed[1]).toBe(0);
    expect(run({ slotBaseGfn: 8, gmemOffset: 3 }, [touch(12), convert(10, 12, 'shared'), touch(10, 4), touch(10), convert(10, 11, 'private'), touch(10)]).verdict).toBe('pass');
  });

  it('punch alignment is judged in gmem-index space: with base 8, offset 0, gfns [8, 24) are one whole folio', () => {
    const rig = new Rig({ slotBaseGfn: 8 });
    rig.runAll([touch(8), touch(P)]);
    const pfn = rig.sys.gmem.pfn[0];
    expect(rig.run(punch(P, 2 * P))).toEqual({ kind: 'punch', ret: -EINVAL }); // indices 8..23: half of two folios
    expect(rig.run(punch(8, P + 8))).toEqual({ kind: 'punch', ret: 0 });
    for (let i = 0; i < P; i++) expect(rig.sys.gmem.pfn[i]).toBe(-1);
    expect(rig.sys.phys.isFree(pfn)).toBe(true);
    expect(rig.sys.tdx.sept.e4k[8]).toBe(S.FREE);
    expect(rig.sys.tdx.sept.e4k[P]).toBe(S.FREE);
    expect(run({ slotBaseGfn: 8 }, [touch(8), touch(P), punch(P, 2 * P), punch(8, P + 8), touch(P)]).verdict).toBe('pass');
  });
});
