// One host running one TD with one vCPU: the TDX module, KVM, guest_memfd and the guest, wired together.
// Pure and synchronous: no I/O, no clock, no Math.random (architecture principle 3).
import { type Design, effectiveConversionOrder, effectiveHuge, guardOn } from './config.js';
import { FaultInjector } from './faults.js';
import { Gmem } from './gmem/gmem.js';
import type { GuardId } from './guards.js';
import { PhysMem } from './host/phys.js';
import { Kvm } from './kvm/vm.js';
import { TdxModule } from './tdx/module.js';
import { Trace } from './trace.js';

/** A path is a series of atomic steps; each `yield` names the step just completed (principle 9). */
export type Path<T = void> = Generator<string, T, void>;

/** Counters the liveness watchdogs read; reset at the start of every operation. */
export class OpCounters {
  eptViolations = 0;
  pageFaultRetries = 0;
  reset(): void {
    this.eptViolations = 0;
    this.pageFaultRetries = 0;
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
  readonly counters = new OpCounters();
  /** The 2M regions a step touched, for incremental invariant checks (principle 8). */
  readonly touched: Set<number> = new Set();
  readonly effectiveHuge: boolean;
  readonly conversionOrder: ReturnType<typeof effectiveConversionOrder>;

  constructor(readonly design: Design, keepTrace = false) {
    this.ptrs = design.ptrs;
    this.regions = design.regions;
    this.gfns = design.ptrs * design.regions;
    // Enough hugetlb blocks to back every range twice over, 4K pages for S-EPT tables, and with 4K backing
    // every guest page twice over [M].
    const small = design.regions * 4 + 8 + (design.backing === '4K' ? this.gfns * 2 : 0);
    this.phys = new PhysMem(design.ptrs, design.regions * 2, small);
    this.trace = new Trace(keepTrace);
    this.tdx = new TdxModule(this.phys, this.ptrs, this.regions, { enhancedDemoteInterruptibility: design.enhancedDemoteInterruptibility }, this.inj, this.trace);
    this.kvm = new Kvm(this.ptrs, this.regions);
    this.gmem = new Gmem(this.phys, this.ptrs, this.gfns, design.backing);
    this.effectiveHuge = effectiveHuge(design);
    this.conversionOrder = effectiveConversionOrder(design);
    this.inj.context = () => ({ afterKick: this.kvm.waitForSeptZap, underWriteLock: this.kvm.mmuLock.writer });
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
