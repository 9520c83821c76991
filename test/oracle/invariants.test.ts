// Every check the oracle names (src/oracle/invariants.ts INVARIANTS) must both FIRE on a broken design or
// a broken state and stay QUIET on the correct design. Guards are switched off through runCase; other
// checks are fired by breaking a System by hand and calling the check functions or the Oracle.
import { afterEach, describe, expect, it as vitestIt } from 'vitest';
import type { Op } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import type { FiredFault } from '../../src/model/faults.js';
import { PRIVATE, SHARED } from '../../src/model/gmem/gmem.js';
import { Owner, PfnKind } from '../../src/model/host/phys.js';
import { readLock, splitCacheLock, writeLock, writeUnlock } from '../../src/model/kvm/locks.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { L2M, L4K, LEAVES, type Leaf } from '../../src/model/tdx/leaf.js';
import { PamtType } from '../../src/model/tdx/module.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { status, STATUS_CODES, type StatusName } from '../../src/model/tdx/status.js';
import { faultKind, isTolerable } from '../../src/oracle/faultClass.js';
import { checkHostMappings, checkLeafInvariants, checkMirrorMatchesSept, checkMixed, checkNoTransient, checkPoisonedPrivateMappings, clauseText, INVARIANTS } from '../../src/oracle/invariants.js';
import { LifetimeChecker } from '../../src/oracle/lifetime.js';
import { Oracle, type Violation, WATCHDOG } from '../../src/oracle/oracle.js';
import { checkDpamtRefcounts, checkPageConservation } from '../../src/oracle/pamt.js';
import { OracleRig as Rig } from '../helpers/oracleRig.js';
import { accept, BUSY, convert, drive, finalize, hex, hostOp as host, initMem, mkCase, P, punch, Rig as BaseRig, run as runOps, touch } from '../helpers/model.js';

const destroy = (...faults: { leaf: Leaf; nth: number; status: StatusName }[]): Op => (faults.length ? { op: 'destroy', faults } : { op: 'destroy' });
const HARD = (leaf: Leaf, nth = 1, status: StatusName = 'TDX_SW_ERROR') => ({ leaf, nth, status });

afterEach(() => {
  // a failed WATCHDOG test must not leak its lowered budget into later tests
  WATCHDOG.stepsPerOp = 200_000;
});

/** Test titles registered under each check(id) block, so the coverage test can see a FIRE and a QUIET test. */
const covered = new Map<string, string[]>();
let currentCheck: string | null = null;
function check(id: string, body: () => void): void {
  covered.set(id, []);
  describe(id, () => {
    currentCheck = id;
    body();
    currentCheck = null;
  });
}
function it(name: string, fn: () => void): void {
  if (currentCheck) covered.get(currentCheck)!.push(name);
  vitestIt(name, fn);
}

check('INV-1', () => {
  const ops = [touch(P), convert(P, P + 1, 'shared')];
  it('fires with G1 off: the WIP order splits the folio while KVM still maps it 2M', () => {
    const r = runOps({ guardsOff: ['G1'] }, ops);
    expect(r.signature).toBe('INV-1@convert');
    expect(r.failure!.message).toMatch(/2M leaf at gfn 0x10 but the folio at index 0x10 has order 0/);
    expect(r.failure!.step).toBe('gmem-split-folio');
  });
  it('is quiet on the correct design', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
  });
  it('fires under mappingRule CONTIGUITY on a 2M leaf whose guest_memfd pages are not contiguous (hand-built)', () => {
    const rig = new Rig({ mappingRule: 'CONTIGUITY' });
    rig.ok(touch(0));
    expect(checkLeafInvariants(rig.sys, 0)).toBeNull();
    rig.sys.gmem.pfn[5] += 1; // index 5 no longer holds pfn base+5
    expect(checkLeafInvariants(rig.sys, 0)).toEqual(['INV-1', expect.stringMatching(/2M leaf at gfn 0x0 is not backed by contiguous guest_memfd pages at index 0x5/)]);
  });
  it('fires on a 2M leaf over a split folio, or over a truncated one (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    expect(checkLeafInvariants(rig.sys, 0)).toBeNull();
    rig.sys.gmem.splitFolio(0);
    expect(checkLeafInvariants(rig.sys, 0)?.[0]).toBe('INV-1');
    const rig2 = new Rig();
    rig2.ok(touch(0));
    rig2.sys.gmem.truncateFolio(0, true);
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
  it('fires when a 2M AUG is asked for a range whose lpage_info disallows 2M: a disallow count or GUEST_INHIBIT (hand-built)', () => {
    for (const [poke, why] of [
      [(rig: Rig) => (rig.sys.kvm.lpage.disallowCount[1] = 1), '2M range 1 has lpage_info disallow count 1'],
      [(rig: Rig) => (rig.sys.kvm.lpage.guestInhibit[1] = 1), '2M range 1 has GUEST_INHIBIT (the guest accepted below 2M there)'],
    ] as const) {
      const rig = new Rig();
      drive(writeLock(rig.sys, 'test'));
      poke(rig);
      rig.sys.trace.seamcall('TDH.MEM.PAGE.AUG', P, L2M, 0, status('TDX_SUCCESS', 0), false);
      expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-3', message: `TDH.MEM.PAGE.AUG requested: ${why}` });
    }
  });
  it('is quiet where lpage_info allows 2M: a fresh range maps 2M, and GUEST_INHIBIT keeps later maps at 4K', () => {
    const rig = new Rig();
    rig.ok(touch(P), accept(3, '4K'), touch(5), accept(0, '2M'), accept(P, '2M'));
    expect(rig.sys.kvm.mirror.m2m[1]).toBe(Spte.LEAF);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
  });
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
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-8', message: 'GUEST_INHIBIT of 2M range 0 was cleared' });
  });
  it('fires when GUEST_INHIBIT is set without write mmu_lock', () => {
    const rig = new Rig();
    drive(readLock(rig.sys, 'test'));
    rig.sys.kvm.lpage.guestInhibit[1] = 1;
    rig.sys.touch(1);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-8', message: 'GUEST_INHIBIT of 2M range 1 set without write mmu_lock' });
  });
  it('is quiet when set under write mmu_lock and kept, as the honour path does', () => {
    const rig = new Rig();
    drive(writeLock(rig.sys, 'test'));
    rig.sys.kvm.lpage.guestInhibit[1] = 1;
    rig.sys.touch(1);
    expect(rig.oracle.afterStep()).toBeNull();
    drive(writeUnlock(rig.sys, 'test'));
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
  it('fires past the per-op EPT violation bound, which a 2M ACCEPT gets once per 4K page plus one (hand-built)', () => {
    const rig = new Rig();
    const over4K = WATCHDOG.eptViolationsPerGuestOp + 1;
    rig.oracle.beginOp(touch(0));
    rig.sys.counters.eptViolations = over4K;
    expect(rig.oracle.liveness()?.inv).toBe('INV-10');
    rig.oracle.beginOp(accept(0, '2M')); // the 4K fallback walks every page: within its bound
    expect(rig.oracle.liveness()).toBeNull();
    rig.sys.counters.eptViolations = WATCHDOG.eptViolationsPerGuestOp * (P + 1) + 1;
    expect(rig.oracle.liveness()?.message).toMatch(/^accept made no progress after \d+ EPT violations/);
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
    // damage first: the blocked page the guest accepted is gone from its view (REF-ACCEPT), which outranks INV-15
    const v = rig.oracle.endOp({ kind: 'accept', result: 'already' });
    expect(v?.inv).toBe('REF-ACCEPT');
    expect(v?.supersedes?.inv).toBe('INV-15');
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
    expect(rig.op(convert(1, 2, 'shared')).v).toMatchObject({ inv: 'INV-18', message: expect.stringMatching(/gfn 0x7 holds 1 but the guest last wrote 70/) });
  });
});

check('INV-4', () => {
  const build = { startPhase: 'BUILD' };
  const ops = [initMem(0, P, 100)];
  it('fires with G10 off: INIT_MEM_REGION over a hugetlb 2M folio asks for a 2M mapping at build time', () => {
    const r = runOps({ ...build, guardsOff: ['G10'] }, ops);
    // damage first: the 2M PAGE.ADD fails and KVM_BUG_ON kills the VM; INV-4 fired before it
    expect(r.signature).toBe('VM-BUGGED@initMemRegion');
    expect(r.failure!.after!.inv).toBe('INV-4');
    expect(r.failure!.after!.opIndex).toBe(0);
    expect(r.failure!.after!.message).toBe('2M private mapping of gfn 0x0 requested at TD build time (PAGE.ADD is 4K only)');
  });
  it('fires on a 2M set_external_spte request while the TD is being built (hand-built)', () => {
    const rig = new Rig(build);
    rig.sys.trace.hook('set_external_spte', P, L2M);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-4', message: '2M private mapping of gfn 0x10 requested at TD build time (PAGE.ADD is 4K only)' });
  });
  it('fires on a DEMOTE or PROMOTE reaching the module while the TD is being built (hand-built)', () => {
    for (const leaf of ['TDH.MEM.PAGE.DEMOTE', 'TDH.MEM.PAGE.PROMOTE'] as const) {
      const rig = new Rig({ startPhase: 'BUILD' });
      rig.sys.trace.seamcall(leaf, 0, L2M, -1, status('TDX_SUCCESS'), false);
      expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-4', message: `${leaf} while the TD is being built` });
    }
  });
  it('is quiet on the correct design: the build adds 4K pages, 2M mappings come after finalize', () => {
    expect(runOps(build, [...ops, finalize, touch(0), touch(P), accept(P, '2M')]).verdict).toBe('pass');
    const rig = new Rig(build);
    rig.ok(...ops, finalize, touch(P));
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 1, pages4k: P });
    const rig2 = new Rig(build);
    rig2.sys.trace.hook('set_external_spte', 3, L4K); // 4K at build time is what PAGE.ADD does
    expect(rig2.oracle.afterStep()).toBeNull();
    const rig3 = new Rig(); // a running TD may ask for 2M
    rig3.sys.trace.hook('set_external_spte', P, L2M);
    expect(rig3.oracle.afterStep()).toBeNull();
  });
});

