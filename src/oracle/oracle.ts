// The oracle: runs the named invariants incrementally after each atomic step (on the 2M ranges the step
// touched), the quiescent invariants on every range and the reference comparison after each operation (with
// one actor every op end is a quiescent point), and the liveness watchdogs. It reads model state and never
// asks the model what is right (principle 4).
import { i32, u8 } from '../model/arena.js';
import { EIO } from '../model/errno.js';
import type { Op } from '../model/ops.js';
import type { OpOutcome } from '../model/outcome.js';
import type { System } from '../model/system.js';
import { SeptState } from '../model/tdx/sept.js';
import { Spte } from '../model/kvm/mirror.js';
import { faultKind, isTolerable } from './faultClass.js';
import { checkLeafInvariants, checkMirrorMatchesSept, checkMixed, checkNoTransient, clauseIndex, detectionOf, hugeMappingMisfit } from './invariants.js';
import { L2M, L4K, type Leaf, type Level } from '../model/tdx/leaf.js';
import type { KvmHook } from '../model/trace.js';
import { Reference, UNKNOWN, YES } from './reference.js';
import { checkHostMappings, checkPoisonedPrivateMappings } from './invariants.js';
import { PageChecks } from './pamt.js';
import type { FaultSite, FiredFault } from '../model/faults.js';
import { anySlotDeleted, attrPrivate, indexOf, type LeafView, septLeafOf, slotAt } from './view.js';
import { FolioWatch } from './folios.js';
import { exitRange, memoryFaultExit, PAGE_SIZE, sameExit } from '../model/kvm/exit.js';
import { LifetimeChecker } from './lifetime.js';
import { combineGroupStates, independentGroups, type Group } from './locality.js';
import { attributeOrders } from './attributeOrders.js';
import { LockView } from './locks.js';
import { hugetlbBacking, kvmLoopsOnInterruptedDemote, originalFolioPages, unacceptedAccessKillsVm, uafIsFailureOf } from './policy.js';
import { isVmIoctl } from '../model/vocab/index.js';
import { expect2M, unmergedFolios } from './perf.js';
import { isIoctl } from '../model/outcome.js';
import { isOperandBusy, isSuccess, type SeamStatus, statusIs } from '../model/tdx/status.js';
import { PfnKind } from '../model/host/phys.js';
import { PamtType } from '../model/tdx/module.js';

export interface Violation {
  inv: string;
  message: string;
  /** Which clause of the invariant fired (index into its `clauses`), when it has several. */
  clause?: number;
  /** A damage violation found at the same check as a structural one, which it outranks: that one. */
  supersedes?: Violation;
}

/** Damage first: `damage` if any (carrying the structural it outranks), else `structural`. */
function damageFirst(damage: Violation | null, structural: Violation | null): Violation | null {
  if (damage && isStructural(damage)) return structural ?? damage;
  if (damage) return structural ? { ...damage, supersedes: structural } : damage;
  return structural;
}

/** Clauses the oracle reports by index (src/oracle/invariants.ts names them). */
const C = {
  inv6Promote: clauseIndex('INV-6', 'TDH.MEM.PAGE.PROMOTE'),
  inv6Table: clauseIndex('INV-6', 'a 4K table'),
  inv8Write: clauseIndex('INV-8', 'GUEST_INHIBIT is only written'),
  inv8Cleared: clauseIndex('INV-8', 'GUEST_INHIBIT is never cleared'),
  inv13Underflow: clauseIndex('INV-13', 'the split cache never underflows'),
  inv13Drop: clauseIndex('INV-13', 'the splitter dequeues without dropping'),
  inv13Dequeue: clauseIndex('INV-13', 'dequeue under'),
  inv13Enqueue: clauseIndex('INV-13', 'enqueue under'),
  inv17Death: clauseIndex('INV-17', 'a benign TDX_OPERAND_BUSY never kills'),
  inv17Retry: clauseIndex('INV-17', 'the retry after the kick'),
  inv19Track: clauseIndex('INV-19', 'REMOVE and DEMOTE only after'),
  inv19Tlb: clauseIndex('INV-19', 'after REMOVE no vCPU TLB'),
  inv24Liveness: clauseIndex('INV-24', 'a folio split or merge never waits forever'),
  inv29Enter: clauseIndex('INV-29', 'after the VM is bugged no vCPU'),
  inv29Eio: clauseIndex('INV-29', 'after the VM is bugged VM ioctls'),
  inv29State: clauseIndex('INV-29', 'a VM ioctl that fails'),
  inv30Edi: clauseIndex('INV-30', 'huge pages only'),
  inv30Bounded: clauseIndex('INV-30', 'every SEAMCALL retry loop'),
} as const;

/** A structural violation: a rule broken before any damage; the case goes on to see whether damage follows. */
const isStructural = (v: Violation | null): boolean => !!v && detectionOf(v) === 'structural';

/** TDX_SEAMCALL_RETRIES: the most retries KVM makes of a SEAMCALL it loops on (kernel-facts.md 2.4). */
const KERNEL_RETRY_BOUND = 10000;

/** Liveness bounds (model-spec.md 8 layer 3). */
export const WATCHDOG = {
  /** EPT violations one guest access or 4K ACCEPT may take (INV-10: "within K"); 2M fallbacks get K per 4K page. */
  eptViolationsPerGuestOp: 8,
  /** Atomic steps one operation may take before the watchdog ends it. */
  stepsPerOp: 200_000,
  /** Waits for safe folio refcounts one operation may make (INV-24); a transient reference costs one. */
  refcountWaits: 64,
  /** DEMOTE restarts one operation may make on TDX_INTERRUPTED_RESTARTABLE (INV-30). */
  demoteRestarts: 1000,
};

/**
 * What the oracle knows about one running operation. With several actors each has its own, and the
 * scheduler selects the context of the actor it steps (select), so "this op" means the stepped actor's op.
 */
export class OpCtx {
  /** Index of fired faults when the op began: its faults are after it, tagged with its op index. */
  firedAtOpStart = 0;
  stepInOp = 0;
  /** This op met the lasting effect of an earlier failure that dooms the VM by design (a 2M AUG refused). */
  doomedThisOp = false;
  /** The VM was already bugged when the op began. */
  deadAtOpStart = false;
  /** The VM and guest_memfd were already torn down (destroy ran) when the op began. */
  destroyedAtOpStart = false;
  /** INV-29: fingerprint of KVM's state when a VM ioctl began on a bugged VM. */
  deadStateAtOpStart = 0;
  /** A guest access to a page the reference does not know accepted, on a SEPT_VE_DISABLE TD: it may kill the VM. */
  unacceptedAccess = false;
  /** The module answered TDX_OPERAND_BUSY to this op with no fault injected: another actor contended. */
  contentionBusy = false;
  /** Global step at which the op began (real-time order of overlapping ops). */
  beganAt = 0;
  /** Per gfn, the global step at which the guest's last 4K ACCEPT of it got its answer (a fallback walk's pages end there). */
  acceptAnsweredAt: Map<number, number> | null = null;
  /** INV-10: the op's EPT violations and page-fault retries set aside (taken while its memslot was being deleted). */
  readonly liveness = { eptViolations: 0, pageFaultRetries: 0 };
  constructor(readonly op: Op, readonly opIndex: number) {}
}

/** An op that ended while another actor was inside an op: judged against the reference at the next quiescent point. */
interface Ended {
  ctx: OpCtx;
  out: OpOutcome;
  endedAt: number;
  /** Fault facts of the op, taken when it ended. */
  fatal: boolean;
  sites: ReadonlySet<FaultSite>;
  /** The memslot a walk over the range's memslots was visiting when the op's last site fault fired (-1: none). */
  siteSlot: number;
  injected: ReadonlySet<string>;
  /** The event before it in its actor's program order (a step of the same op split into events). */
  prev?: Ended;
}

/** The states, each distinct one once (by its hash), in order. */
function distinctStates(refs: readonly Reference[]): Reference[] {
  if (refs.length === 1) return [refs[0]]; // one state is distinct: no hashing (the one-actor path at every op end)
  const byHash = new Map<number, Reference>();
  for (const r of refs) {
    const h = r.stateHash();
    if (!byHash.has(h)) byHash.set(h, r);
  }
  return [...byHash.values()];
}

/** Per window of overlapping events: per event, the op kinds of the others (the linearizability search asks at every node). */
const OVERLAPPING = new WeakMap<readonly Ended[], Map<Ended, ReadonlySet<string>>>();

/** The op kinds of the events in `all` other than `e` (read only: cached per window). */
function overlappingKinds(all: readonly Ended[], e: Ended): ReadonlySet<string> {
  let byEvent = OVERLAPPING.get(all);
  if (!byEvent) OVERLAPPING.set(all, (byEvent = new Map()));
  let kinds = byEvent.get(e);
  if (!kinds) byEvent.set(e, (kinds = new Set(all.filter((o) => o !== e).map((o) => o.ctx.op.op))));
  return kinds;
}

/** The events an op was split into happen in that order: each must be placed after the one before it. */
function chainSplit(events: Ended[]): Ended[] {
  const out: Ended[] = [];
  for (const e of events) out.push(out.length ? { ...e, prev: out[out.length - 1] } : e);
  return out;
}

