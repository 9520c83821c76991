// VM teardown (model-spec.md 3.6, seed 000; kernel-facts.md 2.4): kvm_gmem_release zaps every guest page
// with the HKID assigned, tdx_mmu_release_hkid (VPFLUSHDONE, CACHE.WB, KEY.FREEID), reclaim_external_sp for
// every S-EPT page and RECLAIM of the control pages, then the guest_memfd folios go back to the host. Leaks
// on failure (seed 004) and the guards G11, G12, G13.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/fuzz/case.js';
import { EBADF } from '../../src/model/errno.js';
import { Owner } from '../../src/model/host/phys.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { PamtType } from '../../src/model/tdx/module.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, Rig as BaseRig, convert, count, expectInOrder, hex, P, punch, run, touch, traced } from '../helpers/model.js';

function firstIndex(lines: string[], needle: string): number {
  return lines.findIndex((l) => l.includes(needle));
}

function lastIndex(lines: string[], needle: string): number {
  return lines.reduce((k, l, i) => (l.includes(needle) ? i : k), -1);
}

/** The shared Rig plus what teardown tests read: which pages are kept and which leaked. */
class Rig extends BaseRig {
  /** Pages that are neither free nor in a host pool: owner name per pfn. */
  kept(): Map<number, Owner> {
    const out = new Map<number, Owner>();
    const o = this.sys.phys.owner;
    for (let p = 0; p < o.length; p++) if (o[p] !== Owner.FREE && o[p] !== Owner.FREE_HUGE) out.set(p, o[p]);
    return out;
  }
  /**
   * After a teardown that leaked: exactly `leaked` are LEAKED, and anything else kept is a Dynamic PAMT pair
   * of a physical 2M region a leaked page is in (the module still counts the leaked page as a TD page, so
   * its region's pair cannot be removed either).
   */
  expectLeaks(leaked: number[]): void {
    const kept = [...this.kept()];
    expect(kept.filter(([, o]) => o === Owner.LEAKED).map(([p]) => p).sort((a, b) => a - b)).toEqual([...leaked].sort((a, b) => a - b));
    const regions = new Set(leaked.map((p) => this.sys.tdx.pamtRegion(p)));
    for (const [p, o] of kept) {
      if (o === Owner.LEAKED) continue;
      expect(o, `pfn ${p}`).toBe(Owner.PAMT_PAIR);
      expect(regions.has(this.sys.phys.ownerArg[p]), `pair page ${p} of region ${this.sys.phys.ownerArg[p]}`).toBe(true);
    }
  }
}

const fault = (leaf: string, status = 'TDX_OPERAND_BUSY', nth = 1) => ({ leaf, nth, status });
const destroy = (...faults: ReturnType<typeof fault>[]): Op => (faults.length ? ({ op: 'destroy', faults } as Op) : { op: 'destroy' });

/** Seed 000: a 2M range accepted at 2M, a 2M range split to 4K by a 4K ACCEPT (one S-EPT page). */
const SEED000 = [touch(0), accept(0, '2M'), touch(P, 5), accept(P + 1, '4K'), touch(P + 1, 6)];

/**
 * The S-EPT pages and the control pages the seed-000 state has, from a run of the same ops: the 4K table of
 * range 1, the two S-EPT pages above the 2M level that exist from TD creation (PDPT, PD), and TDR/TDCS/TDVPR.
 */
function seed000Pages(design: Record<string, unknown> = {}): { table: number; upper: number[]; ctrl: number[] } {
  const rig = new Rig(design);
  rig.runAll(SEED000);
  expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.LEAF);
  expect(rig.sys.kvm.mirror.m2m[1]).toBe(Spte.NONLEAF);
  expect(rig.sys.kvm.mirror.upperSpt).toHaveLength(2);
  return { table: rig.sys.kvm.mirror.externalSpt[1], upper: [...rig.sys.kvm.mirror.upperSpt], ctrl: [...rig.sys.controlPages] };
}