check('INV-7', () => {
  const ops = [touch(0), accept(3, '4K'), destroy(HARD('TDH.PHYMEM.CACHE.WB'))];
  it('fires with G11 off: the HKID release fails and teardown frees the S-EPT page anyway', () => {
    const r = runOps({ guardsOff: ['G11'] }, ops);
    expect(r.signature).toBe('INV-7@destroy+SW_ERROR');
    expect(r.failure!.message).toMatch(/^S-EPT page 0x[0-9a-f]+ freed to the host while the HKID is assigned$/);
    expect(r.failure!.step).toBe('free-external-spt');
  });
  it('fires when an S-EPT table page is freed while the HKID is assigned (hand-built)', () => {
    const rig = new Rig();
    rig.ok(accept(3, '4K'));
    const t = rig.sys.kvm.mirror.externalSpt[0];
    expect(rig.sys.tdx.pamt[t]).toBe(PamtType.SEPT);
    rig.sys.phys.free(t);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-7', message: `S-EPT page ${hex(t)} freed to the host while the HKID is assigned` });
  });
  it('is quiet on the correct design: G11 leaks the table when the HKID stays, a clean teardown frees it after the release', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    const t = rig.sys.kvm.mirror.externalSpt[0];
    rig.ok(destroy(HARD('TDH.PHYMEM.CACHE.WB')));
    expect(rig.sys.tdx.hkid).toBeGreaterThanOrEqual(0);
    expect(rig.sys.phys.owner[t]).toBe(Owner.LEAKED);
    const rig2 = new Rig();
    rig2.ok(touch(0), accept(3, '4K'));
    const t2 = rig2.sys.kvm.mirror.externalSpt[0];
    rig2.ok(destroy());
    expect(rig2.sys.tdx.hkid).toBe(-1);
    expect(rig2.sys.phys.owner[t2]).toBe(Owner.FREE);
  });
});

check('INV-20', () => {
  const uafMsg = (p: number, pamt: string) => `page ${hex(p)} (GMEM) freed to the host while the live TD still owns it (PAMT ${pamt}, mapped in the S-EPT)`;
  it('fires when a page the live TD maps is freed to the host while the VM is not bugged', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    const p = rig.sys.tdx.sept.pfn2m[0] + 3;
    rig.sys.phys.free(p);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-20', message: uafMsg(p, 'REG_2M') });
  });
  it('after a fatal-by-design KVM_BUG_ON under policy NONE the same free is an ACCEPTED-RISK note (002)', () => {
    const rig = new Rig();
    rig.ok(accept(5, '4K'), { ...convert(5, 6, 'shared'), faults: [HARD('TDH.MEM.PAGE.REMOVE')] });
    expect(rig.sys.kvm.bugged).toBe(true);
    const p = rig.sys.tdx.sept.pfn4k[5]; // REMOVE failed: the page is still in the S-EPT
    rig.sys.phys.free(p);
    expect(rig.oracle.afterStep()).toBeNull();
    expect(rig.op(touch(P)).v).toBeNull(); // the note is collected at the end of the next op
    expect(rig.oracle.notes).toEqual([`ACCEPTED-RISK INV-20: ${uafMsg(p, 'REG_4K')} after the VM was bugged (refcount policy NONE)`]);
  });
  it('LifetimeChecker: the bugged-VM free is a note when the policy tolerates it, INV-20 when a UAF counts as a failure', () => {
    const rig = new Rig();
    rig.ok(accept(5, '4K'));
    const p = rig.sys.tdx.sept.pfn4k[5];
    rig.sys.kvm.bugged = true;
    rig.sys.phys.free(p);
    const lenient = new LifetimeChecker(rig.sys, false);
    expect(lenient.check()).toBeNull();
    expect(lenient.acceptedRisks).toEqual([`ACCEPTED-RISK INV-20: ${uafMsg(p, 'REG_4K')} after the VM was bugged (refcount policy NONE)`]);
    expect(new LifetimeChecker(rig.sys, true).check()).toEqual({ inv: 'INV-20', message: uafMsg(p, 'REG_4K') });
  });
  const bug5 = [touch(0), { ...convert(0, P, 'shared'), faults: [HARD('TDH.MEM.PAGE.REMOVE')] }, punch(0, P)];
  it('a whole case (BUG-5): REMOVE fails, the VM is bugged, punch frees the folio the S-EPT still maps -> notes, pass', () => {
    const r = runOps({}, bug5);
    expect(r.verdict).toBe('pass');
    // one note per op, naming the first page and counting the rest of the folio
    expect(r.notes).toEqual([`ACCEPTED-RISK INV-20: ${uafMsg(0, 'REG_2M')} after the VM was bugged (refcount policy NONE) (and ${P - 1} more page(s) in this op)`]);
  });
  it('the same case fails INV-20 when the UAF window counts: strictUAF, or G5 off', () => {
    for (const design of [{ strictUAF: true }, { guardsOff: ['G5'] }]) {
      const r = runOps(design, bug5);
      expect(r.signature, JSON.stringify(design)).toBe('INV-20@punch+SW_ERROR');
      expect(r.failure!.message).toBe(uafMsg(0, 'REG_2M'));
    }
  });
  it('is quiet when pages leave the TD properly: REMOVE before the punch frees them, teardown after the HKID release', () => {
    const r = runOps({}, [touch(0), accept(0, '2M'), punch(0, P), touch(P), accept(P + 1, '4K'), convert(P, P + 2, 'shared'), punch(P, 2 * P), destroy()]);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
  });
});

check('INV-21', () => {
  // a whole shared 2M range with an IOMMU pin on one page, then a punch of the range
  const pinned = [convert(0, P, 'shared'), host('pin', 3)];
  it('fires when a punch frees a page an IOMMU pin still holds (a model that forgot the pin, hand-built)', () => {
    const rig = new Rig();
    rig.ok(...pinned);
    const idx = 3;
    const pfn = rig.sys.gmem.pfn[idx];
    rig.sys.gmem.pins[idx] = 0; // the truncation no longer sees the reference the pin holds
    expect(rig.op(punch(0, P)).v).toMatchObject({ inv: 'INV-21', message: `IOMMU-pinned page ${hex(pfn)} was returned to the host allocator while the device may still use it` });
  });
  it('is quiet when the pinned folio is kept by the punch, and when the pin was undone before it', () => {
    const rig = new Rig();
    rig.ok(...pinned);
    const pfn = rig.sys.gmem.pfn[3];
    rig.ok(punch(0, P));
    expect(rig.sys.phys.owner[pfn]).toBe(Owner.LEAKED); // held by the pin, not freed
    expect(runOps({}, [...pinned, host('unpin', 3), punch(0, P), touch(0)]).verdict).toBe('pass');
  });
  it('fires when a leaked page is returned to the host allocator', () => {
    const rig = new Rig();
    const p = rig.sys.phys.allocSmall(Owner.HOST_OTHER, 0);
    rig.sys.phys.leak(p, 'tdx');
    rig.sys.phys.free(p);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-21', message: `leaked page ${hex(p)} was returned to the host allocator` });
  });
  it('fires when the S-EPT page leaked by a failed RECLAIM is freed later (seed 004)', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    const t = rig.sys.kvm.mirror.externalSpt[0];
    rig.ok(destroy(BUSY('TDH.PHYMEM.PAGE.RECLAIM', 1)));
    expect(rig.sys.phys.owner[t]).toBe(Owner.LEAKED);
    rig.sys.phys.free(t);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-21', message: `leaked page ${hex(t)} was returned to the host allocator` });
  });
  it('is quiet on the correct design: the leaked page stays leaked through teardown and later ops', () => {
    const r = runOps({}, [touch(0), accept(3, '4K'), destroy(BUSY('TDH.PHYMEM.PAGE.RECLAIM', 1)), touch(0), destroy()]);
    expect(r.verdict).toBe('pass');
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    const t = rig.sys.kvm.mirror.externalSpt[0];
    rig.ok(destroy(BUSY('TDH.PHYMEM.PAGE.RECLAIM', 1)), punch(0, P), destroy());
    expect(rig.sys.phys.owner[t]).toBe(Owner.LEAKED);
  });
});

check('INV-22', () => {
  const ops = [touch(0), accept(3, '4K'), destroy(BUSY('TDH.PHYMEM.PAGE.RECLAIM', 1))];
  it('fires with G12 off: RECLAIM fails and the S-EPT page is freed anyway, still PAMT SEPT', () => {
    const r = runOps({ guardsOff: ['G12'] }, ops);
    expect(r.signature).toBe('INV-22@destroy+OPERAND_BUSY');
    expect(r.failure!.message).toMatch(/^page 0x[0-9a-f]+ freed to the host still PAMT SEPT$/);
  });
  it('fires when a page with cache lines of the TD key is freed, or a PAMT-assigned page after the HKID is gone (hand-built)', () => {
    const rig = new Rig();
    const p = rig.sys.phys.allocSmall(Owner.HOST_OTHER, 0);
    rig.sys.phys.dirtyHkid[p] = rig.sys.tdx.hkid;
    rig.sys.phys.free(p);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-22', message: `page ${hex(p)} freed to the host with cache lines of HKID ${rig.sys.tdx.hkid}` });
    const rig2 = new Rig();
    rig2.ok(touch(0));
    rig2.sys.tdx.hkid = -1; // the TD no longer runs (INV-20 does not apply), but the page was never reclaimed
    rig2.sys.phys.free(2);
    expect(rig2.oracle.afterStep()).toMatchObject({ inv: 'INV-22', message: 'page 0x2 freed to the host still PAMT REG_2M' });
  });
  it('fires when a page that held TD data reaches the host without its reset: converted to shared, or freed by a punch (hand-built)', () => {
    for (const [op, how] of [
      [convert(3, 4, 'shared'), 'converted to shared at gfn 0x3'],
      [punch(0, P), 'freed to the host'],
    ] as const) {
      const rig = new Rig();
      rig.ok(accept(3, '4K'), touch(3, 7));
      const pfn = rig.sys.tdx.sept.pfn4k[3];
      const { v } = rig.op(op, 'quirk-reset', () => (rig.sys.phys.content[pfn] = 7)); // tdx_quirk_reset_page skipped
      expect(v, op.op).toEqual({ inv: 'INV-22', message: `page ${hex(pfn)} ${how} still holding the TD's data (token 7): it was not reset after leaving the TD` });
    }
  });
  it('is quiet on the correct design: G12 leaks; zaps WBINVD before guest_memfd frees', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    // the same page written by the guest, converted to shared (reset), written by the host, then freed
    expect(runOps({}, [accept(3, '4K'), touch(3, 7), convert(3, 4, 'shared'), touch(3, 9), punch(0, P), destroy()]).verdict).toBe('pass');
    expect(runOps({}, [touch(0), accept(0, '2M'), touch(1, 7), convert(0, P, 'shared'), punch(0, P), accept(P, '2M'), destroy()]).verdict).toBe('pass');
  });
});

