// What the host does to guest_memfd pages besides conversion and punch (src/model/gmem/host.ts): userspace
// mmap faults and IOMMU pins of shared pages (003:L661, L761), memory failure (kvm_gmem_error_folio,
// kernel-facts.md 3.1; 003:L765), HWPoison on fault and free (001:L28-37, guard G23) and host allocations that
// pick up freed pages.
import { describe, expect, it } from 'vitest';
import { EFAULT, EHWPOISON, EINVAL } from '../../src/model/errno.js';
import { PRIVATE, SHARED } from '../../src/model/gmem/gmem.js';
import { Owner } from '../../src/model/host/phys.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, convert, count, expectInOrder, hostAlloc, hostOp, P, punch, Rig, run, touch, traced } from '../helpers/model.js';

describe('host mappings and IOMMU pins (shared pages only)', () => {
  it('hostMap and pin of a private gfn -> -EFAULT; nothing is referenced, nothing split; the case passes', () => {
    const rig = new Rig();
    rig.run(touch(0));
    expect(rig.run(hostOp('hostMap', 3))).toEqual({ kind: 'hostMap', ret: -EFAULT });
    expect(rig.run(hostOp('pin', 3))).toEqual({ kind: 'pin', ret: -EFAULT });
    const gm = rig.sys.gmem;
    expect(gm.hostMaps[3] + gm.pins[3]).toBe(0);
    expect(gm.orderAt(0)).toBe(gm.hugeOrder);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.LEAF);
    expect(run({}, [touch(0), hostOp('hostMap', 3), hostOp('pin', 3), hostOp('hostUnmap', 3), hostOp('unpin', 3)]).verdict).toBe('pass');
  });

  it('hostMap of a shared gfn -> 0, and its huge folio is split to 4K first (003:L761)', () => {
    const rig = new Rig({}, true);
    rig.run(convert(0, P, 'shared')); // nothing allocated yet: the folio comes with the first host fault
    const gm = rig.sys.gmem;
    expect(gm.pfn[0]).toBe(-1);
    expect(rig.run(hostOp('hostMap', 0))).toEqual({ kind: 'hostMap', ret: 0 });
    for (let i = 0; i < P; i++) {
      expect(gm.folioHead[i]).toBe(i);
      expect(gm.orderAt(i)).toBe(0);
    }
    expect(gm.hostMaps[0]).toBe(1);
    const text = rig.sys.trace.lines!.map((l) => l.text);
    expectInOrder(text, ['gmem: split', 'host: userspace maps gmem index 0x0']);
    // a pin of another page of the range, and a second map, need no further split
    expect(rig.run(hostOp('pin', 1))).toEqual({ kind: 'pin', ret: 0 });
    expect(rig.run(hostOp('hostMap', 0))).toEqual({ kind: 'hostMap', ret: 0 });
    expect([gm.hostMaps[0], gm.pins[1]]).toEqual([2, 1]);
    expect(gm.extraRefs(0) + gm.extraRefs(1)).toBe(3);
    expect(run({}, [convert(0, P, 'shared'), hostOp('hostMap', 0), hostOp('pin', 1), touch(0, 7), touch(0), hostOp('hostUnmap', 0), hostOp('unpin', 1)]).verdict).toBe('pass');
  });

  it('hostUnmap / unpin without a reference -> -EINVAL', () => {
    const rig = new Rig();
    rig.run(convert(0, 1, 'shared'));
    expect(rig.run(hostOp('hostUnmap', 0))).toEqual({ kind: 'hostUnmap', ret: -EINVAL });
    expect(rig.run(hostOp('unpin', 0))).toEqual({ kind: 'unpin', ret: -EINVAL });
  });

  it('shared->private conversion of a pinned gfn -> -EBUSY and nothing changes (INV-32 quiet); after unpin it works', () => {
    const ops = [convert(0, P, 'shared'), hostOp('hostMap', 2), hostOp('pin', 1), convert(0, 4, 'private')];
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    expect(opLines(3)).toContain('  -> ret -16');
    expect(count(opLines(3), 'TDH.')).toBe(0);
    const rig = new Rig();
    rig.runAll(ops);
    const gm = rig.sys.gmem;
    for (let i = 0; i < P; i++) expect(gm.attr[i], `index ${i}`).toBe(SHARED);
    expect(gm.pins[1]).toBe(1);
    expect(rig.sys.kvm.lpage.mixed[0]).toBe(0);
    expect(rig.run(hostOp('unpin', 1))).toEqual({ kind: 'unpin', ret: 0 });
    expect(rig.run(convert(0, 4, 'private'))).toEqual({ kind: 'convert', ret: 0 });
    for (let i = 0; i < 4; i++) expect(gm.attr[i]).toBe(PRIVATE);
    // step 2a tore the host mapping down with the conversion
    expect(gm.hostMaps[2]).toBe(0);
    expect(run({}, [...ops, hostOp('unpin', 1), convert(0, 4, 'private'), accept(1, '4K'), touch(1)]).verdict).toBe('pass');
  });
});

