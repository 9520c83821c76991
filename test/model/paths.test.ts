// Whole KVM / guest_memfd / guest paths, driven through runCase (trace text and verdict) and through
// applyOp on a System (state after each op): ACCEPT scenarios a and b (V3-13), private<->shared
// conversion in the v3 order, punch, the one-retry BUSY helper and the statistics.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/fuzz/case.js';
import { EEXIST, EINVAL } from '../../src/model/errno.js';
import { PRIVATE, SHARED } from '../../src/model/gmem/gmem.js';
import { Owner, PfnKind } from '../../src/model/host/phys.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { PamtType } from '../../src/model/tdx/module.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, BUSY, convert, count, expectInOrder, finalize, initMem, P, punch, Rig, run, touch, traced } from '../helpers/model.js';

describe('guest ACCEPT level (V3-13)', () => {
  it('scenario a: touch maps 2M PENDING; a 4K ACCEPT splits via BLOCK/TRACK/DEMOTE, sets GUEST_INHIBIT, then succeeds', () => {
    const { r, opLines } = traced({}, [touch(0), accept(3, '4K')]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(0), ['TDH.MEM.PAGE.AUG(gfn=0x0 level=2M pfn=0x0) = TDX_SUCCESS', 'map 2M leaf gfn 0x0', '-> ve']);
    expectInOrder(opLines(1), [
      'TDG.MEM.PAGE.ACCEPT(gfn=0x3 level=4K) -> EPT violation exit (ACCEPT, 4K)',
      'split 2M leaf gfn 0x0',
      'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=2M) = TDX_SUCCESS',
      'TDH.MEM.TRACK() = TDX_SUCCESS',
      'TDH.MEM.PAGE.DEMOTE(gfn=0x0 level=2M',
      'GUEST_INHIBIT set for 2M range 0',
      'TDG.MEM.PAGE.ACCEPT(gfn=0x3 level=4K) = TDX_SUCCESS',
      '-> accepted',
    ]);
    // no second AUG: the split reuses the 2M page
    expect(count(opLines(1), 'TDH.MEM.PAGE.AUG')).toBe(0);

    const rig = new Rig();
    expect(rig.run(touch(0))).toEqual({ kind: 'touch', result: 've' });
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 1, pages4k: 0 });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.PENDING);
    expect(rig.run(accept(3, '4K'))).toEqual({ kind: 'accept', result: 'accepted' });
    const { sept } = rig.sys.tdx;
    expect(sept.e2m[0]).toBe(S.NL_MAPPED);
    for (let g = 0; g < P; g++) expect(sept.e4k[g]).toBe(g === 3 ? S.MAPPED : S.PENDING);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    expect(rig.sys.kvm.lpage.guestInhibit[0]).toBe(1);
    expect(rig.sys.kvm.lpage.guestInhibit[1]).toBe(0);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: P });
    expect(rig.sys.kvm.bugged).toBe(false);
    // the accepted page is usable, the others still #VE
    expect(rig.run(touch(3, 77))).toEqual({ kind: 'touch', result: 'written', value: 77 });
    expect(rig.run(touch(3))).toEqual({ kind: 'touch', result: 'read', value: 77 });
    expect(rig.run(touch(4))).toEqual({ kind: 'touch', result: 've' });
  });

  it('scenario b: ACCEPT first -> EPT violation carrying 4K -> KVM AUGs 4K under a new table', () => {
    const { r, opLines } = traced({}, [accept(3, '4K')]);
    expect(r.verdict).toBe('pass');
    const l = opLines(0);
    expectInOrder(l, [
      'TDG.MEM.PAGE.ACCEPT(gfn=0x3 level=4K) -> EPT violation exit (ACCEPT, 4K)',
      'GUEST_INHIBIT set',
      'TDH.MEM.SEPT.ADD(gfn=0x0 level=2M',
      'TDH.MEM.PAGE.AUG(gfn=0x3 level=4K pfn=0x3) = TDX_SUCCESS',
      'TDG.MEM.PAGE.ACCEPT(gfn=0x3 level=4K) = TDX_SUCCESS',
    ]);
    expect(count(l, 'level=2M pfn=0x0) = TDX_SUCCESS')).toBe(0); // no 2M AUG
    expect(count(l, 'DEMOTE')).toBe(0);

    const rig = new Rig();
    expect(rig.run(accept(3, '4K'))).toEqual({ kind: 'accept', result: 'accepted' });
    const { sept } = rig.sys.tdx;
    expect(sept.e2m[0]).toBe(S.NL_MAPPED);
    for (let g = 0; g < P; g++) expect(sept.e4k[g]).toBe(g === 3 ? S.MAPPED : S.FREE);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 1 });
    // a later touch of a neighbour maps 4K too (GUEST_INHIBIT, and no merging of the table)
    expect(rig.run(touch(5))).toEqual({ kind: 'touch', result: 've' });
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 2 });
  });

  it('2M ACCEPT after a 4K table -> TDX_PAGE_SIZE_MISMATCH|1, the guest falls back to 4K', () => {
    const { r, opLines } = traced({}, [accept(3, '4K'), accept(0, '2M')]);
    expect(r.verdict).toBe('pass');
    const l = opLines(1);
    expectInOrder(l, [
      'TDG.MEM.PAGE.ACCEPT(gfn=0x0 level=2M) = TDX_PAGE_SIZE_MISMATCH|0x1 (0xC0000B0B00000001)',
      'falling back to 4K',
      'TDG.MEM.PAGE.ACCEPT(gfn=0x0 level=4K) = TDX_SUCCESS',
      'TDG.MEM.PAGE.ACCEPT(gfn=0x3 level=4K) = TDX_PAGE_ALREADY_ACCEPTED',
      'TDG.MEM.PAGE.ACCEPT(gfn=0xf level=4K) = TDX_SUCCESS',
      `-> fallback-4k (${P - 1} accepted, 1 already)`,
    ]);
    const rig = new Rig();
    rig.run(accept(3, '4K'));
    expect(rig.run(accept(7, '2M'))).toEqual({ kind: 'accept', result: 'fallback-4k', accepted: P - 1, already: 1 });
    for (let g = 0; g < P; g++) expect(rig.sys.tdx.sept.e4k[g]).toBe(S.MAPPED);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: P });
  });

  it('2M ACCEPT on an untouched range maps and accepts 2M in one go', () => {
    const rig = new Rig();
    expect(rig.run(accept(5, '2M'))).toEqual({ kind: 'accept', result: 'accepted' });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.MAPPED);
    expect(rig.sys.kvm.lpage.guestInhibit[0]).toBe(0);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 1, pages4k: 0 });
    expect(rig.run(accept(9, '4K'))).toEqual({ kind: 'accept', result: 'already' });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.MAPPED); // no split for an already-accepted page
  });
});

