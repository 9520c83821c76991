// The TDX module as seen by one TD: S-EPT entries and their states, PAMT ownership per 4K page, the TD
// epoch, and the SEAMCALL/TDCALL functions with their real status codes (kernel-facts.md 1.1, 2.6, 2.7).
// Every call first asks the fault injector whether this call is to be forced to fail.
import { i16, i32, u8 } from '../arena.js';
import type { FaultInjector } from '../faults.js';
import type { PhysMem } from '../host/phys.js';
import type { Trace } from '../trace.js';
import { L2M, L4K, type Leaf, type Level } from './leaf.js';
import { Sept, SeptState as S } from './sept.js';
import { OPERAND_ID, status, statusIs, SUCCESS, type SeamStatus } from './status.js';

/** PAMT entry type per 4K page [A: names from the TDX ABI]. */
export enum PamtType {
  NDA = 0, // not assigned to any TD
  REG_4K = 1,
  REG_2M = 2, // part of a 2M private page
  SEPT = 3,
  CTRL = 4, // TDR / TDCS / TDVPR
  PAMT_PAIR = 5, // a Dynamic PAMT page of some 2M region
}

export interface ModuleFeatures {
  enhancedDemoteInterruptibility: boolean;
  /** Dynamic PAMT: the 4K-level PAMT of a 2M region exists only while a page pair is installed (003:L41-56). */
  dpamt: boolean;
  /** NON-BLOCKING-RESIZE: DEMOTE of a present leaf without BLOCK and TRACK (003:L121-127). */
  nonBlockingResize: boolean;
}

/** Result of a guest private access: the pfn, or one of the two exits. */
export const ACCESS_VE = -1; // #VE: the page is PENDING (not yet accepted)
export const ACCESS_EPT_VIOLATION = -2; // no present leaf: EPT violation to KVM

export type AcceptResult =
  | { kind: 'status'; st: SeamStatus } // returned to the guest in RAX
  | { kind: 'ept-violation'; level: Level }; // TD exit carrying the ACCEPT level (VMX_EEQ_ACCEPT)

const RCX = OPERAND_ID.RCX;

/** A host SEAMCALL's hold on an S-EPT entry (actor -1: released, kept to be reused). */
interface EntryHold {
  actor: number;
  region: number;
  gfn: number;
  treeExclusive: boolean;
}

export class TdxModule {
  readonly sept: Sept;
  readonly pamt: Uint8Array;
  /** HKID of the TD; -1 once released. */
  hkid = 1;
  /** TD epoch, incremented by TDH.MEM.TRACK. */
  epoch = 1;
  /** TDH.MR.FINALIZE done: the TD may run; PAGE.ADD is over and AUG begins (003:L161-165). */
  finalized = true;
  /** After a bug under policy NO_MORE_SEAMCALLS the host issues no SEAMCALL again; the wrappers refuse [A]. */
  noMoreSeamcalls = false;
  /** TDH.MNG.VPFLUSHDONE succeeded: no vCPU holds TD state on a CPU any more. */
  vpFlushDone = false;
  /** TDH.PHYMEM.CACHE.WB done since VPFLUSHDONE: no cache line is tagged with the HKID. */
  cacheWbDone = false;

  /** Installed Dynamic PAMT pair per physical 2M region: two pfns, or -1. */
  readonly pamtPair: Int32Array;
  /** Per vCPU: the TD epoch it entered the guest in (TDH.VP.ENTER), or -1 while it is outside. */
  private readonly vcpuEntryEpoch: number[] = [];

  constructor(
    readonly phys: PhysMem,
    readonly ptrs: number,
    readonly regions: number,
    readonly features: ModuleFeatures,
    private readonly inj: FaultInjector,
    private readonly trace: Trace,
  ) {
    this.sept = new Sept(ptrs, regions);
    this.pamt = u8(phys.total);
    this.pamtPair = i32(2 * Math.ceil(phys.total / ptrs)).fill(-1);
    this.acceptHolder = i16(regions).fill(-1);
  }

  /** Physical 2M region of a pfn (the unit Dynamic PAMT pairs cover). */
  pamtRegion(pfn: number): number {
    return Math.floor(pfn / this.ptrs);
  }

  pairInstalled(region: number): boolean {
    return this.pamtPair[2 * region] >= 0;
  }

  /** Without its region's pair a 4K page has no PAMT entry to record a TD use in (DPAMT only). */
  private no4kPamt(pfn: number): boolean {
    return this.features.dpamt && !this.pairInstalled(this.pamtRegion(pfn));
  }

  /** TDH.PHYMEM.PAMT.ADD: install the 4K-level PAMT pages of a 2M region [S names, A semantics]. */
  tdhPhymemPamtAdd(region: number, p1: number, p2: number): SeamStatus {
    const leaf = 'TDH.PHYMEM.PAMT.ADD';
    const f = this.forced(leaf);
    const base = region * this.ptrs;
    if (f) return this.ret(leaf, -1, -1, base, f, true);
    if (this.pairInstalled(region)) return this.ret(leaf, -1, -1, base, status('TDX_HPA_RANGE_NOT_FREE', RCX));
    if (this.pamt[p1] !== PamtType.NDA || this.pamt[p2] !== PamtType.NDA) return this.ret(leaf, -1, -1, base, status('TDX_PAGE_METADATA_INCORRECT', 0x02));
    this.pamtPair[2 * region] = p1;
    this.pamtPair[2 * region + 1] = p2;
    this.pamt[p1] = PamtType.PAMT_PAIR;
    this.pamt[p2] = PamtType.PAMT_PAIR;
    return this.ret(leaf, -1, -1, base, SUCCESS);
  }

