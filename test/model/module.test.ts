// The TDX module's SEAMCALLs and the guest's TDCALL on a fresh System, one call at a time, against the
// state machine and status codes of kernel-facts.md 1.1, 2.6 and 2.7.
import { describe, expect, it } from 'vitest';
import { resolveDesign } from '../../src/model/config.js';
import { Owner } from '../../src/model/host/phys.js';
import { tdxTrack } from '../../src/model/kvm/tdxGlue.js';
import { System } from '../../src/model/system.js';
import { L2M, L4K } from '../../src/model/tdx/leaf.js';
import { ACCESS_EPT_VIOLATION, ACCESS_VE, PamtType } from '../../src/model/tdx/module.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { formatStatus, isSuccess, type SeamStatus, STATUS_CODES } from '../../src/model/tdx/status.js';

const P = 16;
const RCX = 0x01;

/** A fresh System. These tests are about the base S-EPT state machine, so Dynamic PAMT is off: with it, a 4K
 *  page additionally needs its 2M region's PAMT pair installed first (TDH.PHYMEM.PAMT.ADD). */
function fresh(extra: Record<string, unknown> = {}): System {
  return new System(resolveDesign({ ptrs: P, dpamt: false, ...extra }));
}

/** A 4K page for an S-EPT table, owned as the KVM glue would own it. */
function septPage(sys: System, r = 0): number {
  const p = sys.phys.allocSmall(Owner.SEPT, r);
  expect(p).toBeGreaterThanOrEqual(0);
  return p;
}

function expectStatus(st: SeamStatus, name: keyof typeof STATUS_CODES, detail = 0): void {
  expect({ code: st.code, detail: st.detail }, formatStatus(st)).toEqual({ code: STATUS_CODES[name], detail });
}

function expectOk(st: SeamStatus): void {
  expect(isSuccess(st), formatStatus(st)).toBe(true);
}

/** 2M leaf of region 0 (gfn 0..P-1) at pfn 0, PENDING. */
function aug2m(sys: System, gfn = 0, pfn = 0): void {
  expectOk(sys.tdx.tdhMemPageAug(gfn, L2M, pfn));
}

/** A 4K table under region r. */
function table(sys: System, r = 0): number {
  const t = septPage(sys, r);
  expectOk(sys.tdx.tdhMemSeptAdd(r * P, t));
  return t;
}

/** A blocked and tracked 2M leaf (PENDING_BLOCKED, or BLOCKED when accepted first). */
function blockedTracked2m(sys: System, accepted: boolean): void {
  aug2m(sys);
  if (accepted) expect(sys.tdx.tdgMemPageAccept(0, L2M)).toEqual({ kind: 'status', st: { code: 0, detail: 0 } });
  expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
  expectOk(sys.tdx.tdhMemTrack());
}

describe('status encoding', () => {
  it('formats TDX_PAGE_SIZE_MISMATCH|1 as the 64-bit value the selftest checks', () => {
    expect(formatStatus({ code: STATUS_CODES.TDX_PAGE_SIZE_MISMATCH, detail: 1 })).toBe('TDX_PAGE_SIZE_MISMATCH|0x1 (0xC0000B0B00000001)');
  });
  it('uses the kernel values for the codes the paths rely on', () => {
    expect(STATUS_CODES.TDX_OPERAND_BUSY).toBe(0x80000200);
    expect(STATUS_CODES.TDX_EPT_WALK_FAILED).toBe(0xc0000b00);
    expect(STATUS_CODES.TDX_EPT_ENTRY_STATE_INCORRECT).toBe(0xc0000b0d);
    expect(STATUS_CODES.TDX_GPA_RANGE_NOT_BLOCKED).toBe(0xc0000b06);
    expect(STATUS_CODES.TDX_GPA_RANGE_ALREADY_BLOCKED).toBe(0x00000b07);
    expect(STATUS_CODES.TDX_TLB_TRACKING_NOT_DONE).toBe(0xc0000b08);
    expect(STATUS_CODES.TDX_PAGE_ALREADY_ACCEPTED).toBe(0x00000b0a);
    expect(STATUS_CODES.TDX_INTERRUPTED_RESTARTABLE).toBe(0x80000004);
    expect(STATUS_CODES.TDX_SW_ERROR).toBe(0x8000ff00);
  });
});