describe('private -> shared conversion (v3 order)', () => {
  const setup = [touch(0), accept(0, '2M'), touch(1, 11), touch(15, 15)];

  it('[0,1): split, zap the one 4K leaf, then split the folio, then update attributes', () => {
    const { r, opLines } = traced({}, [...setup, convert(0, 1, 'shared'), touch(1), touch(15), touch(0)]);
    expect(r.verdict).toBe('pass');
    const l = opLines(4);
    expectInOrder(l, [
      'split 2M leaf gfn 0x0',
      'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=2M) = TDX_SUCCESS',
      'TDH.MEM.TRACK()',
      'TDH.MEM.PAGE.DEMOTE(gfn=0x0 level=2M',
      'zap 4K leaf gfn 0x0',
      'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=4K) = TDX_SUCCESS',
      'TDH.MEM.TRACK()',
      'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=4K pfn=0x0) = TDX_SUCCESS',
      'gmem: split 2M folio at index 0x0',
      'gmem: attributes [0x0, 0x1) -> SHARED',
      '-> ret 0',
    ]);
    expect(count(l, 'zap 4K leaf')).toBe(1);
    expect(count(l, 'zap 2M leaf')).toBe(0);
    expect(count(l, 'TDH.MEM.PAGE.REMOVE')).toBe(1);
    expect(opLines(5)).toContain('  -> read 11');
    expect(opLines(6)).toContain('  -> read 15');
    // gfn 0 is now reached through the shared EPT; the private contents were reset before the host got it
    expectInOrder(opLines(7), ['guest shared', '-> read 0']);
  });

  it('[0,1): state after the conversion', () => {
    const rig = new Rig();
    rig.runAll(setup);
    expect(rig.run(convert(0, 1, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    const { sys } = rig;
    expect(sys.gmem.attr[0]).toBe(SHARED);
    for (let g = 1; g < 2 * P; g++) expect(sys.gmem.attr[g]).toBe(PRIVATE);
    expect(sys.kvm.lpage.mixed[0]).toBe(1);
    expect(sys.kvm.lpage.mixed[1]).toBe(0);
    // folios: 4K each, same pfns (in-place conversion)
    for (let g = 0; g < P; g++) {
      expect(sys.gmem.folioHead[g]).toBe(g);
      expect(sys.gmem.orderAt(g)).toBe(0);
      expect(sys.gmem.pfn[g]).toBe(g);
    }
    // mirror and S-EPT: 4K table, gfn 0 gone, 1..15 still accepted
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    expect(sys.kvm.mirror.m4k[0]).toBe(Spte.NONE);
    expect(sys.tdx.sept.e4k[0]).toBe(S.FREE);
    for (let g = 1; g < P; g++) {
      expect(sys.kvm.mirror.m4k[g]).toBe(Spte.LEAF);
      expect(sys.tdx.sept.e4k[g]).toBe(S.MAPPED);
    }
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: P - 1 });
    // the page left the TD cleanly: PAMT NDA, cache flushed, contents reset
    expect(sys.tdx.pamt[0]).toBe(0);
    expect(sys.phys.dirtyHkid[0]).toBe(-1);
    expect(sys.kvm.bugged).toBe(false);
    expect(rig.run(touch(1))).toEqual({ kind: 'touch', result: 'read', value: 11 });
    expect(rig.run(touch(15))).toEqual({ kind: 'touch', result: 'read', value: 15 });
    // the guest, having done MapGPA, reaches gfn 0 through the shared EPT at the same pfn
    expect(rig.guest.believesPrivate[0]).toBe(0);
    expect(rig.run(touch(0, 5))).toEqual({ kind: 'touch', result: 'written', value: 5 });
    expect(sys.kvm.sharedEpt[0]).toBe(0);
  });

  it('a whole 2M range is zapped as one 2M leaf, without a split', () => {
    const { r, opLines } = traced({}, [touch(0), accept(0, '2M'), convert(0, P, 'shared')]);
    expect(r.verdict).toBe('pass');
    const l = opLines(2);
    expectInOrder(l, ['zap 2M leaf gfn 0x0', 'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=2M)', 'TDH.MEM.TRACK()', 'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=2M', `TDH.PHYMEM.PAGE.WBINVD x${P}`, 'gmem: split 2M folio']);
    expect(count(l, 'DEMOTE')).toBe(0);
  });

  it('a range crossing a 2M boundary splits both huge leaves and zaps only the range', () => {
    const rig = new Rig();
    rig.runAll([accept(0, '2M'), accept(P, '2M')]);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 2, pages4k: 0 });
    expect(rig.run(convert(P - 2, P + 2, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    const { sept } = rig.sys.tdx;
    expect(sept.e2m[0]).toBe(S.NL_MAPPED);
    expect(sept.e2m[1]).toBe(S.NL_MAPPED);
    for (let g = 0; g < 2 * P; g++) expect(sept.e4k[g]).toBe(g >= P - 2 && g < P + 2 ? S.FREE : S.MAPPED);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 2 * P - 4 });
  });
});