  /** TDH.PHYMEM.PAMT.REMOVE: take the pair back once no 4K page of the region is assigned. Returns the pair. */
  tdhPhymemPamtRemove(region: number): { st: SeamStatus; pair: [number, number] | null } {
    const leaf = 'TDH.PHYMEM.PAMT.REMOVE';
    const f = this.forced(leaf);
    const base = region * this.ptrs;
    if (f) return { st: this.ret(leaf, -1, -1, base, f, true), pair: null };
    if (!this.pairInstalled(region)) return { st: this.ret(leaf, -1, -1, base, status('TDX_OPERAND_INVALID', RCX)), pair: null };
    for (let p = base; p < base + this.ptrs && p < this.pamt.length; p++) {
      const t = this.pamt[p];
      if (t === PamtType.REG_4K || t === PamtType.SEPT || t === PamtType.CTRL) return { st: this.ret(leaf, -1, -1, base, status('TDX_HPA_RANGE_NOT_FREE', RCX)), pair: null };
    }
    const pair: [number, number] = [this.pamtPair[2 * region], this.pamtPair[2 * region + 1]];
    this.pamtPair[2 * region] = -1;
    this.pamtPair[2 * region + 1] = -1;
    this.pamt[pair[0]] = PamtType.NDA;
    this.pamt[pair[1]] = PamtType.NDA;
    return { st: this.ret(leaf, -1, -1, base, SUCCESS), pair };
  }

  /** Common entry: a forced status for this call, or null to run it for real. */
  private forced(leaf: Leaf, busyDetail: number = RCX): SeamStatus | null {
    if (this.noMoreSeamcalls && leaf !== 'TDG.MEM.PAGE.ACCEPT') return status('TDX_SW_ERROR');
    const f = this.inj.check(leaf);
    if (!f) return null;
    // A pending host interrupt only matters to DEMOTE (003:L144-160). A module with
    // ENHANCED_DEMOTE_INTERRUPTIBILITY should not return it: injected there, it is a misbehaving module.
    if (f.status === 'TDX_INTERRUPTED_RESTARTABLE' && leaf !== 'TDH.MEM.PAGE.DEMOTE') return null;
    return this.inj.fire(f, f.status === 'TDX_OPERAND_BUSY' ? busyDetail : 0);
  }

  private ret(leaf: Leaf, gfn: number, level: Level | -1, pfn: number, st: SeamStatus, forced = false): SeamStatus {
    this.trace.seamcall(leaf, gfn, level, pfn, st, forced);
    return st;
  }

  /** Only TDX-convertible RAM can be assigned to a TD: TDX_OPERAND_ADDR_RANGE_ERROR otherwise (003:L655). */
  private convertible(pfn: number, n: number): boolean {
    for (let i = 0; i < n; i++) if (pfn + i < 0 || pfn + i >= this.phys.total || this.phys.kind[pfn + i] !== 0) return false;
    return true;
  }

  private pamtAllNda(pfn: number, n: number): boolean {
    for (let i = 0; i < n; i++) if (this.pamt[pfn + i] !== PamtType.NDA) return false;
    return true;
  }

  private region(gfn: number): number {
    return Math.floor(gfn / this.ptrs);
  }

  /** BEPOCH recorded by BLOCK must be older than the current epoch: a TRACK happened since (MOD-remove/demote).
   *  A TD that never ran has no TLB entries to track [A]. */
  /**
   * TLB tracking of an entry blocked in epoch `bepoch` is done once the TD epoch moved past it and no vCPU
   * still runs in that epoch (the module's is_tlb_tracked(): BEPOCH < TD_EPOCH - 1, or BEPOCH = TD_EPOCH - 1
   * with that epoch's REFCOUNT zero); before the TD is finalized nothing runs.
   */
  private tracked(bepoch: number): boolean {
    if (!this.finalized || bepoch < this.epoch - 1) return true;
    return bepoch === this.epoch - 1 && !this.vcpuEntryEpoch.includes(bepoch);
  }

  // ---- SEAMCALLs -------------------------------------------------------------------------------