check('INV-24', () => {
  const ops = [touch(0), convert(0, 1, 'shared')];
  it('fires with G14 off: TDX holds a reference on every mapped page, so the folio split waits forever', () => {
    const r = runOps({ guardsOff: ['G14'] }, ops);
    expect(r.signature).toBe('INV-24@convert');
    expect(r.failure!.message).toBe(`convert waited ${WATCHDOG.refcountWaits + 1} times for folio references that are never dropped`);
    expect(r.failure!.step).toBe('gmem-refcount:retry');
  });
  it('fires when a reference on a huge folio is never dropped (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.gmem.tdxHold[5] = 1;
    expect(rig.op(convert(0, 1, 'shared')).v?.inv).toBe('INV-24');
  });
  it('is quiet on the correct design, and a transient reference costs one wait', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    const rig = new Rig();
    rig.ok(touch(0), { ...convert(0, 1, 'shared'), faults: [{ site: 'TRANSIENT_REF', nth: 1 }] });
    expect(rig.sys.counters.refcountWaits).toBe(1);
    expect(rig.sys.gmem.orderAt(0)).toBe(0);
  });
  it('fires when a split does not wait for the references TDX holds (planted: the model counts none), at the split\'s step', () => {
    const rig = new Rig({ guardsOff: ['G14'] }); // HOLD_WHILE_MAPPED: TDX holds every page it maps
    rig.ok(touch(0));
    rig.sys.gmem.extraRefs = () => 0; // planted: split_folio() no longer checks the refcount
    const { v } = rig.op(convert(0, 1, 'shared'));
    expect(v).toMatchObject({ inv: 'INV-24', message: 'the folio at guest_memfd index 0x0 was split (order 4 -> 0) while 15 TDX references held it' });
    expect(clauseText(v!)).toBe('a folio is split or merged only when no host map, IOMMU pin or TDX reference holds it');
  });
  it('fires when a merge takes a folio a host map still holds (hand-built: the map planted under a private page)', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.ok(touch(0), convert(0, 2, 'shared'), host('hostMap', 1), host('hostUnmap', 1));
    rig.sys.gmem.hostMaps[3] = 1; // planted: the merge's refcount check finds nothing since it reads extraRefs
    rig.sys.gmem.extraRefs = () => 0;
    expect(rig.op(convert(0, 2, 'private')).v).toMatchObject({ inv: 'INV-24', message: 'the folio at guest_memfd index 0x0 was merged (order 0 -> 4) while 1 host map held it' });
  });
  it('is quiet when splits and merges happen with host maps and pins elsewhere in the file', () => {
    for (const backing of ['HUGETLB_2M', 'THP_2M'] as const) {
      const rig = new Rig({ backing });
      rig.ok(touch(0), touch(P), convert(P, P + 2, 'shared'), host('hostMap', P), host('pin', P + 1), convert(0, 2, 'shared'), convert(0, 2, 'private'), convert(P + 3, P + 4, 'shared'));
    }
  });
});

check('INV-25', () => {
  const ops = [touch(0), { ...convert(0, P, 'shared'), faults: [HARD('TDH.MEM.PAGE.REMOVE')] }, host('hostMap', 0)];
  it('fires with G5 off: a page whose REMOVE failed is shared now and host userspace maps it', () => {
    const r = runOps({ guardsOff: ['G5'] }, ops);
    expect(r.signature).toBe('INV-25@hostMap+SW_ERROR');
    expect(r.failure!.message).toBe('pfn 0x0 is host-mapped while the TD owns it');
  });
  it('fires on a host mapping or an IOMMU pin of a private page (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.gmem.hostMaps[3] = 1;
    expect(checkHostMappings(rig.sys, [], false)).toEqual({ inv: 'INV-25', message: 'gmem index 0x3 is PRIVATE but host-mapped' });
    rig.oracle.beginOp(touch(0));
    expect(rig.oracle.endOp({ kind: 'touch', result: 've' })?.inv).toBe('INV-25');
    const rig2 = new Rig();
    rig2.sys.gmem.pins[P] = 1;
    expect(checkHostMappings(rig2.sys, [], false)).toEqual({ inv: 'INV-25', message: 'gmem index 0x10 is PRIVATE but IOMMU-pinned' });
  });
  it('is quiet on the correct design: private pages are refused, shared ones mapped; after the bug under NONE it is a note', () => {
    const rig = new Rig();
    const refused = [host('hostMap', 0), host('pin', 0)].map((o) => rig.op(o));
    expect(refused.map((x) => x.v)).toEqual([null, null]);
    expect(refused.map((x) => x.out)).toEqual([{ kind: 'hostMap', ret: -14 }, { kind: 'pin', ret: -14 }]);
    rig.ok(touch(0), accept(0, '2M'), convert(0, 2, 'shared'), host('hostMap', 0), host('pin', 1), touch(5));
    expect(rig.sys.gmem.hostMaps[0]).toBe(1);
    expect(rig.sys.gmem.pins[1]).toBe(1);
    const r = runOps({}, ops);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toContain('ACCEPTED-RISK INV-25: pfn 0x0 is host-mapped while the TD owns it after the VM was bugged (refcount policy NONE)');
  });
});

check('INV-26', () => {
  it('fires with G23 off: a HWPoisoned folio is mapped again on the next guest fault', () => {
    const r = runOps({ guardsOff: ['G23'] }, [touch(0), host('memoryFailure', 3), touch(0)]);
    expect(r.signature).toBe('INV-26@touch');
    expect(r.failure!.message).toBe('gfn 0x3 is mapped privately (2M) to HWPoisoned pfn 0x3');
  });
  it('fires with G23 off: punching the poisoned folio returns the poisoned page to the host', () => {
    const r = runOps({ guardsOff: ['G23'] }, [touch(0), host('memoryFailure', 3), punch(0, P)]);
    expect(r.signature).toBe('INV-26@punch');
    expect(r.failure!.message).toBe('HWPoisoned page 0x3 was returned to the host allocator');
  });
  it('fires on a private leaf over a poisoned page (hand-built)', () => {
    const rig = new Rig();
    rig.ok(accept(5, '4K'));
    expect(checkPoisonedPrivateMappings(rig.sys)).toBeNull();
    rig.sys.phys.hwpoison[rig.sys.tdx.sept.pfn4k[5]] = 1;
    expect(checkPoisonedPrivateMappings(rig.sys)).toEqual({ inv: 'INV-26', message: `gfn 0x5 is mapped privately to HWPoisoned pfn ${hex(rig.sys.tdx.sept.pfn4k[5])}` });
  });
  it('is quiet on the correct design: the fault answers -EHWPOISON, the punch and the teardown leak the folio', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), host('memoryFailure', 3));
    expect(rig.op(touch(0)).out).toEqual({ kind: 'touch', result: 'exit', errno: -133 });
    rig.ok(punch(0, P), touch(P), destroy());
    expect(rig.sys.phys.owner[3]).toBe(Owner.LEAKED);
    expect(rig.sys.phys.hwpoison[3]).toBe(1);
  });
});

check('INV-31', () => {
  const ops = [touch(0), accept(0, '2M'), touch(5, 9), { ...convert(0, 1, 'shared'), faults: [{ site: 'FOLIO_SPLIT', nth: 1 }] }, touch(5)];
  const lost = 'convert [0x0, 0x1) -> shared failed after the zap: 1 accepted page(s) lost ("if splitting fails there is no way to undo the unmapping", 003:L435)';
  it('fires with G19 off: in the v3 order the folio split fails after the zap and the accepted page is gone', () => {
    const r = runOps({ guardsOff: ['G19'] }, ops);
    expect(r.signature).toBe('INV-31@convert+FOLIO_SPLIT');
    expect(r.failure!.message).toBe(lost);
  });
  it('is a known-design note in the v3 default, and quiet with the orders that fail before the zap', () => {
    const r = runOps({}, ops);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([`KNOWN-DESIGN BUG-19 (INV-31 desired form): ${lost}`]);
    for (const design of [{ conversionOrder: 'SEPT_SPLIT_FIRST' }, { conversionOrder: 'PREPARE_THEN_ZAP', mappingRule: 'CONTIGUITY' }]) {
      const q = runOps(design, ops);
      expect(q.verdict, JSON.stringify(design)).toBe('pass');
      expect(q.notes, JSON.stringify(design)).toEqual([]);
    }
  });
});

check('INV-32', () => {
  it('fires when a shared->private conversion of an IOMMU-pinned page does not fail with -EBUSY', () => {
    const rig = new Rig();
    rig.ok(convert(0, 1, 'shared'), host('pin', 0));
    const op = convert(0, 1, 'private');
    rig.oracle.beginOp(op);
    expect(rig.oracle.endOp({ kind: 'convert', ret: 0 })).toMatchObject({ inv: 'INV-32', message: 'convert [0x0, 0x1) -> private: gfn 0x0 is IOMMU-pinned, expected -16, got 0' });
  });
  it('is quiet on the correct design: -EBUSY while pinned, nothing changes; after unpin the conversion works', () => {
    const rig = new Rig();
    rig.ok(convert(0, 1, 'shared'), host('pin', 0));
    expect(rig.op(convert(0, 1, 'private'))).toEqual({ v: null, out: { kind: 'convert', ret: -16 } });
    expect(rig.sys.gmem.attr[0]).toBe(SHARED);
    expect(rig.sys.gmem.pins[0]).toBe(1);
    rig.ok(host('unpin', 0), convert(0, 1, 'private'), accept(0, '4K'));
    expect(rig.sys.gmem.attr[0]).toBe(PRIVATE);
  });
});