const NO_SITES: ReadonlySet<FaultSite> = new Set();
/** Reference applications one linearizability search may make. */
const LINEARIZE_BUDGET = 20_000;
/** Reference applications the search may make after the first order that fits, looking for other end states. */
const ALTERNATIVES_BUDGET = 2_000;
/** Reference states the oracle keeps alive at once (distinct states that serial orders of overlapping ops left). */
const MAX_REFS = 32;
const NO_FAULTS: ReadonlySet<string> = new Set();
const NOTHING_OVERLAPS: ReadonlySet<string> = new Set();
const NO_RANGES: readonly Extract<Op, { start: number }>[] = [];

/** The kinds of the ops `e` overlapped among `all`; one op alone (every op with one actor) overlaps nothing: the shared empty set. */
function overlapsOf(all: readonly Ended[], e: Ended): ReadonlySet<string> {
  return all.length === 1 && all[0] === e ? NOTHING_OVERLAPS : overlappingKinds(all, e);
}

export class Oracle {
  /**
   * The reference states the ops judged so far may have left. Overlapping ops can fit several serial orders
   * that leave different states (a memory failure before or after the punch that truncated its page), which
   * only a later op tells apart: every one is kept until an outcome or the guest view contradicts it, as
   * Porcupine keeps every order of a history alive (a single order picked early fails a later op that
   * another order explains). The first is the state of the first order found (completion order first).
   */
  private refs: Reference[];
  /** The first reference state (the per-op checks and the tests read it). */
  get ref(): Reference {
    return this.refs[0];
  }
  /** Every reference state kept (tests read them). */
  get states(): readonly Reference[] {
    return this.refs;
  }
  private readonly inhibitSeen: Uint8Array;
  /** The context of the op being stepped (a placeholder before the first op). */
  private c: OpCtx = new OpCtx({ op: 'finalize' }, -1);
  /** Ops that ended since the last quiescent point, in the order they ended. */
  private window: Ended[] = [];
  /** Global step count, as the scheduler reports it (real-time order of ops). */
  private globalStep = 0;
  /** Reported, not failed (accepted risks and expected-by-design events). */
  readonly notes: string[] = [];
  /** Performance findings: the first one fails the case only with failOnPerf. */
  readonly perf: { inv: string; message: string }[] = [];

  /** tdx_mmu_release_hkid() has begun (VPFLUSHDONE was issued). */
  private hkidReleaseTried = false;
  /** A violation seen at a SEAMCALL, reported at the end of the step that made the call. */
  private pending: Violation | null = null;

  private readonly lifetime: LifetimeChecker;
  private readonly pages: PageChecks;

  /** INV-14's split-cache arithmetic, counted from KVM's hooks: pages enqueued, dequeued and freed. */
  private splitEnq = 0;
  private splitDeq = 0;
  private splitFreed = 0;
  /** INV-6: per 2M range, the S-EPT linked a 4K table there while the TD was alive. */
  private readonly tableSeen: Uint8Array;
  /** INV-19: TD epoch at the last successful BLOCK, per 2M range (2M leaf) and per gfn (4K leaf); 0 = none. */
  private readonly blockEpoch2m: Int32Array;
  private readonly blockEpoch4k: Int32Array;
  /** Physical 2M regions whose PAMT.REMOVE failed, so the pair stays and the refcount was restored (INV-23). */
  private readonly pamtRestored: Uint8Array;
  /** SEPT_VE_DISABLE: an access to an unaccepted page kills the VM instead of raising #VE. */
  private readonly unacceptedAccessKills: boolean;
  /** KVM loops on TDX_INTERRUPTED_RESTARTABLE from DEMOTE (the G3-off workaround), so it is tolerable. */
  private readonly demoteLoops: boolean;
  /** gfn -> pfns of the IOMMU pins taken through it and not yet undone. */
  private readonly pinsByGfn = new Map<number, number[]>();
  /** Who holds which lock, from the lock events alone (INV-8, INV-12, INV-13). */
  private readonly locks = new LockView();
  /** INV-13: mmu_lock releases seen when step 2.1 last checked the split cache, or -1. */
  private readonly splitCheckedAt = new Int32Array(8).fill(-1);
  /** How guest_memfd's folios change (INV-24's refcount clause, GMEM-FOLIO). */
  private readonly folios: FolioWatch;

  constructor(private readonly sys: System) {
    this.refs = [new Reference(sys.design, sys.gfns)];
    this.lifetime = new LifetimeChecker(sys, uafIsFailureOf(sys.design));
    this.pages = new PageChecks(sys);
    this.inhibitSeen = u8(sys.regions);
    this.tableSeen = u8(sys.regions);
    this.demoteLoops = kvmLoopsOnInterruptedDemote(sys.design);
    this.unacceptedAccessKills = unacceptedAccessKillsVm(sys.design);
    this.pamtRestored = u8(Math.ceil(sys.phys.total / sys.ptrs));
    this.blockEpoch2m = i32(sys.regions);
    this.blockEpoch4k = i32(sys.gfns);
    this.folios = new FolioWatch(sys);
    sys.trace.observer = {
      seamcall: (leaf, gfn, level, pfn, st, forced) => this.onSeamcall(leaf, gfn, level, pfn, st, forced),
      hook: (name, gfn, level) => this.onHook(name, gfn, level),
      lock: (name, mode, acquire, path, actor) => {
        const bad = this.locks.onLock(name, mode, acquire, path, actor);
        if (bad && !this.pending) this.pending = { inv: name === 'mmu_lock' ? 'INV-12' : 'INV-13', message: bad };
      },
    };
  }

  /** Rules about what KVM asks of the TDX side. */
  private onHook(name: KvmHook, gfn: number, level: number): void {
    const sys = this.sys;
    if (name === 'split_cache_enqueue') this.splitEnq++;
    else if (name === 'split_cache_dequeue' && sys.kvm.splitCache.length >= gfn) this.splitDeq += gfn; // an underflow takes nothing
    else if (name === 'split_cache_free') this.splitFreed += gfn;
    else if (name === 'iommu_pin' || name === 'iommu_unpin') this.trackPin(name === 'iommu_pin', gfn, level); // bookkeeping, like the counts
    if (this.pending) return;
    if (name === 'host_access') {
      this.pending = this.hostAccess(gfn, level === 1);
      return;
    }
    if (name === 'guest_shared_access') {
      // INV-22: a page the guest reaches through the shared EPT is shared memory the host may map; it must
      // not still hold TD data. Judged before the access, so a shared write another actor makes between a
      // conversion's reset and its end is not taken for the TD's data at the conversion's end.
      this.pending = this.lifetime.handedToHost(gfn, 'reached by a guest shared access');
      return;
    }
    if (name === 'set_external_spte' && level > L2M) {
      this.pending = { inv: 'INV-5', message: `a private mapping of gfn 0x${gfn.toString(16)} larger than 2M was requested` };
      return;
    }
    if (name === 'set_external_spte' && level === L2M && sys.kvm.tdState !== 'RUNNABLE') {
      this.pending = { inv: 'INV-4', message: `2M private mapping of gfn 0x${gfn.toString(16)} requested at TD build time (PAGE.ADD is 4K only)` };
    } else if (name === 'split_cache_dequeue') {
      // INV-13: "the write mmu_lock is held across the checking of enough pages in cache in step 2.1 and the
      // page dequeuing in steps 3.2 and 3.4", under prealloc_split_cache_lock (003:L291-296).
      const k = sys.kvm;
      if (k.splitCache.length < gfn) this.pending = { inv: 'INV-13', clause: C.inv13Underflow, message: `split cache underflow: dequeue of ${gfn} pages from ${k.splitCache.length}: TDH.MEM.PAGE.DEMOTE gets no PAMT page` };
      else if (this.splitCheckedAt[sys.actor] !== this.locks.mmuReleasesBy(sys.actor)) {
        this.pending = { inv: 'INV-13', clause: C.inv13Drop, message: 'split cache dequeued after mmu_lock was dropped since the step 2.1 check' };
      } else if (!this.locks.holdsSplitCache(sys.actor)) this.pending = { inv: 'INV-13', clause: C.inv13Dequeue, message: 'split cache dequeued without prealloc_split_cache_lock' };
    } else if (name === 'split_cache_check') {
      this.splitCheckedAt[sys.actor] = this.locks.mmuReleasesBy(sys.actor);
    } else if (name === 'split_cache_enqueue' && !this.locks.holdsSplitCache(sys.actor)) {
      this.pending = { inv: 'INV-13', clause: C.inv13Enqueue, message: 'split cache enqueue without prealloc_split_cache_lock' };
    } else if (name === 'reclaim_external_sp' && sys.tdx.hkid >= 0 && this.c.op.op === 'destroy' && !this.hkidReleaseTried) {
      this.pending = { inv: 'INV-27', message: `teardown reclaims the S-EPT page of 2M range ${sys.region(gfn)} before the HKID is released` };
    }
  }

  /**
   * INV-25: host userspace never reads or writes a page the TD owns (003:L761), read from the PAMT; and
   * INV-22: a page that held TD data and left the TD was reset before the host sees it.
   */
  private hostAccess(pfn: number, write: boolean): Violation | null {
    const sys = this.sys;
    const how = write ? 'written' : 'read';
    if (sys.tdx.pamt[pfn] !== PamtType.NDA && !sys.tdx.noMoreSeamcalls) {
      const message = `host userspace ${how} pfn 0x${pfn.toString(16)}, which the TD owns (private data)`;
      if (!sys.kvm.bugged || uafIsFailureOf(sys.design)) return { inv: 'INV-25', message };
      this.notes.push(`ACCEPTED-RISK INV-25: ${message} after the VM was bugged (refcount policy NONE)`);
      return null;
    }
    return this.lifetime.handedToHost(pfn, `${how} by host userspace`);
  }