describe('TDH.MEM.PAGE.AUG', () => {
  it('adds a PENDING 2M leaf: PAMT REG_2M and dirty HKID on every page', () => {
    const sys = fresh();
    aug2m(sys, 0, 0);
    const s = sys.tdx.sept;
    expect(s.e2m[0]).toBe(S.PENDING);
    expect(s.pfn2m[0]).toBe(0);
    for (let i = 0; i < P; i++) {
      expect(sys.tdx.pamt[i]).toBe(PamtType.REG_2M);
      expect(sys.phys.dirtyHkid[i]).toBe(sys.tdx.hkid);
    }
    expect(sys.tdx.pamt[P]).toBe(PamtType.NDA);
  });

  it('adds a PENDING 4K leaf under a table', () => {
    const sys = fresh();
    table(sys);
    expectOk(sys.tdx.tdhMemPageAug(3, L4K, 3));
    expect(sys.tdx.sept.e4k[3]).toBe(S.PENDING);
    expect(sys.tdx.sept.pfn4k[3]).toBe(3);
    expect(sys.tdx.pamt[3]).toBe(PamtType.REG_4K);
    expect(sys.tdx.sept.e4k[4]).toBe(S.FREE);
  });

  it('2M on a non-FREE entry -> TDX_EPT_ENTRY_STATE_INCORRECT|RCX', () => {
    const sys = fresh();
    aug2m(sys, 0, 0);
    expectStatus(sys.tdx.tdhMemPageAug(0, L2M, P), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    const sys2 = fresh();
    table(sys2);
    expectStatus(sys2.tdx.tdhMemPageAug(0, L2M, 0), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    expect(sys2.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
  });

  it('4K without a table -> TDX_EPT_WALK_FAILED|RCX', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhMemPageAug(3, L4K, 3), 'TDX_EPT_WALK_FAILED', RCX);
    expect(sys.tdx.sept.e4k[3]).toBe(S.FREE);
    expect(sys.tdx.pamt[3]).toBe(PamtType.NDA);
  });

  it('4K under a 2M leaf, or on a non-FREE 4K entry -> TDX_EPT_ENTRY_STATE_INCORRECT|RCX', () => {
    const sys = fresh();
    aug2m(sys);
    expectStatus(sys.tdx.tdhMemPageAug(3, L4K, 3 + 2 * P), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    const sys2 = fresh();
    table(sys2);
    expectOk(sys2.tdx.tdhMemPageAug(3, L4K, 3));
    expectStatus(sys2.tdx.tdhMemPageAug(3, L4K, 4), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    expect(sys2.tdx.sept.pfn4k[3]).toBe(3);
  });

  it('a misaligned 2M gfn or pfn -> TDX_OPERAND_INVALID', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhMemPageAug(0, L2M, 1), 'TDX_OPERAND_INVALID', RCX);
    expectStatus(sys.tdx.tdhMemPageAug(1, L2M, 0), 'TDX_OPERAND_INVALID', RCX);
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
  });

  it('a pfn already assigned in the PAMT -> TDX_PAGE_METADATA_INCORRECT, nothing mapped', () => {
    const sys = fresh();
    aug2m(sys, 0, 0);
    expect(sys.tdx.tdhMemPageAug(P, L2M, 0).code).toBe(STATUS_CODES.TDX_PAGE_METADATA_INCORRECT);
    expect(sys.tdx.sept.e2m[1]).toBe(S.FREE);
  });

  it('after the HKID is released -> TDX_OPERAND_INVALID', () => {
    const sys = fresh();
    sys.tdx.hkid = -1;
    expect(sys.tdx.tdhMemPageAug(0, L2M, 0).code).toBe(STATUS_CODES.TDX_OPERAND_INVALID);
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
  });
});

describe('TDH.MEM.SEPT.ADD', () => {
  it('makes the 2M entry non-leaf with FREE 4K entries; the table page becomes PAMT SEPT', () => {
    const sys = fresh();
    const t = table(sys, 1);
    const s = sys.tdx.sept;
    expect(s.e2m[1]).toBe(S.NL_MAPPED);
    expect(s.table[1]).toBe(t);
    expect(sys.tdx.pamt[t]).toBe(PamtType.SEPT);
    for (let g = P; g < 2 * P; g++) expect(s.e4k[g]).toBe(S.FREE);
  });

  it('on a non-FREE entry -> TDX_EPT_ENTRY_STATE_INCORRECT|RCX', () => {
    const sys = fresh();
    aug2m(sys);
    expectStatus(sys.tdx.tdhMemSeptAdd(0, septPage(sys)), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
    table(sys, 1);
    expectStatus(sys.tdx.tdhMemSeptAdd(P, septPage(sys)), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
  });

  it('a table page already assigned in the PAMT -> TDX_PAGE_METADATA_INCORRECT, entry stays FREE', () => {
    const sys = fresh();
    const t = table(sys, 0);
    expect(sys.tdx.tdhMemSeptAdd(P, t).code).toBe(STATUS_CODES.TDX_PAGE_METADATA_INCORRECT);
    expect(sys.tdx.sept.e2m[1]).toBe(S.FREE);
    expect(sys.tdx.sept.table[1]).toBe(-1);
  });
});

describe('TDH.MEM.RANGE.BLOCK', () => {
  it('MAPPED -> BLOCKED, PENDING -> PENDING_BLOCKED, NL_MAPPED -> NL_BLOCKED, recording BEPOCH', () => {
    const sys = fresh();
    aug2m(sys);
    sys.tdx.epoch = 7;
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING_BLOCKED);
    expect(sys.tdx.sept.bepoch2m[0]).toBe(7);

    const sys2 = fresh();
    aug2m(sys2);
    sys2.tdx.tdgMemPageAccept(0, L2M);
    expect(sys2.tdx.sept.e2m[0]).toBe(S.MAPPED);
    expectOk(sys2.tdx.tdhMemRangeBlock(0, L2M));
    expect(sys2.tdx.sept.e2m[0]).toBe(S.BLOCKED);

    const sys3 = fresh();
    table(sys3);
    expectOk(sys3.tdx.tdhMemPageAug(2, L4K, 2));
    expectOk(sys3.tdx.tdhMemRangeBlock(2, L4K));
    expect(sys3.tdx.sept.e4k[2]).toBe(S.PENDING_BLOCKED);
    expect(sys3.tdx.sept.bepoch4k[2]).toBe(sys3.tdx.epoch);
    expectOk(sys3.tdx.tdhMemRangeBlock(0, L2M));
    expect(sys3.tdx.sept.e2m[0]).toBe(S.NL_BLOCKED);
  });

  it('twice -> TDX_GPA_RANGE_ALREADY_BLOCKED|RCX (0x00000B07, bit 63 clear, but not success)', () => {
    const sys = fresh();
    aug2m(sys);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    const st = sys.tdx.tdhMemRangeBlock(0, L2M);
    expectStatus(st, 'TDX_GPA_RANGE_ALREADY_BLOCKED', RCX);
    expect(st.code).toBe(0x00000b07);
    expect(st.code & 0x80000000).toBe(0);
    expect(isSuccess(st)).toBe(false);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING_BLOCKED);
  });

  it('a FREE entry -> TDX_EPT_ENTRY_STATE_INCORRECT|RCX; 4K without a table -> TDX_EPT_WALK_FAILED|RCX', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhMemRangeBlock(0, L2M), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    expectStatus(sys.tdx.tdhMemRangeBlock(3, L4K), 'TDX_EPT_WALK_FAILED', RCX);
    table(sys);
    expectStatus(sys.tdx.tdhMemRangeBlock(3, L4K), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
  });
});

describe('TDH.MEM.TRACK', () => {
  it('bumps the TD epoch by one per call', () => {
    const sys = fresh();
    const e = sys.tdx.epoch;
    expectOk(sys.tdx.tdhMemTrack());
    expect(sys.tdx.epoch).toBe(e + 1);
    expectOk(sys.tdx.tdhMemTrack());
    expect(sys.tdx.epoch).toBe(e + 2);
  });

  it('a vCPU still running in an epoch before the current one -> TDX_PREVIOUS_TLB_EPOCH_BUSY, epoch unchanged', () => {
    const sys = fresh();
    const e = sys.tdx.epoch;
    sys.tdx.vpEnter(0); // enters in epoch e
    expectOk(sys.tdx.tdhMemTrack()); // e -> e+1: the vCPU is in the previous epoch now, which is allowed once
    expectStatus(sys.tdx.tdhMemTrack(), 'TDX_PREVIOUS_TLB_EPOCH_BUSY');
    expect(sys.tdx.epoch).toBe(e + 1);
    sys.tdx.vpExit(0);
    expectOk(sys.tdx.tdhMemTrack());
    expect(sys.tdx.epoch).toBe(e + 2);
  });

  it('KVM does not retry TDX_PREVIOUS_TLB_EPOCH_BUSY (it is not OPERAND_BUSY): TDX_BUG_ON, and the kick after TRACK prevents it', () => {
    const sys = fresh();
    sys.tdx.vpEnter(0);
    expectOk(sys.tdx.tdhMemTrack());
    const path = tdxTrack(sys);
    while (!path.next().done);
    expect(sys.kvm.bugged).toBe(true);
    const ok = fresh();
    ok.tdx.vpEnter(0);
    for (let k = 0; k < 3; k++) {
      const p = tdxTrack(ok); // TRACK, then kickAllVcpus: the vCPU is out before the next TRACK
      while (!p.next().done);
      ok.tdx.vpEnter(0); // and runs again in the new epoch
    }
    expect(ok.kvm.bugged).toBe(false);
  });
});

describe('TDH.MEM.PAGE.DEMOTE', () => {
  it('on an unblocked leaf -> TDX_GPA_RANGE_NOT_BLOCKED|RCX', () => {
    const sys = fresh();
    aug2m(sys);
    const t = septPage(sys);
    expectStatus(sys.tdx.tdhMemPageDemote(0, t), 'TDX_GPA_RANGE_NOT_BLOCKED', RCX);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
    expect(sys.tdx.pamt[t]).toBe(PamtType.NDA);
  });

  it('before TRACK -> TDX_TLB_TRACKING_NOT_DONE|RCX; after TRACK it succeeds', () => {
    const sys = fresh();
    aug2m(sys);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    const t = septPage(sys);
    expectStatus(sys.tdx.tdhMemPageDemote(0, t), 'TDX_TLB_TRACKING_NOT_DONE', RCX);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING_BLOCKED);
    expectOk(sys.tdx.tdhMemTrack());
    expectOk(sys.tdx.tdhMemPageDemote(0, t));
  });

  it('on a FREE or non-leaf entry -> TDX_EPT_ENTRY_STATE_INCORRECT|RCX', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhMemPageDemote(0, septPage(sys)), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    table(sys);
    expectStatus(sys.tdx.tdhMemPageDemote(0, septPage(sys)), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
  });

  it('a BLOCKED (accepted) 2M leaf becomes a table of ptrs MAPPED children with consecutive pfns', () => {
    const sys = fresh();
    // pfn 2P: a 2M block other than 0 so that pfn + i is not the same as gfn + i
    expectOk(sys.tdx.tdhMemPageAug(0, L2M, 2 * P));
    sys.tdx.tdgMemPageAccept(0, L2M);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    expectOk(sys.tdx.tdhMemTrack());
    const t = septPage(sys);
    expectOk(sys.tdx.tdhMemPageDemote(0, t));
    const s = sys.tdx.sept;
    expect(s.e2m[0]).toBe(S.NL_MAPPED);
    expect(s.table[0]).toBe(t);
    expect(s.pfn2m[0]).toBe(-1);
    for (let i = 0; i < P; i++) {
      expect(s.e4k[i]).toBe(S.MAPPED);
      expect(s.pfn4k[i]).toBe(2 * P + i);
      expect(sys.tdx.pamt[2 * P + i]).toBe(PamtType.REG_4K);
    }
    expect(sys.tdx.pamt[t]).toBe(PamtType.SEPT);
    // the guest still reaches every page, now through 4K leaves
    expect(sys.tdx.guestAccess(5)).toBe(2 * P + 5);
  });

  it('a PENDING_BLOCKED 2M leaf becomes ptrs PENDING children', () => {
    const sys = fresh();
    blockedTracked2m(sys, false);
    expectOk(sys.tdx.tdhMemPageDemote(0, septPage(sys)));
    for (let i = 0; i < P; i++) expect(sys.tdx.sept.e4k[i]).toBe(S.PENDING);
    expect(sys.tdx.guestAccess(5)).toBe(ACCESS_VE);
  });
});