  /** TDH.MEM.PAGE.AUG: add a PENDING private page at 4K or 2M (MOD-aug, kernel-facts.md 2.7). */
  tdhMemPageAug(gfn: number, level: Level, pfn: number): SeamStatus {
    const leaf = 'TDH.MEM.PAGE.AUG';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, level, pfn, f, true);
    if (!this.lockEntry(gfn, level)) return this.ret(leaf, gfn, level, pfn, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    const n = level === L2M ? this.ptrs : 1;
    if (this.hkid < 0 || !this.finalized) return this.ret(leaf, gfn, level, pfn, status('TDX_OPERAND_INVALID', OPERAND_ID.TDR));
    if (gfn % n !== 0 || pfn % n !== 0) return this.ret(leaf, gfn, level, pfn, status('TDX_OPERAND_INVALID', RCX));
    if (level === L2M) {
      if (s.e2m[r] !== S.FREE) return this.ret(leaf, gfn, level, pfn, status('TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
    } else {
      const p = s.e2m[r];
      if (p === S.FREE || p === S.NL_BLOCKED) return this.ret(leaf, gfn, level, pfn, status('TDX_EPT_WALK_FAILED', RCX));
      if (p !== S.NL_MAPPED) return this.ret(leaf, gfn, level, pfn, status('TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
      if (s.e4k[gfn] !== S.FREE) return this.ret(leaf, gfn, level, pfn, status('TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
    }
    if (!this.convertible(pfn, n)) return this.ret(leaf, gfn, level, pfn, status('TDX_OPERAND_ADDR_RANGE_ERROR', RCX));
    if (!this.pamtAllNda(pfn, n)) return this.ret(leaf, gfn, level, pfn, status('TDX_PAGE_METADATA_INCORRECT', 0x02));
    // "Get/Put DPAMT page pair only when mapping size is 4KB" (003:L383)
    if (level === L4K && this.no4kPamt(pfn)) return this.ret(leaf, gfn, level, pfn, status('TDX_OPERAND_INVALID', 0x02));
    // the target HPA range must be free in PAMT at that size (kernel-facts.md 2.7): not with 4K PAMT pages
    // still installed for it, as after a failed PAMT.REMOVE
    if (level === L2M && this.features.dpamt && this.pairInstalled(this.pamtRegion(pfn))) return this.ret(leaf, gfn, level, pfn, status('TDX_HPA_RANGE_NOT_FREE', RCX));
    if (level === L2M) {
      s.e2m[r] = S.PENDING;
      s.pfn2m[r] = pfn;
    } else {
      s.e4k[gfn] = S.PENDING;
      s.pfn4k[gfn] = pfn;
    }
    for (let i = 0; i < n; i++) {
      this.pamt[pfn + i] = level === L2M ? PamtType.REG_2M : PamtType.REG_4K;
      this.phys.dirtyHkid[pfn + i] = this.hkid;
    }
    return this.ret(leaf, gfn, level, pfn, SUCCESS);
  }

  /**
   * TDH.MEM.PAGE.ADD: at TD build time only, add a 4K page that is MAPPED at once with the source contents
   * (no ACCEPT needed) [A]; "tdh_mem_page_add() only adds private pages at 4KB" (003:L164).
   */
  tdhMemPageAdd(gfn: number, pfn: number, src: number): SeamStatus {
    const leaf = 'TDH.MEM.PAGE.ADD';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, L4K, pfn, f, true);
    const s = this.sept;
    const r = this.region(gfn);
    if (this.hkid < 0 || this.finalized) return this.ret(leaf, gfn, L4K, pfn, status('TDX_OPERAND_INVALID', OPERAND_ID.TDR));
    const p = s.e2m[r];
    if (p === S.FREE || p === S.NL_BLOCKED) return this.ret(leaf, gfn, L4K, pfn, status('TDX_EPT_WALK_FAILED', RCX));
    if (p !== S.NL_MAPPED || s.e4k[gfn] !== S.FREE) return this.ret(leaf, gfn, L4K, pfn, status('TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
    if (!this.convertible(pfn, 1)) return this.ret(leaf, gfn, L4K, pfn, status('TDX_OPERAND_ADDR_RANGE_ERROR', RCX));
    if (this.pamt[pfn] !== PamtType.NDA) return this.ret(leaf, gfn, L4K, pfn, status('TDX_PAGE_METADATA_INCORRECT', 0x02));
    if (this.no4kPamt(pfn)) return this.ret(leaf, gfn, L4K, pfn, status('TDX_OPERAND_INVALID', 0x02));
    s.e4k[gfn] = S.MAPPED;
    s.pfn4k[gfn] = pfn;
    this.pamt[pfn] = PamtType.REG_4K;
    this.phys.dirtyHkid[pfn] = this.hkid;
    this.phys.content[pfn] = src;
    return this.ret(leaf, gfn, L4K, pfn, SUCCESS);
  }

  /** TDH.MR.FINALIZE: end of the build; the measurement is sealed and the TD can run. */
  tdhMrFinalize(): SeamStatus {
    const leaf = 'TDH.MR.FINALIZE';
    const f = this.forced(leaf, OPERAND_ID.TDR);
    if (f) return this.ret(leaf, -1, -1, -1, f, true);
    if (this.hkid < 0 || this.finalized) return this.ret(leaf, -1, -1, -1, status('TDX_OPERAND_INVALID', OPERAND_ID.TDR));
    this.finalized = true;
    return this.ret(leaf, -1, -1, -1, SUCCESS);
  }

  /** TDH.MEM.SEPT.ADD: install a 4K S-EPT page under the 2M entry of `gfn` [A]. */
  tdhMemSeptAdd(gfn: number, tablePfn: number): SeamStatus {
    const leaf = 'TDH.MEM.SEPT.ADD';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, L2M, tablePfn, f, true);
    if (!this.lockEntry(gfn, L2M)) return this.ret(leaf, gfn, L2M, tablePfn, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    if (this.hkid < 0) return this.ret(leaf, gfn, L2M, tablePfn, status('TDX_OPERAND_INVALID', RCX));
    if (s.e2m[r] !== S.FREE) return this.ret(leaf, gfn, L2M, tablePfn, status('TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
    if (this.pamt[tablePfn] !== PamtType.NDA) return this.ret(leaf, gfn, L2M, tablePfn, status('TDX_PAGE_METADATA_INCORRECT', 0x08));
    if (this.no4kPamt(tablePfn)) return this.ret(leaf, gfn, L2M, tablePfn, status('TDX_OPERAND_INVALID', 0x08));
    s.e2m[r] = S.NL_MAPPED;
    s.table[r] = tablePfn;
    const base = r * this.ptrs;
    s.e4k.fill(S.FREE, base, base + this.ptrs);
    s.pfn4k.fill(-1, base, base + this.ptrs);
    this.pamt[tablePfn] = PamtType.SEPT;
    this.phys.dirtyHkid[tablePfn] = this.hkid;
    return this.ret(leaf, gfn, L2M, tablePfn, SUCCESS);
  }

  /** TDH.MEM.RANGE.BLOCK (MOD-block): MAPPED->BLOCKED, PENDING->PENDING_BLOCKED, records BEPOCH. */
  tdhMemRangeBlock(gfn: number, level: Level): SeamStatus {
    const leaf = 'TDH.MEM.RANGE.BLOCK';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, level, -1, f, true);
    if (!this.lockEntry(gfn, level, true)) return this.ret(leaf, gfn, level, -1, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    let cur: number;
    if (level === L2M) cur = s.e2m[r];
    else {
      if (s.e2m[r] !== S.NL_MAPPED) return this.ret(leaf, gfn, level, -1, status('TDX_EPT_WALK_FAILED', RCX));
      cur = s.e4k[gfn];
    }
    let next: S;
    switch (cur) {
      case S.MAPPED: next = S.BLOCKED; break;
      case S.PENDING: next = S.PENDING_BLOCKED; break;
      case S.NL_MAPPED: next = S.NL_BLOCKED; break;
      case S.BLOCKED: case S.PENDING_BLOCKED: case S.NL_BLOCKED:
        return this.ret(leaf, gfn, level, -1, status('TDX_GPA_RANGE_ALREADY_BLOCKED', RCX));
      default:
        return this.ret(leaf, gfn, level, -1, status('TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
    }
    if (level === L2M) {
      s.e2m[r] = next;
      s.bepoch2m[r] = this.epoch;
    } else {
      s.e4k[gfn] = next;
      s.bepoch4k[gfn] = this.epoch;
    }
    return this.ret(leaf, gfn, level, -1, SUCCESS);
  }

  /** TDH.MEM.RANGE.UNBLOCK: undo a BLOCK (BLOCKED -> MAPPED, PENDING_BLOCKED -> PENDING, NL_BLOCKED -> NL_MAPPED) [A]. */
  tdhMemRangeUnblock(gfn: number, level: Level): SeamStatus {
    const leaf = 'TDH.MEM.RANGE.UNBLOCK';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, level, -1, f, true);
    if (!this.lockEntry(gfn, level)) return this.ret(leaf, gfn, level, -1, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    if (level === L4K && s.e2m[r] !== S.NL_MAPPED) return this.ret(leaf, gfn, level, -1, status('TDX_EPT_WALK_FAILED', RCX));
    const cur = level === L2M ? s.e2m[r] : s.e4k[gfn];
    const next = cur === S.BLOCKED ? S.MAPPED : cur === S.PENDING_BLOCKED ? S.PENDING : cur === S.NL_BLOCKED ? S.NL_MAPPED : -1;
    if (next < 0) return this.ret(leaf, gfn, level, -1, status('TDX_GPA_RANGE_NOT_BLOCKED', RCX));
    if (level === L2M) s.e2m[r] = next;
    else s.e4k[gfn] = next;
    return this.ret(leaf, gfn, level, -1, SUCCESS);
  }

  /**
   * Contention model (model-spec.md 3.1): a vCPU inside TDG.MEM.PAGE.ACCEPT holds the S-EPT entry lock of the
   * 2M range it accepts in, so a host SEAMCALL on an entry there answers TDX_OPERAND_BUSY (not injected) until
   * the vCPU leaves the guest; a kick makes it leave, so the retry after the kick succeeds.
   */
  private readonly acceptHolder: Int16Array;

  /**
   * Host SEAMCALLs in flight. A leaf that works on an S-EPT entry holds that entry's lock from its start to
   * its end, and its end is the calling actor's next step (seamcallEnd): another actor's SEAMCALL on the same
   * entry meanwhile answers TDX_OPERAND_BUSY|RCX ("entry lock contention -> BUSY|RCX", MOD-*, kernel-facts.md
   * 2.7). A 2M-level leaf holds the 2M entry, which covers every 4K entry under it; a 4K-level leaf holds its
   * own entry. Each also holds the TD's S-EPT tree lock: shared, except BLOCK, which "takes the S-EPT tree lock
   * exclusive" (MOD-block), so a BLOCK and any other S-EPT SEAMCALL in flight at once make the later one BUSY
   * [A: the other leaves take it shared]. An actor is inside at most one SEAMCALL, so a new one replaces what
   * it held.
   */
  private readonly entryHolds: EntryHold[] = [];
  /** The actor inside TDH.MEM.TRACK, holding the TD epoch lock until its end (MOD-track); -1 when free. */
  private epochHolder = -1;
  /** The actor whose step runs now (the System points this at its scheduler's choice; 0 with one actor). */
  actorNow: () => number = () => 0;

  /** Does another actor's SEAMCALL hold the entry of (gfn, level), one covering it or covered by it, or the tree lock against us? */
  private heldByOther(gfn: number, level: Level, actor: number, treeExclusive = false): boolean {
    const r = this.region(gfn);
    const g = level === L2M ? -1 : gfn;
    for (const h of this.entryHolds) if (h.actor >= 0 && h.actor !== actor && (h.treeExclusive || treeExclusive || (h.region === r && (h.gfn < 0 || g < 0 || h.gfn === g)))) return true;
    return false;
  }

  /**
   * A host SEAMCALL takes the entry lock of (gfn, level) and the tree lock: false (BUSY) when a vCPU inside
   * ACCEPT or another host actor inside a SEAMCALL holds them; otherwise the caller holds them until seamcallEnd.
   */
  private lockEntry(gfn: number, level: Level, treeExclusive = false): boolean {
    if (gfn < 0) return true;
    if (this.acceptHolder[this.region(gfn)] >= 0) return false;
    const actor = this.actorNow();
    if (this.heldByOther(gfn, level, actor, treeExclusive)) return false;
    this.dropHolds(actor);
    // a released hold (actor -1) is taken again: a SEAMCALL per step allocates nothing (the order of holds is never read)
    let h: EntryHold | undefined;
    for (const x of this.entryHolds) if (x.actor < 0) h = x;
    if (!h) this.entryHolds.push((h = { actor, region: 0, gfn: -1, treeExclusive: false }));
    h.actor = actor;
    h.region = this.region(gfn);
    h.gfn = level === L2M ? -1 : gfn;
    h.treeExclusive = treeExclusive;
    return true;
  }

  private dropHolds(actor: number): void {
    for (const h of this.entryHolds) if (h.actor === actor) h.actor = -1; // released: kept for the next hold
    if (this.epochHolder === actor) this.epochHolder = -1;
  }

  /** The SEAMCALL `actor` was inside returned (its next step began): the entry and epoch locks it held are free. */
  seamcallEnd(actor: number): void {
    this.dropHolds(actor);
  }

  /** TDX_OPERAND_BUSY answers from contention (not injected), a campaign statistic. */
  contentionBusy = 0;

  private busy(detail: number = RCX): SeamStatus {
    this.contentionBusy++;
    return status('TDX_OPERAND_BUSY', detail);
  }

  /** The vCPU begins TDG.MEM.PAGE.ACCEPT at gfn: it holds the entry until tdgAcceptDone or its exit. */
  tdgAcceptBegin(vcpu: number, gfn: number): void {
    this.acceptHolder[this.region(gfn)] = vcpu;
  }

  /** The vCPU's TDCALL finished or it left the guest: it holds no entry lock any more. */
  private releaseEntries(vcpu: number): void {
    for (let r = 0; r < this.acceptHolder.length; r++) if (this.acceptHolder[r] === vcpu) this.acceptHolder[r] = -1;
  }

  tdgAcceptDone(vcpu: number): void {
    this.releaseEntries(vcpu);
  }

  /** TDH.VP.ENTER of vCPU `vcpu`: it runs in the current TD epoch until it exits. */
  vpEnter(vcpu: number): void {
    this.vcpuEntryEpoch[vcpu] = this.epoch;
  }

  /** The vCPU left the guest (an exit or a kick): it holds no TLB epoch any more. */
  vpExit(vcpu: number): void {
    this.vcpuEntryEpoch[vcpu] = -1;
    this.releaseEntries(vcpu);
  }

  /**
   * TDH.MEM.TRACK: advance the TD epoch (MOD-track). KVM kicks the vCPUs afterwards. A vCPU still running
   * in an epoch older than the current one (it entered before the previous TRACK and was never kicked out)
   * makes it fail with TDX_PREVIOUS_TLB_EPOCH_BUSY (kernel-facts.md 2.3).
   */
  tdhMemTrack(): SeamStatus {
    const leaf = 'TDH.MEM.TRACK';
    const f = this.forced(leaf, OPERAND_ID.TD_EPOCH); // epoch lock contention (MOD-track)
    if (f) return this.ret(leaf, -1, -1, -1, f, true);
    // the TD epoch lock is held from TRACK's start to its end: another TRACK meanwhile is BUSY|TD_EPOCH
    const actor = this.actorNow();
    if (this.epochHolder >= 0 && this.epochHolder !== actor) return this.ret(leaf, -1, -1, -1, this.busy(OPERAND_ID.TD_EPOCH));
    this.dropHolds(actor);
    this.epochHolder = actor;
    if (this.vcpuEntryEpoch.some((e) => e >= 0 && e < this.epoch)) return this.ret(leaf, -1, -1, -1, status('TDX_PREVIOUS_TLB_EPOCH_BUSY'));
    this.epoch++;
    return this.ret(leaf, -1, -1, -1, SUCCESS);
  }

  /** TDH.MEM.PAGE.DEMOTE: a blocked, tracked 2M leaf becomes a table of 4K leaves in the same state (MOD-demote). */
  tdhMemPageDemote(gfn: number, newSeptPfn: number, guestPair: [number, number] | null = null): SeamStatus {
    const leaf = 'TDH.MEM.PAGE.DEMOTE';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, L2M, newSeptPfn, f, true);
    if (!this.lockEntry(gfn, L2M)) return this.ret(leaf, gfn, L2M, newSeptPfn, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    const cur = s.e2m[r];
    const nonBlocking = this.features.nonBlockingResize && (cur === S.MAPPED || cur === S.PENDING);
    if (!nonBlocking && cur !== S.BLOCKED && cur !== S.PENDING_BLOCKED) {
      const st = cur === S.MAPPED || cur === S.PENDING ? 'TDX_GPA_RANGE_NOT_BLOCKED' : 'TDX_EPT_ENTRY_STATE_INCORRECT';
      return this.ret(leaf, gfn, L2M, newSeptPfn, status(st, RCX));
    }
    if (!nonBlocking && !this.tracked(s.bepoch2m[r])) return this.ret(leaf, gfn, L2M, newSeptPfn, status('TDX_TLB_TRACKING_NOT_DONE', RCX));
    if (this.pamt[newSeptPfn] !== PamtType.NDA) return this.ret(leaf, gfn, L2M, newSeptPfn, status('TDX_PAGE_METADATA_INCORRECT', 0x08));
    if (this.no4kPamt(newSeptPfn)) return this.ret(leaf, gfn, L2M, newSeptPfn, status('TDX_OPERAND_INVALID', 0x08));
    const pfn = s.pfn2m[r];
    // DPAMT: the 512 new 4K PAMT entries of the guest 2M region live in a pair handed in from the split cache
    // (steps 3.4-3.5, 003:L282-289).
    const guestRegion = this.pamtRegion(pfn);
    const needPair = this.features.dpamt && !this.pairInstalled(guestRegion);
    if (needPair && (!guestPair || this.pamt[guestPair[0]] !== PamtType.NDA || this.pamt[guestPair[1]] !== PamtType.NDA)) {
      return this.ret(leaf, gfn, L2M, newSeptPfn, status('TDX_OPERAND_INVALID', 0x04));
    }
    if (needPair && guestPair) {
      this.pamtPair[2 * guestRegion] = guestPair[0];
      this.pamtPair[2 * guestRegion + 1] = guestPair[1];
      this.pamt[guestPair[0]] = PamtType.PAMT_PAIR;
      this.pamt[guestPair[1]] = PamtType.PAMT_PAIR;
    }
    const child = cur === S.BLOCKED || cur === S.MAPPED ? S.MAPPED : S.PENDING; // "If the page was blocked, it gets unblocked"
    const base = r * this.ptrs;
    for (let i = 0; i < this.ptrs; i++) {
      s.e4k[base + i] = child;
      s.pfn4k[base + i] = pfn + i;
      this.pamt[pfn + i] = PamtType.REG_4K;
    }
    s.e2m[r] = S.NL_MAPPED;
    s.pfn2m[r] = -1;
    s.table[r] = newSeptPfn;
    this.pamt[newSeptPfn] = PamtType.SEPT;
    this.phys.dirtyHkid[newSeptPfn] = this.hkid;
    return this.ret(leaf, gfn, L2M, newSeptPfn, SUCCESS);
  }

  /**
   * TDH.MEM.PAGE.PROMOTE: a blocked, tracked 4K table whose children are all PENDING or all MAPPED ("all
   * PENDING or all ACCEPTED", 003:L244-245) over 2M-contiguous pfns becomes one 2M leaf; the S-EPT page is
   * released. Returns the status; the released table page is in `sept.table` no more.
   */
  tdhMemPagePromote(gfn: number): SeamStatus {
    const leaf = 'TDH.MEM.PAGE.PROMOTE';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, L2M, -1, f, true);
    if (!this.lockEntry(gfn, L2M)) return this.ret(leaf, gfn, L2M, -1, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    if (s.e2m[r] !== S.NL_BLOCKED) return this.ret(leaf, gfn, L2M, -1, status(s.e2m[r] === S.NL_MAPPED ? 'TDX_GPA_RANGE_NOT_BLOCKED' : 'TDX_EPT_ENTRY_STATE_INCORRECT', RCX));
    if (!this.tracked(s.bepoch2m[r])) return this.ret(leaf, gfn, L2M, -1, status('TDX_TLB_TRACKING_NOT_DONE', RCX));
    const base = r * this.ptrs;
    const first = s.e4k[base];
    const pfn0 = s.pfn4k[base];
    let ok = (first === S.PENDING || first === S.MAPPED) && pfn0 >= 0 && pfn0 % this.ptrs === 0;
    for (let i = 1; i < this.ptrs && ok; i++) ok = s.e4k[base + i] === first && s.pfn4k[base + i] === pfn0 + i;
    if (!ok) return this.ret(leaf, gfn, L2M, -1, status('TDX_EPT_INVALID_PROMOTE_CONDITIONS', RCX));
    const table = s.table[r];
    for (let i = 0; i < this.ptrs; i++) {
      this.pamt[pfn0 + i] = PamtType.REG_2M;
      s.e4k[base + i] = S.FREE;
      s.pfn4k[base + i] = -1;
    }
    this.pamt[table] = PamtType.NDA;
    s.table[r] = -1;
    s.e2m[r] = first;
    s.pfn2m[r] = pfn0;
    return this.ret(leaf, gfn, L2M, table, SUCCESS);
  }

  /** TDH.MEM.PAGE.REMOVE: a blocked, tracked leaf becomes FREE; its pages go back to PAMT NDA. */
  tdhMemPageRemove(gfn: number, level: Level): SeamStatus {
    const leaf = 'TDH.MEM.PAGE.REMOVE';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, gfn, level, -1, f, true);
    if (!this.lockEntry(gfn, level)) return this.ret(leaf, gfn, level, -1, this.busy());
    const s = this.sept;
    const r = this.region(gfn);
    if (level === L4K && s.e2m[r] !== S.NL_MAPPED) return this.ret(leaf, gfn, level, -1, status('TDX_EPT_WALK_FAILED', RCX));
    const cur = level === L2M ? s.e2m[r] : s.e4k[gfn];
    if (cur !== S.BLOCKED && cur !== S.PENDING_BLOCKED) {
      const st = cur === S.FREE ? 'TDX_EPT_ENTRY_FREE' : cur === S.MAPPED || cur === S.PENDING ? 'TDX_GPA_RANGE_NOT_BLOCKED' : 'TDX_EPT_ENTRY_STATE_INCORRECT';
      return this.ret(leaf, gfn, level, -1, status(st, RCX));
    }
    const bepoch = level === L2M ? s.bepoch2m[r] : s.bepoch4k[gfn];
    if (!this.tracked(bepoch)) return this.ret(leaf, gfn, level, -1, status('TDX_TLB_TRACKING_NOT_DONE', RCX));
    const n = level === L2M ? this.ptrs : 1;
    const pfn = level === L2M ? s.pfn2m[r] : s.pfn4k[gfn];
    for (let i = 0; i < n; i++) this.pamt[pfn + i] = PamtType.NDA;
    if (level === L2M) {
      s.e2m[r] = S.FREE;
      s.pfn2m[r] = -1;
    } else {
      s.e4k[gfn] = S.FREE;
      s.pfn4k[gfn] = -1;
    }
    return this.ret(leaf, gfn, level, pfn, SUCCESS);
  }

  /** TDH.PHYMEM.PAGE.WBINVD (tdh_phymem_page_wbinvd_hkid): write back and invalidate one 4K page's TD cache lines. */
  tdhPhymemPageWbinvd(pfn: number): SeamStatus {
    const leaf = 'TDH.PHYMEM.PAGE.WBINVD';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, -1, L4K, pfn, f, true);
    if (this.hkid < 0) return this.ret(leaf, -1, L4K, pfn, status('TDX_KEY_STATE_INCORRECT', 0));
    this.phys.dirtyHkid[pfn] = -1;
    return this.ret(leaf, -1, L4K, pfn, SUCCESS);
  }

  // ---- HKID release and reclaim (kernel-facts.md 2.4) ---------------------------------------------

  /** TDH.MNG.VPFLUSHDONE: every vCPU was flushed (TDH.VP.FLUSH); the TD stops being able to run. */
  tdhMngVpflushdone(): SeamStatus {
    const leaf = 'TDH.MNG.VPFLUSHDONE';
    const f = this.forced(leaf, OPERAND_ID.TDR);
    if (f) return this.ret(leaf, -1, -1, -1, f, true);
    if (this.hkid < 0) return this.ret(leaf, -1, -1, -1, status('TDX_KEY_STATE_INCORRECT', OPERAND_ID.TDR));
    this.vpFlushDone = true;
    return this.ret(leaf, -1, -1, -1, SUCCESS);
  }

  /** TDH.PHYMEM.CACHE.WB: write back every cache line tagged with the TD's HKID [A: all pages at once]. */
  tdhPhymemCacheWb(): SeamStatus {
    const leaf = 'TDH.PHYMEM.CACHE.WB';
    const f = this.forced(leaf);
    if (f && statusIs(f, 'TDX_NO_HKID_READY_TO_WBCACHE')) {
      // "nothing to write back": the lines are clean, as after a write-back
      const d = this.phys.dirtyHkid;
      for (let p = 0; p < d.length; p++) if (d[p] === this.hkid) d[p] = -1;
      this.cacheWbDone = true;
    }
    if (f) return this.ret(leaf, -1, -1, -1, f, true);
    if (!this.vpFlushDone || this.hkid < 0) return this.ret(leaf, -1, -1, -1, status('TDX_NO_HKID_READY_TO_WBCACHE'));
    const d = this.phys.dirtyHkid;
    for (let p = 0; p < d.length; p++) if (d[p] === this.hkid) d[p] = -1;
    this.cacheWbDone = true;
    return this.ret(leaf, -1, -1, -1, SUCCESS);
  }

  /** TDH.MNG.KEY.FREEID: the HKID goes back to the pool; the TD is in teardown from here on. */
  tdhMngKeyFreeid(): SeamStatus {
    const leaf = 'TDH.MNG.KEY.FREEID';
    const f = this.forced(leaf, OPERAND_ID.TDR);
    if (f) return this.ret(leaf, -1, -1, -1, f, true);
    if (this.hkid < 0 || !this.cacheWbDone) return this.ret(leaf, -1, -1, -1, status('TDX_KEY_STATE_INCORRECT', OPERAND_ID.TDR));
    this.hkid = -1;
    return this.ret(leaf, -1, -1, -1, SUCCESS);
  }

  /**
   * TDH.PHYMEM.PAGE.RECLAIM: take a TD-owned page back from a TD whose HKID is released ("allowed only
   * when destroying the TD", kernel-facts.md 2.4). An S-EPT page takes its 2M entry with it.
   */
  tdhPhymemPageReclaim(pfn: number): SeamStatus {
    const leaf = 'TDH.PHYMEM.PAGE.RECLAIM';
    const f = this.forced(leaf);
    if (f) return this.ret(leaf, -1, -1, pfn, f, true);
    if (this.hkid >= 0) return this.ret(leaf, -1, -1, pfn, status('TDX_KEY_STATE_INCORRECT', OPERAND_ID.TDR));
    const t = this.pamt[pfn];
    if (t === PamtType.NDA) return this.ret(leaf, -1, -1, pfn, status('TDX_PAGE_METADATA_INCORRECT', RCX));
    if (t === PamtType.SEPT) {
      const r = this.sept.table.indexOf(pfn);
      if (r >= 0) {
        this.sept.e2m[r] = S.FREE;
        this.sept.table[r] = -1;
        this.sept.e4k.fill(S.FREE, r * this.ptrs, (r + 1) * this.ptrs);
        this.sept.pfn4k.fill(-1, r * this.ptrs, (r + 1) * this.ptrs);
      }
    }
    this.pamt[pfn] = PamtType.NDA;
    return this.ret(leaf, -1, -1, pfn, SUCCESS);
  }

  /** TD creation: the S-EPT pages above the 2M level (TDH.MEM.SEPT.ADD at PD/PDPT level) [M]. */
  addUpperSeptPage(pfn: number): void {
    if (this.no4kPamt(pfn)) throw new Error(`S-EPT page 0x${pfn.toString(16)} added without a PAMT pair`);
    this.pamt[pfn] = PamtType.SEPT;
    this.phys.dirtyHkid[pfn] = this.hkid;
  }

  /** TD creation: TDR, TDCS and one TDVPR become TD control pages (TDH.MNG.CREATE/ADDCX, TDH.VP.CREATE) [A]. */
  addControlPage(pfn: number): void {
    if (this.no4kPamt(pfn)) throw new Error(`control page 0x${pfn.toString(16)} added without a PAMT pair`);
    this.pamt[pfn] = PamtType.CTRL;
    this.phys.dirtyHkid[pfn] = this.hkid;
  }

  // ---- guest side (TD context) -------------------------------------------------------------------

  /** A private access by the guest: the pfn it reaches, ACCESS_VE, or ACCESS_EPT_VIOLATION. */
  guestAccess(gfn: number): number {
    const s = this.sept;
    const r = this.region(gfn);
    const e = s.e2m[r];
    if (e === S.MAPPED) return s.pfn2m[r] + (gfn - r * this.ptrs);
    if (e === S.PENDING) return ACCESS_VE;
    if (e !== S.NL_MAPPED) return ACCESS_EPT_VIOLATION;
    const c = s.e4k[gfn];
    if (c === S.MAPPED) return s.pfn4k[gfn];
    if (c === S.PENDING) return ACCESS_VE;
    return ACCESS_EPT_VIOLATION;
  }

  /** TDG.MEM.PAGE.ACCEPT, following check_tdaccept_failure (kernel-facts.md 2.6). */
  tdgMemPageAccept(gfn: number, level: Level): AcceptResult {
    const leaf = 'TDG.MEM.PAGE.ACCEPT';
    const f = this.forced(leaf);
    if (f) return this.acceptRet(gfn, level, { kind: 'status', st: f }, true);
    // a host actor inside a SEAMCALL holds the entry: "entry lock contention -> TDX_OPERAND_BUSY | RCX to the
    // guest" (MOD-accept, kernel-facts.md 2.6); the guest issues the TDCALL again
    if (this.heldByOther(gfn, level, this.actorNow())) return this.acceptRet(gfn, level, { kind: 'status', st: this.busy() });
    const s = this.sept;
    const r = this.region(gfn);
    const e = s.e2m[r];
    const violation: AcceptResult = { kind: 'ept-violation', level };
    if (level === L2M) {
      if (e === S.PENDING) {
        s.e2m[r] = S.MAPPED;
        this.zero(s.pfn2m[r], this.ptrs);
        return this.acceptRet(gfn, level, { kind: 'status', st: SUCCESS });
      }
      if (e === S.MAPPED) return this.acceptRet(gfn, level, { kind: 'status', st: status('TDX_PAGE_ALREADY_ACCEPTED', L2M) });
      // a non-free non-leaf entry at the requested level: the host mapped 4K (003:L187-188)
      if (e === S.NL_MAPPED || e === S.NL_BLOCKED) return this.acceptRet(gfn, level, { kind: 'status', st: status('TDX_PAGE_SIZE_MISMATCH', L2M) });
      return this.acceptRet(gfn, level, violation); // FREE or blocked leaf
    }
    if (e === S.MAPPED) return this.acceptRet(gfn, level, { kind: 'status', st: status('TDX_PAGE_ALREADY_ACCEPTED', L2M) });
    if (e !== S.NL_MAPPED) return this.acceptRet(gfn, level, violation); // missing table, or PENDING/BLOCKED 2M leaf above
    const c = s.e4k[gfn];
    if (c === S.PENDING) {
      s.e4k[gfn] = S.MAPPED;
      this.zero(s.pfn4k[gfn], 1);
      return this.acceptRet(gfn, level, { kind: 'status', st: SUCCESS });
    }
    if (c === S.MAPPED) return this.acceptRet(gfn, level, { kind: 'status', st: status('TDX_PAGE_ALREADY_ACCEPTED', L4K) });
    return this.acceptRet(gfn, level, violation);
  }

  private acceptRet(gfn: number, level: Level, r: AcceptResult, forced = false): AcceptResult {
    if (r.kind === 'status') this.ret('TDG.MEM.PAGE.ACCEPT', gfn, level, -1, r.st, forced);
    else {
      this.trace.mixInt(0x7e7e);
      if (this.trace.lines) this.trace.note(`TDG.MEM.PAGE.ACCEPT(gfn=0x${gfn.toString(16)} level=${level === L2M ? '2M' : '4K'}) -> EPT violation exit (ACCEPT, ${level === L2M ? '2M' : '4K'})`);
    }
    return r;
  }

  /** ACCEPT initialises the page contents to zero [A]. */
  private zero(pfn: number, n: number): void {
    for (let i = 0; i < n; i++) this.phys.content[pfn + i] = 0;
  }
}
