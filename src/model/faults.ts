// Injected SEAMCALL errors (architecture principle 5): "the nth call of SEAMCALL X during this op returns
// status S". The injector is armed per operation; the module consults it at the entry of every call.
import type { Leaf } from './tdx/leaf.js';
import { LEAF_INDEX, LEAVES } from './tdx/leaf.js';
import { status, type SeamStatus, type StatusName } from './tdx/status.js';

export interface FaultSpec {
  leaf: Leaf;
  /** 1-based index of the call of `leaf` within the operation. */
  nth: number;
  status: StatusName;
}

export interface FiredFault {
  opIndex: number;
  leaf: Leaf;
  nth: number;
  status: StatusName;
  /** The call was the retry made after kicking all vCPUs out (tdh_do_no_vcpus), where the design says it must succeed. */
  afterKick: boolean;
  /** The call was made with mmu_lock held for write. */
  underWriteLock: boolean;
}

export class FaultInjector {
  private armed: readonly FaultSpec[] = [];
  private readonly counts = new Int32Array(LEAVES.length);
  private opIndex = -1;
  readonly fired: FiredFault[] = [];
  /** Set by the owner so fired faults carry KVM's context (wait_for_sept_zap, lock mode). */
  context: () => { afterKick: boolean; underWriteLock: boolean } = () => ({ afterKick: false, underWriteLock: false });

  arm(opIndex: number, faults: readonly FaultSpec[] | undefined): void {
    this.opIndex = opIndex;
    this.armed = faults ?? [];
    this.counts.fill(0);
  }

  /** Count a call of `leaf`; return the status to force on it, or null. */
  check(leaf: Leaf): FaultSpec | null {
    const n = ++this.counts[LEAF_INDEX[leaf]];
    if (this.armed.length === 0) return null;
    for (const f of this.armed) if (f.leaf === leaf && f.nth === n) return f;
    return null;
  }

  /** Record that a forced status took effect and return it. */
  fire(f: FaultSpec, detail: number): SeamStatus {
    const ctx = this.context();
    this.fired.push({ opIndex: this.opIndex, leaf: f.leaf, nth: f.nth, status: f.status, ...ctx });
    return status(f.status, detail);
  }
}