describe('shared -> private conversion and folio merge (FIXUP-3, G18)', () => {
  const ops = [touch(0), accept(0, '2M'), convert(0, 1, 'shared'), convert(0, 1, 'private')];

  it('merges the 4K folios back into a 2M folio after the attribute update', () => {
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(3), ['gmem: attributes [0x0, 0x1) -> PRIVATE', 'gmem: merge 4K folios at index 0x0 back into a 2M folio']);
    const rig = new Rig();
    rig.runAll(ops.slice(0, 3));
    expect(rig.sys.gmem.orderAt(0)).toBe(0);
    expect(rig.run(ops[3])).toEqual({ kind: 'convert', ret: 0 });
    const gm = rig.sys.gmem;
    expect(gm.attr[0]).toBe(PRIVATE);
    expect(rig.sys.kvm.lpage.mixed[0]).toBe(0);
    for (let g = 0; g < P; g++) expect(gm.folioHead[g]).toBe(0);
    expect(gm.orderAt(0)).toBe(gm.hugeOrder);
    // the S-EPT table stays (no merging for the mirror root): gfn 0 comes back as a 4K PENDING page
    expect(rig.run(touch(0))).toEqual({ kind: 'touch', result: 've' });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
    expect(rig.sys.tdx.sept.e4k[0]).toBe(S.PENDING);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: P });
  });

  it('with G18 off the folios stay split', () => {
    const { r, opLines } = traced({ guardsOff: ['G18'] }, ops);
    expect(r.verdict).toBe('pass');
    expect(count(opLines(3), 'merge')).toBe(0);
    const rig = new Rig({ guardsOff: ['G18'] });
    rig.runAll(ops);
    const gm = rig.sys.gmem;
    expect(gm.attr[0]).toBe(PRIVATE);
    for (let g = 0; g < P; g++) {
      expect(gm.folioHead[g]).toBe(g);
      expect(gm.orderAt(g)).toBe(0);
    }
  });

  it('does not merge while part of the 2M range is still shared', () => {
    const rig = new Rig();
    rig.runAll([touch(0), convert(0, 2, 'shared'), convert(0, 1, 'private')]);
    expect(rig.sys.gmem.orderAt(0)).toBe(0);
    expect(rig.sys.kvm.lpage.mixed[0]).toBe(1);
  });
});

