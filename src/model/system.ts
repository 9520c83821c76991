// One host running one TD with one or more vCPUs: the TDX module, KVM, guest_memfd and the guest, wired together.
// Pure and synchronous: no I/O, no clock, no Math.random (architecture principle 3).
import { type Design, effectiveConversionOrder, effectiveHuge, guardOn } from './config.js';
import { FaultInjector } from './faults.js';
import { Gmem, PRIVATE } from './gmem/gmem.js';
import { computeDisallowLpage } from './kvm/lpage.js';
import { type Memslot, memslotLayout } from './kvm/memslot.js';
import { pamtGetAtCreate } from './kvm/pamt.js';
import type { GuardId } from './guards.js';
import { LEAK_REASONS, Owner, OWNER_NAMES, PhysMem } from './host/phys.js';
import { Kvm } from './kvm/vm.js';
import { TdxModule } from './tdx/module.js';
import { Trace } from './trace.js';

/** A path is a series of atomic steps; each `yield` names the step just completed (principle 9). */
export type Path<T = void> = Generator<string, T, void>;

/** Counters the liveness watchdogs read; reset at the start of every operation. */
export class OpCounters {
  eptViolations = 0;
  pageFaultRetries = 0;
  refcountWaits = 0;
  demoteRestarts = 0;
  reset(): void {
    this.eptViolations = 0;
    this.pageFaultRetries = 0;
    this.refcountWaits = 0;
    this.demoteRestarts = 0;
  }
}

export class System {
  readonly ptrs: number;
  readonly regions: number;
  readonly gfns: number;
  readonly phys: PhysMem;
  readonly inj = new FaultInjector();
  readonly trace: Trace;
  readonly tdx: TdxModule;
  readonly kvm: Kvm;
  readonly gmem: Gmem;
  /** The running op's liveness counters; with several actors the scheduler selects the stepped actor's. */
  counters = new OpCounters();
  /**
   * The actor whose step runs now (its index in the case's actors; 0 with one actor). Set by the scheduler
   * before every step, read by the lock primitives to record owners (principle 12).
   */
  actor = 0;
  /**
   * Other actors that still have ops to run or are inside one (each holds a reference on the VM, a vCPU fd or
   * the guest_memfd file); kept by the scheduler, 0 with one actor.
   */
  otherUsers = 0;
  /** The 2M regions a step touched, for incremental invariant checks (principle 8). */
  readonly touched: Set<number> = new Set();
  readonly effectiveHuge: boolean;
  /** TD control pages (TDR, TDCS, TDVPR), reclaimed at teardown. */
  readonly controlPages: number[] = [];
  /** The VM and its guest_memfd are gone (the destroy op ran). */
  destroyed = false;
  /** The host kernel oopsed (for example a NULL pointer dereference); the oracle fails the case at once. */
  hostOops: string | null = null;
  readonly conversionOrder: ReturnType<typeof effectiveConversionOrder>;

  /**
   * The memslots in gfn order (kvm/memslot.ts); together they cover gfns [slotBase, slotEnd), which map to
   * gmem indices from gmemOffset on.
   */
  readonly slots: readonly Memslot[];
  readonly slotBase: number;
  readonly slotEnd: number;
  readonly gmemOffset: number;