describe('teardown in the seed-000 order', () => {
  it('TD creation allocates two S-EPT pages above the 2M level: owner SEPT, PAMT SEPT, dirty with the HKID', () => {
    const { sys } = new Rig();
    const upper = sys.kvm.mirror.upperSpt;
    expect(upper).toHaveLength(2);
    expect(new Set([...upper, ...sys.controlPages]).size).toBe(5);
    for (const p of upper) {
      expect(sys.phys.owner[p]).toBe(Owner.SEPT);
      expect(sys.tdx.pamt[p]).toBe(PamtType.SEPT);
      expect(sys.phys.dirtyHkid[p]).toBe(sys.tdx.hkid);
    }
    // no 2M range has a 4K table yet: these pages sit above the 2M entries
    for (let r = 0; r < sys.regions; r++) expect(sys.kvm.mirror.externalSpt[r]).toBe(-1);
  });

  it('gmem release zaps every leaf (BLOCK/TRACK/REMOVE) before the HKID release, then RECLAIMs the S-EPT pages (4K table, then the levels above 2M) and the control pages', () => {
    const { table, upper, ctrl } = seed000Pages();
    const { r, opLines } = traced({}, [...SEED000, destroy()]);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    const l = opLines(SEED000.length);
    expectInOrder(l, [
      'teardown: kvm_gmem_release unmaps every guest page',
      'zap 2M leaf gfn 0x0',
      'TDH.MEM.RANGE.BLOCK(gfn=0x0 level=2M) = TDX_SUCCESS',
      'TDH.MEM.TRACK() = TDX_SUCCESS',
      'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=2M pfn=0x0) = TDX_SUCCESS',
      `TDH.PHYMEM.PAGE.WBINVD x${P}`,
      'zap 4K leaf gfn 0x10',
      'TDH.MEM.PAGE.REMOVE(gfn=0x10 level=4K',
      'zap 4K leaf gfn 0x1f',
      'TDH.MEM.PAGE.REMOVE(gfn=0x1f level=4K',
      'teardown: kvm_destroy_vm releases the HKID',
      'TDH.MNG.VPFLUSHDONE() = TDX_SUCCESS',
      'TDH.PHYMEM.CACHE.WB() = TDX_SUCCESS',
      'TDH.MNG.KEY.FREEID() = TDX_SUCCESS',
      'HKID released',
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(table)}) = TDX_SUCCESS`,
      // children before parents: PD before PDPT
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(upper[1])}) = TDX_SUCCESS`,
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(upper[0])}) = TDX_SUCCESS`,
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(ctrl[0])}) = TDX_SUCCESS`,
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(ctrl[1])}) = TDX_SUCCESS`,
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(ctrl[2])}) = TDX_SUCCESS`,
      'teardown: guest_memfd inode released',
      '-> ret 0',
    ]);
    expect(count(l, 'TDH.MEM.PAGE.REMOVE')).toBe(1 + P);
    expect(count(l, 'TDH.PHYMEM.PAGE.RECLAIM')).toBe(1 + 2 + 3);
    // every zap is over before VPFLUSHDONE; every RECLAIM comes after KEY.FREEID
    expect(lastIndex(l, 'TDH.MEM.')).toBeLessThan(firstIndex(l, 'TDH.MNG.VPFLUSHDONE'));
    expect(firstIndex(l, 'TDH.PHYMEM.PAGE.RECLAIM')).toBeGreaterThan(firstIndex(l, 'TDH.MNG.KEY.FREEID'));
    expect(count(l, 'DEMOTE')).toBe(0);
    expect(count(l, 'TDX_BUG_ON')).toBe(0);
  });

  it('afterwards every page is back in a host pool, the HKID is gone and nothing of the TD is left', () => {
    const rig = new Rig();
    rig.runAll(SEED000);
    expect(rig.run(destroy())).toEqual({ kind: 'destroy', ret: 0 });
    const { sys } = rig;
    expect(rig.kept()).toEqual(new Map());
    expect(sys.tdx.hkid).toBe(-1);
    expect(sys.destroyed).toBe(true);
    expect(sys.kvm.bugged).toBe(false);
    for (let p = 0; p < sys.phys.total; p++) {
      expect(sys.tdx.pamt[p], `pamt ${p}`).toBe(PamtType.NDA);
      expect(sys.phys.dirtyHkid[p], `dirty ${p}`).toBe(-1);
    }
    for (let r = 0; r < sys.regions; r++) {
      expect(sys.tdx.sept.e2m[r]).toBe(S.FREE);
      expect(sys.kvm.mirror.m2m[r]).toBe(Spte.NONE);
      expect(sys.kvm.mirror.externalSpt[r]).toBe(-1);
    }
    for (let i = 0; i < sys.gmem.size; i++) expect(sys.gmem.pfn[i]).toBe(-1);
    expect(sys.kvm.stats).toEqual({ pages2m: 0, pages4k: 0 });
  });

  it('ops after destroy: the vCPU is gone (vm-dead) and every ioctl fails with -EBADF; the case passes', () => {
    const after: Op[] = [touch(0), accept(0, '4K'), convert(0, 1, 'shared'), punch(0, P), { op: 'initMemRegion', start: 0, end: 1, data: 1 }, { op: 'finalize' }, destroy()];
    const { r, opLines } = traced({}, [...SEED000, destroy(), ...after]);
    expect(r.verdict).toBe('pass');
    for (let i = 0; i < after.length; i++) expect(count(opLines(SEED000.length + 1 + i), 'TDH.'), `op ${i}`).toBe(0);
    const rig = new Rig();
    rig.runAll([...SEED000, destroy()]);
    expect(rig.runAll(after)).toEqual([
      { kind: 'touch', result: 'vm-dead' },
      { kind: 'accept', result: 'vm-dead' },
      { kind: 'convert', ret: -EBADF },
      { kind: 'punch', ret: -EBADF },
      { kind: 'initMemRegion', ret: -EBADF },
      { kind: 'finalize', ret: -EBADF },
      { kind: 'destroy', ret: -EBADF },
    ]);
    expect(rig.kept()).toEqual(new Map());
  });

  it('tolerable BUSY on the release zaps is retried after a kick and the teardown still returns everything', () => {
    const { r, opLines } = traced({}, [...SEED000, destroy(fault('TDH.MEM.RANGE.BLOCK'), fault('TDH.MEM.PAGE.REMOVE', 'TDX_OPERAND_BUSY', 3))]);
    expect(r.verdict).toBe('pass');
    expect(count(opLines(SEED000.length), 'kick all vCPUs')).toBe(2);
    const rig = new Rig();
    rig.runAll([...SEED000, destroy(fault('TDH.MEM.RANGE.BLOCK'))]);
    expect(rig.sys.kvm.bugged).toBe(false);
    expect(rig.kept()).toEqual(new Map());
  });

  it('TDX_INTERRUPTED_RESUMABLE on CACHE.WB is retried (TDX_SEAMCALL_RETRIES) and the HKID is released', () => {
    const { r, opLines } = traced({}, [...SEED000, destroy(fault('TDH.PHYMEM.CACHE.WB', 'TDX_INTERRUPTED_RESUMABLE'))]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(SEED000.length), ['TDH.PHYMEM.CACHE.WB() = TDX_INTERRUPTED_RESUMABLE', 'TDH.PHYMEM.CACHE.WB() = TDX_SUCCESS', 'HKID released']);
    const rig = new Rig();
    rig.runAll([...SEED000, destroy(fault('TDH.PHYMEM.CACHE.WB', 'TDX_INTERRUPTED_RESUMABLE'))]);
    expect(rig.sys.tdx.hkid).toBe(-1);
    expect(rig.kept()).toEqual(new Map());
  });

  // SUSPECTED SRC BUG (src/model/tdx/module.ts tdhPhymemCacheWb): an injected TDX_NO_HKID_READY_TO_WBCACHE sets
  // cacheWbDone ("nothing to write back") but leaves every line of the HKID dirty, while faultClass.ts calls
  // the status tolerable and KVM takes it as success (kernel-facts.md 2.4). The S-EPT and control pages then
  // reach the host with cache lines of HKID 1: the case fails INV-22@destroy+NO_HKID_READY_TO_WBCACHE
  // ("page 0x.. freed to the host with cache lines of HKID 1"), even with a bare [destroy] case. The status
  // means there is nothing (left) to write back, so the module should leave no dirty line behind.
  it('TDX_NO_HKID_READY_TO_WBCACHE on CACHE.WB counts as success: KEY.FREEID follows, nothing is bugged or leaked', () => {
    const ops = [...SEED000, destroy(fault('TDH.PHYMEM.CACHE.WB', 'TDX_NO_HKID_READY_TO_WBCACHE'))];
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(SEED000.length), ['TDH.PHYMEM.CACHE.WB() = TDX_NO_HKID_READY_TO_WBCACHE', 'TDH.MNG.KEY.FREEID() = TDX_SUCCESS', 'HKID released']);
    expect(count(opLines(SEED000.length), 'TDH.PHYMEM.CACHE.WB')).toBe(1);
    const rig = new Rig();
    rig.runAll(ops);
    expect(rig.sys.tdx.hkid).toBe(-1);
    expect(rig.sys.kvm.bugged).toBe(false);
    expect(rig.kept()).toEqual(new Map());
  });

  it('a TD destroyed at build time: the added pages are zapped, the table and control pages reclaimed', () => {
    const build = { startPhase: 'BUILD' };
    const ops: Op[] = [{ op: 'initMemRegion', start: 0, end: 3, data: 5 }, destroy()];
    const { r, opLines } = traced(build, ops);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(1), ['zap 4K leaf gfn 0x0', 'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=4K', 'zap 4K leaf gfn 0x2', 'TDH.MNG.KEY.FREEID() = TDX_SUCCESS', 'TDH.PHYMEM.PAGE.RECLAIM']);
    expect(count(opLines(1), 'TDH.PHYMEM.PAGE.RECLAIM')).toBe(1 + 2 + 3); // the 4K table, PD and PDPT, three control pages
    // tdx_track() is a no-op until the TD is runnable: the zaps issue BLOCK and REMOVE only
    expect(count(opLines(1), 'TDH.MEM.RANGE.BLOCK')).toBe(3);
    expect(count(opLines(1), 'TDH.MEM.TRACK')).toBe(0);
    const rig = new Rig(build);
    rig.runAll(ops);
    expect(rig.kept()).toEqual(new Map());
  });
});