describe('punch hole', () => {
  it('of a whole 2M range zaps the 2M leaf and frees the folio to the host', () => {
    const { r, opLines } = traced({}, [touch(0), accept(0, '2M'), punch(0, P)]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(2), ['zap 2M leaf gfn 0x0', 'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=2M', `gmem: truncate folio at index 0x0 (${P} pages)`, '-> ret 0']);
    const rig = new Rig();
    rig.runAll([touch(0), accept(0, '2M'), touch(P)]);
    const pfn = rig.sys.gmem.pfn[0];
    expect(rig.run(punch(0, P))).toEqual({ kind: 'punch', ret: 0 });
    const { sys } = rig;
    for (let g = 0; g < P; g++) {
      expect(sys.gmem.pfn[g]).toBe(-1);
      expect(sys.phys.owner[pfn + g]).toBe(Owner.FREE_HUGE);
      expect(sys.phys.dirtyHkid[pfn + g]).toBe(-1);
    }
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONE);
    expect(sys.tdx.sept.e2m[1]).toBe(S.PENDING); // the other range is untouched
    expect(sys.gmem.pfn[P]).toBeGreaterThanOrEqual(0);
    expect(sys.kvm.stats).toEqual({ pages2m: 1, pages4k: 0 });
    // the guest must accept again: the next touch gets a fresh PENDING 2M page
    expect(rig.run(touch(0))).toEqual({ kind: 'touch', result: 've' });
  });

  it('a partial punch of a hugetlb folio is refused with -EINVAL (REJECT) and changes nothing', () => {
    const { r, opLines } = traced({}, [touch(0), accept(0, '2M'), punch(0, 1)]);
    expect(r.verdict).toBe('pass');
    expect(opLines(2)).toContain(`  -> ret ${-EINVAL}`);
    expect(count(opLines(2), 'TDH.')).toBe(0);
    const rig = new Rig();
    rig.runAll([touch(0), accept(0, '2M'), touch(2, 9)]);
    expect(rig.run(punch(0, 1))).toEqual({ kind: 'punch', ret: -EINVAL });
    expect(rig.run(punch(P - 1, P + 1))).toEqual({ kind: 'punch', ret: -EINVAL });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.MAPPED);
    expect(rig.sys.gmem.orderAt(0)).toBe(rig.sys.gmem.hugeOrder);
    expect(rig.run(touch(0))).toEqual({ kind: 'touch', result: 'read', value: 0 });
    expect(rig.run(touch(2))).toEqual({ kind: 'touch', result: 'read', value: 9 });
  });

  it('ZAP_ONLY: a partial punch splits and zaps the mapping but keeps the folio', () => {
    const { r, opLines } = traced({ punchPartialHuge: 'ZAP_ONLY' }, [touch(0), accept(0, '2M'), touch(2, 9), punch(0, 1), touch(2)]);
    expect(r.verdict).toBe('pass');
    const l = opLines(3);
    expectInOrder(l, ['split 2M leaf gfn 0x0', 'TDH.MEM.PAGE.DEMOTE', 'zap 4K leaf gfn 0x0', 'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=4K', '-> ret 0']);
    expect(count(l, 'truncate')).toBe(0);
    expect(opLines(4)).toContain('  -> read 9');
    const rig = new Rig({ punchPartialHuge: 'ZAP_ONLY' });
    rig.runAll([touch(0), accept(0, '2M')]);
    expect(rig.run(punch(0, 1))).toEqual({ kind: 'punch', ret: 0 });
    const { sys } = rig;
    expect(sys.gmem.pfn[0]).toBe(0);
    expect(sys.gmem.orderAt(0)).toBe(sys.gmem.hugeOrder);
    expect(sys.phys.owner[0]).toBe(Owner.GMEM);
    expect(sys.tdx.sept.e4k[0]).toBe(S.FREE);
    expect(sys.tdx.sept.e4k[1]).toBe(S.MAPPED);
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: P - 1 });
    // gfn 0 must be accepted again; it comes back at 4K
    expect(rig.run(touch(0))).toEqual({ kind: 'touch', result: 've' });
    expect(rig.run(accept(0, '4K'))).toEqual({ kind: 'accept', result: 'accepted' });
  });
});