check('INV-27', () => {
  it('fires with G13 off: teardown reclaims S-EPT pages before releasing the HKID', () => {
    const r = runOps({ guardsOff: ['G13'] }, [touch(0), accept(3, '4K'), destroy()]);
    expect(r.signature).toBe('VM-BUGGED@destroy'); // damage first: RECLAIM with the HKID assigned fails, KVM_BUG_ON
    expect(r.failure!.after!.inv).toBe('INV-27');
    expect(r.failure!.after!.message).toBe('teardown reclaims the S-EPT page of 2M range 0 before the HKID is released');
  });
  it('fires when the HKID is released while guest pages are still in the S-EPT (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    expect(rig.sys.tdx.tdhMngVpflushdone().code).toBe(0);
    expect(rig.sys.tdx.tdhPhymemCacheWb().code).toBe(0);
    expect(rig.oracle.afterStep()).toBeNull();
    expect(rig.sys.tdx.tdhMngKeyFreeid().code).toBe(0);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-27', message: 'HKID released while guest pages are still mapped in the S-EPT' });
  });
  it('is quiet on the correct design: release zaps, then the HKID, then the tables (seed 000)', () => {
    expect(runOps({}, [touch(0), accept(0, '2M'), touch(P), accept(P + 1, '4K'), destroy()]).verdict).toBe('pass');
    const rig = new Rig();
    rig.ok(accept(3, '4K'), convert(3, 4, 'shared')); // a table, but no leaf left
    rig.sys.tdx.tdhMngVpflushdone();
    rig.sys.tdx.tdhPhymemCacheWb();
    expect(rig.sys.tdx.tdhMngKeyFreeid().code).toBe(0);
    expect(rig.oracle.afterStep()).toBeNull();
  });
});

check('INV-28', () => {
  it('fires when a teardown without fatal faults leaves a page behind', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    const orphan = rig.sys.phys.allocSmall(Owner.SEPT, 1); // a table page KVM lost track of
    expect(rig.op(destroy()).v).toMatchObject({ inv: 'INV-28', message: `teardown left 1 resources behind: ${hex(orphan)} SEPT` });
  });
  it('checkTeardownComplete names LEAKED pages and a kept HKID', () => {
    const rig = new Rig({ dpamt: false }); // no PAMT pair stays behind with the leaked page
    rig.ok(touch(0), accept(3, '4K'));
    const t = rig.sys.kvm.mirror.externalSpt[0];
    rig.ok(destroy(BUSY('TDH.PHYMEM.PAGE.RECLAIM', 1))); // a fatal-by-design fault: INV-28 is not asked
    const v1 = new LifetimeChecker(rig.sys, false).checkTeardownComplete();
    expect(v1?.inv).toBe('INV-28');
    expect(v1!.message).toMatch(new RegExp(`^teardown left 1 resources behind: ${hex(t)} LEAKED( \\([^)]*\\))?$`));
    const rig2 = new Rig({ dpamt: false });
    // HKID kept: the two S-EPT pages above the 2M level and the three control pages are leaked
    const leaked = [...rig2.sys.kvm.mirror.upperSpt, ...rig2.sys.controlPages].sort((a, b) => a - b);
    rig2.ok(touch(0), destroy(HARD('TDH.MNG.VPFLUSHDONE', 1, 'TDX_FLUSHVP_NOT_DONE')));
    const v = new LifetimeChecker(rig2.sys, false).checkTeardownComplete();
    expect(v?.inv).toBe('INV-28');
    expect(v!.message).toBe(`teardown left 6 resources behind: ${leaked.map((p) => `${hex(p)} LEAKED (tdx)`).join(', ')}, HKID 1`);
  });
  it('is quiet after a clean teardown, also with tolerable BUSY faults on the way', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), touch(P), accept(P + 1, '4K'), destroy(BUSY('TDH.MEM.RANGE.BLOCK', 1), BUSY('TDH.MEM.PAGE.REMOVE', 2)));
    expect(rig.sys.inj.fired).toHaveLength(2);
    expect(new LifetimeChecker(rig.sys, false).checkTeardownComplete()).toBeNull();
    expect(runOps({ startPhase: 'BUILD' }, [initMem(0, 4, 1), destroy()]).verdict).toBe('pass');
  });
});

check('INV-5', () => {
  it('fires when KVM asks the TDX side for a private mapping above 2M (hand-built)', () => {
    const rig = new Rig();
    rig.sys.trace.hook('set_external_spte', P, 2);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-5', message: 'a private mapping of gfn 0x10 larger than 2M was requested' });
  });
  it('is quiet on real maps: 4K and 2M leaves, also over 1G hugetlb folios', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), touch(P), accept(P, '2M'));
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 1, pages4k: P });
    expect(runOps({ ptrs: 4, regions: 4, backing: 'HUGETLB_1G' }, [touch(0), accept(0, '2M'), touch(4), accept(9, '4K')]).verdict).toBe('pass');
  });
});

check('INV-9', () => {
  it('fires at the end of an op when a 2M range with GUEST_INHIBIT is still mapped by a 2M leaf (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    // set under the write lock (INV-8 quiet), but the 2M leaf is left in place as a racing honour path would
    drive(writeLock(rig.sys, 'test'));
    rig.sys.kvm.lpage.guestInhibit[0] = 1;
    rig.sys.touch(0);
    expect(rig.oracle.afterStep()).toBeNull();
    drive(writeUnlock(rig.sys, 'test'));
    expect(rig.op(touch(P)).v).toMatchObject({ inv: 'INV-9', message: '2M range 0 has GUEST_INHIBIT but is still mapped by a 2M leaf' });
  });
  it('is quiet on the correct design: the 4K ACCEPT splits before the bit is set (scenario a)', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), touch(0), accept(0, '2M'));
    expect(rig.sys.kvm.lpage.guestInhibit[0]).toBe(1);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
  });
});

check('INV-29', () => {
  const dead = [touch(0), { ...convert(0, P, 'shared'), faults: [HARD('TDH.MEM.PAGE.REMOVE')] }];
  it('fires when a vCPU is in the guest after the VM was bugged (hand-built)', () => {
    const rig = new Rig();
    rig.ok(...dead);
    expect(rig.sys.kvm.bugged).toBe(true);
    rig.sys.kvm.vcpus[0].inGuest = true;
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-29', message: 'a vCPU entered the guest after the VM was bugged' });
  });
  it('fires when a VM ioctl on a VM bugged before the op does not fail with -EIO (hand-built outcome)', () => {
    const rig = new Rig();
    rig.ok(...dead);
    const op: Op = { op: 'prefault', start: 0, end: 1 };
    rig.oracle.beginOp(op);
    expect(rig.oracle.endOp({ kind: 'prefault', ret: 0 })).toMatchObject({ inv: 'INV-29', message: 'prefault on a bugged VM returned 0, not -EIO' });
  });
  it('fires when a VM ioctl on a bugged VM fails with -EIO but changed KVM state anyway (hand-built)', () => {
    const rig = new Rig();
    rig.ok(...dead);
    const op: Op = { op: 'prefault', start: P, end: P + 1 };
    rig.oracle.beginOp(op);
    rig.sys.kvm.lpage.mixed[1] = 1;
    expect(rig.oracle.endOp({ kind: 'prefault', ret: -5 })).toMatchObject({ inv: 'INV-29', message: 'prefault on a bugged VM changed KVM or S-EPT state although it failed with -EIO' });
  });
  it('is quiet on the correct design: after the bug vCPUs stay out and VM ioctls return -EIO', () => {
    const rig = new Rig();
    rig.ok(...dead);
    for (const op of [touch(P), accept(P, '4K'), { op: 'prefault', start: 0, end: 1 } as Op, { op: 'deleteSlot' } as Op]) {
      const { v, out } = rig.op(op);
      expect(v, op.op).toBeNull();
      expect(out, op.op).toEqual(op.op === 'touch' || op.op === 'accept' ? { kind: op.op, result: 'vm-dead' } : { kind: op.op, ret: -5 });
    }
    expect(runOps({ vmMemoryAttributes: true }, [...dead, convert(P, P + 1, 'shared')]).verdict).toBe('pass');
  });
});

check('INV-6', () => {
  const ops = [touch(0), accept(0, '2M'), convert(0, 1, 'shared'), convert(0, 1, 'private'), touch(0)];
  it('fires with G6 off: after the range is private again KVM merges the 4K table with TDH.MEM.PAGE.PROMOTE (BUG-6)', () => {
    const r = runOps({ guardsOff: ['G6'] }, ops);
    expect(r.signature).toBe('VM-BUGGED@touch'); // damage first: the module refuses the PROMOTE, TDX_BUG_ON
    expect(r.failure!.after!.inv).toBe('INV-6');
    expect(r.failure!.after!.message).toBe('TDH.MEM.PAGE.PROMOTE of gfn 0x0 while the TD is active (merging is disallowed for the mirror root)');
  });
  it('fires when a mirror 4K table is replaced by a 2M leaf without PROMOTE while the TD is active (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
    rig.sys.kvm.mirror.m2m[0] = Spte.LEAF;
    rig.sys.kvm.mirror.pfn2m[0] = rig.sys.gmem.pfn[0];
    rig.sys.touch(0);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-6', message: 'the 4K page table of 2M range 0 was replaced by a 2M leaf while the TD is active (merging is disallowed for the mirror root)' });
  });
  it('is quiet on the correct design: the table stays and gfn 0 comes back at 4K', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    const rig = new Rig();
    rig.ok(...ops);
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
    expect(rig.sys.kvm.stats).toEqual({ pages2m: 0, pages4k: P });
  });
});