  /** Rules about the calls themselves, checked when they are made. One case per leaf: most calls need none. */
  private onSeamcall(leaf: Leaf, gfn: number, level: Level | -1, pfn: number, st: SeamStatus, forced: boolean): void {
    if (!forced && st.code !== 0 && isOperandBusy(st)) this.c.contentionBusy = true;
    switch (leaf) {
      case 'TDG.MEM.PAGE.ACCEPT':
        // when each page of a 2M ACCEPT's 4K walk got its answer: that page's event ends there (splitFallback)
        if (this.sys.otherUsers > 0 && level === L4K && (isSuccess(st) || statusIs(st, 'TDX_PAGE_ALREADY_ACCEPTED'))) (this.c.acceptAnsweredAt ??= new Map()).set(gfn, this.globalStep);
        return;
      case 'TDH.PHYMEM.PAMT.REMOVE':
        this.pamtRestored[(pfn / this.sys.ptrs) | 0] = isSuccess(st) ? 0 : 1;
        return;
      case 'TDH.MNG.VPFLUSHDONE':
        this.hkidReleaseTried = true; // after a failed release, leaking is right
        return;
      case 'TDH.MEM.SEPT.ADD':
        if (isSuccess(st) && expect2M(this.sys, this.sys.region(gfn))) {
          this.perf.push({ inv: 'PERF-2M', message: `a 4K table is linked for 2M range ${this.sys.region(gfn)}, which the design should map with one 2M leaf` });
        }
        return;
      case 'TDH.MNG.KEY.FREEID':
        if (!this.pending && isSuccess(st) && !this.sys.kvm.bugged && septHasLeaves(this.sys)) {
          this.pending = { inv: 'INV-27', message: 'HKID released while guest pages are still mapped in the S-EPT' };
        }
        return;
      case 'TDH.MEM.PAGE.AUG':
      case 'TDH.MEM.PAGE.ADD':
        this.onMapCall(leaf, gfn, level, pfn, st);
        return;
      case 'TDH.MEM.RANGE.BLOCK':
        if (isSuccess(st)) {
          if (level === L2M) this.blockEpoch2m[this.sys.region(gfn)] = this.sys.tdx.epoch;
          else this.blockEpoch4k[gfn] = this.sys.tdx.epoch;
        }
        this.busyAfterKick(leaf, st, forced);
        return;
      case 'TDH.MEM.TRACK':
        this.busyAfterKick(leaf, st, forced);
        return;
      case 'TDH.MEM.PAGE.REMOVE':
        if (!this.pending && isSuccess(st)) this.staleTlbAfterRemove(gfn, level);
        this.untrackedRemoval(leaf, gfn, st, forced);
        this.busyAfterKick(leaf, st, forced);
        return;
      case 'TDH.MEM.PAGE.DEMOTE':
        this.untrackedRemoval(leaf, gfn, st, forced);
        if (!this.pending && this.sys.kvm.tdState !== 'RUNNABLE') this.pending = { inv: 'INV-4', message: `${leaf} while the TD is being built` };
        if (!this.pending && !this.locks.holdsMmuWrite(this.sys.actor) && !this.sys.design.nonBlockingResize) {
          this.pending = { inv: 'INV-12', message: 'TDH.MEM.PAGE.DEMOTE for the mirror root without mmu_lock held for write' };
        }
        this.busyAfterKick(leaf, st, forced);
        return;
      case 'TDH.MEM.PAGE.PROMOTE':
        if (!this.pending && this.sys.kvm.tdState !== 'RUNNABLE') this.pending = { inv: 'INV-4', message: `${leaf} while the TD is being built` };
        if (!this.pending) {
          this.pending = { inv: 'INV-6', clause: C.inv6Promote, message: `TDH.MEM.PAGE.PROMOTE of gfn 0x${gfn.toString(16)} while the TD is active (merging is disallowed for the mirror root)` };
        }
        return;
      default:
        return;
    }
  }

  /** PAGE.AUG and PAGE.ADD: INV-3 for a 2M AUG, TDX-PFN, INV-30; pages that now hold TD data (INV-22). */
  private onMapCall(leaf: Leaf, gfn: number, level: Level | -1, pfn: number, st: SeamStatus): void {
    const sys = this.sys;
    const n = level === L2M ? sys.ptrs : 1;
    if (isSuccess(st) && pfn >= 0) this.lifetime.markTdData(pfn, n);
    // a 2M AUG over a region whose PAMT pair a failed PAMT.REMOVE left installed "fails for good" (003:L407)
    if (level === L2M && statusIs(st, 'TDX_HPA_RANGE_NOT_FREE') && this.pamtRestored[(pfn / sys.ptrs) | 0]) this.c.doomedThisOp = true;
    if (this.pending) return;
    if (leaf === 'TDH.MEM.PAGE.AUG' && level === L2M) {
      const m = hugeMappingMisfit(sys, gfn, pfn) ?? lpageDisallowed(sys, sys.region(gfn));
      if (m) {
        this.pending = { inv: 'INV-3', message: `TDH.MEM.PAGE.AUG requested: ${m}` };
        return;
      }
    }
    if (pfn >= 0) {
      for (let i = 0; i < n; i++) {
        if (sys.phys.kind[pfn + i] !== PfnKind.TDX_RAM) {
          this.pending = { inv: 'TDX-PFN', message: `${leaf} reached the module with ${PfnKind[sys.phys.kind[pfn + i]]} pfn 0x${(pfn + i).toString(16)} (BUG-22)` };
          return;
        }
      }
    }
    // INV-30, first clause: huge pages only where DEMOTE cannot be interrupted without bound (003:L35-37, L157-160)
    if (leaf === 'TDH.MEM.PAGE.AUG' && level === L2M && isSuccess(st) && !sys.design.enhancedDemoteInterruptibility) {
      this.pending = { inv: 'INV-30', clause: C.inv30Edi, message: `2M leaf at gfn 0x${gfn.toString(16)} on a TDX module without ENHANCED_DEMOTE_INTERRUPTIBILITY: splitting it relies on an unbounded DEMOTE retry loop` };
    }
  }

  /**
   * INV-19, second clause: after REMOVE no vCPU TLB may still hold the pfn (003:L228-230). The module's own
   * TLB-tracking check refuses such a REMOVE first (is_tlb_tracked), so only a hand-built test reaches this; it
   * catches a module that skips that check.
   */
  private staleTlbAfterRemove(gfn: number, level: Level | -1): void {
    const sys = this.sys;
    if (sys.kvm.tdState !== 'RUNNABLE') return;
    const blocked = level === L2M ? this.blockEpoch2m[sys.region(gfn)] : this.blockEpoch4k[gfn];
    const stale = sys.kvm.vcpus.findIndex((v) => v.tlbEpoch <= blocked);
    if (stale < 0) return;
    this.pending = {
      inv: 'INV-19',
      clause: C.inv19Tlb,
      message: `TDH.MEM.PAGE.REMOVE of gfn 0x${gfn.toString(16)} succeeded but vCPU ${stale} last flushed its TLB at epoch ${sys.kvm.vcpus[stale].tlbEpoch}, not after the BLOCK at epoch ${blocked}: it may still translate to the removed pfn`,
    };
  }

  /** INV-19, first clause: REMOVE or DEMOTE refused for want of TRACK (a TRACK that failed already bugged the VM). */
  private untrackedRemoval(leaf: Leaf, gfn: number, st: SeamStatus, forced: boolean): void {
    if (this.pending || forced || this.sys.kvm.bugged || !statusIs(st, 'TDX_TLB_TRACKING_NOT_DONE')) return;
    this.pending = { inv: 'INV-19', clause: C.inv19Track, message: `${leaf} of gfn 0x${gfn.toString(16)} without TDH.MEM.TRACK and a vCPU kick after the BLOCK` };
  }

  /**
   * INV-17: BUSY on the retry with every vCPU out means host-side contention: another host actor inside a
   * SEAMCALL on the same entry or TRACK, which mmu_lock held for write rules out (G4 off lets it happen).
   */
  private busyAfterKick(leaf: Leaf, st: SeamStatus, forced: boolean): void {
    if (this.pending || forced || !this.sys.kvm.waitForSeptZap || !isOperandBusy(st)) return;
    this.pending = { inv: 'INV-17', clause: C.inv17Retry, message: `${leaf} answered TDX_OPERAND_BUSY on the retry after every vCPU was kicked out: only another host actor inside a SEAMCALL can cause it` };
  }

  /** Where the oracle first saw the VM bugged (KVM_BUG_ON): op index and step within it; null while alive. */
  vmBuggedAt: { opIndex: number; step: number } | null = null;

  /** Ops begun so far (the default index of the next one). */
  private opsBegun = 0;

  /** An op begins (in the actor being stepped): its context becomes current; returns it for select(). */
  beginOp(op: Op, opIndex: number = this.opsBegun): OpCtx {
    this.opsBegun++;
    const c = (this.c = new OpCtx(op, opIndex));
    c.beganAt = this.globalStep;
    c.deadAtOpStart = this.sys.kvm.bugged;
    c.destroyedAtOpStart = this.sys.destroyed;
    c.firedAtOpStart = this.sys.inj.fired.length;
    // with ops of other actors not yet judged, the reference lags: any access may meet an unaccepted page
    const lagging = this.window.length > 0 || this.sys.otherUsers > 0;
    // a private access whose VMM converts the gfn to private meets a page no one accepted yet
    const convertsToPrivate = op.op === 'touch' && op.alias === 'private' && op.onExit === 'vmm';
    const unaccepted = (g: number): boolean => this.refs.some((ref) => ref.private[g] === 1 && ref.accepted[g] !== YES);
    c.unacceptedAccess = op.op === 'touch' && this.unacceptedAccessKills && (lagging || convertsToPrivate || unaccepted(op.gfn));
    if (c.deadAtOpStart && isVmIoctl(op, this.sys.design)) c.deadStateAtOpStart = kvmStateFingerprint(this.sys);
    return c;
  }

