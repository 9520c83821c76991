// Dynamic PAMT (003:L41-56, L261-296, L383; kernel-facts.md 2.5; src/model/kvm/pamt.ts): every 4K TDX use
// of a physical 2M region (a 4K guest page, an S-EPT page, a control page) holds the region's PAMT pair
// through tdx_pamt_get/put; 0 -> 1 installs it with TDH.PHYMEM.PAMT.ADD, 1 -> 0 removes it with
// TDH.PHYMEM.PAMT.REMOVE and frees the pages. A 2M mapping needs none. A split of a 2M leaf runs the cover
// letter's steps: (2.1) check the per-VM split cache, (2.2) top it up, (3.1) BLOCK + TRACK, (3.2/3.3) a pair
// for the new S-EPT page, (3.4) a pair for the guest 2M region, (3.5) DEMOTE, (3.6) the guest region's
// refcount goes 0 -> ptrs.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { resolveDesign } from '../../src/model/config.js';
import { Owner } from '../../src/model/host/phys.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { System } from '../../src/model/system.js';
import { L2M, L4K } from '../../src/model/tdx/leaf.js';
import { PamtType } from '../../src/model/tdx/module.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { formatStatus, isSuccess, type SeamStatus, STATUS_CODES } from '../../src/model/tdx/status.js';
import { checkDpamtRefcounts, checkPageConservation } from '../../src/oracle/pamt.js';
import { accept, convert, count, expectInOrder, hex, P, punch, Rig, touch, traced } from '../helpers/model.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const RCX = 0x01;

function expectStatus(st: SeamStatus, name: keyof typeof STATUS_CODES, detail = 0): void {
  expect({ code: st.code, detail: st.detail }, formatStatus(st)).toEqual({ code: STATUS_CODES[name], detail });
}

/** Record SEAMCALLs (leaf and the pfn argument) and KVM hooks of the next ops, in order. */
function record(rig: Rig): string[] {
  const ev: string[] = [];
  rig.sys.trace.observer = {
    seamcall: (leaf, _gfn, _level, pfn, st) => ev.push(`${leaf}${pfn >= 0 ? ` ${hex(pfn)}` : ''}${isSuccess(st) ? '' : ` ${formatStatus(st)}`}`),
    hook: (name, gfn) => {
      if (name !== 'split_cache_check') ev.push(`${name} ${name === 'split_cache_dequeue' ? gfn : hex(gfn)}`);
    },
    lock: () => {},
  };
  return ev;
}

/** Region -> its pair's two pages, for every installed pair. */
function pairs(sys: System): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  const pp = sys.tdx.pamtPair;
  for (let r = 0; 2 * r < pp.length; r++) if (pp[2 * r] >= 0) out.set(r, [pp[2 * r], pp[2 * r + 1]]);
  return out;
}