describe('TDH.MEM.PAGE.REMOVE', () => {
  it('on an unblocked leaf -> TDX_GPA_RANGE_NOT_BLOCKED|RCX', () => {
    const sys = fresh();
    aug2m(sys);
    expectStatus(sys.tdx.tdhMemPageRemove(0, L2M), 'TDX_GPA_RANGE_NOT_BLOCKED', RCX);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
    table(sys, 1);
    expectOk(sys.tdx.tdhMemPageAug(P + 1, L4K, 3 * P));
    expectStatus(sys.tdx.tdhMemPageRemove(P + 1, L4K), 'TDX_GPA_RANGE_NOT_BLOCKED', RCX);
  });

  it('before TRACK -> TDX_TLB_TRACKING_NOT_DONE|RCX', () => {
    const sys = fresh();
    aug2m(sys);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    expectStatus(sys.tdx.tdhMemPageRemove(0, L2M), 'TDX_TLB_TRACKING_NOT_DONE', RCX);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING_BLOCKED);
  });

  it('after TRACK but with a vCPU still running in the BLOCK\'s epoch -> TDX_TLB_TRACKING_NOT_DONE|RCX (is_tlb_tracked REFCOUNT)', () => {
    const sys = fresh();
    aug2m(sys);
    sys.tdx.vpEnter(0); // vCPU 0 enters in the epoch of the coming BLOCK and is never kicked
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    expectOk(sys.tdx.tdhMemTrack());
    expectStatus(sys.tdx.tdhMemPageRemove(0, L2M), 'TDX_TLB_TRACKING_NOT_DONE', RCX);
    sys.tdx.vpEnter(1); // a vCPU entering now runs in the new epoch: it does not hold the BLOCK's epoch
    expectStatus(sys.tdx.tdhMemPageRemove(0, L2M), 'TDX_TLB_TRACKING_NOT_DONE', RCX);
    sys.tdx.vpExit(0);
    expectOk(sys.tdx.tdhMemPageRemove(0, L2M));
  });

  it('a blocked, tracked 2M leaf -> FREE, PAMT NDA, pages still dirty with the HKID', () => {
    const sys = fresh();
    blockedTracked2m(sys, true);
    expectOk(sys.tdx.tdhMemPageRemove(0, L2M));
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(sys.tdx.sept.pfn2m[0]).toBe(-1);
    for (let i = 0; i < P; i++) {
      expect(sys.tdx.pamt[i]).toBe(PamtType.NDA);
      expect(sys.phys.dirtyHkid[i]).toBe(sys.tdx.hkid);
    }
  });

  it('a blocked, tracked 4K leaf -> FREE; its neighbours stay', () => {
    const sys = fresh();
    table(sys);
    expectOk(sys.tdx.tdhMemPageAug(1, L4K, 1));
    expectOk(sys.tdx.tdhMemPageAug(2, L4K, 2));
    expectOk(sys.tdx.tdhMemRangeBlock(1, L4K));
    expectOk(sys.tdx.tdhMemTrack());
    expectOk(sys.tdx.tdhMemPageRemove(1, L4K));
    expect(sys.tdx.sept.e4k[1]).toBe(S.FREE);
    expect(sys.tdx.sept.e4k[2]).toBe(S.PENDING);
    expect(sys.tdx.pamt[1]).toBe(PamtType.NDA);
    expect(sys.tdx.pamt[2]).toBe(PamtType.REG_4K);
  });

  it('a FREE entry -> TDX_EPT_ENTRY_FREE|RCX; 4K without a table -> TDX_EPT_WALK_FAILED|RCX', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhMemPageRemove(0, L2M), 'TDX_EPT_ENTRY_FREE', RCX);
    expectStatus(sys.tdx.tdhMemPageRemove(0, L4K), 'TDX_EPT_WALK_FAILED', RCX);
  });
});