describe('teardown failures: leak, never free (seed 004; kernel-facts.md 2.4)', () => {
  it('RECLAIM of the S-EPT page fails: that page is leaked (external_spt = NULL), the rest goes back; the case passes', () => {
    const { table, ctrl } = seed000Pages();
    const { r, opLines } = traced({}, [...SEED000, destroy(fault('TDH.PHYMEM.PAGE.RECLAIM'))]);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(SEED000.length), [
      'HKID released',
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(table)}) = TDX_OPERAND_BUSY|0x1 (0x8000020000000001)   <- injected`,
      `TDH.PHYMEM.PAGE.RECLAIM of pfn ${hex(table)} failed: page leaked`,
      `TDH.PHYMEM.PAGE.RECLAIM(pfn=${hex(ctrl[0])}) = TDX_SUCCESS`,
      '-> ret 0',
    ]);
    const rig = new Rig();
    rig.runAll([...SEED000, destroy(fault('TDH.PHYMEM.PAGE.RECLAIM'))]);
    rig.expectLeaks([table]);
    expect(rig.sys.kvm.mirror.externalSpt[1]).toBe(-1);
    expect(rig.sys.tdx.hkid).toBe(-1);
    // tdx_reclaim_page() only warns (TDX_BUG_ON with kvm == NULL): the VM is not bugged by it
    expect(rig.sys.kvm.bugged).toBe(false);
  });

  it('RECLAIM of a control page (the first one, after the 4K table, PD and PDPT: the fourth RECLAIM) fails: that control page is leaked', () => {
    const { ctrl } = seed000Pages();
    const { r, opLines } = traced({}, [...SEED000, destroy(fault('TDH.PHYMEM.PAGE.RECLAIM', 'TDX_SW_ERROR', 4))]);
    expect(r.verdict).toBe('pass');
    expect(opLines(SEED000.length)).toContain(`TDH.PHYMEM.PAGE.RECLAIM of pfn ${hex(ctrl[0])} failed: page leaked`);
    const rig = new Rig();
    rig.runAll([...SEED000, destroy(fault('TDH.PHYMEM.PAGE.RECLAIM', 'TDX_SW_ERROR', 4))]);
    rig.expectLeaks([ctrl[0]]);
  });

  it('RECLAIM of an S-EPT page above the 2M level (PD, the second RECLAIM) fails: that page is leaked, never freed', () => {
    const { upper } = seed000Pages();
    const ops = [...SEED000, destroy(fault('TDH.PHYMEM.PAGE.RECLAIM', 'TDX_SW_ERROR', 2))];
    expect(run({}, ops).verdict).toBe('pass');
    const rig = new Rig();
    rig.runAll(ops);
    rig.expectLeaks([upper[1]]);
    // G12 off frees it although its RECLAIM failed
    const r = run({ guardsOff: ['G12'] }, ops);
    expect(r.signature).toBe('INV-22@destroy+SW_ERROR');
    expect(r.failure!.message).toBe(`page ${hex(upper[1])} freed to the host still PAMT SEPT`);
  });

  it('G12 off: the S-EPT page whose RECLAIM failed is freed anyway -> INV-22 (still PAMT SEPT)', () => {
    const { table } = seed000Pages({ guardsOff: ['G12'] });
    const r = run({ guardsOff: ['G12'] }, [...SEED000, destroy(fault('TDH.PHYMEM.PAGE.RECLAIM'))]);
    expect(r.signature).toBe('INV-22@destroy+OPERAND_BUSY');
    expect(r.failure!.message).toBe(`page ${hex(table)} freed to the host still PAMT SEPT`);
    expect(r.failure!.step).toBe('free-external-spt');
    // without a failing RECLAIM G12 changes nothing
    expect(run({ guardsOff: ['G12'] }, [...SEED000, destroy()]).verdict).toBe('pass');
  });

  it('CACHE.WB fails: the HKID is leaked, the VM bugged, S-EPT and control pages leaked (G11); the case passes', () => {
    const { table, upper, ctrl } = seed000Pages();
    const ops = [...SEED000, destroy(fault('TDH.PHYMEM.CACHE.WB', 'TDX_SW_ERROR'))];
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    const l = opLines(SEED000.length);
    expectInOrder(l, ['TDH.PHYMEM.CACHE.WB() = TDX_SW_ERROR', 'TDX_BUG_ON: TDH.PHYMEM.CACHE.WB (HKID is leaked)', 'teardown: guest_memfd inode released', '-> ret 0']);
    expect(count(l, 'TDH.MNG.KEY.FREEID')).toBe(0);
    expect(count(l, 'TDH.PHYMEM.PAGE.RECLAIM')).toBe(0);
    const rig = new Rig();
    rig.runAll(ops);
    expect(rig.sys.tdx.hkid).toBe(1);
    expect(rig.sys.kvm.bugged).toBe(true);
    rig.expectLeaks([table, ...upper, ...ctrl]);
  });

  it('G11 off: the same failure frees the S-EPT page while the HKID is assigned -> INV-7', () => {
    const { table } = seed000Pages({ guardsOff: ['G11'] });
    const { r, opLines } = traced({ guardsOff: ['G11'] }, [...SEED000, destroy(fault('TDH.PHYMEM.CACHE.WB', 'TDX_SW_ERROR'))]);
    expect(r.signature).toBe('INV-7@destroy+SW_ERROR');
    expect(r.failure!.message).toBe(`S-EPT page ${hex(table)} freed to the host while the HKID is assigned`);
    expectInOrder(opLines(SEED000.length), [`free S-EPT page ${hex(table)} of 2M range 1 while the HKID is assigned (G11 off)`, 'VIOLATION INV-7']);
    // with the HKID released G11 has nothing to guard
    expect(run({ guardsOff: ['G11'] }, [...SEED000, destroy()]).verdict).toBe('pass');
  });

  it('VPFLUSHDONE says TDX_FLUSHVP_NOT_DONE: KVM gives up silently, the HKID and every TD page stay leaked', () => {
    const { table, upper, ctrl } = seed000Pages();
    const ops = [...SEED000, destroy(fault('TDH.MNG.VPFLUSHDONE', 'TDX_FLUSHVP_NOT_DONE'))];
    const { r, opLines } = traced({}, ops);
    expect(r.verdict).toBe('pass');
    expectInOrder(opLines(SEED000.length), ['TDH.MNG.VPFLUSHDONE() = TDX_FLUSHVP_NOT_DONE', 'HKID kept (leaked)']);
    expect(count(opLines(SEED000.length), 'TDH.PHYMEM.CACHE.WB')).toBe(0);
    const rig = new Rig();
    rig.runAll(ops);
    expect(rig.sys.tdx.hkid).toBe(1);
    rig.expectLeaks([table, ...upper, ...ctrl]);
  });

  it('KEY.FREEID fails: TDX_BUG_ON, the HKID is leaked with the pages it guards', () => {
    const ops = [...SEED000, destroy(fault('TDH.MNG.KEY.FREEID', 'TDX_SW_ERROR'))];
    expect(run({}, ops).verdict).toBe('pass');
    const rig = new Rig();
    rig.runAll(ops);
    expect(rig.sys.tdx.hkid).toBe(1);
    expect(rig.sys.kvm.bugged).toBe(true);
    const { table, upper, ctrl } = seed000Pages();
    rig.expectLeaks([table, ...upper, ...ctrl]);
  });

  it('teardown of a VM bugged earlier still runs; what it frees is reported, not failed (accepted risk, 002)', () => {
    const ops = [touch(0), { ...convert(0, P, 'shared'), faults: [fault('TDH.MEM.PAGE.REMOVE', 'TDX_SW_ERROR')] }, destroy()];
    const r = run({}, ops);
    expect(r.verdict).toBe('pass');
    expect(r.notes.length).toBeGreaterThan(0);
    expect(r.notes.every((n) => n.startsWith('ACCEPTED-RISK '))).toBe(true);
  });
});

describe('G13: the HKID is released before S-EPT pages are reclaimed', () => {
  it('G13 off: reclaim_external_sp runs with the HKID assigned -> KVM_BUG_ON, the page leaked, INV-27', () => {
    const ops = [touch(0), accept(3, '4K'), destroy()];
    const { r, opLines } = traced({ guardsOff: ['G13'] }, ops);
    expect(r.signature).toBe('VM-BUGGED@destroy'); // damage first: the KVM_BUG_ON, after INV-27
    expect(r.failure!.after!.message).toBe('teardown reclaims the S-EPT page of 2M range 0 before the HKID is released');
    const l = opLines(2);
    expectInOrder(l, ['teardown: reclaim S-EPT pages before releasing the HKID (G13 off)', 'KVM_BUG_ON: reclaim_external_sp with the HKID assigned', 'VIOLATION INV-27']);
    // the HKID release had not begun when the reclaim ran (the case goes on after INV-27: damage first)
    expect(count(l.slice(0, l.findIndex((x) => x.includes('VIOLATION INV-27'))), 'TDH.MNG.VPFLUSHDONE')).toBe(0);
    expect(run({}, ops).verdict).toBe('pass');
  });

  it('G13 off with the seed-000 state fails the same way', () => {
    const r = run({ guardsOff: ['G13'] }, [...SEED000, destroy()]);
    expect(r.signature).toBe('VM-BUGGED@destroy');
    expect(r.failure!.after!.inv).toBe('INV-27');
  });

  it('G13 off shows even when only 2M leaves were ever mapped: the S-EPT pages above 2M are reclaimed too early', () => {
    const ops = [touch(0), accept(0, '2M'), touch(P), destroy()];
    const { r, opLines } = traced({ guardsOff: ['G13'] }, ops);
    expect(r.signature).toBe('VM-BUGGED@destroy'); // damage first: the KVM_BUG_ON, after INV-27
    expect(r.failure!.after!.message).toBe('teardown reclaims the S-EPT page of 2M range 0 before the HKID is released');
    expectInOrder(opLines(3), ['teardown: reclaim S-EPT pages before releasing the HKID (G13 off)', 'KVM_BUG_ON: reclaim_external_sp with the HKID assigned', 'VIOLATION INV-27']);
    expect(run({}, ops).verdict).toBe('pass');
  });
});