  constructor(readonly design: Design, keepTrace = false, vcpus = 1) {
    this.ptrs = design.ptrs;
    this.regions = design.regions;
    this.gfns = design.ptrs * design.regions;
    this.slots = memslotLayout(design);
    this.slotBase = design.slotBaseGfn;
    this.slotEnd = this.gfns;
    this.gmemOffset = design.gmemOffset;
    // hugetlb files are a whole number of huge pages long [A].
    const unit = design.backing === 'HUGETLB_1G' ? this.ptrs * this.ptrs : this.ptrs;
    const gmemSize = Math.ceil((this.slotEnd - this.slotBase + this.gmemOffset) / unit) * unit;
    // Enough hugetlb blocks to back every range twice over, and 4K pages for S-EPT tables, control pages,
    // PAMT pairs and caches (and, with 4K backing, every guest page twice over) so that a correct design
    // never runs out: -ENOMEM comes from injected faults only [M].
    const hugeBlocks = (gmemSize / this.ptrs) * 2;
    const small = design.regions * 16 + 32 + (design.backing === '4K' ? gmemSize * 3 : design.backing === 'THP_2M' ? gmemSize * 2 : 0) + (design.vmMemoryAttributes ? this.gfns : 0);
    this.phys = new PhysMem(design.ptrs, hugeBlocks, small);
    this.trace = new Trace(keepTrace);
    if (keepTrace) this.phys.onLeak = (pfn, was, why) => this.trace.note(`leak pfn 0x${pfn.toString(16)} (${OWNER_NAMES[was]}): ${LEAK_REASONS[why]}`);
    this.tdx = new TdxModule(this.phys, this.ptrs, this.regions, { enhancedDemoteInterruptibility: design.enhancedDemoteInterruptibility, dpamt: design.dpamt, nonBlockingResize: design.nonBlockingResize }, this.inj, this.trace);
    this.tdx.actorNow = () => this.actor; // whose SEAMCALL holds an entry or the epoch lock
    this.kvm = new Kvm(this.ptrs, this.regions, this.phys.total, vcpus, this.slots.length);
    this.gmem = new Gmem(this.phys, this.ptrs, gmemSize, design.backing, design.splitPolicy);
    this.effectiveHuge = effectiveHuge(design);
    this.conversionOrder = effectiveConversionOrder(design);
    this.inj.context = () => ({ afterKick: this.kvm.waitForSeptZap, slot: this.kvm.rangeSlot.get(this.actor) ?? -1 });
    computeDisallowLpage(this);
    this.kvm.tdState = design.startPhase;
    this.kvm.attrs.fill(PRIVATE, this.slotBase, this.slotEnd);
    this.tdx.finalized = design.startPhase === 'RUNNABLE';
    // TDR, TDCS and each vCPU's TDVPR: TD control pages for the TD's lifetime [A], each a 4K TDX use.
    for (let i = 0; i < 2 + vcpus; i++) {
      const p = this.phys.allocSmall(Owner.CTRL, i);
      if (!pamtGetAtCreate(this, p)) throw new Error('TD creation: no memory for a PAMT pair');
      this.tdx.addControlPage(p);
      this.controlPages.push(p);
    }
    // The S-EPT levels above the 2M entries (PDPT, PD) exist from TD creation; they go at teardown [M].
    for (let i = 0; i < 2; i++) {
      const p = this.phys.allocSmall(Owner.SEPT, -1);
      if (!pamtGetAtCreate(this, p)) throw new Error('TD creation: no memory for a PAMT pair');
      this.tdx.addUpperSeptPage(p);
      this.kvm.mirror.upperSpt.push(p);
    }
  }

  /** The memslot (its id) whose range holds gfn, deleted or not; -1 outside every slot. */
  slotOf(gfn: number): number {
    for (const s of this.slots) if (gfn >= s.baseGfn && gfn < s.baseGfn + s.npages) return s.id;
    return -1;
  }

  /** The live memslot holding gfn (__gfn_to_memslot), or -1 when none does (outside, or deleted). */
  liveSlotOf(gfn: number): number {
    const s = this.slotOf(gfn);
    return s >= 0 && !this.kvm.slotDeleted[s] ? s : -1;
  }

  /**
   * The memslots [start, end) overlaps, in gfn order, each with the part of the range it holds: the walk of
   * kvm_handle_gfn_range() and of guest_memfd's bindings. Deleted slots are skipped.
   */
  slotRanges(start: number, end: number): { slot: number; start: number; end: number }[] {
    const out: { slot: number; start: number; end: number }[] = [];
    for (const s of this.slots) {
      const lo = Math.max(start, s.baseGfn);
      const hi = Math.min(end, s.baseGfn + s.npages);
      if (lo < hi && !this.kvm.slotDeleted[s.id]) out.push({ slot: s.id, start: lo, end: hi });
    }
    return out;
  }

  /** gmem index bound at gfn, or -1 when gfn is outside every memslot (or its slot is gone). */
  index(gfn: number): number {
    const s = this.liveSlotOf(gfn);
    return s < 0 ? -1 : gfn - this.slots[s].baseGfn + this.slots[s].gmemOffset;
  }

  /** gfn an index is bound at, or -1 when the slot does not map it. */
  gfnOf(index: number): number {
    const g = index - this.gmemOffset + this.slotBase;
    return g >= this.slotBase && g < this.slotEnd ? g : -1;
  }

  /** gfn an index would be bound at, without the slot bounds (for ranges that straddle them). */
  gfnOfClamped(index: number): number {
    return index - this.gmemOffset + this.slotBase;
  }

  /** Is gfn private now? Gfns outside the slot have no attribute and count as shared. */
  isPrivate(gfn: number): boolean {
    const i = this.index(gfn);
    if (i < 0) return false;
    return this.design.vmMemoryAttributes ? this.kvm.attrs[gfn] === PRIVATE : this.gmem.attr[i] === PRIVATE;
  }

  guard(g: GuardId): boolean {
    return guardOn(this.design, g);
  }

  region(gfn: number): number {
    return Math.floor(gfn / this.ptrs);
  }

  touch(region: number): void {
    this.touched.add(region);
  }

  touchRange(start: number, end: number): void {
    if (end <= start) return;
    for (let r = this.region(start); r <= this.region(end - 1); r++) this.touched.add(r);
  }

  hex(n: number): string {
    return `0x${n.toString(16)}`;
  }
}