check('INV-12', () => {
  const ops = [touch(0), accept(3, '4K')];
  it('fires with G4 off: the ACCEPT-level split runs under the shared mmu_lock', () => {
    const r = runOps({ guardsOff: ['G4'] }, ops);
    expect(r.signature).toBe('INV-12@accept');
    expect(r.failure!.message).toBe('TDH.MEM.PAGE.DEMOTE for the mirror root without mmu_lock held for write');
  });
  it('is quiet on the correct design: the split takes the write lock', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    expect(runOps({}, [touch(0), accept(0, '2M'), convert(5, 6, 'shared')]).verdict).toBe('pass');
  });
});

check('INV-13', () => {
  const ops = [touch(0), accept(0, '2M'), convert(0, 1, 'shared')];
  it('fires with G7 off: the split dequeues after mmu_lock was dropped since the step 2.1 check', () => {
    const r = runOps({ guardsOff: ['G7'] }, ops);
    expect(r.signature).toBe('INV-13@convert');
    expect(r.failure!.message).toBe('split cache dequeued after mmu_lock was dropped since the step 2.1 check');
  });
  it('fires with G7b off: the top-up enqueues without prealloc_split_cache_lock', () => {
    const r = runOps({ guardsOff: ['G7b'] }, [touch(0), accept(3, '4K')]);
    expect(r.signature).toBe('INV-13@accept');
    expect(r.failure!.message).toBe('split cache enqueue without prealloc_split_cache_lock');
  });
  it('fires on a split-cache underflow, and on a dequeue without prealloc_split_cache_lock (hand-built)', () => {
    const rig = new Rig();
    rig.sys.trace.hook('split_cache_dequeue', 2, L2M);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-13', clause: 0, message: 'split cache underflow: dequeue of 2 pages from 0: TDH.MEM.PAGE.DEMOTE gets no PAMT page' });
    const rig2 = new Rig();
    const k2 = rig2.sys.kvm;
    k2.splitCache.push(1, 2);
    drive(writeLock(rig2.sys, 'test'));
    rig2.sys.trace.hook('split_cache_check', 0, 0); // checked under this hold of mmu_lock
    rig2.sys.trace.hook('split_cache_dequeue', 2, L2M);
    expect(rig2.oracle.afterStep()).toMatchObject({ inv: 'INV-13', message: 'split cache dequeued without prealloc_split_cache_lock' });
    const rig3 = new Rig();
    const k3 = rig3.sys.kvm;
    drive(writeLock(rig3.sys, 'test'));
    splitCacheLock(rig3.sys, 'test');
    for (const p of [1, 2]) {
      rig3.sys.trace.hook('split_cache_enqueue', p, 0);
      k3.splitCache.push(p);
    }
    rig3.sys.trace.hook('split_cache_check', 0, 0);
    rig3.sys.trace.hook('split_cache_dequeue', 2, L2M);
    k3.splitCache.splice(0, 2);
    expect(rig3.oracle.afterStep(), 'the same dequeue done right').toBeNull();
  });
  it('is quiet on the correct design, for splits by conversion and by ACCEPT level', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    expect(runOps({}, [touch(0), accept(3, '4K'), touch(P), accept(P + 1, '4K')]).verdict).toBe('pass');
  });
});

check('INV-14', () => {
  it('fires when a PAMT-pair or cache page is owned by someone else, or lost (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'));
    const pairPage = rig.sys.phys.owner.findIndex((o) => o === Owner.PAMT_PAIR);
    expect(pairPage).toBeGreaterThanOrEqual(0);
    expect(checkPageConservation(rig.sys)).toBeNull();
    rig.sys.phys.owner[pairPage] = Owner.HOST_OTHER;
    expect(checkPageConservation(rig.sys)).toEqual({ inv: 'INV-14', message: `installed PAMT page ${hex(pairPage)} is owned by someone else` });
    rig.oracle.beginOp(touch(3));
    expect(rig.oracle.endOp({ kind: 'touch', result: 'read', value: 0 })?.inv).toBe('INV-14');
    const rig2 = new Rig();
    const p = rig2.sys.phys.allocSmall(Owner.PAMT_CACHE, 0); // a cache page in no cache
    expect(checkPageConservation(rig2.sys)).toEqual({ inv: 'INV-14', message: `page ${hex(p)} was lost from a PAMT cache` });
  });
  it('fires at the step a split-cache page appears or vanishes outside enqueue, dequeue and free (enqueued - dequeued - freed)', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), touch(P));
    const { v } = rig.op(accept(P + 3, '4K'), 'split-cache', () => rig.sys.kvm.splitCache.push(rig.sys.phys.allocSmall(Owner.PAMT_CACHE, 1)));
    expect(v?.inv).toBe('INV-14');
    expect(v?.message).toMatch(/^the split cache holds (\d+) pages but \d+ enqueued - \d+ dequeued - 0 freed = \d+$/);
    const rig2 = new Rig();
    rig2.ok(touch(0));
    const { v: v2 } = rig2.op(accept(3, '4K'), 'topup-split-cache', () => rig2.sys.kvm.splitCache.pop()); // a topped-up page vanishes
    expect(v2?.inv).toBe('INV-14');
  });
  it('is quiet through faults, splits, zaps and conversions', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(3, '4K'), convert(5, 7, 'shared'), touch(P), accept(P, '2M'), convert(P, P + 1, 'shared'), punch(0, P));
    expect(checkPageConservation(rig.sys)).toBeNull();
    // a DEMOTE that fails after taking the guest region's pair puts it back (enqueue), and teardown frees the cache
    const rig2 = new Rig();
    rig2.ok(touch(0), { ...accept(3, '4K'), faults: [HARD('TDH.MEM.PAGE.DEMOTE')] }, destroy());
    expect(rig2.sys.kvm.bugged).toBe(true);
  });
});

check('INV-19', () => {
  it('fires with G21 off: REMOVE (zap) or DEMOTE (split) without TRACK and a kick after the BLOCK', () => {
    const r = runOps({ guardsOff: ['G21'] }, [touch(0), accept(0, '2M'), convert(0, P, 'shared')]);
    // damage first: the module refuses the REMOVE (kernel-facts.md 2.7) and TDX_BUG_ON kills the VM
    expect(r.signature).toBe('VM-BUGGED@convert');
    expect(r.failure!.after!.message).toBe('TDH.MEM.PAGE.REMOVE of gfn 0x0 without TDH.MEM.TRACK and a vCPU kick after the BLOCK');
    const r2 = runOps({ guardsOff: ['G21'] }, [touch(0), accept(3, '4K')]);
    expect(r2.signature).toBe('VM-BUGGED@accept');
    expect(r2.failure!.after!.message).toBe('TDH.MEM.PAGE.DEMOTE of gfn 0x0 without TDH.MEM.TRACK and a vCPU kick after the BLOCK');
  });
  it('fires when REMOVE succeeds while a vCPU missed the kick after TRACK: its TLB may still hold the pfn (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'));
    const { v } = rig.op(convert(0, P, 'shared'), 'track-kick', () => (rig.sys.kvm.vcpus[0].tlbEpoch = 1));
    expect(v).toMatchObject({
      inv: 'INV-19',
      message: 'TDH.MEM.PAGE.REMOVE of gfn 0x0 succeeded but vCPU 0 last flushed its TLB at epoch 1, not after the BLOCK at epoch 1: it may still translate to the removed pfn',
    });
  });
  it('is quiet on the correct design', () => {
    expect(runOps({}, [touch(0), accept(0, '2M'), convert(0, P, 'shared'), touch(P), accept(P + 3, '4K'), punch(P, 2 * P)]).verdict).toBe('pass');
  });
});

check('INV-23', () => {
  it('fires when KVM\'s per-region refcount disagrees with the PAMT, or a pair outlives its users (hand-built)', () => {
    const rig = new Rig();
    rig.ok(accept(3, '4K'));
    expect(checkDpamtRefcounts(rig.sys)).toBeNull();
    const r = rig.sys.tdx.pamtRegion(rig.sys.tdx.sept.pfn4k[3]);
    const uses = rig.sys.kvm.pamtRefcount[r];
    expect(uses).toBeGreaterThan(0);
    rig.sys.kvm.pamtRefcount[r]++;
    expect(checkDpamtRefcounts(rig.sys)).toEqual({ inv: 'INV-23', message: `physical 2M region ${r}: KVM counts ${uses + 1} 4K TDX uses, the PAMT has ${uses}` });
    rig.oracle.beginOp(touch(3));
    expect(rig.oracle.endOp({ kind: 'touch', result: 'read', value: 0 })?.inv).toBe('INV-23');
  });
  it('is quiet on real flows (pairs come and go with their 4K users), and not asked without DPAMT', () => {
    const rig = new Rig();
    rig.ok(accept(3, '4K'), touch(P), accept(P + 1, '4K'), convert(P, 2 * P, 'shared'), touch(P + 4), convert(0, P, 'shared'));
    expect(checkDpamtRefcounts(rig.sys)).toBeNull();
    const rig2 = new Rig({ dpamt: false });
    rig2.ok(accept(3, '4K'));
    rig2.sys.kvm.pamtRefcount[0] = 7;
    expect(checkDpamtRefcounts(rig2.sys)).toBeNull();
  });
});