describe('TDH.PHYMEM.PAGE.WBINVD', () => {
  it('clears the dirty HKID of exactly that page', () => {
    const sys = fresh();
    aug2m(sys);
    expectOk(sys.tdx.tdhPhymemPageWbinvd(3));
    expect(sys.phys.dirtyHkid[3]).toBe(-1);
    expect(sys.phys.dirtyHkid[4]).toBe(sys.tdx.hkid);
  });
  it('with the HKID released -> TDX_KEY_STATE_INCORRECT and the page stays dirty', () => {
    const sys = fresh();
    aug2m(sys);
    sys.tdx.hkid = -1;
    expect(sys.tdx.tdhPhymemPageWbinvd(3).code).toBe(STATUS_CODES.TDX_KEY_STATE_INCORRECT);
    expect(sys.phys.dirtyHkid[3]).toBe(1);
  });
});

describe('guest access', () => {
  it('MAPPED -> pfn, PENDING -> #VE, no leaf or blocked -> EPT violation', () => {
    const sys = fresh();
    expect(sys.tdx.guestAccess(3)).toBe(ACCESS_EPT_VIOLATION);
    expectOk(sys.tdx.tdhMemPageAug(0, L2M, P));
    expect(sys.tdx.guestAccess(3)).toBe(ACCESS_VE);
    sys.tdx.tdgMemPageAccept(0, L2M);
    expect(sys.tdx.guestAccess(3)).toBe(P + 3);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    expect(sys.tdx.guestAccess(3)).toBe(ACCESS_EPT_VIOLATION);
  });
});