describe('TDX_OPERAND_BUSY handling', () => {
  const mapped = [touch(0), accept(0, '2M')];

  it('BUSY on BLOCK during a zap: kick all vCPUs, retry once, VM stays alive', () => {
    const ops = [...mapped, { ...convert(0, P, 'shared'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1)] }, touch(P)];
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    const l = opLines(2);
    expectInOrder(l, [
      'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=2M) = TDX_OPERAND_BUSY|0x1 (0x8000020000000001)   <- injected',
      'TDX_OPERAND_BUSY: kick all vCPUs (KVM_REQ_OUTSIDE_GUEST_MODE) and retry once',
      'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=2M) = TDX_SUCCESS',
      'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=2M',
      '-> ret 0',
    ]);
    expect(count(l, 'TDX_BUG_ON')).toBe(0);
    expect(opLines(3)).toContain('  -> ve');
    const rig = new Rig();
    rig.runAll(mapped);
    expect(rig.run(ops[2] as Op)).toEqual({ kind: 'convert', ret: 0 });
    expect(rig.sys.kvm.bugged).toBe(false);
    expect(rig.sys.kvm.waitForSeptZap).toBe(false);
    expect(rig.sys.inj.fired).toEqual([expect.objectContaining({ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 1, afterKick: false })]);
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.FREE);
  });

  it('BUSY again on the retry: TDX_BUG_ON, VM bugged, later guest ops see vm-dead', () => {
    const ops = [...mapped, { ...convert(0, P, 'shared'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1), BUSY('TDH.MEM.RANGE.BLOCK', 2)] }, touch(P), accept(P + 1, '4K')];
    const { r, opLines } = traced({}, ops);
    // BUSY after the kick is fatal by design: the VM may die, the case still passes
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(2), ['<- injected', 'kick all vCPUs', '<- injected', 'TDX_BUG_ON: TDH.MEM.RANGE.BLOCK failed with TDX_OPERAND_BUSY', 'VM bugged (dead)']);
    expect(count(opLines(2), 'TDH.MEM.PAGE.REMOVE')).toBe(0);
    expect(opLines(3)).toContain('  -> vm-dead');
    expect(opLines(4)).toContain('  -> vm-dead');
    const rig = new Rig();
    rig.runAll(mapped);
    rig.run(ops[2] as Op);
    expect(rig.sys.kvm.bugged).toBe(true);
    expect(rig.sys.inj.fired.map((f) => f.afterKick)).toEqual([false, true]);
    // the page stays in the S-EPT (blocked), the mirror was cleared regardless
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.MAPPED);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONE);
    expect(rig.run(touch(P))).toEqual({ kind: 'touch', result: 'vm-dead' });
    expect(rig.run(accept(P, '2M'))).toEqual({ kind: 'accept', result: 'vm-dead' });
  });

  it('BUSY on REMOVE, TRACK and DEMOTE is retried once after a kick', () => {
    for (const leaf of ['TDH.MEM.PAGE.REMOVE', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.DEMOTE'] as const) {
      const ops = [...mapped, { ...convert(0, 1, 'shared'), faults: [BUSY(leaf, 1)] }, touch(1)];
      const { r, opLines } = traced({}, ops);
      expect(r.verdict, leaf).toBe('pass');
      const l = opLines(2);
      const inj = l.findIndex((x) => x.includes('<- injected'));
      expect(l[inj], leaf).toContain(`${leaf}(`);
      expect(l[inj], leaf).toContain('TDX_OPERAND_BUSY');
      expectInOrder(l.slice(inj), ['<- injected', 'kick all vCPUs', `${leaf}(`, '-> ret 0']);
      expect(l.slice(inj + 2).find((x) => x.startsWith(`${leaf}(`)), leaf).toContain('= TDX_SUCCESS');
      expect(count(opLines(2), 'TDX_BUG_ON'), leaf).toBe(0);
      expect(opLines(3), leaf).toContain('  -> read 0');
    }
  });

  it('AUG BUSY in the fault path restores the mirror SPTE and the fault is retried', () => {
    const { r, opLines } = traced({}, [{ ...touch(0), faults: [BUSY('TDH.MEM.PAGE.AUG', 1), BUSY('TDH.MEM.PAGE.AUG', 2)] }]);
    expect(r.verdict).toBe('pass');
    const l = opLines(0);
    expectInOrder(l, ['TDH.MEM.PAGE.AUG(gfn=0x0 level=2M pfn=0x0) = TDX_OPERAND_BUSY', 'TDH.MEM.PAGE.AUG(gfn=0x0 level=2M pfn=0x0) = TDX_OPERAND_BUSY', 'TDH.MEM.PAGE.AUG(gfn=0x0 level=2M pfn=0x0) = TDX_SUCCESS', 'map 2M leaf', '-> ve']);
    expect(count(l, 'kick')).toBe(0); // AUG is not under the no-vCPUs helper
    const rig = new Rig();
    expect(rig.run({ ...touch(0), faults: [BUSY('TDH.MEM.PAGE.AUG', 1)] } as Op)).toEqual({ kind: 'touch', result: 've' });
    expect(rig.sys.counters.pageFaultRetries).toBe(1);
    expect(rig.sys.counters.eptViolations).toBe(1);
    expect(rig.sys.kvm.bugged).toBe(false);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 1, pages4k: 0 });
  });

  it('SEPT.ADD BUSY frees the table page and the fault is retried', () => {
    const rig = new Rig();
    const before = rig.sys.phys.owner.filter((o) => o === Owner.SEPT).length;
    expect(rig.run({ ...accept(3, '4K'), faults: [BUSY('TDH.MEM.SEPT.ADD', 1)] } as Op)).toEqual({ kind: 'accept', result: 'accepted' });
    expect(rig.sys.phys.owner.filter((o) => o === Owner.SEPT).length).toBe(before + 1);
    expect(rig.sys.kvm.bugged).toBe(false);
  });

  it('a hard AUG error bugs the VM (TDX_BUG_ON) and the touch reports vm-dead', () => {
    const rig = new Rig();
    expect(rig.run({ ...touch(0), faults: [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_SW_ERROR' }] } as Op)).toEqual({ kind: 'touch', result: 'vm-dead' });
    expect(rig.sys.kvm.bugged).toBe(true);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONE);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 0 });
  });
});