check('INV-30', () => {
  const NO_FEATURE = { enhancedDemoteInterruptibility: false };
  const storm: Op[] = [touch(0), { ...accept(3, '4K'), faults: [{ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE', every: true }] }];
  it('fires with G3 off on a module without ENHANCED_DEMOTE: the first 2M AUG, before any storm', () => {
    const r = runOps({ guardsOff: ['G3'], ...NO_FEATURE }, storm);
    // damage first: the storm then keeps the DEMOTE loop going (the bounded-loop clause, damage)
    expect(r.signature).toBe('INV-30:damage@accept+INTERRUPTED_RESTARTABLE');
    expect(r.failure!.after!.message).toMatch(/^2M leaf at gfn 0x0 on a TDX module without ENHANCED_DEMOTE_INTERRUPTIBILITY/);
  });
  it('fires when an interrupt storm keeps the DEMOTE loop going (the liveness clause, watched per op)', () => {
    // the structural clause has already fired at the AUG; drive the storm without the oracle, then ask it
    const rig = new BaseRig({ guardsOff: ['G3'], ...NO_FEATURE });
    rig.run(touch(0));
    const path = rig.start(storm[1]);
    const oracle = new Oracle(rig.sys);
    let v: Violation | null = null;
    for (let n = 0; n < 100_000 && !v; n++) {
      expect(path.next().done, 'the DEMOTE loop has no bound of its own').toBe(false);
      v = oracle.liveness();
    }
    expect(v?.inv).toBe('INV-30');
    expect(v!.message).toMatch(/^TDH\.MEM\.PAGE\.DEMOTE restarted \d+ times on TDX_INTERRUPTED_RESTARTABLE/);
  });
  it('is quiet on the correct design: no huge pages without the feature, and with it the storm has no effect', () => {
    expect(runOps(NO_FEATURE, storm).verdict).toBe('pass');
    expect(runOps({}, storm).verdict).toBe('pass');
  });
});


check('INV-33', () => {
  const ops = [touch(0), convert(0, 1, 'shared'), convert(0, 1, 'private'), touch(0)];
  const msg = '2M range 0 is private again but its hugetlb folio stays split (FIXUP-3 merge missing)';
  it('fires with G18 off: the range is wholly private again but the folio stays split (a performance finding)', () => {
    const r = runOps({ guardsOff: ['G18'] }, ops);
    expect(r.verdict).toBe('pass'); // performance findings fail only when asked
    expect(r.perf).toEqual([`INV-33: ${msg}`]);
    const strict = runCase(mkCase({ guardsOff: ['G18'] }, ops), { failOnPerf: true });
    expect(strict.signature).toBe('INV-33@convert');
    expect(strict.failure!.message).toBe(msg);
  });
  it('is quiet on the correct design, and while part of the range is still shared', () => {
    expect(runCase(mkCase({}, ops), { failOnPerf: true }).verdict).toBe('pass');
    const partial = runCase(mkCase({ guardsOff: ['G18'] }, [touch(0), convert(0, 2, 'shared'), convert(0, 1, 'private')]), { failOnPerf: true });
    expect(partial.verdict).toBe('pass');
    expect(partial.perf).toEqual([]);
  });
});

check('PERF-2M', () => {
  it('fires with G17b off (misaligned uaddr) or G8b off: a 4K table where one 2M leaf was expected', () => {
    const msg = 'a 4K table is linked for 2M range 0, which the design should map with one 2M leaf';
    for (const design of [{ uaddrOffset: 1, guardsOff: ['G17b'] }, { guardsOff: ['G8b'] }]) {
      const r = runOps(design, [touch(0), accept(0, '2M')]);
      expect(r.verdict, JSON.stringify(design)).toBe('pass');
      expect(r.perf, JSON.stringify(design)).toEqual([`PERF-2M: ${msg}`]);
      const strict = runCase(mkCase(design, [touch(0), accept(0, '2M')]), { failOnPerf: true });
      expect(strict.signature, JSON.stringify(design)).toBe('PERF-2M@touch');
    }
  });
  it('is quiet where 4K is right: the guest accepted 4K, a split, a misaligned slot, a shared gfn in the range', () => {
    const cases: [Record<string, unknown>, Op[]][] = [
      [{ uaddrOffset: 1 }, [touch(0), accept(0, '2M')]],
      [{}, [accept(3, '4K'), touch(0), touch(P), accept(P + 3, '4K'), convert(P, P + 1, 'shared'), convert(P, P + 1, 'private'), touch(P)]],
      [{ slotBaseGfn: 8 }, [touch(8), touch(P)]],
      [{}, [convert(5, 6, 'shared'), touch(0)]],
    ];
    for (const [design, ops] of cases) {
      const r = runCase(mkCase(design, ops), { failOnPerf: true });
      expect(r.failure?.message ?? null, JSON.stringify(design)).toBeNull();
      expect(r.perf, JSON.stringify(design)).toEqual([]);
    }
  });
});

check('TDX-PFN', () => {
  const ops = [{ ...touch(0), faults: [{ site: 'NON_TDX_PFN', nth: 1 }] }];
  it('fires with G22 off: a non-convertible pfn reaches TDH.MEM.PAGE.AUG (BUG-22)', () => {
    const r = runOps({ guardsOff: ['G22'] }, ops);
    expect(r.signature).toBe('TDX-PFN@touch+NON_TDX_PFN');
    expect(r.failure!.message).toMatch(/^TDH\.MEM\.PAGE\.AUG reached the module with NON_TDX_RAM pfn 0x[0-9a-f]+ \(BUG-22\)$/);
  });
  it('is quiet on the correct design: KVM refuses the pfn before any SEAMCALL', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    expect(runOps({}, [touch(0), accept(3, '4K'), touch(P)]).verdict).toBe('pass');
  });
});

check('HOST-OOPS', () => {
  const ops = [{ ...touch(0), faults: [{ site: 'NO_STRUCT_PFN', nth: 1 }] }];
  it('fires with G22 off: the AUG wrapper calls pfn_to_page() on a pfn with no struct page (BUG-22 crash variant)', () => {
    for (const backing of ['HUGETLB_2M', '4K']) {
      const r = runOps({ guardsOff: ['G22'], backing }, ops);
      expect(r.signature, backing).toBe('HOST-OOPS@touch+NO_STRUCT_PFN');
      expect(r.failure!.message).toMatch(/^BUG: kernel NULL pointer dereference in tdh_mem_page_aug\(\): pfn_to_page\(0x[0-9a-f]+\) of a pfn with no struct page$/);
    }
  });
  it('is quiet on the correct design: tdx_is_convertible_pfn() refuses the pfn, the VM dies by design, nothing oopses', () => {
    const r = runOps({}, ops);
    expect(r.verdict).toBe('pass');
    expect(r.failure).toBeNull();
  });
});

check('INV-17', () => {
  const ops = [touch(0), { ...convert(0, P, 'shared'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1)] }];
  it('fires with G15 off: a single benign BUSY kills the VM (BUG-15)', () => {
    const r = runOps({ guardsOff: ['G15'] }, ops);
    expect(r.signature).toBe('INV-17@convert+OPERAND_BUSY');
    expect(r.failure!.faultKinds).toEqual(['TDX_OPERAND_BUSY@TDH.MEM.RANGE.BLOCK']);
    expect(r.failure!.message).toBe('a benign TDX_OPERAND_BUSY killed the VM at step 5 of op 1 (TDX_OPERAND_BUSY@TDH.MEM.RANGE.BLOCK): BUSY must be absorbed by kicking the vCPUs and retrying once');
  });
  it('fires when DEMOTE answers BUSY (not injected) on the retry made with every vCPU kicked out (hand-built)', () => {
    const rig = new Rig();
    drive(writeLock(rig.sys, 'test')); // the split runs under the write lock (INV-12 is quiet)
    rig.sys.kvm.waitForSeptZap = true;
    rig.sys.trace.seamcall('TDH.MEM.PAGE.DEMOTE', 0, L2M, -1, status('TDX_OPERAND_BUSY', 0x01), false);
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'INV-17', message: 'TDH.MEM.PAGE.DEMOTE answered TDX_OPERAND_BUSY on the retry after every vCPU was kicked out: only another host actor inside a SEAMCALL can cause it' });
    // and on BLOCK, TRACK and REMOVE, the other calls KVM retries once after the kick
    for (const leaf of ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE'] as const) {
      const r = new Rig();
      drive(writeLock(r.sys, 'test'));
      r.sys.kvm.waitForSeptZap = true;
      r.sys.trace.seamcall(leaf, 0, L2M, -1, status('TDX_OPERAND_BUSY', 0x01), false);
      expect(r.oracle.afterStep(), leaf).toMatchObject({ inv: 'INV-17', message: `${leaf} answered TDX_OPERAND_BUSY on the retry after every vCPU was kicked out: only another host actor inside a SEAMCALL can cause it` });
    }
    // the same status injected, or outside the no-vCPUs window, is not INV-17's business
    const rig2 = new Rig();
    drive(writeLock(rig2.sys, 'test'));
    rig2.sys.trace.seamcall('TDH.MEM.PAGE.DEMOTE', 0, L2M, -1, status('TDX_OPERAND_BUSY', 0x01), false);
    rig2.sys.kvm.waitForSeptZap = true;
    rig2.sys.trace.seamcall('TDH.MEM.PAGE.DEMOTE', 0, L2M, -1, status('TDX_OPERAND_BUSY', 0x01), true);
    expect(rig2.oracle.afterStep()).toBeNull();
  });
  it('is quiet on the correct design: the BUSY is absorbed by one retry after the kick, on every retried leaf', () => {
    expect(runOps({}, ops).verdict).toBe('pass');
    expect(runOps({}, [touch(0), { ...accept(3, '4K'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1), BUSY('TDH.MEM.TRACK', 1), BUSY('TDH.MEM.PAGE.DEMOTE', 1)] }]).verdict).toBe('pass');
    expect(runOps({}, [accept(3, '4K'), { ...convert(3, 4, 'shared'), faults: [BUSY('TDH.MEM.PAGE.REMOVE', 1)] }]).verdict).toBe('pass');
  });
});