describe('TDG.MEM.PAGE.ACCEPT (kernel-facts.md 2.6)', () => {
  it('PENDING 2M + accept 4K -> EPT violation exit carrying level 4K; nothing changes', () => {
    const sys = fresh();
    aug2m(sys);
    expect(sys.tdx.tdgMemPageAccept(3, L4K)).toEqual({ kind: 'ept-violation', level: L4K });
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
  });

  it('BLOCKED 2M + accept 4K or 2M -> EPT violation', () => {
    const sys = fresh();
    aug2m(sys);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M));
    expect(sys.tdx.tdgMemPageAccept(3, L4K)).toEqual({ kind: 'ept-violation', level: L4K });
    expect(sys.tdx.tdgMemPageAccept(0, L2M)).toEqual({ kind: 'ept-violation', level: L2M });
  });

  it('MAPPED 2M + accept 4K -> TDX_PAGE_ALREADY_ACCEPTED|2M, no exit', () => {
    const sys = fresh();
    aug2m(sys);
    sys.tdx.tdgMemPageAccept(0, L2M);
    const r = sys.tdx.tdgMemPageAccept(3, L4K);
    expect(r.kind).toBe('status');
    if (r.kind === 'status') expectStatus(r.st, 'TDX_PAGE_ALREADY_ACCEPTED', L2M);
  });

  it('4K table + accept 2M -> TDX_PAGE_SIZE_MISMATCH|1 (0xC0000B0B00000001)', () => {
    const sys = fresh();
    table(sys);
    const r = sys.tdx.tdgMemPageAccept(0, L2M);
    expect(r.kind).toBe('status');
    if (r.kind === 'status') expect(formatStatus(r.st)).toBe('TDX_PAGE_SIZE_MISMATCH|0x1 (0xC0000B0B00000001)');
  });

  it('PENDING 2M + accept 2M -> success, MAPPED, contents zeroed; again -> ALREADY_ACCEPTED|1', () => {
    const sys = fresh();
    sys.phys.content.fill(42, 0, P);
    aug2m(sys);
    const r = sys.tdx.tdgMemPageAccept(5, L2M); // any gfn of the range: the module uses the entry
    expect(r).toEqual({ kind: 'status', st: { code: 0, detail: 0 } });
    expect(sys.tdx.sept.e2m[0]).toBe(S.MAPPED);
    for (let i = 0; i < P; i++) expect(sys.phys.content[i]).toBe(0);
    const again = sys.tdx.tdgMemPageAccept(0, L2M);
    if (again.kind !== 'status') throw new Error('expected a status');
    expectStatus(again.st, 'TDX_PAGE_ALREADY_ACCEPTED', L2M);
  });

  it('PENDING 4K + accept 4K -> success and zeroed; again -> ALREADY_ACCEPTED|0', () => {
    const sys = fresh();
    table(sys);
    sys.phys.content[3] = 9;
    sys.phys.content[4] = 9;
    expectOk(sys.tdx.tdhMemPageAug(3, L4K, 3));
    expect(sys.tdx.tdgMemPageAccept(3, L4K)).toEqual({ kind: 'status', st: { code: 0, detail: 0 } });
    expect(sys.tdx.sept.e4k[3]).toBe(S.MAPPED);
    expect(sys.phys.content[3]).toBe(0);
    expect(sys.phys.content[4]).toBe(9);
    const again = sys.tdx.tdgMemPageAccept(3, L4K);
    if (again.kind !== 'status') throw new Error('expected a status');
    expectStatus(again.st, 'TDX_PAGE_ALREADY_ACCEPTED', L4K);
  });

  it('no leaf -> EPT violation carrying the requested level (scenario b)', () => {
    const sys = fresh();
    expect(sys.tdx.tdgMemPageAccept(3, L4K)).toEqual({ kind: 'ept-violation', level: L4K });
    expect(sys.tdx.tdgMemPageAccept(0, L2M)).toEqual({ kind: 'ept-violation', level: L2M });
    table(sys);
    expect(sys.tdx.tdgMemPageAccept(3, L4K)).toEqual({ kind: 'ept-violation', level: L4K });
  });
});