  /** The scheduler steps the actor running the op of `c` now. */
  select(c: OpCtx): void {
    this.c = c;
  }

  /**
   * Is the VM's death explained by what happened in the op that killed it: a fatal-by-design fault, or a
   * storm of tolerable ones on one call that outlasted the kernel's own retry bound (TDX_SEAMCALL_RETRIES
   * for CACHE.WB) so KVM gave up by design. A fatal fault in an earlier op explains nothing: the VM lived on.
   */
  private deathExplained(): boolean {
    if (this.fatalFaultThisOp() || this.c.doomedThisOp || this.c.unacceptedAccess) return true;
    // Memory TDX cannot convert (NON_TDX_PFN, NO_STRUCT_PFN) that a fault put in guest_memfd stays there: any
    // later fault on it may meet G22's refusal, which kills the VM by design (003:L651).
    return this.gmemHoldsUnconvertible() || this.retryBoundOutlastedThisOp();
  }

  /** A storm of tolerable faults on one call outlasted the kernel's own retry bound in this op: KVM gave up. */
  private retryBoundOutlastedThisOp(): boolean {
    const fired = this.sys.inj.fired;
    const perLeaf = new Map<string | null, number>();
    for (let k = this.c.firedAtOpStart; k < fired.length; k++) {
      if (fired[k].opIndex !== this.c.opIndex) continue;
      const n = (perLeaf.get(fired[k].leaf) ?? 0) + 1;
      if (n >= KERNEL_RETRY_BOUND) return true;
      perLeaf.set(fired[k].leaf, n);
    }
    return false;
  }

  /** Does guest_memfd hold a page that is not TDX-convertible RAM (read from the physical pages' kinds)? */
  private gmemHoldsUnconvertible(): boolean {
    // only a page such a fault put there: a model handing out one unasked is not explained by it
    if (!this.sys.inj.fired.some((f) => f.site === 'NON_TDX_PFN' || f.site === 'NO_STRUCT_PFN')) return false;
    const { pfn } = this.sys.gmem;
    const kind = this.sys.phys.kind;
    for (let i = 0; i < pfn.length; i++) if (pfn[i] >= 0 && kind[pfn[i]] !== PfnKind.TDX_RAM) return true;
    return false;
  }

  private sitesThisOp(): ReadonlySet<FaultSite> {
    const fired = this.sys.inj.fired;
    if (fired.length === this.c.firedAtOpStart) return NO_SITES;
    const out = new Set<FaultSite>();
    for (let k = this.c.firedAtOpStart; k < fired.length; k++) if (fired[k].site && fired[k].opIndex === this.c.opIndex) out.add(fired[k].site!);
    return out;
  }

  private siteSlotThisOp(): number {
    const fired = this.sys.inj.fired;
    let slot = -1;
    for (let k = this.c.firedAtOpStart; k < fired.length; k++) if (fired[k].site && fired[k].opIndex === this.c.opIndex) slot = fired[k].slot;
    return slot;
  }

  private injectedThisOp(): ReadonlySet<string> {
    const fired = this.sys.inj.fired;
    if (fired.length === this.c.firedAtOpStart) return NO_FAULTS;
    const out = new Set<string>();
    let last: FiredFault | null = null;
    for (let k = this.c.firedAtOpStart; k < fired.length; k++) {
      const f = fired[k];
      if (!f.leaf || f.opIndex !== this.c.opIndex) continue;
      if (last && f.leaf === last.leaf && f.status === last.status) continue; // a storm repeats one pair thousands of times
      out.add(`${f.leaf} ${f.status}`);
      last = f;
    }
    return out;
  }

  private fatalFaultSoFar(): boolean {
    for (const f of this.sys.inj.fired) if (!isTolerable(f, this.demoteLoops)) return true;
    return false;
  }

  private fatalFaultThisOp(): boolean {
    const fired = this.sys.inj.fired;
    for (let k = this.c.firedAtOpStart; k < fired.length; k++) if (fired[k].opIndex === this.c.opIndex && !isTolerable(fired[k], this.demoteLoops)) return true;
    return false;
  }

  /** "Always" invariants on what the step touched. */
  afterStep(): Violation | null {
    const sys = this.sys;
    this.c.stepInOp++;
    if (this.pending) {
      // reported once: after a structural violation the case goes on
      const p = this.pending;
      this.pending = null;
      return p;
    }
    if (sys.hostOops) return { inv: 'HOST-OOPS', message: sys.hostOops };
    // INV-14: split-cache pages = enqueued - dequeued - freed, at every step
    const inCache = this.splitEnq - this.splitDeq - this.splitFreed;
    if (sys.kvm.splitCache.length !== inCache) {
      return { inv: 'INV-14', message: `the split cache holds ${sys.kvm.splitCache.length} pages but ${this.splitEnq} enqueued - ${this.splitDeq} dequeued - ${this.splitFreed} freed = ${inCache}` };
    }
    const freed = this.lifetime.check(); // every free is judged at the step that made it
    if (freed) return freed;
    const handed = this.vmmHandedToHost();
    if (handed) return handed;
    const folio = this.folios.afterStep();
    if (folio) return folio;
    if (sys.touched.size === 0 && !sys.kvm.bugged) return null;
    if (sys.kvm.bugged && !this.vmBuggedAt) {
      this.vmBuggedAt = { opIndex: this.c.opIndex, step: this.c.stepInOp };
      if (!this.deathExplained()) return this.unexplainedDeath();
    }
    if (sys.kvm.bugged && sys.kvm.vcpus.some((v) => v.inGuest)) return { inv: 'INV-29', clause: C.inv29Enter, message: 'a vCPU entered the guest after the VM was bugged' };
    for (const r of sys.touched) {
      const v = this.checkRange(r);
      if (v) return v;
    }
    sys.touched.clear();
    return null;
  }

  /**
   * INV-22 for the VMM's conversions (the convert op's are judged at its end): a shared exit a vCPU's kvm_run
   * reports whose range the attribute now says shared in place was converted, so its pages are the host's and
   * must not hold TD data. Judged at the step the VMM re-enters, before the guest's access writes there.
   */
  private vmmHandedToHost(): Violation | null {
    const sys = this.sys;
    const op = this.c.op;
    if ((op.op !== 'touch' && op.op !== 'mapGpa') || op.onExit !== 'vmm' || sys.design.vmMemoryAttributes) return null;
    for (const vc of sys.kvm.vcpus) {
      const e = vc.run;
      if (!e || e.private) continue;
      const { start, end } = exitRange(e);
      for (let g = start; g < end; g++) {
        const idx = indexOf(sys, g);
        if (idx < 0 || attrPrivate(sys, g) || sys.gmem.pfn[idx] < 0) continue;
        const stale = this.lifetime.handedToHost(sys.gmem.pfn[idx], `converted to shared at gfn 0x${g.toString(16)} by the VMM`);
        if (stale) return stale;
      }
    }
    return null;
  }

  /** The VM died in this op with no fatal-by-design fault of this op to explain it. */
  private unexplainedDeath(): Violation {
    const all = this.sys.inj.fired;
    const fired = all.filter((f) => f.opIndex === this.c.opIndex);
    const others = all.filter((f) => f.opIndex !== this.c.opIndex);
    const faults = [...new Set(fired.map(faultKind))];
    const earlier = others.length > 0 ? `; other ops' faults (${[...new Set(others.map(faultKind))].join(', ')}) do not explain it` : '';
    const at = `at step ${this.vmBuggedAt!.step} of op ${this.vmBuggedAt!.opIndex}`;
    // INV-17: a tolerable TDX_OPERAND_BUSY must be absorbed by kicking the vCPUs and retrying once (003:L238-240)
    if (fired.some((f) => f.status === 'TDX_OPERAND_BUSY') || this.c.contentionBusy) {
      const why = faults.length ? faults.join(', ') : 'contention with another actor, no fault injected';
      return { inv: 'INV-17', clause: C.inv17Death, message: `a benign TDX_OPERAND_BUSY killed the VM ${at} (${why}): BUSY must be absorbed by kicking the vCPUs and retrying once` };
    }
    return { inv: 'VM-BUGGED', message: `VM bugged ${at} with ${faults.length ? 'only tolerable faults injected in that op (' + faults.join(', ') + ')' : 'no injected fault in that op'}${earlier}` };
  }