check('VM-BUGGED', () => {
  const ops = [touch(0), { ...convert(0, P, 'shared'), faults: [BUSY('TDH.MEM.RANGE.BLOCK', 1)] }];
  it('fires when KVM_BUG_ON fires with no fault at all: a memslot delete that zaps page tables meets G11 (BUG-11 variant)', () => {
    const r = runOps({ slotDeleteZapsTables: true }, [accept(3, '4K'), { op: 'deleteSlot' }]);
    expect(r.signature).toBe('VM-BUGGED@deleteSlot');
    expect(r.failure!.message).toBe('VM bugged at step 10 of op 1 with no injected fault in that op');
  });
  it('fires although an unrelated fatal-by-design fault fired earlier in the case (the VM lived on after it)', () => {
    // a hard error on the guest's ACCEPT is fatal by design but the VM survives it; the later death is not its doing
    const sw = { leaf: 'TDG.MEM.PAGE.ACCEPT', nth: 1, status: 'TDX_SW_ERROR' };
    const r = runOps({ slotDeleteZapsTables: true }, [{ ...accept(3, '4K'), faults: [sw] }, accept(3, '4K'), { op: 'deleteSlot' }]);
    expect(r.signature).toBe('VM-BUGGED@deleteSlot+SW_ERROR');
    expect(r.failure!.message).toBe("VM bugged at step 10 of op 2 with no injected fault in that op; other ops' faults (TDX_SW_ERROR@TDG.MEM.PAGE.ACCEPT) do not explain it");
  });
  it('fires when the VM dies with no fault injected at all', () => {
    const rig = new Rig();
    rig.oracle.beginOp(touch(0));
    rig.sys.kvm.bugged = true;
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'VM-BUGGED', message: 'VM bugged at step 1 of op 0 with no injected fault in that op' });
    expect(rig.oracle.vmBuggedAt).toEqual({ opIndex: 0, step: 1 });
  });
  it('fires when guest_memfd holds memory TDX cannot convert that no NON_TDX_PFN or NO_STRUCT_PFN fault put there (hand-built)', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.phys.kind[rig.sys.gmem.pfn[3]] = PfnKind.NON_TDX_RAM; // planted: an allocator handing out such memory unasked
    rig.oracle.beginOp(touch(0));
    rig.sys.kvm.bugged = true;
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'VM-BUGGED', message: 'VM bugged at step 1 of op 1 with no injected fault in that op' });
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
    expect(rig.oracle.endOp({ kind: 'touch', result: 'read', value: 0 })).toMatchObject({
      inv: 'REF-RESULT',
      message: expect.stringMatching(/^(unaccepted )?private gfn 0x0: expected #VE, got read 0$/),
    });
    const rig2 = new Rig();
    rig2.oracle.beginOp({ op: 'convert', start: 0, end: 1, to: 'shared' });
    expect(rig2.oracle.endOp({ kind: 'convert', ret: -22 })?.inv).toBe('REF-RESULT');
  });
  it('is quiet on the real outcomes', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'), touch(1, 5), touch(1), convert(0, 1, 'shared'), touch(0), { op: 'punch', start: 0, end: 1 });
  });
  // memory_failure() returning 1 says the gfn's page was there and is poisoned now: the reference expects
  // -EHWPOISON from the next access even when it did not know the page was backed (a shared gfn)
  const poisonedShared = [convert(0, P, 'shared'), touch(3, 7), host('memoryFailure', 3)];
  it('fires when guest_memfd hands out a poisoned shared page again (planted: folio_test_hwpoison never true)', () => {
    for (const [reader, message] of [
      [{ op: 'hostRead', gfn: 3 } as Op, 'hostRead(0x3): HWPoisoned, expected -133, got 7'],
      [{ op: 'hostWrite', gfn: 3, data: 1 } as Op, 'hostWrite(0x3): HWPoisoned, expected -133, got 0'],
    ] as const) {
      const rig = new Rig();
      rig.ok(...poisonedShared);
      rig.sys.gmem.folioPoisoned = () => false;
      expect(rig.op(reader).v).toEqual({ inv: 'REF-RESULT', message });
    }
  });
  it('is quiet on the correct design: every later access to the poisoned shared page answers -EHWPOISON', () => {
    const rig = new Rig();
    rig.ok(...poisonedShared);
    const outs = rig.ok({ op: 'hostRead', gfn: 3 } as Op, host('hostMap', 3), host('pin', 3), touch(3));
    expect(outs.map((o) => ('ret' in o ? o.ret : 'errno' in o ? o.errno : o))).toEqual([-133, -133, -133, -133]);
  });
  // in place, a punched shared gfn's next fault gets a new, cleared folio (reference.ts punch)
  const wrotePunched = [convert(0, P, 'shared'), { op: 'hostWrite', gfn: 3, data: 77 } as Op, touch(3)];
  for (const backing of ['THP_2M', '4K', 'HUGETLB_2M'] as const) {
    it(`fires when the page a fault puts in a punched shared hole is not cleared (${backing}): the guest and the host read the old data`, () => {
      for (const [reader, message] of [[touch(3), 'gfn 0x3 read 77, expected 0'], [{ op: 'hostRead', gfn: 3 } as Op, 'hostRead(0x3): the host read 77, but the page last held 0 (written by the guest or the host)']] as const) {
        const rig = new Rig({ backing });
        rig.ok(...wrotePunched);
        const phys = rig.sys.phys;
        const take = phys.take.bind(phys);
        phys.take = (pfn, owner, arg) => { // planted: the allocator hands pages out as they were left
          const left = phys.content[pfn];
          take(pfn, owner, arg);
          phys.content[pfn] = left;
        };
        rig.ok(punch(0, P));
        expect(rig.op(reader).v).toEqual({ inv: 'REF-RESULT', message });
      }
    });
    it(`is quiet when the punch truncates the shared folio (${backing}): both read 0, and a write after it reads back`, () => {
      const rig = new Rig({ backing });
      rig.ok(...wrotePunched, punch(0, P), touch(3), { op: 'hostRead', gfn: 3 } as Op, { op: 'hostWrite', gfn: 3, data: 5 } as Op, touch(3));
      expect(rig.ok({ op: 'hostRead', gfn: 3 } as Op)[0]).toMatchObject({ value: 5 });
    });
  }
  it('an error injected on the guest\'s ACCEPT leaves the page as it was: the guest sees the error, a later ACCEPT accepts', () => {
    const sw = { leaf: 'TDG.MEM.PAGE.ACCEPT' as const, nth: 1, status: 'TDX_SW_ERROR' as const };
    const r = runOps({}, [touch(1), { ...accept(0, '4K'), faults: [sw] }, accept(0, '4K'), { ...touch(0), write: 7 }, touch(0)]);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    // the reference still predicts 'accepted' for the retry: an 'already' would fail REF-RESULT
    expect(runOps({}, [touch(1), { ...accept(0, '4K'), faults: [sw] }, touch(0)]).verdict).toBe('pass');
  });
  it('a 2M ACCEPT cut short in its 4K fallback by an injected error is followed by a consistent reference', () => {
    // issue 9: the fast-check baseline's REF-ACCEPT@accept+SW_ERROR on the correct design
    const r = runOps({}, [touch(0), accept(3, '4K'), { ...accept(0, '2M'), faults: [{ leaf: 'TDG.MEM.PAGE.ACCEPT', nth: 3, status: 'TDX_SW_ERROR' }] }, touch(1), accept(0, '2M'), touch(5)]);
    expect(r.verdict).toBe('pass');
  });
});

check('REF-ACCEPT', () => {
  it('fires when an accepted gfn loses its MAPPED leaf', () => {
    const rig = new Rig();
    rig.ok(touch(0), accept(0, '2M'));
    rig.sys.tdx.sept.e2m[0] = S.PENDING; // the module "forgot" the ACCEPT; mirror still agrees (INV-16 quiet)
    expect(rig.op(touch(P)).v).toMatchObject({ inv: 'REF-ACCEPT', message: expect.stringMatching(/accepted gfn 0x0 lost its accepted mapping \(S-EPT PENDING\)/) });
  });
  it('fires when the S-EPT has a MAPPED page the guest never accepted', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.tdx.sept.e2m[0] = S.MAPPED;
    expect(rig.op(touch(P)).v).toMatchObject({ inv: 'REF-ACCEPT', message: 'gfn 0x0 is MAPPED (accepted) in the S-EPT but the guest has not accepted it' });
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
    expect(rig.op(touch(P)).v).toMatchObject({ inv: 'REF-DATA', message: 'gfn 0x2 holds 999 but the guest last wrote 1234' });
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

check('REF-HOLE', () => {
  it('fires when the pages of a partial THP punch stay (planted: truncation frees nothing)', () => {
    const rig = new Rig({ backing: 'THP_2M' });
    rig.ok(touch(0));
    rig.sys.gmem.truncateFolio = () => 0;
    expect(rig.op(punch(2, 4)).v).toEqual({ inv: 'REF-HOLE', message: 'punch [0x2, 0x4) returned 0 but guest_memfd index 0x2 (gfn 0x2) in the hole still holds pfn 0x2' });
  });
  it('fires on hugetlb when a whole original folio in the hole is kept (planted: truncation frees nothing)', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.ok(touch(P), accept(P, '2M'));
    rig.sys.gmem.truncateFolio = () => 0;
    expect(rig.op(punch(P, 2 * P)).v?.inv).toBe('REF-HOLE');
  });
  it('is quiet on the correct design: partial THP and 4K punches, hugetlb whole folios, and a hugetlb part under ZAP_ONLY that keeps its folio', () => {
    for (const backing of ['THP_2M', '4K'] as const) {
      const rig = new Rig({ backing });
      rig.ok(touch(0), touch(P), accept(P, '2M'), convert(P + 4, P + 6, 'shared'), host('hostMap', P + 4), punch(2, 4), punch(P + 3, P + 7), touch(3), punch(0, 2 * P));
      expect(rig.sys.gmem.pfn.slice(0, 2 * P).every((p) => p < 0)).toBe(true);
    }
    const h = new Rig({ backing: 'HUGETLB_2M', punchPartialHuge: 'ZAP_ONLY' });
    h.ok(touch(0), touch(P), punch(0, P), punch(P + 2, P + 4));
    expect(h.sys.gmem.pfn[P + 2]).toBeGreaterThanOrEqual(0); // zapped, not truncated: the folio stays
  });
});

check('GMEM-FOLIO', () => {
  it('fires when a conversion to shared leaves the range in a huge folio (planted: split_folio() is skipped), at the conversion\'s end', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.ok(touch(0));
    // planted: an order the conversion does not know takes none of its folio-split branches
    (rig.sys as { conversionOrder: string }).conversionOrder = 'NO_FOLIO_SPLIT';
    const { v } = rig.op(convert(0, 2, 'shared'));
    expect(v).toMatchObject({ inv: 'GMEM-FOLIO', message: 'gfn 0x0 was converted to shared but its guest_memfd folio (index 0x0) has order 4, not 4K' });
    expect(clauseText(v!)).toBe('a range converted to shared in place is in 4K folios when the conversion returns');
  });
  it('fires when a merge takes a 2M range with a shared gfn (planted: a merge while gfn 1 stays shared)', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.ok(touch(0), convert(0, 2, 'shared'));
    const { v } = rig.op(convert(0, 1, 'private'), 'update-attributes', () => rig.sys.gmem.mergeFolios(0));
    expect(v).toMatchObject({ inv: 'GMEM-FOLIO', message: 'the folio at guest_memfd index 0x0 was merged (order 0 -> 4) over SHARED gfn 0x1' });
    expect(clauseText(v!)).toBe('a merge takes only a 2M range whose gfns are all private');
  });
  it('fires when a new folio spans both attributes of its 2M range (planted: allocation does not restructure), at the allocating step', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.ok(convert(0, 1, 'shared'));
    rig.sys.gmem.attrsHomogeneous = () => true;
    const { v } = rig.op(touch(2));
    expect(v).toMatchObject({ inv: 'GMEM-FOLIO', message: 'a new folio of order 4 at guest_memfd index 0x0 spans both attributes of its 2M range' });
    expect(clauseText(v!)).toMatch(/^a new folio has the backing's size/);
  });
  it('fires when a hugetlb folio is not one huge page, and when a 4K-backed file gets a huge folio (hand-built)', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.ok(touch(0));
    rig.sys.gmem.pfn[3] += 100; // index 3 now holds a page from elsewhere
    expect(rig.oracle.afterStep()).toMatchObject({ inv: 'GMEM-FOLIO', message: 'a new hugetlb folio at guest_memfd index 0x3 is not one huge page: index 0x3 holds pfn 0x67, not pfn 0x3' });
    const small = new Rig({ backing: '4K' });
    small.ok(touch(P));
    small.sys.gmem.pfn[P + 1] = small.sys.gmem.pfn[P] + 1;
    small.sys.gmem.folioHead.fill(P, P, P + 2);
    small.sys.gmem.folioOrder[P] = 1;
    expect(small.oracle.afterStep()).toMatchObject({ inv: 'GMEM-FOLIO', message: 'a 4K-backed guest_memfd got a folio of order 1 at index 0x11' });
  });
  it('is quiet on the correct design: conversions both ways, host maps, a mixed range allocated, merges, on every backing', () => {
    for (const backing of ['HUGETLB_2M', 'THP_2M', '4K'] as const) {
      const rig = new Rig({ backing });
      rig.ok(touch(0), convert(0, 2, 'shared'), host('hostMap', 1), host('hostUnmap', 1), convert(0, 2, 'private'), convert(P + 2, P + 3, 'shared'), touch(P + 5), touch(P + 2, 4), punch(0, P), convert(3, 4, 'shared'), touch(3), touch(4));
    }
  });
});