describe('a 4K guest page takes its physical 2M region\'s PAMT pair (tdx_pamt_get/put)', () => {
  it('the first 4K AUG in a region installs the pair (refcount 0 -> 1, PAMT.ADD before the AUG)', () => {
    const rig = new Rig();
    const { sys } = rig;
    expect(sys.kvm.pamtRefcount[0]).toBe(0);
    expect(sys.tdx.pairInstalled(0)).toBe(false);
    const ev = record(rig);
    expect(rig.run(accept(3, '4K'))).toEqual({ kind: 'accept', result: 'accepted' });
    const pfn = sys.tdx.sept.pfn4k[3];
    expect(sys.tdx.pamtRegion(pfn)).toBe(0);
    expect(sys.kvm.pamtRefcount[0]).toBe(1);
    const [a, b] = pairs(sys).get(0)!;
    for (const p of [a, b]) {
      expect(sys.phys.owner[p]).toBe(Owner.PAMT_PAIR);
      expect(sys.phys.ownerArg[p]).toBe(0);
      expect(sys.tdx.pamt[p]).toBe(PamtType.PAMT_PAIR);
    }
    expectInOrder(ev, ['TDH.MEM.SEPT.ADD', 'TDH.PHYMEM.PAMT.ADD 0x0', `TDH.MEM.PAGE.AUG ${hex(pfn)}`]);
    expect(count(ev, 'TDH.PHYMEM.PAMT.ADD')).toBe(1); // the table page's region already has a pair (control pages)
    expect(checkDpamtRefcounts(sys)).toBeNull();
    expect(checkPageConservation(sys)).toBeNull();
  });

  it('a second 4K page of the region only counts (1 -> 2); removing one keeps the pair, removing the last removes it and frees its pages', () => {
    const rig = new Rig();
    const { sys } = rig;
    rig.runAll([accept(3, '4K'), accept(4, '4K')]);
    expect(sys.kvm.pamtRefcount[0]).toBe(2);
    const pair = pairs(sys).get(0)!;
    const ev = record(rig);
    expect(rig.run(convert(3, 4, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    expect(sys.kvm.pamtRefcount[0]).toBe(1);
    expect(sys.tdx.pairInstalled(0)).toBe(true);
    expect(count(ev, 'TDH.PHYMEM.PAMT.REMOVE')).toBe(0);
    expect(rig.run(convert(4, 5, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    expect(sys.kvm.pamtRefcount[0]).toBe(0);
    expect(sys.tdx.pairInstalled(0)).toBe(false);
    expectInOrder(ev, ['TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD', 'TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD', 'TDH.PHYMEM.PAMT.REMOVE 0x0']);
    expect(count(ev, 'TDH.PHYMEM.PAMT.REMOVE')).toBe(1);
    for (const p of pair) {
      expect(sys.phys.isFree(p), `pair page ${hex(p)}`).toBe(true);
      expect(sys.tdx.pamt[p]).toBe(PamtType.NDA);
    }
    expect(checkDpamtRefcounts(sys)).toBeNull();
    expect(checkPageConservation(sys)).toBeNull();
  });

  it('a punch of the region\'s 4K pages puts the pair back too, and the case passes', () => {
    const ops = [accept(3, '4K'), accept(4, '4K'), touch(4, 9), punch(0, P)];
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    expect(count(opLines(0), 'TDH.PHYMEM.PAMT.ADD(pfn=0x0)')).toBe(1);
    expect(count(opLines(1), 'TDH.PHYMEM.PAMT.ADD')).toBe(0);
    expectInOrder(opLines(3), ['TDH.MEM.PAGE.REMOVE(gfn=0x3 level=4K', 'TDH.MEM.PAGE.REMOVE(gfn=0x4 level=4K', 'TDH.PHYMEM.PAMT.REMOVE(pfn=0x0) = TDX_SUCCESS', 'gmem: truncate folio at index 0x0']);
  });

  it('a 2M mapping needs no pair: AUG, ACCEPT and REMOVE of a 2M leaf never touch the PAMT pairs (003:L383)', () => {
    const rig = new Rig();
    const { sys } = rig;
    const before = pairs(sys);
    const ev = record(rig);
    rig.runAll([touch(0), accept(0, '2M'), touch(5, 3), punch(0, P)]);
    expect(ev.filter((e) => e.startsWith('TDH.PHYMEM.PAMT'))).toEqual([]);
    expect(pairs(sys)).toEqual(before);
    expect(sys.kvm.pamtRefcount[0]).toBe(0);
  });
});

describe('a split of a 2M leaf with Dynamic PAMT (steps 3.1-3.6, 003:L264-296)', () => {
  // accept(3, 4K) first gives region 0 a table; then the split of range 1 needs a fresh S-EPT page, which the
  // small-page allocator puts in a physical region without a pair yet.
  const before = [accept(3, '4K'), touch(P)];

  it('traces BLOCK, TRACK, PAMT.ADD for the new S-EPT page, DEMOTE; the guest region\'s refcount becomes ptrs', () => {
    const rig = new Rig();
    const { sys } = rig;
    rig.runAll(before);
    const guestPfn = sys.kvm.mirror.pfn2m[1];
    const guestRegion = sys.tdx.pamtRegion(guestPfn);
    expect(sys.kvm.pamtRefcount[guestRegion]).toBe(0);
    expect(sys.tdx.pairInstalled(guestRegion)).toBe(false);
    const ev = record(rig);
    expect(rig.run(accept(P + 3, '4K'))).toEqual({ kind: 'accept', result: 'accepted' });
    const newSept = sys.kvm.mirror.externalSpt[1];
    const septRegion = sys.tdx.pamtRegion(newSept);
    expect(septRegion).not.toBe(guestRegion);
    // step 2.2 topped the cache up with a pair for each region, all of which 3.2 and 3.4 took out again
    expect(ev.filter((e) => e.startsWith('split_cache_enqueue'))).toHaveLength(4);
    expect(sys.kvm.splitCache).toEqual([]);
    expect(ev.filter((e) => !e.startsWith('split_cache_enqueue') && !e.startsWith('TDG.'))).toEqual([
      `split_external_spte ${hex(P)}`,
      'TDH.MEM.RANGE.BLOCK', // 3.1
      'TDH.MEM.TRACK',
      'split_cache_dequeue 2', // 3.2
      `TDH.PHYMEM.PAMT.ADD ${hex(septRegion * P)}`, // 3.3, for the new S-EPT page's region
      'split_cache_dequeue 2', // 3.4, for the guest 2M region
      `TDH.MEM.PAGE.DEMOTE ${hex(newSept)}`, // 3.5, which installs the guest region's pair
    ]);
    // 3.6: one 4K use per child
    expect(sys.kvm.pamtRefcount[guestRegion]).toBe(P);
    expect(sys.tdx.pairInstalled(guestRegion)).toBe(true);
    expect(sys.kvm.pamtRefcount[septRegion]).toBe(1);
    expect(sys.tdx.sept.e2m[1]).toBe(S.NL_MAPPED);
    for (let g = P; g < 2 * P; g++) expect(sys.tdx.pamt[guestPfn + g - P]).toBe(PamtType.REG_4K);
    expect(checkDpamtRefcounts(sys)).toBeNull();
    expect(checkPageConservation(sys)).toBeNull();
  });

  it('an S-EPT page in a region that has its pair already: no PAMT.ADD, only the guest pair is dequeued', () => {
    const rig = new Rig();
    const { sys } = rig;
    rig.run(touch(P));
    const ev = record(rig);
    rig.run(accept(P + 3, '4K'));
    const newSept = sys.kvm.mirror.externalSpt[1];
    expect(sys.tdx.pamtRegion(newSept)).toBe(sys.tdx.pamtRegion(sys.controlPages[0]));
    expect(ev.filter((e) => e.startsWith('split_cache_dequeue') || e.startsWith('TDH.PHYMEM.PAMT'))).toEqual(['split_cache_dequeue 2']);
    expect(sys.kvm.pamtRefcount[sys.tdx.pamtRegion(sys.kvm.mirror.pfn4k[P])]).toBe(P);
  });

  it('at ptrs 512 the guest region\'s refcount becomes 512', () => {
    const rig = new Rig({ ptrs: 512 });
    const { sys } = rig;
    rig.runAll([touch(0), accept(5, '4K')]);
    expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    const guestRegion = sys.tdx.pamtRegion(sys.kvm.mirror.pfn4k[0]);
    expect(sys.kvm.pamtRefcount[guestRegion]).toBe(512);
    expect(checkDpamtRefcounts(sys)).toBeNull();
  });

  it('zapping the split range puts one use per child: all ptrs gone -> PAMT.REMOVE of the guest region', () => {
    const rig = new Rig();
    const { sys } = rig;
    rig.runAll([...before, accept(P + 3, '4K')]);
    const guestRegion = sys.tdx.pamtRegion(sys.kvm.mirror.pfn4k[P]);
    expect(rig.run(convert(P, P + 1, 'shared'))).toEqual({ kind: 'convert', ret: 0 });
    expect(sys.kvm.pamtRefcount[guestRegion]).toBe(P - 1);
    const ev = record(rig);
    expect(rig.run(punch(P, 2 * P))).toEqual({ kind: 'punch', ret: 0 });
    expect(sys.kvm.pamtRefcount[guestRegion]).toBe(0);
    expect(sys.tdx.pairInstalled(guestRegion)).toBe(false);
    expect(ev.filter((e) => e.startsWith('TDH.PHYMEM.PAMT.REMOVE'))).toEqual([`TDH.PHYMEM.PAMT.REMOVE ${hex(guestRegion * P)}`]);
    // the S-EPT page stays for the TD's lifetime (INV-7), and with it its region's pair
    expect(sys.tdx.pairInstalled(sys.tdx.pamtRegion(sys.kvm.mirror.externalSpt[1]))).toBe(true);
  });

  it('the seed flow as a case file (test/fixtures/dpamt-split-steps.json) passes under the oracle', () => {
    const c = loadCase(join(FIXTURES, 'dpamt-split-steps.json'));
    expect(c.design.dpamt).toBe(true);
    const r = runCase(c, { trace: true });
    expect(r.verdict).toBe(c.expect!.verdict);
    expect(r.notes).toEqual([]);
    const lines = r.trace!.map((l) => l.text);
    const split = c.ops.findIndex((o) => o.op === 'convert');
    const opLines = r.trace!.filter((l) => l.op === split).map((l) => l.text);
    expectInOrder(opLines, [
      'split 2M leaf gfn 0x10',
      'TDH.MEM.RANGE.BLOCK(gfn=0x10 level=2M) = TDX_SUCCESS',
      'TDH.MEM.TRACK() = TDX_SUCCESS',
      'TDH.PHYMEM.PAMT.ADD(',
      'TDH.MEM.PAGE.DEMOTE(gfn=0x10 level=2M',
      'zap 4K leaf gfn 0x13',
      'TDH.MEM.PAGE.REMOVE(gfn=0x13 level=4K',
    ]);
    expect(count(lines, 'VIOLATION')).toBe(0);
    // gfn 0x15 kept the data written before the split
    expect(r.trace!.filter((l) => l.op === split + 1).map((l) => l.text)).toContain('  -> read 77');
  });
});

describe('TDH.PHYMEM.PAMT.ADD / REMOVE statuses (module)', () => {
  const fresh = () => new System(resolveDesign({ ptrs: P }));

  it('ADD on a region whose pair is installed -> TDX_HPA_RANGE_NOT_FREE|RCX, nothing changes', () => {
    const sys = fresh();
    const r = sys.tdx.pamtRegion(sys.controlPages[0]); // TD creation installed this one
    const pair = [...sys.tdx.pamtPair];
    const p1 = sys.phys.allocSmall(Owner.PAMT_CACHE, 0);
    const p2 = sys.phys.allocSmall(Owner.PAMT_CACHE, 0);
    expectStatus(sys.tdx.tdhPhymemPamtAdd(r, p1, p2), 'TDX_HPA_RANGE_NOT_FREE', RCX);
    expect([...sys.tdx.pamtPair]).toEqual(pair);
    expect(sys.tdx.pamt[p1]).toBe(PamtType.NDA);
  });

  it('ADD with a page the PAMT already assigns -> TDX_PAGE_METADATA_INCORRECT; a good ADD installs the pair', () => {
    const sys = fresh();
    const p1 = sys.phys.allocSmall(Owner.PAMT_CACHE, 0);
    expectStatus(sys.tdx.tdhPhymemPamtAdd(0, p1, sys.controlPages[1]), 'TDX_PAGE_METADATA_INCORRECT', 0x02);
    expect(sys.tdx.pairInstalled(0)).toBe(false);
    const p2 = sys.phys.allocSmall(Owner.PAMT_CACHE, 0);
    expect(isSuccess(sys.tdx.tdhPhymemPamtAdd(0, p1, p2))).toBe(true);
    expect(sys.tdx.pairInstalled(0)).toBe(true);
    expect([sys.tdx.pamt[p1], sys.tdx.pamt[p2]]).toEqual([PamtType.PAMT_PAIR, PamtType.PAMT_PAIR]);
  });

  it('REMOVE while 4K uses remain -> TDX_HPA_RANGE_NOT_FREE|RCX (control pages, a 4K guest page)', () => {
    const sys = fresh();
    const ctrlRegion = sys.tdx.pamtRegion(sys.controlPages[0]);
    const r1 = sys.tdx.tdhPhymemPamtRemove(ctrlRegion);
    expectStatus(r1.st, 'TDX_HPA_RANGE_NOT_FREE', RCX);
    expect(r1.pair).toBeNull();
    expect(sys.tdx.pairInstalled(ctrlRegion)).toBe(true);
    const rig = new Rig();
    rig.run(accept(3, '4K'));
    const r2 = rig.sys.tdx.tdhPhymemPamtRemove(0);
    expectStatus(r2.st, 'TDX_HPA_RANGE_NOT_FREE', RCX);
    expect(rig.sys.tdx.pairInstalled(0)).toBe(true);
  });

  it('REMOVE of a region without a pair -> TDX_OPERAND_INVALID|RCX; once the last 4K use is gone it succeeds and returns the pair', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhPhymemPamtRemove(0).st, 'TDX_OPERAND_INVALID', RCX);
    const p1 = sys.phys.allocSmall(Owner.PAMT_CACHE, 0);
    const p2 = sys.phys.allocSmall(Owner.PAMT_CACHE, 0);
    expect(isSuccess(sys.tdx.tdhPhymemPamtAdd(0, p1, p2))).toBe(true);
    expect(isSuccess(sys.tdx.tdhMemSeptAdd(0, sys.phys.allocSmall(Owner.SEPT, 0)))).toBe(true);
    expect(isSuccess(sys.tdx.tdhMemPageAug(3, L4K, 3))).toBe(true);
    expectStatus(sys.tdx.tdhPhymemPamtRemove(0).st, 'TDX_HPA_RANGE_NOT_FREE', RCX);
    expect(isSuccess(sys.tdx.tdhMemRangeBlock(3, L4K))).toBe(true);
    expect(isSuccess(sys.tdx.tdhMemTrack())).toBe(true);
    expect(isSuccess(sys.tdx.tdhMemPageRemove(3, L4K))).toBe(true);
    const r = sys.tdx.tdhPhymemPamtRemove(0);
    expect(isSuccess(r.st)).toBe(true);
    expect(r.pair).toEqual([p1, p2]);
    expect([sys.tdx.pamt[p1], sys.tdx.pamt[p2]]).toEqual([PamtType.NDA, PamtType.NDA]);
  });

  it('a 4K AUG (or SEPT.ADD) into a region without a pair -> TDX_OPERAND_INVALID; a 2M AUG needs none', () => {
    const sys = fresh();
    const ctrlRegion = sys.tdx.pamtRegion(sys.controlPages[0]);
    const t = sys.phys.allocSmall(Owner.SEPT, 0);
    expect(sys.tdx.pamtRegion(t)).toBe(ctrlRegion); // a region with a pair: the table goes in
    expect(isSuccess(sys.tdx.tdhMemSeptAdd(0, t))).toBe(true);
    expectStatus(sys.tdx.tdhMemPageAug(3, L4K, 3), 'TDX_OPERAND_INVALID', 0x02);
    expect(sys.tdx.sept.e4k[3]).toBe(S.FREE);
    expect(isSuccess(sys.tdx.tdhMemPageAug(P, L2M, P))).toBe(true);
    expect(sys.tdx.sept.e2m[1]).toBe(S.PENDING);
  });
});

describe('without Dynamic PAMT (dpamt false) none of this happens', () => {
  it('no PAMT.ADD/REMOVE, no split-cache traffic, no refcounts, no pairs through 4K maps, a split, zaps and teardown', () => {
    const rig = new Rig({ dpamt: false });
    const { sys } = rig;
    expect(pairs(sys).size).toBe(0);
    const ev = record(rig);
    rig.runAll([accept(3, '4K'), touch(P), accept(P + 3, '4K'), convert(3, 4, 'shared'), convert(P, P + 1, 'shared')]);
    expect(sys.kvm.mirror.m2m[1]).toBe(Spte.NONLEAF); // the split happened
    expect(ev.filter((e) => e.startsWith('TDH.PHYMEM.PAMT') || e.startsWith('split_cache'))).toEqual([]);
    expect(count(ev, 'TDH.MEM.PAGE.DEMOTE')).toBe(1);
    expect(Array.from(sys.kvm.pamtRefcount).every((n) => n === 0)).toBe(true);
    expect(pairs(sys).size).toBe(0);
    expect(sys.kvm.splitCache).toEqual([]);
    for (let p = 0; p < sys.phys.total; p++) expect(sys.phys.owner[p] === Owner.PAMT_PAIR || sys.phys.owner[p] === Owner.PAMT_CACHE, `pfn ${hex(p)}`).toBe(false);
    const { r, all } = traced({ dpamt: false }, [accept(3, '4K'), touch(P), accept(P + 3, '4K'), convert(3, 4, 'shared'), { op: 'destroy' }]);
    expect(r.verdict).toBe('pass');
    expect(count(all, 'TDH.PHYMEM.PAMT')).toBe(0);
  });

  it('the same 4K AUG goes straight to the module', () => {
    const sys = new System(resolveDesign({ ptrs: P, dpamt: false }));
    expect(isSuccess(sys.tdx.tdhMemSeptAdd(0, sys.phys.allocSmall(Owner.SEPT, 0)))).toBe(true);
    expect(isSuccess(sys.tdx.tdhMemPageAug(3, L4K, 3))).toBe(true);
    expect(sys.tdx.pairInstalled(0)).toBe(false);
    expect(sys.tdx.tdhMemPageAug(P, L2M, P).code).toBe(0);
  });
});