describe('BUG-22: memory TDX cannot use handed out by guest_memfd (G22)', () => {
  const bad = (site: 'NON_TDX_PFN' | 'NO_STRUCT_PFN'): Op => ({ ...touch(0), faults: [{ site, nth: 1 }] }) as Op;

  for (const [site, kind] of [['NON_TDX_PFN', 'non-convertible RAM'], ['NO_STRUCT_PFN', 'a pfn with no struct page']] as const) {
    it(`${site} (${kind}): tdx_is_convertible_pfn() refuses it before any SEAMCALL and the VM dies (KVM_MMU_WARN_ON)`, () => {
      const rig = new Rig({}, true);
      expect(rig.run(bad(site))).toEqual({ kind: 'touch', result: 'vm-dead' });
      expect(rig.sys.kvm.bugged).toBe(true);
      expect(rig.sys.hostOops).toBeNull();
      const lines = rig.sys.trace.lines!.map((l) => l.text);
      expect(count(lines, 'TDH.MEM.PAGE.AUG')).toBe(0);
      expect(count(lines, 'is not TDX-convertible memory; mapping refused')).toBe(1);
    });
  }

  it('G22 off: a no-struct-page pfn oopses in the AUG wrapper before the SEAMCALL, and in the build-time PAGE.ADD wrapper', () => {
    const rig = new Rig({ guardsOff: ['G22'] }, true);
    rig.run(bad('NO_STRUCT_PFN'));
    expect(rig.sys.hostOops).toMatch(/NULL pointer dereference in tdh_mem_page_aug\(\)/);
    expect(count(rig.sys.trace.lines!.map((l) => l.text), 'TDH.MEM.PAGE.AUG(')).toBe(0);
    expect(rig.sys.gmem.pfn[0]).toBe(rig.sys.phys.noStructBlock);
    const build = new Rig({ guardsOff: ['G22'], startPhase: 'BUILD' }, true);
    build.run({ ...initMem(0, 1, 5), faults: [{ site: 'NO_STRUCT_PFN', nth: 1 }] } as Op);
    expect(build.sys.hostOops).toMatch(/NULL pointer dereference in tdh_mem_page_add\(\)/);
    expect(count(build.sys.trace.lines!.map((l) => l.text), 'TDH.MEM.PAGE.ADD(')).toBe(0);
    // after the oops the task is gone: no SEAMCALL follows it (not even the 4K mapping's PAMT put)
    const small = new Rig({ guardsOff: ['G22'], backing: '4K' }, true);
    small.run(bad('NO_STRUCT_PFN'));
    const lines = small.sys.trace.lines!.map((l) => l.text);
    const at = lines.findIndex((l) => l.includes('NULL pointer dereference'));
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1).filter((l) => l.startsWith('TDH.'))).toEqual([]);
  });

  it('the no-struct-page block is 2M-aligned at every ptrs, so a 2M folio of it is one whole block', () => {
    for (const ptrs of [4, 16, 512]) {
      const ph = new Rig({ ptrs }).sys.phys;
      expect(ph.noStructBlock % ptrs, `ptrs ${ptrs}`).toBe(0);
      expect(ph.allocSpecialHuge(PfnKind.NO_STRUCT_PAGE)).toBe(ph.noStructBlock);
    }
  });

  it('G22 off: a non-convertible pfn reaches TDH.MEM.PAGE.AUG, which the module refuses (no oops: it has a struct page)', () => {
    const rig = new Rig({ guardsOff: ['G22'] }, true);
    rig.run(bad('NON_TDX_PFN'));
    expect(rig.sys.hostOops).toBeNull();
    expect(rig.sys.gmem.pfn[0]).toBe(rig.sys.phys.nonTdxBlock);
    expect(count(rig.sys.trace.lines!.map((l) => l.text), 'TDH.MEM.PAGE.AUG(')).toBe(1);
  });

  it('the no-struct-page block comes after the 4K pages, so no other pfn moves, and freeing it returns it to its own block', () => {
    const rig = new Rig();
    const ph = rig.sys.phys;
    expect(ph.noStructBlock).toBe(ph.smallEnd);
    expect(ph.total).toBe(ph.smallEnd + P);
    expect(ph.kind[ph.noStructBlock]).toBe(PfnKind.NO_STRUCT_PAGE);
    expect(ph.kind[ph.smallEnd - 1]).toBe(PfnKind.TDX_RAM);
    const p = ph.allocSpecialPage(PfnKind.NO_STRUCT_PAGE, Owner.GMEM, 0);
    expect(p).toBe(ph.noStructBlock);
    ph.free(p);
    expect(ph.owner[p]).toBe(Owner.FREE_HUGE);
    expect(ph.allocSmall(Owner.HOST_OTHER, 0)).toBeLessThan(ph.smallEnd);
  });
});