check('REF-ATTR', () => {
  it('fires when guest_memfd attributes change behind the reference', () => {
    const rig = new Rig();
    rig.ok(touch(0));
    rig.sys.gmem.attr.fill(SHARED, P, 2 * P); // a whole range, so MIXED stays right (INV-11 quiet)
    expect(rig.op(touch(0)).v).toMatchObject({ inv: 'REF-ATTR', message: 'gfn 0x10 is SHARED in guest_memfd but the reference says PRIVATE' });
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

describe('the always invariants run on every range at the end of every op, not only where a path said it touched', () => {
  // Each plant breaks 2M range 1 while touch(0) runs on range 0; no step reports range 1 as touched, so only
  // the end-of-op pass over every range can see it (issue 9: a path that forgets sys.touch hides nothing).
  const plants: [string, (rig: Rig) => void, (rig: Rig) => void][] = [
    ['INV-1', () => {}, (rig) => {
      const m = rig.sys.kvm.mirror;
      m.m2m[1] = Spte.NONLEAF;
      m.m4k[P] = Spte.LEAF;
      m.pfn4k[P] = 5; // no guest_memfd folio backs it
    }],
    ['INV-2', (rig) => rig.ok(touch(P), accept(P, '2M')), (rig) => {
      rig.sys.gmem.attr[P + 3] = SHARED; // the 2M leaf now covers a shared gfn
    }],
    ['INV-3', () => {}, (rig) => {
      rig.sys.kvm.mirror.m2m[1] = Spte.LEAF;
      rig.sys.kvm.mirror.pfn2m[1] = 3; // not 2M-aligned
    }],
    ['INV-6', (rig) => rig.ok(touch(P), accept(P + 3, '4K')), (rig) => {
      const m = rig.sys.kvm.mirror;
      m.m2m[1] = Spte.LEAF; // the linked 4K table merged back into a 2M leaf behind the oracle's back
      m.pfn2m[1] = m.pfn4k[P];
    }],
    ['INV-8', () => {}, (rig) => {
      rig.sys.kvm.lpage.guestInhibit[1] = 1; // outside any mmu_lock
    }],
  ];
  for (const [inv, setup, plant] of plants) {
    it(`${inv}: planted in range 1 during touch(0), caught at the end of the op`, () => {
      const rig = new Rig();
      setup(rig);
      const r = rig.op(touch(0), 'ept-violation', () => plant(rig));
      expect(r.out, 'no step saw it: the op ran to its end').not.toBeNull();
      // damage first: a planted structural violation may come with the damage it causes, which outranks it
      expect(r.v?.inv === inv ? r.v.inv : r.v?.supersedes?.inv).toBe(inv);
      const quiet = new Rig();
      setup(quiet);
      quiet.ok(touch(0));
    });
  }
});

describe('coverage of INVARIANTS', () => {
  it('every check the oracle names has a FIRE and a QUIET test above', () => {
    expect([...covered.keys()].sort()).toEqual(INVARIANTS.map((i) => i.id).sort());
    for (const [id, titles] of covered) {
      expect(titles.filter((t) => /^(fires|fails)\b/.test(t)), `${id}: a test whose title says it fires`).not.toEqual([]);
      expect(titles.filter((t) => /\bquiet\b/.test(t)), `${id}: a test whose title says it is quiet`).not.toEqual([]);
    }
  });
});

describe('faultClass.isTolerable', () => {
  const HOST_RETRIED: Leaf[] = ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE', 'TDH.MEM.PAGE.DEMOTE'];
  const RETRY_BY_FAULT: Leaf[] = ['TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD', 'TDG.MEM.PAGE.ACCEPT'];
  /** The design's promise (case-format.md "Faults", kernel-facts.md 2.1-2.5), written independently. */
  function expected(leaf: Leaf, status: StatusName, afterKick: boolean): boolean {
    if (status === 'TDX_INTERRUPTED_RESTARTABLE') return false; // v3: an unexpected status, TDX_BUG_ON (only G3 off loops)
    // tdx_mmu_release_hkid() loops on TDX_INTERRUPTED_RESUMABLE (TDX_SEAMCALL_RETRIES) and treats
    // TDX_NO_HKID_READY_TO_WBCACHE as success (kernel-facts.md 2.4)
    if (leaf === 'TDH.PHYMEM.CACHE.WB') return status === 'TDX_INTERRUPTED_RESUMABLE' || status === 'TDX_NO_HKID_READY_TO_WBCACHE';
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
          const f: FiredFault = { opIndex: 0, leaf, site: null, nth: 1, status, afterKick, slot: -1 };
          expect(isTolerable(f), `${status}@${leaf} afterKick=${afterKick}`).toBe(expected(leaf, status, afterKick));
        }
      });
    }
  }
  it('TDX_INTERRUPTED_RESTARTABLE on DEMOTE: fatal in v3 (TDX_BUG_ON), tolerable where KVM loops on it (G3 off)', () => {
    const f: FiredFault = { opIndex: 0, leaf: 'TDH.MEM.PAGE.DEMOTE', site: null, nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE', afterKick: false, slot: -1 };
    expect(isTolerable(f)).toBe(false);
    expect(isTolerable(f, true)).toBe(true);
    // end to end: v3 kills the VM by design and the oracle accepts it; the G3-off loop absorbs one interrupt
    const ops = [touch(0), { ...accept(3, '4K'), faults: [{ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' }] }, touch(5)];
    const v3 = new Rig();
    for (const o of ops) expect(v3.op(o as Op).v).toBeNull();
    expect(v3.sys.kvm.bugged).toBe(true);
    const g3off = new Rig({ guardsOff: ['G3'] });
    for (const o of ops) expect(g3off.op(o as Op).v).toBeNull();
    expect(g3off.sys.kvm.bugged).toBe(false);
  });
  it('spot checks: BUSY on BLOCK, BUSY on the retry, PREVIOUS_TLB_EPOCH_BUSY on TRACK, BUSY on WBINVD', () => {
    const f = (leaf: Leaf, status: StatusName, afterKick = false): FiredFault => ({ opIndex: 0, leaf, site: null, nth: 1, status, afterKick, slot: -1 });
    expect(isTolerable(f('TDH.MEM.RANGE.BLOCK', 'TDX_OPERAND_BUSY'))).toBe(true);
    expect(isTolerable(f('TDH.MEM.RANGE.BLOCK', 'TDX_OPERAND_BUSY', true))).toBe(false);
    expect(isTolerable(f('TDH.MEM.TRACK', 'TDX_PREVIOUS_TLB_EPOCH_BUSY'))).toBe(false);
    expect(isTolerable(f('TDH.PHYMEM.PAGE.WBINVD', 'TDX_OPERAND_BUSY'))).toBe(false);
    expect(isTolerable(f('TDH.MEM.PAGE.AUG', 'TDX_SW_ERROR'))).toBe(false);
    expect(isTolerable(f('TDH.PHYMEM.CACHE.WB', 'TDX_INTERRUPTED_RESUMABLE'))).toBe(true);
    expect(isTolerable(f('TDH.PHYMEM.CACHE.WB', 'TDX_NO_HKID_READY_TO_WBCACHE'))).toBe(true);
    expect(isTolerable(f('TDH.PHYMEM.CACHE.WB', 'TDX_SW_ERROR'))).toBe(false);
    expect(isTolerable(f('TDH.PHYMEM.CACHE.WB', 'TDX_OPERAND_BUSY'))).toBe(false);
    expect(faultKind(f('TDH.MEM.PAGE.REMOVE', 'TDX_OPERAND_BUSY', true))).toBe('TDX_OPERAND_BUSY@TDH.MEM.PAGE.REMOVE(after kick)');
  });
});