  /**
   * The "always" invariants of one 2M range: INV-1/2/3 on its leaves, INV-6's no-merge clause, INV-8's
   * one-way GUEST_INHIBIT. Run on the ranges a step touched, and on every range at every op end, so a path
   * that forgets to report what it touched cannot hide damage past the end of its op.
   */
  private checkRange(r: number): Violation | null {
    const sys = this.sys;
    const leaf = checkLeafInvariants(sys, r);
    if (leaf) return { inv: leaf[0], message: leaf[1] };
    // INV-6, second clause: once the S-EPT links a 4K table for the range, the mirror never maps it with a
    // 2M leaf again while the TD is active (003:L377). A table only in the mirror (a split rolled back
    // before it reached the S-EPT) does not count.
    if (sys.tdx.hkid >= 0 && !sys.kvm.bugged) {
      const e = sys.tdx.sept.e2m[r];
      if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) this.tableSeen[r] = 1;
      if (this.tableSeen[r] && sys.kvm.mirror.m2m[r] === Spte.LEAF) {
        return { inv: 'INV-6', clause: C.inv6Table, message: `the 4K page table of 2M range ${r} was replaced by a 2M leaf while the TD is active (merging is disallowed for the mirror root)` };
      }
    }
    const inh = sys.kvm.lpage.guestInhibit[r];
    if (inh !== this.inhibitSeen[r]) {
      // reported once per change: the case goes on after a structural violation
      this.inhibitSeen[r] = inh;
      if (inh === 0) return { inv: 'INV-8', clause: C.inv8Cleared, message: `GUEST_INHIBIT of 2M range ${r} was cleared` };
      if (!this.locks.holdsMmuWrite(sys.actor)) return { inv: 'INV-8', clause: C.inv8Write, message: `GUEST_INHIBIT of 2M range ${r} set without write mmu_lock` };
    }
    return null;
  }

  /** Liveness inside an op: EPT violations per guest op (INV-10), refcount waits (INV-24). */
  liveness(): Violation | null {
    const op = this.c.op;
    if (this.sys.counters.demoteRestarts > WATCHDOG.demoteRestarts) {
      return { inv: 'INV-30', clause: C.inv30Bounded, message: `TDH.MEM.PAGE.DEMOTE restarted ${this.sys.counters.demoteRestarts} times on TDX_INTERRUPTED_RESTARTABLE: an interrupt storm keeps the loop going (no maximum retry count)` };
    }
    if (this.sys.counters.refcountWaits > WATCHDOG.refcountWaits) {
      return { inv: 'INV-24', clause: C.inv24Liveness, message: `${op?.op} waited ${this.sys.counters.refcountWaits} times for folio references that are never dropped` };
    }
    if (op.op !== 'touch' && op.op !== 'accept') return null;
    const counted = this.c.liveness;
    // the VMM's progress resets the counters (a new KVM_RUN): what was set aside before goes with them
    if (this.sys.counters.eptViolations < counted.eptViolations) counted.eptViolations = counted.pageFaultRetries = 0;
    if (this.slotBeingDeletedUnder(op) || this.invalidationCovers(op)) {
      // "Bail if the memslot is invalid, i.e. is being deleted ... Resuming the guest will allow KVM to process
      // the deletion and synchronize SRCU" (tdx_handle_ept_violation): the vCPU waits for the deleting thread,
      // which waits for the vCPUs inside kvm->srcu; its EPT violations until the slot is gone are not its own
      // lack of progress. Likewise a fault on a gfn another actor's invalidation covers retries until it ends
      // (mmu_invalidate_retry_gfn), however long the invalidating actor takes to run again
      counted.eptViolations = this.sys.counters.eptViolations;
      counted.pageFaultRetries = this.sys.counters.pageFaultRetries;
      return null;
    }
    const k = this.sys.counters.eptViolations - counted.eptViolations;
    const retries = this.sys.counters.pageFaultRetries - counted.pageFaultRetries;
    const bound = WATCHDOG.eptViolationsPerGuestOp * (op.op === 'accept' && op.level === '2M' ? this.sys.ptrs + 1 : 1);
    if (k > bound || retries > bound * 4) {
      return { inv: 'INV-10', message: `${op.op} made no progress after ${k} EPT violations and ${retries} page-fault retries` };
    }
    return null;
  }

  /** Is a memslot that holds a gfn the guest op names being deleted (marked invalid, not yet gone)? */
  private slotBeingDeletedUnder(op: Extract<Op, { op: 'touch' | 'accept' }>): boolean {
    const k = this.sys.kvm;
    if (!k.slotInvalid.some((inv, s) => inv && !k.slotDeleted[s])) return false;
    const ptrs = this.sys.ptrs;
    const [lo, hi] = op.op === 'accept' && op.level === '2M' ? [op.gfn - (op.gfn % ptrs), op.gfn - (op.gfn % ptrs) + ptrs] : [op.gfn, op.gfn + 1];
    for (let g = lo; g < hi; g++) {
      const s = slotAt(this.sys, g);
      if (s >= 0 && k.slotInvalid[s] && !k.slotDeleted[s]) return true;
    }
    return false;
  }

  /** Another actor's invalidation (mmu_invalidate_in_progress and its range) covers the gfns of guest op `op`. */
  private invalidationCovers(op: Extract<Op, { op: 'touch' | 'accept' }>): boolean {
    const sys = this.sys;
    const kv = sys.kvm;
    if (sys.otherUsers === 0 || kv.invalidateInProgress === 0) return false;
    const huge = op.op === 'accept' && op.level === '2M';
    const lo = huge ? op.gfn - (op.gfn % sys.ptrs) : op.gfn;
    const hi = huge ? lo + sys.ptrs : op.gfn + 1;
    return kv.invalidateStart < hi && lo < kv.invalidateEnd;
  }


  /** The scheduler's global step count before the next step (orders overlapping ops in real time). */
  atStep(step: number): void {
    this.globalStep = step;
  }

  /**
   * After the op: per-op rules now; then, at a quiescent point (no other actor inside an op; always with one
   * actor), the reference comparison of every op that ended since the last one and the quiescent invariants.
   */
  endOp(out: OpOutcome, quiescent = true): Violation | null {
    const sys = this.sys;
    const op = this.c.op;
    if (op.op === 'convert' && op.to === 'shared' && !sys.design.vmMemoryAttributes) {
      // INV-22: a page converted to shared in place is the host's to map, so it must not hold the TD's data
      // (with KVM memory attributes the shared gfn is backed by other memory and the page stays in guest_memfd)
      for (let g = op.start; g < op.end; g++) {
        const idx = indexOf(sys, g);
        const pfn = idx < 0 || attrPrivate(sys, g) ? -1 : sys.gmem.pfn[idx];
        const stale = pfn >= 0 ? this.lifetime.handedToHost(pfn, `converted to shared at gfn 0x${g.toString(16)}`) : null;
        if (stale) return stale;
      }
    }
    if (this.lifetime.acceptedRisks.length) {
      const freedRisks = this.lifetime.acceptedRisks.splice(0);
      this.notes.push(freedRisks.length === 1 ? freedRisks[0] : `${freedRisks[0]} (and ${freedRisks.length - 1} more page(s) in this op)`);
    }
    // INV-28 holds when no fault was fatal; a storm that outlasted TDX_SEAMCALL_RETRIES leaks by design too
    // only the destroy that tore the VM down: a later one finds the fds closed (-EBADF) and judges nothing
    if (op.op === 'destroy' && sys.destroyed && !this.c.destroyedAtOpStart && quiescent && !this.fatalFaultSoFar() && !this.retryBoundOutlastedThisOp()) {
      const v = this.lifetime.checkTeardownComplete();
      if (v) return v;
    }
    // Named invariants about mappings first: a wrong mapping explains a wrong result, not the other way round.
    // A structural one is kept while the op's bookkeeping and the damage checks go on: damage comes first.
    let structural: Violation | null = null;
    for (let r = 0; r < sys.regions && !structural; r++) {
      const v = this.checkRange(r);
      if (v && !isStructural(v)) return v;
      structural = v;
    }
    if (op.op === 'convert' && op.to === 'private' && isIoctl(out) && out.ret === 0 && !sys.kvm.bugged) {
      const m = unmergedFolios(sys, op.start, op.end, (g) => this.ref.private[g] === 0); // the reference still holds the old attributes
      if (m) this.perf.push({ inv: 'INV-33', message: m });
    }
    // INV-29's no-change clause needs the op alone: another actor may change state meanwhile
    const alone = quiescent && this.window.length === 0;
    // REF-HOLE: likewise, another actor's fault may fill the hole again once the punch let go of the lock
    if (op.op === 'punch' && isIoctl(out) && out.ret === 0 && alone) {
      const v = pageLeftInHole(sys, op.start, op.end);
      if (v) return v;
    }
    if (op.op === 'convert' && op.to === 'shared' && isIoctl(out) && out.ret === 0 && alone) {
      const v = this.folios.convertedToShared(op.start, op.end, (g) => this.ref.private[g] === 1); // the reference still holds the old attributes
      if (v) structural ??= v;
    }
    if (this.c.deadAtOpStart && !sys.destroyed && isIoctl(out) && isVmIoctl(op, sys.design)) {
      if (out.ret !== -EIO) structural ??= { inv: 'INV-29', clause: C.inv29Eio, message: `${op.op} on a bugged VM returned ${out.ret}, not -EIO` };
      else if (alone && kvmStateFingerprint(sys) !== this.c.deadStateAtOpStart) structural ??= { inv: 'INV-29', clause: C.inv29State, message: `${op.op} on a bugged VM changed KVM or S-EPT state although it failed with -EIO` };
    }
    this.window.push({ ctx: this.c, out, endedAt: this.globalStep, fatal: this.fatalFaultThisOp(), sites: this.sitesThisOp(), siteSlot: this.siteSlotThisOp(), injected: this.injectedThisOp() });
    return damageFirst(quiescent ? this.quiescentPoint() : null, structural);
  }

  /** Every op in the window is judged against the reference, then the quiescent invariants run on every range. */
  private quiescentPoint(): Violation | null {
    const sys = this.sys;
    const window = this.window;
    this.window = [];
    const dead = sys.kvm.bugged || sys.destroyed;
    // host mappings of private pages and private mappings of poisoned pages may exist for a moment while
    // another actor's conversion or memory failure is on its way to zap them: judged when all is quiet
    const risks = this.risks; // one list for every op end: emptied after use
    const host = checkHostMappings(sys, risks, uafIsFailureOf(sys.design)) ?? checkPoisonedPrivateMappings(sys);
    for (const r of risks) if (!this.notes.includes(r)) this.notes.push(r);
    risks.length = 0;
    if (host) return host;
    const mismatch = window.length === 1 ? this.applyToEach(window) : this.linearize(window.flatMap((e) => chainSplit(splitFallback(e, this.sys.ptrs))));
    if (this.ref.knownDesignFindings.length) this.notes.push(...this.ref.knownDesignFindings.splice(0));
    for (const r of this.refs) r.knownDesignFindings.splice(0); // reported once, from the first state
    if (mismatch && !dead) return mismatch;
    if (sys.destroyed) return null;
    // structural findings are kept while the damage checks after them run: damage comes first
    let structural: Violation | null = null;
    const pages = this.pages.conservation() ?? (sys.kvm.bugged ? null : this.pages.dpamtRefcounts(this.pamtRestored));
    if (pages && !isStructural(pages)) return pages;
    structural = pages;
    for (let r = 0; r < sys.regions && !structural; r++) structural = this.quiescentRange(r);
    const view = dead ? null : this.keepStatesTheViewShows(window.length === 1 ? this.oneOp(window[0].ctx.op) : window.map((e) => e.ctx.op));
    return damageFirst(view, structural);
  }

  /**
   * One ended op, no other overlapping it: applied to every reference state; those whose prediction it
   * contradicts drop out. None left: the first state's mismatch (the states stay as they are).
   */
  private applyToEach(window: readonly Ended[]): Violation | null {
    // one state (always with one actor): it stays, or its mismatch is the answer, as keepStatesWhere decides
    if (this.refs.length === 1) return this.applySerial(window, this.refs[0]);
    return this.keepStatesWhere((r) => this.applySerial(window, r), true);
  }

  /** The guest view against every reference state: those it contradicts drop out; none left: the first one's violation. */
  private keepStatesTheViewShows(ops: readonly Op[]): Violation | null {
    if (this.refs.length === 1) return this.checkGuestView(ops, this.refs[0]); // as keepStatesWhere with one state
    return this.keepStatesWhere((r) => this.checkGuestView(ops, r), false);
  }

  /** Host-mapping risks of one quiescent point (reused: emptied after each). */
  private readonly risks: string[] = [];
  private readonly oneOpList: Op[] = [];

  /** [op] in a list reused at every op end (the guest-view check reads it and keeps nothing). */
  private oneOp(op: Op): readonly Op[] {
    this.oneOpList[0] = op;
    return this.oneOpList;
  }

  /** Keep the reference states `check` finds nothing wrong with (made distinct again when `merge`); none: the first violation. */
  private keepStatesWhere(check: (r: Reference) => Violation | null, merge: boolean): Violation | null {
    let first: Violation | null = null;
    const keep: Reference[] = [];
    for (const r of this.refs) {
      const v = check(r);
      if (v) first ??= v;
      else keep.push(r);
    }
    if (!keep.length) return first;
    this.refs = merge ? distinctStates(keep) : keep;
    return null;
  }

  /** The quiescent invariants of one 2M range (INV-15, INV-16, INV-9, INV-11). */
  private quiescentRange(r: number): Violation | null {
    const sys = this.sys;
    let m = checkNoTransient(sys, r);
    if (m) return { inv: 'INV-15', message: m };
    m = checkMirrorMatchesSept(sys, r);
    if (m) return { inv: 'INV-16', message: m };
    if (!sys.kvm.bugged && sys.kvm.lpage.guestInhibit[r] && sys.kvm.mirror.m2m[r] === Spte.LEAF) {
      return { inv: 'INV-9', message: `2M range ${r} has GUEST_INHIBIT but is still mapped by a 2M leaf` };
    }
    // with the memslot gone there are no attributes for MIXED to describe and no guest view to compare
    m = anySlotDeleted(sys) ? null : checkMixed(sys, r);
    return m ? { inv: 'INV-11', message: m } : null;
  }

  /**
   * Apply the ended ops to `ref` in the order given. A fatal-by-design fault may change what the caller sees
   * (an error instead of success); it may not break the invariants checked after. The reference forgets what
   * such an op may have changed. Returns the first mismatch that no fatal fault of its op explains.
   */
  private applySerial(order: readonly Ended[], ref: Reference, all: readonly Ended[] = order): Violation | null {
    for (const e of order) {
      const m = this.applyEnded(e, ref, overlapsOf(all, e));
      if (m) return m;
    }
    return null;
  }

  /** Apply one ended op to `ref`; `overlapping`: the kinds of the ops it overlapped (overlapsOf). */
  private applyEnded(e: Ended, ref: Reference, overlapping: ReadonlySet<string>): Violation | null {
    const ctx = { vmDead: this.sys.kvm.bugged, sites: e.sites, siteSlot: e.siteSlot, injected: e.injected, overlapped: overlapping.size > 0, overlapping };
    const m = ref.apply(e.ctx.op, e.out, ctx);
    if (!m || this.sys.kvm.bugged || this.sys.destroyed) return null;
    if (!e.fatal) return m;
    if (ref === this.ref) this.notes.push(`expected after a fatal-by-design fault: ${m.message}`);
    ref.forget(e.ctx.op);
    return null;
  }

  /**
   * Overlapping ops (a linearizability check in the spirit of Porcupine): some serial order of them that
   * respects real-time order (an op that ended before another began comes first), from some reference
   * state, must explain every outcome. A depth-first search applies one op at a time to a copy of the
   * reference and backs off at the first mismatch, completion order first. Orders that fit may leave
   * different states (they differ in what no outcome showed yet, which a later op may tell apart): after the
   * first, the search goes on for a while and keeps every distinct state found. A search that outgrows its
   * budget before any order fits proves nothing either way: the reference forgets what the ops could have changed.
   */
  private linearize(window: Ended[]): Violation | null {
    // ops on disjoint gfns are ordered apart (locality.ts); a window of one group takes the search as it was
    const groups = independentGroups(window, (e) => this.ref.footprint(e.ctx.op), (e) => e.prev, this.sys.gfns);
    if (groups.length > 1) return this.linearizeGroups(window, groups);
    const s = this.searchOrders(window, window, null, this.refs, LINEARIZE_BUDGET);
    if (s.fits.size) {
      this.keepStates([...s.fits.values()].map((f) => f.ref), 'the overlapping ops left');
      return null;
    }
    if (s.gaveUp) return this.giveUp(window);
    return this.noOrder(window, s.first!);
  }

  /**
   * Overlapping ops in groups that share no gfn (Herlihy & Wing, Theorem 1: a history is linearizable iff
   * its restriction to each object is), so the search costs the sum of the groups' orders, not their
   * product. Each group is searched from the reference states that every group before it fitted, with the
   * guest-view check limited to its gfns; a state that fits every group is completed per gfn mask
   * (copyGfnsFrom) with each group's fitting states, every combination up to MAX_REFS, and one widened
   * to accept what the rest would beyond.
   */
  private linearizeGroups(window: Ended[], groups: readonly Group<Ended>[]): Violation | null {
    let from = this.refs.map((_, i) => i); // the starting states that fitted every group so far
    const parts: Map<number, Reference[]>[] = []; // per group: starting state -> the states its orders left
    for (const g of groups) {
      // each group has the budget of a whole window: it is the check of its own gfns, as if its ops were alone
      const s = this.searchOrders(g.events, window, g.mask, from.map((i) => this.refs[i]), LINEARIZE_BUDGET);
      if (!s.fits.size) return s.gaveUp ? this.giveUp(window) : this.noOrder(g.events, s.first!);
      const byStart = new Map<number, Reference[]>();
      for (const f of s.fits.values()) {
        const k = from[f.from];
        if (!byStart.has(k)) byStart.set(k, []);
        byStart.get(k)!.push(f.ref);
      }
      from = from.filter((i) => byStart.has(i));
      parts.push(byStart);
    }
    const c = combineGroupStates(this.refs, groups.map((g) => g.mask), parts, MAX_REFS);
    if (c.widened) this.notes.push(`the overlapping ops (${groups.length} groups on disjoint gfns) left more than ${MAX_REFS} combinations of reference states; the reference keeps ${MAX_REFS - 1} and one widened to accept what the rest would${c.exact ? '' : ' (where it can say it does not know)'}`);
    this.refs = distinctStates(c.states);
    return null;
  }

  /** Keep the states orders of overlapping ops left; past MAX_REFS the last kept is widened to stand for the rest. */
  private keepStates(states: Reference[], what: string): void {
    if (states.length > MAX_REFS) {
      // the last state kept stands for the rest too: it accepts whatever any of them would
      const exact = states[MAX_REFS - 1].widenWith(states.slice(MAX_REFS));
      this.notes.push(`${what} ${states.length} distinct reference states; the reference keeps ${MAX_REFS - 1} and one widened to accept what the other ${states.length - MAX_REFS + 1} would${exact ? '' : ' (where it can say it does not know)'}`);
    }
    this.refs = states.slice(0, MAX_REFS);
  }

  /**
   * A search that outgrew its budget before any order fit: take the effects (attributes, teardown) of serial
   * orders that respect real-time order and forget what the ops may have changed. The completion order alone
   * is one such order: with conversions of a gfn to different attributes overlapping, the last to end need not
   * be the last to take effect (corpus/regression/flow-mapgpa-vmm-conversion-ends-after-later-convert.json: a MapGPA's VMM conversion to shared, done before an
   * ioctl conversion to private began, ended after it). So every conversion that no other conversion of its
   * gfns follows in real time is tried last too (attributeOrders), each order leaving a state of its own.
   */
  private giveUp(window: readonly Ended[]): null {
    const states: Reference[] = [];
    for (const order of attributeOrders(window, (e) => this.ref.footprint(e.ctx.op), MAX_REFS)) {
      for (const r of this.refs) {
        const ref = r.clone();
        for (const e of order) {
          ref.apply(e.ctx.op, e.out, { vmDead: this.sys.kvm.bugged, sites: e.sites, siteSlot: e.siteSlot, injected: e.injected, overlapped: true });
          ref.forget(e.ctx.op);
        }
        states.push(ref);
      }
    }
    this.notes.push(`linearizability search gave up after ${LINEARIZE_BUDGET} steps over ${window.length} overlapping ops; the reference forgets what they changed`);
    this.keepStates(distinctStates(states), 'the orders of the conversions among them left');
    return null;
  }

  private noOrder(events: readonly Ended[], first: Violation): Violation {
    const names = events.map((e) => `#${e.ctx.opIndex} ${e.ctx.op.op}`).join(', ');
    return { inv: first.inv, message: `no serial order of the overlapping ops (${names}) explains their outcomes; the order that got furthest fails with: ${first.message}` };
  }

  /**
   * The depth-first search of linearize() over `window` (all the window's events, or one group of them
   * within `all`), from each of `starts` in turn, spending at most `budget` reference applications; `only`
   * limits the check of the state an order left to the group's gfns (null: every gfn). Returns every
   * distinct fitting state, in the order found, with the index in `starts` it was reached from.
   */
  private searchOrders(window: readonly Ended[], all: readonly Ended[], only: Uint8Array | null, starts: readonly Reference[], budget: number): { fits: Map<number, { ref: Reference; from: number }>; first: Violation | null; spent: number; gaveUp: boolean } {
    const n = window.length;
    const used = new Uint8Array(n);
    // i may go next only when every op that ended before i began, and the event before it in its op's
    // program order, are placed: waitsFor[i] counts those still to place, freed[j] the ops j holds back
    const waitsFor = new Int32Array(n);
    const freed: number[][] = window.map(() => []);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j === i || (window[j].endedAt >= window[i].ctx.beganAt && window[i].prev !== window[j])) continue;
        waitsFor[i]++;
        freed[j].push(i);
      }
    }
    let spent = 0;
    let limit = budget;
    let first: Violation | null = null;
    let deepest = -1;
    const ops = window.map((e) => e.ctx.op);
    const live = !this.sys.kvm.bugged && !this.sys.destroyed;
    const fits = new Map<number, { ref: Reference; from: number }>();
    let start = 0;
    // Porcupine's cache: the same set of ops placed, reaching the same reference state, ends the same way.
    // The set is keyed by two Zobrist hashes (one random word per op for each, xor-ed in and out).
    const zobrist = (i: number, salt: number): number => {
      let h = Math.imul(i + 1, 0x9e3779b1) ^ salt;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const z1 = Uint32Array.from({ length: n }, (_, i) => zobrist(i, 0x1b873593));
    const z2 = Uint32Array.from({ length: n }, (_, i) => zobrist(i, 0x7f4a7c15));
    let key1 = 0;
    let key2 = 0;
    // (key1, key2, state hash) seen, as nested maps of integers rather than a string built per node
    const seen = new Map<number, Map<number, Set<number>>>();
    const visit = (hash: number): boolean => {
      let byKey2 = seen.get(key1);
      if (!byKey2) seen.set(key1, (byKey2 = new Map()));
      let hashes = byKey2.get(key2);
      if (!hashes) byKey2.set(key2, (hashes = new Set()));
      if (hashes.has(hash)) return false;
      hashes.add(hash);
      return true;
    };
    const place = (i: number, on: boolean): void => {
      used[i] = on ? 1 : 0;
      for (const k of freed[i]) waitsFor[k] += on ? -1 : 1;
      key1 ^= z1[i];
      key2 ^= z2[i];
    };
    const overlapping = window.map((e) => overlapsOf(all, e));
    // the state after d+1 ops of the order being tried, reused by the siblings at depth d (a fitting state is
    // copied before it is kept)
    const scratch: Reference[] = [];
    const dfs = (ref: Reference, depth: number): void => {
      const hash = ref.stateHash();
      if (!visit(hash)) return;
      if (depth === n) {
        // the order must explain the state the ops left as well as their outcomes
        const v = live ? this.checkGuestView(ops, ref, only) : null;
        if (v) {
          if (depth >= deepest) [first, deepest] = [v, depth + 1];
        } else if (!fits.has(hash)) {
          // after the first order that fits, a bounded search for others
          if (!fits.size) limit = spent + ALTERNATIVES_BUDGET;
          fits.set(hash, { ref: ref.clone(), from: start });
        }
        return;
      }
      for (let i = 0; i < n && spent < limit; i++) {
        if (used[i] || waitsFor[i] > 0) continue;
        spent++;
        const next = scratch[depth] ?? (scratch[depth] = ref.clone());
        next.copyFrom(ref);
        const m = this.applyEnded(window[i], next, overlapping[i]);
        if (m) {
          // report the mismatch of the order that got furthest: the most telling one
          if (depth > deepest) [first, deepest] = [m, depth];
          continue;
        }
        place(i, true);
        dfs(next, depth + 1);
        place(i, false);
      }
    };
    for (start = 0; start < starts.length; start++) if (spent < limit) dfs(starts[start], 0);
    return { fits, first, spent, gaveUp: !fits.size && spent >= limit };
  }

  /**
   * The pages behind IOMMU pins, taken at the step the pin took or dropped its reference (the iommu_pin and
   * iommu_unpin events), not at the op's end, when another actor may have truncated the folio and faulted a
   * new page in at the gfn meanwhile: a pin holds its page until unpinned, whatever happens to the file
   * (003:L661; INV-21 checks no such page is freed). An unpin releases only a page the oracle saw pinned
   * through that gfn; a page whose folio was truncated stays pinned (leaked) for good.
   */
  private trackPin(pin: boolean, pfn: number, gfn: number): void {
    if (pfn < 0) return;
    const list = this.pinsByGfn.get(gfn) ?? [];
    if (pin) {
      list.push(pfn);
      this.pinsByGfn.set(gfn, list);
      this.lifetime.pinned[pfn]++;
      return;
    }
    const k = list.lastIndexOf(pfn);
    if (k < 0) return;
    list.splice(k, 1);
    this.lifetime.pinned[pfn]--;
  }

  private readonly leafScratch: LeafView = { state: SeptState.FREE, pfn: -1, level: -1 };

  /** Every gfn as the guest would see it now, against the reference. */
  private checkGuestView(ops: readonly Op[], ref: Reference = this.ref, only: Uint8Array | null = null): Violation | null {
    const sys = this.sys;
    const ranges = ops.length === 1 && ops[0].op !== 'convert' && ops[0].op !== 'punch' ? NO_RANGES : ops.filter((o): o is Extract<Op, { start: number }> => o.op === 'convert' || o.op === 'punch');
    const ranged = ranges.length ? ranges[ranges.length - 1] : null;
    const v = this.leafScratch; // one object for every gfn's leaf (the check runs at every op end)
    for (let g = sys.design.slotBaseGfn; g < sys.gfns; g++) {
      if (only && !only[g]) continue; // a group of ops ordered apart answers for its own gfns only
      // with its memslot gone a gfn has no attribute for the guest to see and no mapping
      if (sys.kvm.slotDeleted[slotAt(sys, g)]) continue;
      const isPriv = attrPrivate(sys, g);
      if (isPriv !== (ref.private[g] === 1)) {
        return { inv: 'REF-ATTR', message: `gfn 0x${g.toString(16)} is ${isPriv ? 'PRIVATE' : 'SHARED'} in guest_memfd but the reference says ${isPriv ? 'SHARED' : 'PRIVATE'}` };
      }
      if (!isPriv || ref.accepted[g] === UNKNOWN) continue;
      septLeafOf(sys, g, v);
      if (ref.accepted[g] === YES) {
        if (v.state !== SeptState.MAPPED) {
          const outside = outsideRanges(ranged, ranges, g);
          return {
            inv: outside ? 'INV-18' : 'REF-ACCEPT',
            message: `accepted gfn 0x${g.toString(16)}${outside ? ' outside the ' + ranged!.op + ' range' : ''} lost its accepted mapping (S-EPT ${v.level < 0 ? 'no leaf' : SeptState[v.state]})`,
          };
        }
        if (ref.known[g] && sys.phys.content[v.pfn] !== ref.data[g]) {
          const outside = outsideRanges(ranged, ranges, g);
          return {
            inv: outside ? 'INV-18' : 'REF-DATA',
            message: `gfn 0x${g.toString(16)} holds ${sys.phys.content[v.pfn]} but the guest last wrote ${ref.data[g]}`,
          };
        }
      } else if (v.state === SeptState.MAPPED) {
        return { inv: 'REF-ACCEPT', message: `gfn 0x${g.toString(16)} is MAPPED (accepted) in the S-EPT but the guest has not accepted it` };
      }
    }
    return null;
  }
}