describe('fault injection', () => {
  it('the nth call of the leaf returns the armed status, changes nothing, and is recorded', () => {
    const sys = fresh();
    aug2m(sys);
    aug2m(sys, P, P);
    sys.inj.arm(4, [{ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 2, status: 'TDX_OPERAND_BUSY' }]);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M)); // call 1: real
    expect(sys.inj.fired).toHaveLength(0);
    expectStatus(sys.tdx.tdhMemRangeBlock(P, L2M), 'TDX_OPERAND_BUSY', RCX); // call 2: forced
    expect(sys.tdx.sept.e2m[1]).toBe(S.PENDING); // the forced call changed nothing
    expectOk(sys.tdx.tdhMemRangeBlock(P, L2M)); // call 3: real again
    expect(sys.tdx.sept.e2m[1]).toBe(S.PENDING_BLOCKED);
    expect(sys.inj.fired).toEqual([
      { opIndex: 4, leaf: 'TDH.MEM.RANGE.BLOCK', site: null, nth: 2, status: 'TDX_OPERAND_BUSY', afterKick: false, slot: -1 },
    ]);
  });

  it('records the KVM context: the retry after the kick', () => {
    const sys = fresh();
    aug2m(sys);
    sys.inj.arm(0, [{ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 1, status: 'TDX_OPERAND_BUSY' }]);
    sys.kvm.waitForSeptZap = true;
    expect(sys.tdx.tdhMemRangeBlock(0, L2M).code).toBe(STATUS_CODES.TDX_OPERAND_BUSY);
    expect(sys.inj.fired[0]).toMatchObject({ afterKick: true });
  });

  it('counts calls per leaf, and re-arming resets the counts', () => {
    const sys = fresh();
    sys.inj.arm(0, [{ leaf: 'TDH.MEM.TRACK', nth: 2, status: 'TDX_OPERAND_BUSY' }]);
    aug2m(sys);
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M)); // another leaf: not counted for TRACK
    expectOk(sys.tdx.tdhMemTrack());
    const st = sys.tdx.tdhMemTrack();
    expectStatus(st, 'TDX_OPERAND_BUSY', 0xa9); // epoch lock contention carries TD_EPOCH
    sys.inj.arm(1, [{ leaf: 'TDH.MEM.TRACK', nth: 2, status: 'TDX_OPERAND_BUSY' }]);
    expectOk(sys.tdx.tdhMemTrack());
    expect(sys.tdx.tdhMemTrack().code).toBe(STATUS_CODES.TDX_OPERAND_BUSY);
    expect(sys.inj.fired.map((f) => f.opIndex)).toEqual([0, 1]);
  });

  it('a hard error on AUG carries detail 0 and maps nothing', () => {
    const sys = fresh();
    sys.inj.arm(0, [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_SW_ERROR' }]);
    expectStatus(sys.tdx.tdhMemPageAug(0, L2M, 0), 'TDX_SW_ERROR', 0);
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(sys.tdx.pamt[0]).toBe(PamtType.NDA);
  });

  it('BUSY on the guest ACCEPT is returned to the guest and accepts nothing', () => {
    const sys = fresh();
    aug2m(sys);
    sys.inj.arm(0, [{ leaf: 'TDG.MEM.PAGE.ACCEPT', nth: 1, status: 'TDX_OPERAND_BUSY' }]);
    const r = sys.tdx.tdgMemPageAccept(0, L2M);
    expect(r).toEqual({ kind: 'status', st: { code: STATUS_CODES.TDX_OPERAND_BUSY, detail: RCX } });
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
    expect(sys.inj.fired).toHaveLength(1);
  });

  it('INTERRUPTED_RESTARTABLE injected on DEMOTE of an ENHANCED_DEMOTE_INTERRUPTIBILITY module is returned (a misbehaving module)', () => {
    const sys = fresh({ enhancedDemoteInterruptibility: true });
    blockedTracked2m(sys, false);
    sys.inj.arm(0, [{ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' }]);
    expectStatus(sys.tdx.tdhMemPageDemote(0, septPage(sys)), 'TDX_INTERRUPTED_RESTARTABLE', 0);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING_BLOCKED); // nothing demoted
    expect(sys.inj.fired).toHaveLength(1);
  });

  it('INTERRUPTED_RESTARTABLE on DEMOTE is returned without it; the entry stays blocked and a retry succeeds', () => {
    const sys = fresh({ enhancedDemoteInterruptibility: false });
    blockedTracked2m(sys, true);
    sys.inj.arm(0, [{ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' }]);
    const t = septPage(sys);
    expectStatus(sys.tdx.tdhMemPageDemote(0, t), 'TDX_INTERRUPTED_RESTARTABLE', 0);
    expect(sys.tdx.sept.e2m[0]).toBe(S.BLOCKED);
    expect(sys.inj.fired).toEqual([expect.objectContaining({ leaf: 'TDH.MEM.PAGE.DEMOTE', status: 'TDX_INTERRUPTED_RESTARTABLE' })]);
    expectOk(sys.tdx.tdhMemPageDemote(0, t));
    expect(sys.tdx.sept.e4k[0]).toBe(S.MAPPED);
  });

  it('INTERRUPTED_RESTARTABLE armed on another leaf never takes effect', () => {
    const sys = fresh({ enhancedDemoteInterruptibility: false });
    sys.inj.arm(0, [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' }]);
    expectOk(sys.tdx.tdhMemPageAug(0, L2M, 0));
    expect(sys.inj.fired).toHaveLength(0);
  });
});

describe('TD build time: TDH.MEM.PAGE.ADD and TDH.MR.FINALIZE', () => {
  const building = () => fresh({ startPhase: 'BUILD' });
  const TDR = 0x80;

  it('a TD that starts at build time is not finalized; a runnable one is', () => {
    expect(building().tdx.finalized).toBe(false);
    expect(fresh().tdx.finalized).toBe(true);
  });

  it('PAGE.ADD maps a 4K page MAPPED at once with the source contents: PAMT REG_4K, dirty with the HKID', () => {
    const sys = building();
    table(sys);
    sys.phys.content[2 * P + 3] = 9;
    expectOk(sys.tdx.tdhMemPageAdd(3, 2 * P + 3, 77));
    const s = sys.tdx.sept;
    expect(s.e4k[3]).toBe(S.MAPPED);
    expect(s.pfn4k[3]).toBe(2 * P + 3);
    expect(s.e4k[2]).toBe(S.FREE);
    expect(s.e4k[4]).toBe(S.FREE);
    expect(sys.tdx.pamt[2 * P + 3]).toBe(PamtType.REG_4K);
    expect(sys.phys.dirtyHkid[2 * P + 3]).toBe(sys.tdx.hkid);
    expect(sys.phys.content[2 * P + 3]).toBe(77);
    // present without a guest ACCEPT: the guest reaches it, and an ACCEPT finds it already accepted
    expect(sys.tdx.guestAccess(3)).toBe(2 * P + 3);
    const r = sys.tdx.tdgMemPageAccept(3, L4K);
    if (r.kind !== 'status') throw new Error('expected a status');
    expectStatus(r.st, 'TDX_PAGE_ALREADY_ACCEPTED', L4K);
  });

  it('after TDH.MR.FINALIZE -> TDX_OPERAND_INVALID|TDR, nothing added', () => {
    const sys = building();
    table(sys);
    expectOk(sys.tdx.tdhMrFinalize());
    expectStatus(sys.tdx.tdhMemPageAdd(3, 3, 1), 'TDX_OPERAND_INVALID', TDR);
    expect(sys.tdx.sept.e4k[3]).toBe(S.FREE);
    expect(sys.tdx.pamt[3]).toBe(PamtType.NDA);
    // a TD that starts runnable was finalized long ago
    const run = fresh();
    table(run);
    expectStatus(run.tdx.tdhMemPageAdd(3, 3, 1), 'TDX_OPERAND_INVALID', TDR);
  });

  it('without a table -> TDX_EPT_WALK_FAILED|RCX (PAGE.ADD is 4K only)', () => {
    const sys = building();
    expectStatus(sys.tdx.tdhMemPageAdd(3, 3, 1), 'TDX_EPT_WALK_FAILED', RCX);
    expect(sys.tdx.pamt[3]).toBe(PamtType.NDA);
    expect(sys.phys.content[3]).toBe(0);
  });

  it('on an entry that is not FREE -> TDX_EPT_ENTRY_STATE_INCORRECT|RCX; the page already there is kept', () => {
    const sys = building();
    table(sys);
    expectOk(sys.tdx.tdhMemPageAdd(3, 3, 5));
    expectStatus(sys.tdx.tdhMemPageAdd(3, 4, 6), 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX);
    expect(sys.tdx.sept.pfn4k[3]).toBe(3);
    expect(sys.phys.content[3]).toBe(5);
    expect(sys.tdx.pamt[4]).toBe(PamtType.NDA);
    expect(sys.phys.content[4]).toBe(0);
  });

  it('a pfn already assigned in the PAMT -> TDX_PAGE_METADATA_INCORRECT, nothing added', () => {
    const sys = building();
    const t = table(sys);
    expectOk(sys.tdx.tdhMemPageAdd(3, 3, 5));
    expect(sys.tdx.tdhMemPageAdd(4, 3, 6).code).toBe(STATUS_CODES.TDX_PAGE_METADATA_INCORRECT); // the page of gfn 3
    expect(sys.tdx.tdhMemPageAdd(5, t, 6).code).toBe(STATUS_CODES.TDX_PAGE_METADATA_INCORRECT); // the S-EPT page
    expect(sys.tdx.sept.e4k[4]).toBe(S.FREE);
    expect(sys.tdx.sept.e4k[5]).toBe(S.FREE);
    expect(sys.phys.content[3]).toBe(5);
  });

  it('AUG before finalize -> TDX_OPERAND_INVALID|TDR (build time adds pages with PAGE.ADD)', () => {
    const sys = building();
    expectStatus(sys.tdx.tdhMemPageAug(0, L2M, 0), 'TDX_OPERAND_INVALID', TDR);
    table(sys, 1);
    expectStatus(sys.tdx.tdhMemPageAug(P + 1, L4K, P + 1), 'TDX_OPERAND_INVALID', TDR);
    expect(sys.tdx.sept.e2m[0]).toBe(S.FREE);
    expect(sys.tdx.sept.e4k[P + 1]).toBe(S.FREE);
  });

  it('MR.FINALIZE succeeds once; again -> TDX_OPERAND_INVALID|TDR', () => {
    const sys = building();
    expectOk(sys.tdx.tdhMrFinalize());
    expect(sys.tdx.finalized).toBe(true);
    expectStatus(sys.tdx.tdhMrFinalize(), 'TDX_OPERAND_INVALID', TDR);
    expect(sys.tdx.finalized).toBe(true);
    expectStatus(fresh().tdx.tdhMrFinalize(), 'TDX_OPERAND_INVALID', TDR);
  });

  it('REMOVE before finalize needs no TRACK (the TD never ran); after finalize it does', () => {
    const sys = building();
    table(sys);
    expectOk(sys.tdx.tdhMemPageAdd(3, 3, 5));
    expectOk(sys.tdx.tdhMemRangeBlock(3, L4K));
    expect(sys.tdx.sept.e4k[3]).toBe(S.BLOCKED);
    const epoch = sys.tdx.epoch;
    expectOk(sys.tdx.tdhMemPageRemove(3, L4K));
    expect(sys.tdx.epoch).toBe(epoch);
    expect(sys.tdx.sept.e4k[3]).toBe(S.FREE);
    expect(sys.tdx.pamt[3]).toBe(PamtType.NDA);

    expectOk(sys.tdx.tdhMemPageAdd(4, 4, 6));
    expectOk(sys.tdx.tdhMrFinalize());
    expectOk(sys.tdx.tdhMemRangeBlock(4, L4K));
    expectStatus(sys.tdx.tdhMemPageRemove(4, L4K), 'TDX_TLB_TRACKING_NOT_DONE', RCX);
    expectOk(sys.tdx.tdhMemTrack());
    expectOk(sys.tdx.tdhMemPageRemove(4, L4K));
  });
});

describe('HKID release and TDH.PHYMEM.PAGE.RECLAIM (kernel-facts.md 2.4)', () => {
  const TDR = 0x80;

  function release(sys: System): void {
    expectOk(sys.tdx.tdhMngVpflushdone());
    expectOk(sys.tdx.tdhPhymemCacheWb());
    expectOk(sys.tdx.tdhMngKeyFreeid());
  }

  it('a TD has three control pages (TDR, TDCS, TDVPR): owner CTRL, PAMT CTRL, dirty with the HKID', () => {
    const sys = fresh();
    expect(sys.controlPages).toHaveLength(3);
    expect(new Set(sys.controlPages).size).toBe(3);
    for (const p of sys.controlPages) {
      expect(sys.phys.owner[p]).toBe(Owner.CTRL);
      expect(sys.tdx.pamt[p]).toBe(PamtType.CTRL);
      expect(sys.phys.dirtyHkid[p]).toBe(sys.tdx.hkid);
    }
  });

  it('VPFLUSHDONE, CACHE.WB, KEY.FREEID in that order release the HKID and write back every line of it', () => {
    const sys = fresh();
    aug2m(sys);
    const t = table(sys, 1);
    expect(sys.tdx.hkid).toBe(1);
    release(sys);
    expect(sys.tdx.hkid).toBe(-1);
    for (let p = 0; p < sys.phys.total; p++) expect(sys.phys.dirtyHkid[p], `pfn ${p}`).toBe(-1);
    // the S-EPT and PAMT are untouched: pages come back only through RECLAIM
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
    expect(sys.tdx.pamt[t]).toBe(PamtType.SEPT);
  });

  it('CACHE.WB before VPFLUSHDONE -> TDX_NO_HKID_READY_TO_WBCACHE, nothing written back', () => {
    const sys = fresh();
    aug2m(sys);
    expectStatus(sys.tdx.tdhPhymemCacheWb(), 'TDX_NO_HKID_READY_TO_WBCACHE');
    expect(sys.phys.dirtyHkid[0]).toBe(sys.tdx.hkid);
    expect(sys.tdx.cacheWbDone).toBe(false);
  });

  it('KEY.FREEID before CACHE.WB -> TDX_KEY_STATE_INCORRECT|TDR, the HKID stays', () => {
    const sys = fresh();
    expectStatus(sys.tdx.tdhMngKeyFreeid(), 'TDX_KEY_STATE_INCORRECT', TDR);
    expectOk(sys.tdx.tdhMngVpflushdone());
    expectStatus(sys.tdx.tdhMngKeyFreeid(), 'TDX_KEY_STATE_INCORRECT', TDR);
    expect(sys.tdx.hkid).toBe(1);
  });

  it('after the release VPFLUSHDONE and KEY.FREEID -> TDX_KEY_STATE_INCORRECT|TDR', () => {
    const sys = fresh();
    release(sys);
    expectStatus(sys.tdx.tdhMngVpflushdone(), 'TDX_KEY_STATE_INCORRECT', TDR);
    expectStatus(sys.tdx.tdhMngKeyFreeid(), 'TDX_KEY_STATE_INCORRECT', TDR);
  });

  it('RECLAIM while the HKID is assigned -> TDX_KEY_STATE_INCORRECT|TDR, PAMT unchanged', () => {
    const sys = fresh();
    const t = table(sys);
    expectStatus(sys.tdx.tdhPhymemPageReclaim(t), 'TDX_KEY_STATE_INCORRECT', TDR);
    expectStatus(sys.tdx.tdhPhymemPageReclaim(sys.controlPages[0]), 'TDX_KEY_STATE_INCORRECT', TDR);
    expect(sys.tdx.pamt[t]).toBe(PamtType.SEPT);
    expect(sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
    expect(sys.tdx.pamt[sys.controlPages[0]]).toBe(PamtType.CTRL);
  });

  it('RECLAIM of a page no TD owns (PAMT NDA) -> TDX_PAGE_METADATA_INCORRECT|RCX', () => {
    const sys = fresh();
    release(sys);
    expectStatus(sys.tdx.tdhPhymemPageReclaim(5), 'TDX_PAGE_METADATA_INCORRECT', RCX);
    expectStatus(sys.tdx.tdhPhymemPageReclaim(septPage(sys)), 'TDX_PAGE_METADATA_INCORRECT', RCX);
  });

  it('RECLAIM after the release: an S-EPT page takes its 2M entry with it; control pages go to NDA; twice -> error', () => {
    const sys = fresh();
    const t = table(sys, 1);
    release(sys);
    expectOk(sys.tdx.tdhPhymemPageReclaim(t));
    expect(sys.tdx.pamt[t]).toBe(PamtType.NDA);
    expect(sys.tdx.sept.e2m[1]).toBe(S.FREE);
    expect(sys.tdx.sept.table[1]).toBe(-1);
    for (const p of sys.controlPages) {
      expectOk(sys.tdx.tdhPhymemPageReclaim(p));
      expect(sys.tdx.pamt[p]).toBe(PamtType.NDA);
    }
    expectStatus(sys.tdx.tdhPhymemPageReclaim(t), 'TDX_PAGE_METADATA_INCORRECT', RCX);
  });

  it('an injected RECLAIM failure changes nothing and is recorded', () => {
    const sys = fresh();
    const t = table(sys);
    release(sys);
    sys.inj.arm(0, [{ leaf: 'TDH.PHYMEM.PAGE.RECLAIM', nth: 1, status: 'TDX_OPERAND_BUSY' }]);
    expectStatus(sys.tdx.tdhPhymemPageReclaim(t), 'TDX_OPERAND_BUSY', RCX);
    expect(sys.tdx.pamt[t]).toBe(PamtType.SEPT);
    expect(sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
    expect(sys.inj.fired).toEqual([expect.objectContaining({ leaf: 'TDH.PHYMEM.PAGE.RECLAIM', nth: 1, status: 'TDX_OPERAND_BUSY' })]);
    expectOk(sys.tdx.tdhPhymemPageReclaim(t));
  });
});