describe('page statistics', () => {
  it('pages2m / pages4k follow maps, splits and zaps', () => {
    const rig = new Rig();
    const st = () => ({ ...rig.sys.kvm.stats });
    rig.run(touch(0));
    expect(st()).toEqual({ pages2m: 1, pages4k: 0 });
    rig.run(touch(P));
    expect(st()).toEqual({ pages2m: 2, pages4k: 0 });
    rig.run(accept(P + 1, '4K')); // split region 1
    expect(st()).toEqual({ pages2m: 1, pages4k: P });
    rig.run(convert(P, P + 3, 'shared')); // zap three 4K leaves
    expect(st()).toEqual({ pages2m: 1, pages4k: P - 3 });
    rig.run(punch(0, P)); // zap region 0's 2M leaf
    expect(st()).toEqual({ pages2m: 0, pages4k: P - 3 });
    rig.run(convert(P, 2 * P, 'shared')); // zap the rest of region 1
    expect(st()).toEqual({ pages2m: 0, pages4k: 0 });
    // shared mappings are not counted
    rig.run(touch(P + 5));
    expect(st()).toEqual({ pages2m: 0, pages4k: 0 });
  });

  it('without effective huge pages everything is mapped 4K', () => {
    for (const d of [{ tdxHugePage: false }, { enhancedDemoteInterruptibility: false }]) {
      const rig = new Rig(d);
      rig.runAll([touch(0), accept(0, '2M'), touch(P)]);
      // the 2M ACCEPT meets a 4K mapping, gets TDX_PAGE_SIZE_MISMATCH and accepts 4K by 4K
      expect(rig.sys.kvm.stats, JSON.stringify(d)).toEqual({ pages2m: 0, pages4k: P + 1 });
      expect(rig.sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
    }
  });
});

describe('guest_memfd backing', () => {
  // Regression: System once sized the 4K pool for S-EPT tables only, so with backing "4K" a guest using
  // one whole 2M range (16 guest pages + 1 table > 16 pool pages) got -ENOMEM and REF-RESULT fired.
  it('4K backing: a 2M ACCEPT of a whole range succeeds (falls back to 4K), not -ENOMEM', () => {
    const r = run({ backing: '4K' }, [accept(0, '2M')]);
    expect(r.failure?.message ?? null).toBeNull();
    expect(r.verdict).toBe('pass');
  });

  it('4K backing: the guest can accept and write all of its memory', () => {
    for (const ptrs of [4, 16]) {
      const regions = 3;
      const ops: Op[] = [];
      for (let r = 0; r < regions; r++) ops.push(accept(r * ptrs, '2M'));
      for (let g = 0; g < ptrs * regions; g++) ops.push(touch(g, g + 1));
      for (let g = 0; g < ptrs * regions; g++) ops.push(touch(g));
      const r = run({ backing: '4K', ptrs, regions }, ops);
      expect(r.failure?.message ?? null, `ptrs ${ptrs}`).toBeNull();
    }
  });

  it('4K backing maps 4K only', () => {
    const { r, opLines } = traced({ backing: '4K', ptrs: 4 }, [accept(0, '2M'), touch(5)]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(0), ['allocate folio for index 0x0 (order 0)', 'TDH.MEM.PAGE.AUG(gfn=0x0 level=4K', 'TDX_PAGE_SIZE_MISMATCH', '-> fallback-4k (4 accepted, 0 already)']);
    expect(r.trace!.filter((l) => l.text.startsWith('TDH.MEM.PAGE.AUG') && l.text.includes('level=2M'))).toEqual([]);
  });
});

describe('TD build time: KVM_TDX_INIT_MEM_REGION and KVM_TDX_FINALIZE_VM', () => {
  const BUILD = { startPhase: 'BUILD' };

  it('INIT_MEM_REGION adds 4K pages with PAGE.ADD (no AUG, no 2M even over a 2M folio); page i holds data + i', () => {
    const { r, opLines } = traced(BUILD, [initMem(0, 4, 100)]);
    expect(r.verdict).toBe('pass');
    const l = opLines(0);
    expectInOrder(l, [
      'gmem: allocate folio for index 0x0 (order 4)',
      'TDH.MEM.SEPT.ADD(gfn=0x0 level=2M',
      'TDH.MEM.PAGE.ADD(gfn=0x0 level=4K pfn=0x0) = TDX_SUCCESS',
      'map 4K leaf gfn 0x0',
      'TDH.MEM.PAGE.ADD(gfn=0x3 level=4K pfn=0x3) = TDX_SUCCESS',
      '-> ret 0',
    ]);
    expect(count(l, 'TDH.MEM.PAGE.ADD')).toBe(4);
    expect(count(l, 'AUG')).toBe(0);
    expect(count(l, 'level=2M pfn=0x0')).toBe(0);

    const rig = new Rig(BUILD);
    expect(rig.run(initMem(0, 4, 100))).toEqual({ kind: 'initMemRegion', ret: 0 });
    const { sys } = rig;
    expect(sys.gmem.orderAt(0)).toBe(sys.gmem.hugeOrder);
    for (let g = 0; g < 4; g++) {
      expect(sys.tdx.sept.e4k[g]).toBe(S.MAPPED);
      expect(sys.kvm.mirror.m4k[g]).toBe(Spte.LEAF);
      expect(sys.phys.content[sys.tdx.sept.pfn4k[g]]).toBe(100 + g);
      expect(sys.tdx.pamt[sys.tdx.sept.pfn4k[g]]).toBe(PamtType.REG_4K);
    }
    expect(sys.tdx.sept.e4k[4]).toBe(S.FREE);
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 4 });
    expect(sys.kvm.tdState).toBe('BUILD');
  });

  it('after KVM_TDX_FINALIZE_VM the guest reads the added pages without an ACCEPT', () => {
    const { r, opLines } = traced(BUILD, [initMem(0, 4, 100), finalize, touch(0), touch(3), accept(2, '4K'), touch(2, 9), touch(2)]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(1), ['TDH.MR.FINALIZE() = TDX_SUCCESS', 'TD finalized: state RUNNABLE', '-> ret 0']);
    expect(opLines(2)).toContain('  -> read 100');
    expect(opLines(3)).toContain('  -> read 103');
    expectInOrder(opLines(4), ['TDG.MEM.PAGE.ACCEPT(gfn=0x2 level=4K) = TDX_PAGE_ALREADY_ACCEPTED', '-> already']);
    expect(opLines(6)).toContain('  -> read 9');
  });

  it('after finalize a new range maps 2M; the built range stays 4K (no merging of its table)', () => {
    const rig = new Rig(BUILD);
    rig.runAll([initMem(0, 4, 100), finalize]);
    expect(rig.run(touch(P))).toEqual({ kind: 'touch', result: 've' });
    expect(rig.run(touch(5))).toEqual({ kind: 'touch', result: 've' });
    expect(rig.sys.tdx.sept.e2m[1]).toBe(S.PENDING);
    expect(rig.sys.tdx.sept.e4k[5]).toBe(S.PENDING);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 1, pages4k: 5 });
    expect(rig.run(accept(0, '2M'))).toEqual({ kind: 'accept', result: 'fallback-4k', accepted: P - 4, already: 4 });
    expect(rig.run(touch(1))).toEqual({ kind: 'touch', result: 'read', value: 101 });
  });

  it('a second INIT_MEM_REGION over an added page returns -EEXIST; pages added before it, and earlier ones, stay', () => {
    const rig = new Rig(BUILD);
    expect(rig.run(initMem(2, 4, 100))).toEqual({ kind: 'initMemRegion', ret: 0 });
    expect(rig.run(initMem(0, 6, 200))).toEqual({ kind: 'initMemRegion', ret: -EEXIST });
    const { sept } = rig.sys.tdx;
    expect([0, 1, 2, 3, 4, 5].map((g) => sept.e4k[g])).toEqual([S.MAPPED, S.MAPPED, S.MAPPED, S.MAPPED, S.FREE, S.FREE]);
    rig.run(finalize);
    expect([0, 1, 2, 3].map((g) => rig.run(touch(g)))).toEqual([200, 201, 100, 101].map((value) => ({ kind: 'touch', result: 'read', value })));
    expect(rig.run(touch(4))).toEqual({ kind: 'touch', result: 've' });
    const { r } = traced(BUILD, [initMem(2, 4, 100), initMem(0, 6, 200), finalize, touch(0), touch(2)]);
    expect(r.verdict).toBe('pass');
  });

  it('INIT_MEM_REGION over a shared gfn -> -EINVAL after the private pages before it', () => {
    const rig = new Rig(BUILD);
    rig.run(convert(3, 4, 'shared'));
    expect(rig.run(initMem(0, 6, 100))).toEqual({ kind: 'initMemRegion', ret: -EINVAL });
    const { sept } = rig.sys.tdx;
    expect([0, 1, 2, 3, 4].map((g) => sept.e4k[g])).toEqual([S.MAPPED, S.MAPPED, S.MAPPED, S.FREE, S.FREE]);
    expect(rig.run(initMem(3, 4, 1))).toEqual({ kind: 'initMemRegion', ret: -EINVAL });
    const { r } = traced(BUILD, [convert(3, 4, 'shared'), initMem(0, 6, 100), finalize, touch(2)]);
    expect(r.verdict).toBe('pass');
  });

  it('INIT_MEM_REGION after finalize, on a runnable TD, or on an empty range -> -EINVAL, no SEAMCALL', () => {
    const { r, opLines } = traced(BUILD, [finalize, initMem(0, 1, 1), initMem(3, 3, 1)]);
    expect(r.verdict).toBe('pass');
    expect(opLines(1)).toContain(`  -> ret ${-EINVAL}`);
    expect(opLines(2)).toContain(`  -> ret ${-EINVAL}`);
    expect(count([...opLines(1), ...opLines(2)], 'TDH.')).toBe(0);
    const rig = new Rig();
    expect(rig.run(initMem(0, 1, 1))).toEqual({ kind: 'initMemRegion', ret: -EINVAL });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.FREE);
  });

  it('touch and ACCEPT before finalize exit to userspace with -EINVAL; nothing is mapped', () => {
    const { r, opLines } = traced(BUILD, [touch(0), accept(0, '4K'), accept(P, '2M')]);
    expect(r.verdict).toBe('pass');
    for (let i = 0; i < 3; i++) {
      expect(opLines(i)).toContain(`  -> exit ${-EINVAL}`);
      expect(count(opLines(i), 'TD')).toBe(0);
    }
    const rig = new Rig(BUILD);
    expect(rig.run(touch(0))).toEqual({ kind: 'touch', result: 'exit', errno: -EINVAL });
    expect(rig.run(accept(0, '4K'))).toEqual({ kind: 'accept', result: 'exit', errno: -EINVAL });
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(rig.sys.gmem.pfn[0]).toBe(-1);
  });

  it('finalize twice -> -EINVAL, and TDH.MR.FINALIZE is issued once', () => {
    const { r, opLines } = traced(BUILD, [finalize, finalize]);
    expect(r.verdict).toBe('pass');
    expect(opLines(1)).toContain(`  -> ret ${-EINVAL}`);
    expect(count(opLines(1), 'TDH.MR.FINALIZE')).toBe(0);
    const rig = new Rig();
    expect(rig.run(finalize)).toEqual({ kind: 'finalize', ret: -EINVAL }); // a runnable TD was finalized already
  });

  it('a conversion before finalize zaps the added page; the others survive it', () => {
    const { r, opLines } = traced(BUILD, [initMem(0, 4, 100), convert(1, 2, 'shared'), finalize, touch(0), touch(2)]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(1), ['zap 4K leaf gfn 0x1', 'TDH.MEM.RANGE.BLOCK(gfn=0x1 level=4K) = TDX_SUCCESS', 'TDH.MEM.PAGE.REMOVE(gfn=0x1 level=4K pfn=0x1) = TDX_SUCCESS', '-> ret 0']);
    expect(opLines(3)).toContain('  -> read 100');
    expect(opLines(4)).toContain('  -> read 102');
  });

  it('G10 off: INIT_MEM_REGION over a hugetlb 2M folio asks KVM for a 2M PAGE.ADD -> KVM_BUG_ON, INV-4', () => {
    const { r, opLines } = traced({ ...BUILD, guardsOff: ['G10'] }, [initMem(0, P, 100)]);
    expect(r.signature).toBe('VM-BUGGED@initMemRegion'); // damage first: the KVM_BUG_ON, after INV-4
    expect(r.failure!.after!.inv).toBe('INV-4');
    expectInOrder(opLines(0), ['KVM_BUG_ON: tdx_sept_set_private_spte: 2M mapping before the TD is finalized', 'VIOLATION INV-4']);
    expect(count(opLines(0), 'TDH.MEM.PAGE.ADD')).toBe(0);
    // with 4K folios there is nothing to map at 2M: G10 off changes nothing
    expect(run({ ...BUILD, guardsOff: ['G10'], backing: '4K' }, [initMem(0, P, 100), finalize, touch(5)]).verdict).toBe('pass');
  });
});