/**
 * REF-HOLE: fallocate(PUNCH_HOLE) returned 0, so truncate_inode_pages_range() took every page of the hole out of
 * guest_memfd (kernel-facts.md 3.1): on THP or 4K backing every index, on hugetlb every original folio wholly
 * inside it (a part of one is refused or, under ZAP_ONLY, only zapped, 003:L762). A leaked page leaves the file too.
 */
function pageLeftInHole(sys: System, start: number, end: number): Violation | null {
  const hugetlb = hugetlbBacking(sys.design);
  const orig = originalFolioPages(sys.design);
  for (let g = start; g < end; g++) {
    const i = indexOf(sys, g);
    if (i < 0 || sys.gmem.pfn[i] < 0) continue;
    if (hugetlb) {
      const base = i - (i % orig); // the original folio's first index, and its gfn at the same offset
      if (base - i + g < start || base - i + g + orig > end) continue;
    }
    return { inv: 'REF-HOLE', message: `punch [0x${start.toString(16)}, 0x${end.toString(16)}) returned 0 but guest_memfd index 0x${i.toString(16)} (gfn 0x${g.toString(16)}) in the hole still holds pfn 0x${sys.gmem.pfn[i].toString(16)}` };
  }
  return null;
}

/** Is gfn g outside every convert or punch range of the ops (none: not outside)? Asked only when a check fails. */
function outsideRanges(ranged: Extract<Op, { start: number }> | null, ranges: readonly Extract<Op, { start: number }>[], g: number): boolean {
  return ranged !== null && ranges.every((o) => g < o.start || g >= o.end);
}