describe('memory failure (kvm_gmem_error_folio) and HWPoison (G23)', () => {
  it('memoryFailure returns 1, poisons the page and zaps every mapping of the whole folio; later touches get -EHWPOISON (-133)', () => {
    const rig = new Rig();
    rig.runAll([touch(0), accept(0, '2M'), touch(3, 5), touch(P)]);
    const { sys } = rig;
    const pfn = sys.gmem.pfn[3];
    expect(rig.run(hostOp('memoryFailure', 3))).toEqual({ kind: 'memoryFailure', ret: 1 });
    expect(sys.phys.hwpoison[pfn]).toBe(1);
    expect(sys.phys.hwpoison[pfn + 1]).toBe(0);
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONE);
    expect(sys.tdx.sept.e2m[1]).toBe(S.PENDING); // another folio: left alone
    // no truncation: the folio stays in guest_memfd
    expect(sys.gmem.pfn[3]).toBe(pfn);
    expect(EHWPOISON).toBe(133);
    for (const g of [3, 4, 0]) expect(rig.run(touch(g)), `gfn ${g}`).toEqual({ kind: 'touch', result: 'exit', errno: -EHWPOISON });
    expect(rig.run(accept(5, '4K'))).toEqual({ kind: 'accept', result: 'exit', errno: -EHWPOISON });
    expect(sys.tdx.sept.e2m[0]).not.toBe(S.PENDING);
    expect(run({}, [touch(0), accept(0, '2M'), touch(3, 5), touch(P), hostOp('memoryFailure', 3), touch(3), touch(4), accept(5, '4K'), touch(P)]).verdict).toBe('pass');
  });

  it('a split folio: only the 4K mappings of that folio are zapped, the other 4K leaves of the range stay', () => {
    const rig = new Rig();
    rig.runAll([accept(3, '4K'), accept(5, '4K'), convert(7, 8, 'shared')]); // the conversion split the 2M folio
    const { sys } = rig;
    expect(sys.gmem.orderAt(3)).toBe(0);
    expect(rig.run(hostOp('memoryFailure', 3))).toEqual({ kind: 'memoryFailure', ret: 1 });
    expect(sys.tdx.sept.e4k[3]).toBe(S.FREE);
    expect(sys.tdx.sept.e4k[5]).toBe(S.MAPPED);
    expect(rig.run(touch(5, 8))).toEqual({ kind: 'touch', result: 'written', value: 8 });
    expect(rig.run(touch(3))).toEqual({ kind: 'touch', result: 'exit', errno: -EHWPOISON });
    expect(run({}, [accept(3, '4K'), accept(5, '4K'), convert(7, 8, 'shared'), hostOp('memoryFailure', 3), touch(5, 8), touch(5), touch(3)]).verdict).toBe('pass');
  });

  it('memoryFailure of a gfn nothing backs -> 0 (left alone); outside the slot -> -EINVAL', () => {
    const rig = new Rig({ slotBaseGfn: P });
    expect(rig.run(hostOp('memoryFailure', P + 2))).toEqual({ kind: 'memoryFailure', ret: 0 });
    expect(rig.run(hostOp('memoryFailure', 2))).toEqual({ kind: 'memoryFailure', ret: -EINVAL });
    expect(Array.from(rig.sys.phys.hwpoison).some((x) => x !== 0)).toBe(false);
  });

  it('a host map of a poisoned shared page -> -EHWPOISON; memory failure also drops the host mappings of the page', () => {
    const rig = new Rig();
    rig.runAll([convert(0, 2, 'shared'), hostOp('hostMap', 0)]);
    expect(rig.sys.gmem.hostMaps[0]).toBe(1);
    expect(rig.run(hostOp('memoryFailure', 0))).toEqual({ kind: 'memoryFailure', ret: 1 });
    expect(rig.sys.gmem.hostMaps[0]).toBe(0);
    expect(rig.run(hostOp('hostMap', 0))).toEqual({ kind: 'hostMap', ret: -EHWPOISON });
    expect(run({}, [convert(0, 2, 'shared'), hostOp('hostMap', 0), hostOp('memoryFailure', 0), hostOp('hostMap', 0), hostOp('hostMap', 1)]).verdict).toBe('pass');
  });

  it('punch leaks the poisoned folio (owner LEAKED, leakWhy poison) instead of freeing it; a later fault gets a fresh page', () => {
    const rig = new Rig();
    rig.runAll([touch(0), accept(0, '2M'), hostOp('memoryFailure', 3)]);
    const { sys } = rig;
    const base = sys.gmem.pfn[0];
    expect(rig.run(punch(0, P))).toEqual({ kind: 'punch', ret: 0 });
    for (let i = 0; i < P; i++) {
      expect(sys.phys.owner[base + i], `pfn ${base + i}`).toBe(Owner.LEAKED);
      expect(sys.phys.leakWhy.get(base + i)).toBe('poison');
      expect(sys.phys.isFree(base + i)).toBe(false);
    }
    expect(sys.gmem.pfn[0]).toBe(-1);
    // the host allocator never hands the poisoned block out again
    expect(rig.run(hostAlloc(P))).toEqual({ kind: 'hostAlloc', ret: P });
    expect(sys.phys.content[base + 3]).not.toBe(0x0bad0000);
    expect(rig.run(touch(3))).toEqual({ kind: 'touch', result: 've' });
    expect(sys.gmem.pfn[3]).not.toBe(base + 3);
    expect(run({}, [touch(0), accept(0, '2M'), hostOp('memoryFailure', 3), punch(0, P), hostAlloc(P), touch(3), accept(3, '4K'), { op: 'destroy' }]).verdict).toBe('pass');
  });

  it('G23 off: the poisoned folio is mapped again on the next fault, or freed to the host by the punch -> INV-26', () => {
    const fault = run({ guardsOff: ['G23'] }, [touch(0), hostOp('memoryFailure', 3), touch(0)]);
    expect(fault.signature).toBe('INV-26@touch');
    expect(fault.failure!.message).toMatch(/^gfn 0x3 is mapped privately \(2M\) to HWPoisoned pfn 0x[0-9a-f]+$/);
    const free = run({ guardsOff: ['G23'] }, [touch(0), hostOp('memoryFailure', 3), punch(0, P)]);
    expect(free.signature).toBe('INV-26@punch');
    expect(free.failure!.message).toMatch(/^HWPoisoned page 0x[0-9a-f]+ was returned to the host allocator$/);
    expect(run({}, [touch(0), hostOp('memoryFailure', 3), touch(0)]).verdict).toBe('pass');
    expect(run({}, [touch(0), hostOp('memoryFailure', 3), punch(0, P)]).verdict).toBe('pass');
  });
});

describe('host allocations', () => {
  it('hostAlloc writes its token into free pages, lowest first, and returns how many it used', () => {
    const rig = new Rig();
    rig.runAll([touch(0), punch(0, P)]); // the folio of range 0 goes back to the hugetlb pool
    expect(rig.sys.phys.isFree(0)).toBe(true);
    expect(rig.run(hostAlloc(4))).toEqual({ kind: 'hostAlloc', ret: 4 });
    for (let p = 0; p < 4; p++) expect(rig.sys.phys.content[p]).toBe(0x0bad0000);
    expect(rig.sys.phys.content[4]).not.toBe(0x0bad0000);
    expect(rig.sys.phys.isFree(0)).toBe(true); // a short-lived allocation: freed again
  });
});
