// Injected faults (architecture principle 5), attached to an operation. Two kinds:
// - SEAMCALL faults: "the nth call of SEAMCALL X during this op returns status S";
// - site faults: "the nth time this op reaches site Y, it fails": a host page allocation (-ENOMEM), a
//   hugetlb folio split (HVO undo needs memory, 003:L436, L759), or a refcount check that sees a
//   transient reference (002: speculative refcounts), or a guest_memfd allocation that hands out memory the
//   TDX module cannot convert (NON_TDX_PFN, BUG-22) or pfns with no struct page at all (NO_STRUCT_PFN, BUG-22's
//   crash variant, 003:L446).
import type { Leaf } from './tdx/leaf.js';
import { LEAF_INDEX, LEAVES } from './tdx/leaf.js';
import { status, type SeamStatus, type StatusName } from './tdx/status.js';

export const FAULT_SITES = ['ALLOC', 'FOLIO_SPLIT', 'TRANSIENT_REF', 'NON_TDX_PFN', 'NO_STRUCT_PFN'] as const;
export type FaultSite = (typeof FAULT_SITES)[number];

export interface SeamcallFault {
  leaf: Leaf;
  /** 1-based index of the call of `leaf` within the operation. */
  nth: number;
  status: StatusName;
  /** Also every later call of `leaf` in the op: a storm (e.g. an IRQ/NMI storm during DEMOTE, 003:L143-155). */
  every?: boolean;
}

export interface SiteFault {
  site: FaultSite;
  /** 1-based index of the visit of `site` within the operation. */
  nth: number;
}

export type FaultSpec = SeamcallFault | SiteFault;

export function isSiteFault(f: FaultSpec): f is SiteFault {
  return (f as SiteFault).site !== undefined;
}

export interface FiredFault {
  opIndex: number;
  /** The SEAMCALL that failed, or null for a site fault. */
  leaf: Leaf | null;
  /** The site that failed, or null for a SEAMCALL fault. */
  site: FaultSite | null;
  nth: number;
  /** Status name for a SEAMCALL fault; the site name for a site fault. */
  status: string;
  /** The call was the retry made after kicking all vCPUs out (tdh_do_no_vcpus), where the design says it must succeed. */
  afterKick: boolean;
  /** The memslot a walk over the range's memslots (kvm_handle_gfn_range, gmem bindings) was visiting; -1 outside one. */
  slot: number;
}

/** The faults armed for one operation and its call counts ("the nth call during this op"). */
export class OpArm {
  readonly counts = new Int32Array(LEAVES.length);
  readonly siteCounts = new Int32Array(FAULT_SITES.length);
  constructor(public opIndex: number, public armed: readonly FaultSpec[]) {}

  /** Arm again for another op, as a new arm would be (counts zero). */
  reset(opIndex: number, armed: readonly FaultSpec[]): void {
    this.opIndex = opIndex;
    this.armed = armed;
    this.counts.fill(0);
    this.siteCounts.fill(0);
  }
}

const NO_FAULT_SPECS: readonly FaultSpec[] = [];

const NO_ARM = new OpArm(-1, []);

/**
 * Faults are counted per operation. With several actors each running op has its own arm; the scheduler
 * selects the arm of the actor it steps, so a fault fires on the nth call that op makes.
 */
export class FaultInjector {
  private cur: OpArm = NO_ARM;
  readonly fired: FiredFault[] = [];
  /** Set by the owner so fired faults carry KVM's context (wait_for_sept_zap, lock mode). */
  context: () => { afterKick: boolean; slot: number } = () => ({ afterKick: false, slot: -1 });

  /** Arm an op's faults and make them current; returns the arm so a scheduler can select it again. */
  arm(opIndex: number, faults: readonly FaultSpec[] | undefined): OpArm {
    this.cur = new OpArm(opIndex, faults ?? []);
    return this.cur;
  }

  private spare: OpArm | null = null;

  /**
   * arm() for ops run one after another by one actor: no earlier arm is selected again, so one arm is reset
   * and reused (two typed arrays less per op).
   */
  armAlone(opIndex: number, faults: readonly FaultSpec[] | undefined): OpArm {
    const a = (this.spare ??= new OpArm(opIndex, NO_FAULT_SPECS));
    a.reset(opIndex, faults ?? NO_FAULT_SPECS);
    this.cur = a;
    return a;
  }

  /** Make an armed op current (the scheduler switched to its actor). */
  select(a: OpArm): void {
    this.cur = a;
  }

  /** Count a call of `leaf`; return the fault to force on it, or null. */
  check(leaf: Leaf): SeamcallFault | null {
    const n = ++this.cur.counts[LEAF_INDEX[leaf]];
    if (this.cur.armed.length === 0) return null;
    for (const f of this.cur.armed) if (!isSiteFault(f) && f.leaf === leaf && (f.nth === n || (f.every && n > f.nth))) return f;
    return null;
  }

  /** Record that a forced status took effect and return it. */
  fire(f: SeamcallFault, detail: number): SeamStatus {
    const ctx = this.context();
    // fields named, not spread: a fault storm fires thousands of times per op
    this.fired.push({ opIndex: this.cur.opIndex, leaf: f.leaf, site: null, nth: f.nth, status: f.status, afterKick: ctx.afterKick, slot: ctx.slot });
    return status(f.status, detail);
  }

  /** Count a visit of `site`; true (and recorded) when this visit is to fail. */
  siteFails(site: FaultSite): boolean {
    const n = ++this.cur.siteCounts[FAULT_SITES.indexOf(site)];
    if (this.cur.armed.length === 0) return false;
    for (const f of this.cur.armed) {
      if (isSiteFault(f) && f.site === site && f.nth === n) {
        const ctx = this.context();
        this.fired.push({ opIndex: this.cur.opIndex, leaf: null, site, nth: n, status: site, afterKick: ctx.afterKick, slot: ctx.slot });
        return true;
      }
    }
    return false;
  }
}