/**
 * INV-3's last clause: lpage_info allows a 2M mapping of range r when it is made (003:L172-178, L196-201).
 * MIXED is left to INV-2, which names the attribute that a 2M leaf over a mixed range covers (BUG-16).
 */
function lpageDisallowed(sys: System, r: number): string | null {
  const l = sys.kvm.lpage;
  if (l.disallowCount[r] > 0) return `2M range ${r} has lpage_info disallow count ${l.disallowCount[r]}`;
  if (l.guestInhibit[r]) return `2M range ${r} has GUEST_INHIBIT (the guest accepted below 2M there)`;
  return null;
}

/**
 * What a VM ioctl on a bugged VM may not change: mirror, S-EPT, PAMT, attributes, lpage_info, caches,
 * refcounts, guest_memfd's pfns, statistics. (Today every such ioctl fails at entry; this guards the paths.)
 */
function kvmStateFingerprint(sys: System): number {
  let h = 0x811c9dc5;
  const mix = (a: ArrayLike<number>): void => {
    for (let i = 0; i < a.length; i++) h = Math.imul(h ^ (a[i] | 0), 0x01000193);
  };
  const m = sys.kvm.mirror;
  const s = sys.tdx.sept;
  mix(m.m2m); mix(m.pfn2m); mix(m.m4k); mix(m.pfn4k);
  mix(s.e2m); mix(s.pfn2m); mix(s.e4k); mix(s.pfn4k);
  mix(sys.kvm.attrs); mix(sys.gmem.attr);
  mix(sys.kvm.lpage.disallowCount); mix(sys.kvm.lpage.mixed); mix(sys.kvm.lpage.guestInhibit);
  mix(sys.kvm.pamtRefcount); mix(sys.kvm.sharedEpt); mix(sys.kvm.vcpuPamtCache); mix(sys.kvm.splitCache);
  mix(sys.tdx.pamt); mix(sys.gmem.pfn);
  mix([sys.kvm.stats.pages2m, sys.kvm.stats.pages4k, ...sys.kvm.slotDeleted.map((x) => (x ? 1 : 0)), sys.kvm.tdState === 'RUNNABLE' ? 1 : 0, sys.tdx.epoch]);
  return h >>> 0;
}

/** Does any private leaf remain in the S-EPT? */
function septHasLeaves(sys: System): boolean {
  const s = sys.tdx.sept;
  for (let r = 0; r < sys.regions; r++) {
    const e = s.e2m[r];
    if (e >= SeptState.PENDING && e <= SeptState.PENDING_BLOCKED) return true;
    if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
      for (let g = r * sys.ptrs; g < (r + 1) * sys.ptrs; g++) if (s.e4k[g] !== SeptState.FREE) return true;
    }
  }
  return false;
}


/**
 * A 2M ACCEPT that fell back to 4K is the guest's walk of 4K TDCALLs, each its own event: overlapped by other
 * ops, it is judged as one 4K ACCEPT per page (with the answer that page got), over the walk's interval, and
 * a walk cut short by an exit or error as those pages and one 4K ACCEPT with that outcome at the next page.
 */
function splitFallback(e: Ended, ptrs: number): Ended[] {
  const { op } = e.ctx;
  const out = e.out;
  const trip = splitRoundTrip(e, ptrs);
  if (trip) return trip;
  // KVM_TDX_INIT_MEM_REGION adds its pages one by one (a fault and a PAGE.ADD each): each page it added is
  // its own event with its own contents, and the page it stopped at (the region struct copied back says
  // which) is one more, with the error
  if (op.op === 'initMemRegion' && out.kind === 'initMemRegion') {
    const added = out.ret === 0 ? op.end - op.start : out.pages ?? 0;
    if (added > 0 && added <= op.end - op.start && (out.ret === 0 ? added > 1 : added < op.end - op.start)) {
      const page = (k: number, o: OpOutcome): Ended => {
        const ctx = new OpCtx({ op: 'initMemRegion', start: op.start + k, end: op.start + k + 1, data: op.data + k }, e.ctx.opIndex);
        ctx.beganAt = e.ctx.beganAt;
        return { ...e, ctx, out: o };
      };
      const pages = Array.from({ length: added }, (_, k) => page(k, { kind: 'initMemRegion', ret: 0 }));
      return out.ret === 0 ? pages : [...pages, page(added, out)];
    }
  }
  if (op.op !== 'accept' || op.level !== '2M' || out.kind !== 'accept' || !out.pages) return [e];
  const base = op.gfn - (op.gfn % ptrs);
  const event = (g: number, o: OpOutcome): Ended => {
    const ctx = new OpCtx({ op: 'accept', gfn: g, level: '4K' }, e.ctx.opIndex);
    ctx.beganAt = e.ctx.beganAt;
    // a page's TDCALL that got its answer before another op began comes before it in every serial order
    return { ...e, ctx, out: o, endedAt: e.ctx.acceptAnsweredAt?.get(g) ?? e.endedAt };
  };
  const walked = out.pages.map((p, i) => event(base + i, { kind: 'accept', result: p ? 'accepted' : 'already' }));
  if (out.result === 'fallback-4k') return walked;
  // the walk stopped at the next page with this outcome
  const { pages: _p, ...stop } = out;
  return [...walked, event(base + out.pages.length, stop as OpOutcome)];
}

/**
 * A guest op whose exits the VMM handled, overlapped by other ops, is several events: each conversion the
 * VMM made (judged as the convert op of the exit's range) and, for an access, the access that ended it, so
 * another actor's op may fall between them. Split only when every exit is the one the op itself must cause
 * (the access's page through its alias; MapGPA's 2M chunks in order, in its direction), else null: the op is
 * judged whole, and the reference names what is wrong.
 */
function splitRoundTrip(e: Ended, ptrs: number): Ended[] | null {
  const { op } = e.ctx;
  const out = e.out;
  if ((op.op !== 'touch' && op.op !== 'mapGpa') || !('vmm' in out) || !out.vmm?.length) return null;
  const event = (o: Op, r: OpOutcome): Ended => {
    const ctx = new OpCtx(o, e.ctx.opIndex);
    ctx.beganAt = e.ctx.beganAt;
    return { ...e, ctx, out: r };
  };
  const steps = out.vmm;
  const converts = steps.map((s) => {
    const { start, end, toPrivate } = exitRange(s.exit);
    return event({ op: 'convert', start, end, to: toPrivate ? 'private' : 'shared' }, { kind: 'convert', ret: s.ret });
  });
  if (op.op === 'touch' && out.kind === 'touch') {
    const alias = op.alias ?? out.alias;
    if (!alias || steps.some((s) => !sameExit(s.exit, memoryFaultExit(op.gfn, alias === 'private')))) return null;
    const { vmm: _v, ...last } = out;
    const access: Op = op.write === undefined ? { op: 'touch', gfn: op.gfn, alias } : { op: 'touch', gfn: op.gfn, write: op.write, alias };
    return [...converts, event(access, { ...last, alias })];
  }
  if (op.op !== 'mapGpa' || out.kind !== 'mapGpa') return null;
  const ok = steps.every((s, k) => {
    const next = op.start + k * ptrs;
    return s.exit.reason === 'map-gpa' && s.exit.gpa === next * PAGE_SIZE && s.exit.npages === Math.min(op.end, next + ptrs) - next && s.exit.private === (op.to === 'private') && (s.ret === 0 || k === steps.length - 1);
  });
  const failed = steps[steps.length - 1].ret !== 0;
  const fits = failed ? out.result === 'error' && out.at === op.start + (steps.length - 1) * ptrs : out.result === 'vm-dead' || (out.result === 'mapped' && op.start + steps.length * ptrs >= op.end);
  return ok && fits ? converts : null;
}
