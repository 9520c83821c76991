// The reference model (model-spec.md 8, layer 2): what the guest and userspace must observe, written from
// the spec alone. Per gfn: attribute, accepted (yes / no / unknown), data, poison, and the host's own
// mappings and pins. It predicts each op's result, then advances on the result it accepted. Where the spec
// leaves the model a choice the reference cannot see (how big a folio is, so how much a memory failure
// zaps), it widens what it accepts and learns from the outcome.
import { u8 } from '../model/arena.js';
import type { Design } from '../model/config.js';
import { conversionOrderOf, g19CountsAsFailure, hugetlbBacking, originalFolioPages, unacceptedAccessKillsVm } from './policy.js';
import { EAGAIN, EBADF, EBUSY, EEXIST, EFAULT, EHWPOISON, EINVAL, ENOMEM, EOPNOTSUPP } from '../model/errno.js';
import type { FaultSite } from '../model/faults.js';
import type { Op } from '../model/ops.js';
import { type AcceptOutcome, describeOutcome, isIoctl, type MapGpaOutcome, type OpOutcome, type TouchOutcome, type VmmStep } from '../model/outcome.js';

/** A 4K page (the unit of a gfn). */
const PAGE = 4096;
/** What KVM_RUN reports for an access through the wrong alias: KVM_EXIT_MEMORY_FAULT of its 4K page (kernel-facts.md 3.2). */
interface ExpectedExit {
  reason: 'memory-fault' | 'map-gpa';
  gpa: number;
  size?: number;
  npages?: number;
  private: boolean;
}
function exitIs(got: VmmStep['exit'] | undefined, want: ExpectedExit): boolean {
  if (!got || got.reason !== want.reason || got.gpa !== want.gpa || got.private !== want.private) return false;
  return got.reason === 'memory-fault' ? got.size === want.size : got.npages === want.npages;
}
function showExit(e: ExpectedExit): string {
  return `${e.reason === 'memory-fault' ? 'KVM_EXIT_MEMORY_FAULT' : 'KVM_HC_MAP_GPA_RANGE'} gpa 0x${e.gpa.toString(16)} ${e.reason === 'memory-fault' ? `size 0x${e.size!.toString(16)}` : `npages ${e.npages}`} ${e.private ? 'private' : 'shared'}`;
}

export const NO = 0;
export const YES = 1;
export const UNKNOWN = 2;
/** poison[g]: NO, MAYBE (another page of the same folio may be poisoned), or POISONED. */
export const MAYBE = 1;
export const POISONED = 2;

export interface RefContext {
  /** Userspace can see the VM is dead (ioctls fail, vCPUs do not run). */
  vmDead: boolean;
  /** Site faults that took effect during this op (allocation failure, folio split failure, ...). */
  sites: ReadonlySet<FaultSite>;
  /**
   * The memslot a walk over the range's memslots (kvm_handle_gfn_range, guest_memfd's bindings) was visiting
   * when the op's last site fault fired; -1 or absent: none, or outside such a walk.
   */
  siteSlot?: number;
  /** SEAMCALL faults that took effect during this op, as "LEAF STATUS" (e.g. "TDG.MEM.PAGE.ACCEPT TDX_SW_ERROR"). */
  injected: ReadonlySet<string>;
  /**
   * Other ops overlapped this one in time. An op made of several guest TDCALLs (the 2M ACCEPT that falls
   * back to 4K) is not atomic then: its linearization covers only its outcome, not which pages it reached.
   */
  overlapped?: boolean;
  /** The kinds of the other ops that overlapped it. */
  overlapping?: ReadonlySet<string>;
}

export interface RefMismatch {
  inv: string;
  message: string;
}

export class Reference {
  readonly private: Uint8Array;
  readonly accepted: Uint8Array;
  readonly data: Int32Array;
  readonly known: Uint8Array;
  readonly poison: Uint8Array;
  readonly hostMaps: Int32Array;
  readonly pins: Int32Array;
  /**
   * With VM attributes: the slot's userspace memory per gfn, which the host reads and writes and the guest's
   * shared accesses reach, whatever the attribute (anonymous memory starts zeroed, so it is always known).
   */
  readonly userMem: Int32Array;
  /** The per-gfn fields above in one block (constructor), and as words over all of them. */
  private readonly block: Uint8Array;
  private readonly words: Int32Array;
  /** The TD may run only after KVM_TDX_FINALIZE_VM succeeded. */
  runnable: boolean;
  /** The VM and guest_memfd fds are closed. */
  destroyed = false;
  /** Per memslot: deleted, so none of its gfns reaches guest_memfd any more. */
  readonly slotDeleted: boolean[];
  /**
   * A truncated folio held a HWPoisoned page, was pinned, or was still held by a dead VM's S-EPT, so it was
   * leaked rather than freed: from then on a folio allocation may find the pool empty.
   */
  private poolShort = false;
  /** Conversions that failed after zapping accepted pages: the open v3 question (BUG-19, INV-31 desired form). */
  readonly knownDesignFindings: string[] = [];
  private readonly slotBase: number;
  private readonly ptrs: number;
  /** gmem index = gfn + indexShift (the memslot binding). */
  private readonly indexShift: number;

  constructor(readonly design: Design, readonly gfns: number) {
    this.runnable = design.startPhase === 'RUNNABLE';
    this.slotBase = design.slotBaseGfn;
    this.ptrs = design.ptrs;
    this.indexShift = design.gmemOffset - design.slotBaseGfn;
    this.slotDeleted = new Array<boolean>(design.memslots).fill(false);
    // one block per reference, the four Int32 fields then the four byte fields (20 bytes per gfn, a whole
    // number of words), so copyFrom is one copy and stateHash one pass: the linearizability search does both at
    // every node it visits
    this.block = u8(20 * gfns);
    const [buf, at] = [this.block.buffer, this.block.byteOffset];
    this.data = new Int32Array(buf, at, gfns);
    this.hostMaps = new Int32Array(buf, at + 4 * gfns, gfns);
    this.pins = new Int32Array(buf, at + 8 * gfns, gfns);
    this.userMem = new Int32Array(buf, at + 12 * gfns, gfns);
    this.private = new Uint8Array(buf, at + 16 * gfns, gfns).fill(1, design.slotBaseGfn); // TD memory in the slot starts private
    this.accepted = new Uint8Array(buf, at + 17 * gfns, gfns);
    this.known = new Uint8Array(buf, at + 18 * gfns, gfns);
    this.poison = new Uint8Array(buf, at + 19 * gfns, gfns);
    this.words = new Int32Array(buf, at, 5 * gfns);
  }

  /** A copy to try a serial order of overlapping ops on (the linearizability check). */
  clone(): Reference {
    const r = new Reference(this.design, this.gfns);
    r.copyFrom(this);
    return r;
  }

  /**
   * A hash of the state, for the linearizability search's cache and to tell the states serial orders leave
   * apart. After teardown every op is expected to find the fds closed, whatever the pages were: one state.
   */
  stateHash(): number {
    let h = 0x811c9dc5;
    if (this.destroyed) return (Math.imul(h ^ 0xdead, 0x01000193) >>> 0);
    const w = this.words; // every per-gfn field, a word at a time
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i], 0x01000193);
    h = Math.imul(h ^ (this.runnable ? 1 : 0), 0x01000193);
    h = Math.imul(h ^ (this.destroyed ? 1 : 0), 0x01000193);
    for (const x of this.slotDeleted) h = Math.imul(h ^ (x ? 1 : 0), 0x01000193);
    h = Math.imul(h ^ (this.poolShort ? 1 : 0), 0x01000193);
    return h >>> 0;
  }

  /** Take over another reference's state (the serial order that fitted). */
  copyFrom(o: Reference): void {
    this.block.set(o.block);
    this.runnable = o.runnable;
    this.destroyed = o.destroyed;
    for (let s = 0; s < o.slotDeleted.length; s++) this.slotDeleted[s] = o.slotDeleted[s];
    this.poolShort = o.poolShort;
    const findings = this.knownDesignFindings;
    findings.length = o.knownDesignFindings.length;
    for (let k = 0; k < findings.length; k++) findings[k] = o.knownDesignFindings[k];
  }

  /**
   * Widen this state to accept whatever any of `others` accepts, where the state can say it does not know:
   * acceptance (UNKNOWN for a private gfn), contents, poison (MAYBE), a drained pool. False when they also
   * differ in what it cannot widen (attributes, host mappings and pins, userspace memory, phase, memslots).
   */
  widenWith(others: readonly Reference[]): boolean {
    let exact = true;
    for (const o of others) {
      for (let g = 0; g < this.gfns; g++) {
        if (this.accepted[g] !== o.accepted[g]) this.accepted[g] = this.private[g] ? UNKNOWN : NO;
        if (this.accepted[g] === UNKNOWN || !o.known[g] || this.data[g] !== o.data[g]) this.known[g] = 0;
        if (this.poison[g] !== o.poison[g]) this.poison[g] = MAYBE;
        if (this.private[g] !== o.private[g] || this.hostMaps[g] !== o.hostMaps[g] || this.pins[g] !== o.pins[g] || this.userMem[g] !== o.userMem[g]) exact = false;
      }
      this.poolShort ||= o.poolShort;
      if (this.runnable !== o.runnable || this.destroyed !== o.destroyed || this.slotDeleted.some((d, s) => d !== o.slotDeleted[s])) exact = false;
    }
    return exact;
  }

  /**
   * The memslot of g by the design's layout, deleted or not (-1: none): [slotBaseGfn, end), cut at
   * slotSplitGfn when memslots is 2 (issue 11).
   */
  slotOf(g: number): number {
    if (g < this.slotBase || g >= this.gfns) return -1;
    return this.design.memslots === 2 && g >= this.design.slotSplitGfn ? 1 : 0;
  }

  private inSlot(g: number): boolean {
    const s = this.slotOf(g);
    return s >= 0 && !this.slotDeleted[s];
  }

  /** Does an access to g go to guest_memfd? Not for a shared gfn when attributes live in the VM. */
  private viaGmem(g: number): boolean {
    return !this.design.vmMemoryAttributes || this.private[g] === 1;
  }

  /** A valid ioctl range: non-empty, its first and last gfn in live memslots (the model's checks, kvm/memAttributes.ts). */
  private validRange(start: number, end: number): boolean {
    return start < end && this.inSlot(start) && end <= this.gfns && this.inSlot(end - 1);
  }

  /** A range valid for the memslot layout, deleted memslots counted as present. */
  private layoutRange(start: number, end: number): boolean {
    return start < end && this.slotOf(start) >= 0 && end <= this.gfns && this.slotOf(end - 1) >= 0;
  }

  /** gfns sharing g's original folio: all of a hugetlb or THP folio, as allocated. */
  private folioSpan(g: number): [number, number] {
    const n = originalFolioPages(this.design);
    const idx = g + this.indexShift;
    const lo = idx - (idx % n) - this.indexShift;
    return [Math.max(lo, this.slotBase), Math.min(lo + n, this.gfns)];
  }

  /**
   * May getting a guest_memfd page fail with -ENOMEM in this op: an injected allocation failure, a pool drained
   * by leaks, or a failed folio split (a shared page is mapped 4K, so its huge folio is split first; 003:L436).
   */
  private allocMayFail(ctx: RefContext): boolean {
    return this.poolShort || ctx.sites.has('ALLOC') || ctx.sites.has('FOLIO_SPLIT');
  }

  private acceptOne(g: number): void {
    this.accepted[g] = YES;
    this.data[g] = 0; // ACCEPT hands the guest a zeroed page [A]
    this.known[g] = 1;
  }

  private lose(g: number): void {
    this.accepted[g] = NO;
    this.known[g] = 0;
  }

  /**
   * An op cut short by a fatal-by-design fault may have done any part of its work: forget what it could have
   * changed (acceptance and data of the gfns it names) so later checks compare against what is still known.
   */
  forget(op: Op): void {
    const [lo, hi] = gfnsNamed(op, this.ptrs, this.gfns);
    for (let g = Math.max(lo, this.slotBase); g < hi; g++) {
      if (this.private[g]) this.accepted[g] = UNKNOWN;
      this.known[g] = 0;
    }
  }

  /**
   * The gfns whose state `op` may read or change here, or null when it reads or changes the whole VM's
   * (runnable, teardown, memslots, the folio pool a truncation may leak into). Ops with disjoint footprints
   * commute: the linearizability check may order them apart (src/oracle/locality.ts).
   */
  footprint(op: Op): [number, number] | null {
    switch (op.op) {
      case 'finalize':
      case 'destroy':
      case 'deleteSlot':
      case 'punch': // a truncation that leaks a folio leaves the pool short for every later allocation
        return null;
      case 'hostAlloc':
        return [0, 0]; // judged on its own result only
      case 'memoryFailure': {
        // kvm_gmem_error_folio() reaches the whole folio of the page
        const [lo, hi] = this.folioSpan(op.gfn);
        return [Math.max(0, Math.min(lo, op.gfn)), Math.min(this.gfns, Math.max(hi, op.gfn + 1))];
      }
      default: {
        const [lo, hi] = gfnsNamed(op, this.ptrs, this.gfns);
        return [Math.max(0, lo), Math.min(this.gfns, hi)];
      }
    }
  }

  /**
   * Take over another reference's state at the gfns of `mask` only, with the design findings it added past
   * the first `findingsFrom` (an order of ops that touched only those gfns, found apart from the others).
   */
  copyGfnsFrom(o: Reference, mask: Uint8Array, findingsFrom: number): void {
    for (let g = 0; g < this.gfns; g++) {
      if (!mask[g]) continue;
      this.private[g] = o.private[g];
      this.accepted[g] = o.accepted[g];
      this.data[g] = o.data[g];
      this.known[g] = o.known[g];
      this.poison[g] = o.poison[g];
      this.hostMaps[g] = o.hostMaps[g];
      this.pins[g] = o.pins[g];
      this.userMem[g] = o.userMem[g];
    }
    this.knownDesignFindings.push(...o.knownDesignFindings.slice(findingsFrom));
  }

  apply(op: Op, out: OpOutcome, ctx: RefContext): RefMismatch | null {
    // A fault checks the attribute, then finds the folio poisoned: with a memory failure overlapping it, it
    // can see the poison before a conversion it overlaps too, which no serial order shows (-EHWPOISON goes
    // to userspace, kernel-facts.md 3.1). The op may have done part of its work: forget what it names.
    if (ctx.overlapping?.has('memoryFailure') && outcomeErrno(out) === -EHWPOISON) {
      this.forget(op);
      return null;
    }
    const m = this.applyInner(op, out, ctx);
    return m === null ? null : typeof m === 'string' ? { inv: 'REF-RESULT', message: m } : m;
  }

  private applyInner(op: Op, out: OpOutcome, ctx: RefContext): string | RefMismatch | null {
    if (this.destroyed) {
      if (op.op === 'touch' || op.op === 'accept' || op.op === 'mapGpa') return out.kind === op.op && 'result' in out && out.result === 'vm-dead' ? null : `${op.op} after teardown: expected vm-dead, got ${describeOutcome(out)}`;
      return isIoctl(out) && out.ret === -EBADF ? null : `${op.op} after teardown: expected ${-EBADF}, got ${describeOutcome(out)}`;
    }
    if (out.kind !== op.op) return `${op.op} returned a ${out.kind} outcome`;
    switch (op.op) {
      case 'touch':
        return this.touchVia(op.gfn, op.write, op.alias, op.onExit === 'vmm', out as TouchOutcome, ctx);
      case 'mapGpa':
        return this.mapGpa(op.start, op.end, op.to === 'private' ? 1 : 0, op.onExit === 'vmm', out as MapGpaOutcome, ctx);
      case 'accept':
        return op.level === '4K' ? this.accept4K(op.gfn, out as AcceptOutcome, ctx) : this.accept2M(op.gfn, out as AcceptOutcome, ctx);
      case 'convert':
        return this.convert(op.start, op.end, op.to === 'private' ? 1 : 0, retOf(out), ctx, op.arg);
      case 'punch':
        return this.punch(op.start, op.end, retOf(out), ctx);
      case 'initMemRegion':
        return this.initMemRegion(op.start, op.end, op.data, retOf(out), ctx);
      case 'finalize': {
        // tdx_td_finalize(): TDX_OPERAND_BUSY from TDH.MR.FINALIZE goes back to userspace as -EAGAIN, to retry
        if (!this.runnable && retOf(out) === -EAGAIN && ctx.injected.has('TDH.MR.FINALIZE TDX_OPERAND_BUSY')) return null;
        const want = this.runnable ? -EINVAL : 0;
        if (retOf(out) !== want) return `finalize: expected ${want}, got ${retOf(out)}`;
        this.runnable = true;
        return null;
      }
      case 'destroy':
        this.destroyed = true;
        return retOf(out) === 0 ? null : `destroy: expected 0, got ${retOf(out)}`;
      case 'hostMap':
      case 'pin':
        return this.hostRef(op.op, op.gfn, retOf(out), ctx);
      case 'hostUnmap':
      case 'unpin': {
        const counts = op.op === 'hostUnmap' ? this.hostMaps : this.pins;
        const g = op.gfn;
        const want = this.inSlot(g) && counts[g] > 0 ? 0 : -EINVAL;
        if (retOf(out) !== want) return `${op.op}(0x${g.toString(16)}): expected ${want}, got ${retOf(out)}`;
        if (want === 0) counts[g]--;
        return null;
      }
      case 'memoryFailure':
        return this.memoryFailure(op.gfn, retOf(out), ctx);
      case 'hostRead':
      case 'hostWrite':
        return this.hostAccess(op.gfn, op.op === 'hostWrite' ? op.data : undefined, hostResult(out), ctx);
      case 'hostAlloc':
        return retOf(out) >= 0 && retOf(out) <= op.pages ? null : `hostAlloc(${op.pages}) returned ${retOf(out)}`;
      case 'prefault':
        return this.prefault(op.start, op.end, retOf(out), ctx);
      case 'deleteSlot': {
        const id = Number(op.slot ?? '0');
        // a slot the VM never had: -EINVAL; one already deleted: -EFAULT (the model's answer, docs/model.md)
        const want = id >= this.slotDeleted.length ? -EINVAL : this.slotDeleted[id] ? -EFAULT : 0;
        if (retOf(out) !== want) return `deleteSlot(${id}): expected ${want}, got ${retOf(out)}`;
        if (want === 0) {
          for (let g = 0; g < this.gfns; g++) if (this.private[g] && this.slotOf(g) === id) this.lose(g); // every guest leaf of the slot is zapped
          this.slotDeleted[id] = true;
        }
        return null;
      }
    }
  }

  /** KVM_PRE_FAULT_MEMORY: maps without accepting, so nothing the guest sees changes. */
  private prefault(start: number, end: number, ret: number, ctx: RefContext): string | null {
    const where = `prefault [0x${start.toString(16)}, 0x${end.toString(16)})`;
    if (ctx.vmDead) return null;
    if (!this.runnable) return ret === -EOPNOTSUPP ? null : `${where} before finalize: expected ${-EOPNOTSUPP}, got ${ret}`;
    // a memslot deletion under way makes KVM_PRE_FAULT_MEMORY punt with -EAGAIN (kvm_mmu_faultin_pfn); one that
    // finished after the range was checked leaves a page with no memslot, where the walk stops with -EFAULT
    const deletedMeanwhile = ctx.overlapping?.has('deleteSlot') && this.layoutRange(start, end);
    if (ret === -EFAULT && deletedMeanwhile && !this.validRange(start, end)) return null;
    if (!this.validRange(start, end)) return ret === -EINVAL ? null : `${where}: expected ${-EINVAL}, got ${ret}`;
    if (ret === -ENOMEM && this.allocMayFail(ctx)) return null;
    if (ret === -EAGAIN && deletedMeanwhile) return null;
    let poisoned = false;
    let maybe = false;
    for (let g = start; g < end; g++) {
      if (!this.viaGmem(g)) continue;
      if (this.poison[g] === POISONED) poisoned = true;
      else if (this.poison[g] === MAYBE) maybe = true;
    }
    if (poisoned) return ret === -EHWPOISON ? null : `${where} over a HWPoisoned page: expected ${-EHWPOISON}, got ${ret}`;
    if (maybe && ret === -EHWPOISON) return null;
    return ret === 0 ? null : `${where}: expected 0, got ${ret}`;
  }

  /** Outcomes every guest op may have regardless of the page: a dead VM, a TD not yet finalized. */
  private guestPreamble(what: string, out: TouchOutcome | AcceptOutcome, g: number, ctx: RefContext, privateAccess: boolean): string | null | undefined {
    if (out.result === 'vm-dead') return ctx.vmDead ? null : `${what} reported a dead VM but the VM is alive`;
    if (!this.runnable) return out.result === 'exit' && out.errno === -EINVAL ? null : `KVM_RUN before finalize: expected -EINVAL, got ${describeOutcome(out)}`;
    if (!this.inSlot(g)) return out.result === 'exit' && out.errno === -EFAULT ? null : `gfn 0x${g.toString(16)} outside the memslot: expected an exit to userspace, got ${describeOutcome(out)}`;
    if (out.result === 'exit' && out.errno === -ENOMEM && this.allocMayFail(ctx)) return null; // -ENOMEM from the folio allocation goes to userspace
    // A private access to a shared gfn exits on the attribute mismatch, before guest_memfd is asked.
    if (privateAccess && !this.private[g]) return out.result === 'exit' && out.errno === -EFAULT ? null : `${what} of shared gfn 0x${g.toString(16)}: expected a memory-fault exit, got ${describeOutcome(out)}`;
    if (this.poison[g] === POISONED && this.viaGmem(g)) return out.result === 'exit' && out.errno === -EHWPOISON ? null : `HWPoisoned gfn 0x${g.toString(16)}: expected -EHWPOISON, got ${describeOutcome(out)}`;
    // Another page of its folio is poisoned: refused while the folio lasts (a later split may free it).
    if (this.poison[g] === MAYBE && this.viaGmem(g) && out.result === 'exit' && out.errno === -EHWPOISON) return null;
    return undefined; // nothing decided: page-specific expectations follow
  }

  /**
   * A guest access through a named alias (`alias`, or the one the outcome reports with other actors about).
   * An alias that disagrees with the attribute exits with KVM_EXIT_MEMORY_FAULT of the 4K page (kernel-facts.md
   * 3.2); with the VMM (`vmm`) userspace converts exactly that page to the alias (the conversion rule below)
   * and the guest re-executes the access; a conversion that fails ends the op with the exit. The reference
   * works the round trip out from its own attribute and the op, never from the model.
   */
  private touchVia(g: number, write: number | undefined, named: 'private' | 'shared' | undefined, vmm: boolean, out: TouchOutcome, ctx: RefContext): string | RefMismatch | null {
    const a = named ?? out.alias;
    if (a === undefined) return this.touch(g, write, out, ctx); // the alias the guest believes, which the attribute matches
    const alias = a === 'private' ? 1 : 0;
    const steps = out.vmm ?? [];
    const where = `${a} ${write === undefined ? 'read' : 'write'} of gfn 0x${g.toString(16)}`;
    let k = 0;
    // the memory-fault exit needs a running TD and a slot; a dead VM is judged by touch()
    while (out.result !== 'vm-dead' && this.runnable && this.inSlot(g) && alias !== this.private[g]) {
      const want: ExpectedExit = { reason: 'memory-fault', gpa: g * PAGE, size: PAGE, private: alias === 1 };
      if (k < steps.length) {
        const s = steps[k++];
        if (!exitIs(s.exit, want)) return `${where}: the VMM handled ${describeOutcome({ kind: 'touch', result: 'exit', errno: -EFAULT, exit: s.exit })}, expected ${showExit(want)}`;
        const m = this.convert(g, g + 1, alias, s.ret, ctx, undefined);
        if (m) return typeof m === 'string' ? `${where}, the VMM's conversion: ${m}` : m;
        if (s.ret !== 0) {
          // the VMM gives up: KVM_RUN's exit is what the op returns
          if (k !== steps.length || out.result !== 'exit' || out.errno !== -EFAULT || !exitIs(out.exit, want)) return `${where}: the VMM's conversion failed (${s.ret}), expected the op to end with -EFAULT (${showExit(want)}), got ${describeOutcome(out)}`;
          return null;
        }
        continue; // converted: the guest re-executes the access
      }
      if (vmm) return `${where} to a ${this.private[g] ? 'private' : 'shared'} gfn: expected the VMM to handle ${showExit(want)}, got ${describeOutcome(out)}`;
      return out.result === 'exit' && out.errno === -EFAULT && exitIs(out.exit, want) ? null : `${where} to a ${this.private[g] ? 'private' : 'shared'} gfn: expected -EFAULT with ${showExit(want)}, got ${describeOutcome(out)}`;
    }
    if (k < steps.length) return `${where}: the VMM handled ${describeOutcome({ kind: 'touch', result: 'exit', errno: -EFAULT, exit: steps[k].exit })}, but the alias matches the attribute`;
    return this.touch(g, write, out, ctx);
  }

  /**
   * The guest's MapGPA of [start, end): KVM refuses an empty range or one past the GPA space
   * (TDVMCALL_STATUS_INVALID_OPERAND), else exits with KVM_HC_MAP_GPA_RANGE per 2M chunk (tdx.c
   * __tdx_map_gpa). Without the VMM the first exit is the outcome; with it each chunk is converted (the
   * conversion rule), a failed one ends the hypercall with INVALID_OPERAND at that chunk, and all done is success.
   */
  private mapGpa(start: number, end: number, to: number, vmm: boolean, out: MapGpaOutcome, ctx: RefContext): string | RefMismatch | null {
    const where = `MapGPA [0x${start.toString(16)}, 0x${end.toString(16)}) -> ${to ? 'private' : 'shared'}`;
    const steps = out.vmm ?? [];
    if (out.result === 'vm-dead' && !ctx.vmDead) return `${where} reported a dead VM but the VM is alive`;
    if (!this.runnable) return out.result === 'vm-dead' || (out.result === 'exit' && out.errno === -EINVAL) ? null : `KVM_RUN before finalize: expected -EINVAL, got ${describeOutcome(out)}`;
    if (end <= start || end > this.gfns) return out.result === 'error' && out.status === 'TDVMCALL_STATUS_INVALID_OPERAND' && out.at === undefined && !steps.length ? null : `${where}: expected TDVMCALL_STATUS_INVALID_OPERAND, got ${describeOutcome(out)}`;
    let k = 0;
    for (let next = start; next < end; next += this.ptrs) {
      const want: ExpectedExit = { reason: 'map-gpa', gpa: next * PAGE, npages: Math.min(end, next + this.ptrs) - next, private: to === 1 };
      if (!vmm) return out.result === 'exit' && out.errno === 0 && exitIs(out.exit, want) && !steps.length ? null : `${where}: expected KVM_RUN to return ${showExit(want)}, got ${describeOutcome(out)}`;
      const s = steps[k++];
      if (!s || !exitIs(s.exit, want)) {
        if (!s && out.result === 'vm-dead') return null; // the VM died before this chunk
        return `${where}: expected the VMM to handle ${showExit(want)}, got ${describeOutcome(out)}`;
      }
      const m = this.convert(next, next + want.npages!, to, s.ret, ctx, undefined);
      if (m) return typeof m === 'string' ? `${where}, the VMM's conversion: ${m}` : m;
      if (out.result === 'vm-dead' && k === steps.length) return null; // the conversion killed the VM (a fatal fault)
      if (s.ret !== 0) return out.result === 'error' && out.status === 'TDVMCALL_STATUS_INVALID_OPERAND' && out.at === next && k === steps.length ? null : `${where}: the VMM's conversion of the chunk at 0x${next.toString(16)} failed (${s.ret}), expected TDVMCALL_STATUS_INVALID_OPERAND at it, got ${describeOutcome(out)}`;
    }
    return out.result === 'mapped' && k === steps.length ? null : `${where}: every chunk converted, expected TDVMCALL_STATUS_SUCCESS, got ${describeOutcome(out)}`;
  }

  private touch(g: number, write: number | undefined, out: TouchOutcome, ctx: RefContext): string | null {
    const pre = this.guestPreamble('touch', out, g, ctx, false);
    if (pre !== undefined) return pre;
    const want = write !== undefined ? 'written' : 'read';
    const acc = this.private[g] ? this.accepted[g] : YES; // shared memory needs no ACCEPT
    const okAccess = acc !== NO && out.result === want;
    const noVe = unacceptedAccessKillsVm(this.design); // SEPT_VE_DISABLE: no #VE, the VM dies instead
    const okVe = !noVe && this.private[g] === 1 && acc !== YES && out.result === 've';
    if (!okAccess && !okVe) {
      const unaccepted = noVe ? 'the VM killed (SEPT_VE_DISABLE)' : '#VE';
      const expected = acc === YES ? want : acc === NO ? unaccepted : `${want} or ${unaccepted}`;
      return `${this.private[g] ? 'private' : 'shared'} gfn 0x${g.toString(16)}: expected ${expected}, got ${describeOutcome(out)}`;
    }
    if (out.result === 've') {
      this.accepted[g] = NO;
      return null;
    }
    if (this.private[g]) this.accepted[g] = YES;
    else if (this.design.vmMemoryAttributes) {
      // a shared access reaches the slot's userspace memory: what the host wrote there, or the guest earlier
      if (out.result === 'read' && out.value !== this.userMem[g]) return `shared gfn 0x${g.toString(16)} read ${out.value}, but its userspace memory holds ${this.userMem[g]}`;
      if (write !== undefined) this.userMem[g] = write;
    }
    if (out.result === 'read' && this.known[g] && out.value !== this.data[g]) return `gfn 0x${g.toString(16)} read ${out.value}, expected ${this.data[g]}`;
    if (out.result === 'read' && !this.known[g]) {
      this.data[g] = out.value;
      this.known[g] = 1;
    }
    if (write !== undefined) {
      this.data[g] = write;
      this.known[g] = 1;
    }
    return null;
  }

  private accept4K(g: number, out: AcceptOutcome, ctx: RefContext): string | null {
    const pre = this.guestPreamble('ACCEPT', out, g, ctx, true);
    if (pre !== undefined) return pre;
    const acc = this.accepted[g];
    // an error injected on the TDCALL: the module refused it and changed nothing
    if (out.result === 'error' && ctx.injected.has(`TDG.MEM.PAGE.ACCEPT ${out.status}`)) return null;
    const ok = (out.result === 'accepted' && acc !== YES) || (out.result === 'already' && acc !== NO);
    if (!ok) return `4K ACCEPT of gfn 0x${g.toString(16)}: expected ${acc === YES ? 'already' : acc === NO ? 'accepted' : 'accepted or already'}, got ${describeOutcome(out)}`;
    if (out.result === 'accepted') this.acceptOne(g);
    else this.accepted[g] = YES;
    return null;
  }

  private accept2M(gfn: number, out: AcceptOutcome, ctx: RefContext): string | null {
    const base = gfn - (gfn % this.ptrs);
    const end = base + this.ptrs;
    if (out.result === 'vm-dead') return ctx.vmDead ? null : 'accept reported a dead VM but the VM is alive';
    if (!this.runnable) return out.result === 'exit' && out.errno === -EINVAL ? null : `KVM_RUN before finalize: expected -EINVAL, got ${describeOutcome(out)}`;
    let firstShared = end;
    let anyPoison = false;
    let nYes = 0;
    let nNo = 0;
    for (let g = base; g < end; g++) {
      if (!this.inSlot(g) || !this.private[g]) { firstShared = g; break; }
      if (this.poison[g]) anyPoison = true;
      if (this.accepted[g] === YES) nYes++;
      else if (this.accepted[g] === NO) nNo++;
    }
    // Overlapped by other ops, the 4K-by-4K walk interleaves with them page by page: which pages ended up
    // accepted is not known (the guest-view check skips them), only that the VM state explains the outcome.
    if (ctx.overlapped && (out.result === 'fallback-4k' || out.result === 'exit' || out.result === 'error')) {
      for (let g = base; g < end; g++) {
        if (this.inSlot(g) && this.private[g]) {
          this.accepted[g] = UNKNOWN;
          this.known[g] = 0;
        }
      }
      return null;
    }
    // With poison or an injected -ENOMEM in the range the 4K fallback may stop anywhere: accept the exit and
    // forget what was accepted before it.
    if (out.result === 'exit' && ((anyPoison && out.errno === -EHWPOISON) || (this.allocMayFail(ctx) && out.errno === -ENOMEM))) {
      for (let g = base; g < firstShared; g++) if (this.accepted[g] === NO) this.accepted[g] = UNKNOWN;
      return null;
    }
    if (out.result === 'error' && ctx.injected.has(`TDG.MEM.PAGE.ACCEPT ${out.status}`)) {
      // An error injected on one of the TDCALLs, the 2M one or a 4K one of the fallback: the guest stops
      // there, and the pages it did not reach are as they were; which ones it reached is not visible.
      for (let g = base; g < firstShared; g++) {
        if (this.accepted[g] === NO) this.accepted[g] = UNKNOWN;
      }
      return null;
    }
    if (firstShared < end) {
      // The guest walks the range 4K by 4K until it reaches the shared gfn [A].
      if (out.result !== 'exit' || out.errno !== -EFAULT) return `2M ACCEPT over a range with shared gfn 0x${firstShared.toString(16)}: expected a memory-fault exit, got ${describeOutcome(out)}`;
      for (let g = base; g < firstShared; g++) {
        if (this.accepted[g] === NO) this.acceptOne(g);
        else if (this.accepted[g] === UNKNOWN) {
          this.accepted[g] = YES; // accepted now or already before: its contents are not known
          this.known[g] = 0;
        }
      }
      return null;
    }
    const n = this.ptrs;
    const nUnk = n - nYes - nNo;
    const ok =
      (out.result === 'accepted' && nYes === 0) ||
      (out.result === 'already' && nNo === 0) ||
      (out.result === 'fallback-4k' && out.accepted >= nNo && out.accepted <= nNo + nUnk && out.accepted + out.already === n);
    if (!ok) return `2M ACCEPT of [0x${base.toString(16)}, 0x${end.toString(16)}) with ${nYes} accepted, ${nNo} not and ${nUnk} unknown: got ${describeOutcome(out)}`;
    for (let g = base; g < end; g++) {
      if (this.accepted[g] === NO || (this.accepted[g] === UNKNOWN && out.result === 'accepted')) this.acceptOne(g);
      else if (this.accepted[g] === UNKNOWN) {
        this.accepted[g] = YES;
        this.known[g] = 0;
      }
    }
    return null;
  }

  private convert(start: number, end: number, to: number, ret: number, ctx: RefContext, arg: string | undefined): string | RefMismatch | null {
    const where = `convert [0x${start.toString(16)}, 0x${end.toString(16)}) -> ${to ? 'private' : 'shared'}`;
    // flags, unknown attribute bits, unaligned address or size: refused before anything (kernel-facts.md 3.2)
    if (arg !== undefined) return ret === -EINVAL ? null : `${where} with an invalid argument (${arg}): expected ${-EINVAL}, got ${ret}`;
    // the range is checked against the memslots when the ioctl begins and converted by guest_memfd index
    // later: a slot deletion overlapping it may come in between without undoing the check, and whatever the
    // conversion then returns (0, or -EBUSY for a pinned page) it got past the check
    const checkedBeforeDeletion = ret !== -EINVAL && ctx.overlapping?.has('deleteSlot') && this.layoutRange(start, end);
    if (!this.validRange(start, end) && !checkedBeforeDeletion) return ret === -EINVAL ? null : `${where}: expected ${-EINVAL}, got ${ret}`;
    let noop = true;
    for (let g = start; g < end && noop; g++) noop = this.private[g] === to;
    if (noop) return ret === 0 ? null : `${where}: the range already has the attribute, expected 0, got ${ret}`;
    if (ret === -ENOMEM && ctx.sites.has('ALLOC') && to === 0 && this.design.vmMemoryAttributes && (ctx.siteSlot ?? -1) > 0) {
      // KVM_SET_MEMORY_ATTRIBUTES runs its pre-set handler (split, then unmap) memslot by memslot in gfn order;
      // a split failing in a later memslot leaves the earlier ones' part of the range "split and zapped, even
      // though their page attributes remain unchanged" (kernel-facts.md 3.2, V3-15): their private pages are
      // gone (the guest must accept them again), the attributes stay.
      const failed = ctx.siteSlot!;
      for (let g = start; g < end; g++) if (this.private[g] && this.slotOf(g) < failed) this.lose(g);
      return null;
    }
    if (ret === -ENOMEM && ctx.sites.has('ALLOC') && (to === 1 || this.design.vmMemoryAttributes)) return null; // failed before any change
    if (to === 1) {
      this.hostMaps.fill(0, start, end); // step 2a tears userspace mappings down first
      let pinned = -1;
      for (let g = start; g < end && pinned < 0; g++) if (this.pins[g] > 0) pinned = g;
      if (pinned >= 0) {
        // INV-32: "shared->private with an IOMMU-pinned page fails with an error and changes nothing" (003:L661)
        return ret === -EBUSY ? null : { inv: 'INV-32', message: `${where}: gfn 0x${pinned.toString(16)} is IOMMU-pinned, expected ${-EBUSY}, got ${ret}` };
      }
    } else if (ret === -ENOMEM && (ctx.sites.has('FOLIO_SPLIT') || ctx.sites.has('ALLOC'))) {
      // INV-31: a failed conversion leaves the attributes as they were. In the v3 order the zap came first,
      // so private pages of the range are gone: the open question of 003:L435-436 (BUG-19).
      if (ctx.sites.has('FOLIO_SPLIT') && conversionOrderOf(this.design) === 'V3_ZAP_THEN_SPLIT') {
        let lost = 0;
        for (let g = start; g < end; g++) {
          if (this.private[g] && this.accepted[g] !== NO) lost++;
          if (this.private[g]) this.lose(g);
        }
        if (lost) {
          const msg = `${where} failed after the zap: ${lost} accepted page(s) lost ("if splitting fails there is no way to undo the unmapping", 003:L435)`;
          if (g19CountsAsFailure(this.design)) return { inv: 'INV-31', message: msg };
          this.knownDesignFindings.push(`KNOWN-DESIGN BUG-19 (INV-31 desired form): ${msg}`);
        }
      }
      return null;
    }
    if (ret !== 0) return `${where}: expected 0, got ${ret}`;
    for (let g = start; g < end; g++) {
      if (this.private[g] === to) continue; // a gfn that already has the attribute is left alone
      this.private[g] = to;
      this.lose(g); // contents do not survive a conversion either way
    }
    return null;
  }

  private punch(start: number, end: number, ret: number, ctx: RefContext): string | null {
    const where = `punch [0x${start.toString(16)}, 0x${end.toString(16)})`;
    const huge = hugetlbBacking(this.design);
    const sh = this.indexShift;
    const n = originalFolioPages(this.design);
    const aligned = (start + sh) % n === 0 && (end + sh) % n === 0;
    let want = 0;
    if (!this.validRange(start, end)) want = -EINVAL;
    else if (huge && this.design.punchPartialHuge === 'REJECT' && !aligned) want = -EINVAL; // 003:L762
    if (want === 0 && ret === -ENOMEM && ctx.sites.has('ALLOC')) return null; // the split before the zap failed
    if (ret !== want) return `${where}: expected ${want}, got ${ret}`;
    if (want !== 0) return null;
    for (let g = start; g < end; g++) {
      if (this.private[g]) this.lose(g); // zapped
      const [lo, hi] = this.folioSpan(g);
      if (!huge || (lo >= start && hi <= end && (lo + sh) % n === 0)) {
        // the folio is truncated: a later fault gets a fresh page
        this.lose(g);
        // in place, a shared gfn's memory is the guest_memfd folio: the next fault gets a new one, cleared
        // (kvm_gmem_fault_user_mapping clears a folio not yet uptodate); with VM attributes it is the slot's
        // userspace memory, which a punch does not reach
        if (!this.design.vmMemoryAttributes && !this.private[g]) this.setData(g, 0);
        // truncation leaks a folio that is poisoned, pinned, or still held by the S-EPT of a dead VM
        if (this.poison[g] !== NO || this.pins[g] > 0 || ctx.vmDead) this.poolShort = true;
        this.poison[g] = NO;
        this.hostMaps[g] = 0;
        this.pins[g] = 0;
      }
    }
    return null;
  }

  private initMemRegion(start: number, end: number, data: number, ret: number, ctx: RefContext): string | null {
    if (ret === -ENOMEM && this.allocMayFail(ctx) && !this.runnable && this.validRange(start, end)) {
      // an injected allocation failure stops it somewhere: which pages were added is not known
      for (let g = start; g < end; g++) if (this.private[g] && this.accepted[g] === NO) this.accepted[g] = UNKNOWN;
      return null;
    }
    // Page by page: each must be private and not yet added; earlier pages stay added [A].
    let want = 0;
    let done = start;
    if (this.runnable || !this.validRange(start, end)) want = -EINVAL;
    else {
      for (; done < end; done++) {
        if (!this.private[done]) { want = -EINVAL; break; }
        if (this.accepted[done] === YES) { want = -EEXIST; break; }
        // kvm_gmem_populate() gets the pfn through __kvm_gmem_get_pfn(), which refuses a HWPoisoned folio
        if (this.poison[done] === POISONED) { want = -EHWPOISON; break; }
        if (this.poison[done] === MAYBE && ret === -EHWPOISON) {
          // its folio may hold the poisoned page, or a later page's folio may: pages from here are not known
          for (let g = done; g < end; g++) if (this.private[g] && this.accepted[g] === NO) this.accepted[g] = UNKNOWN;
          want = -EHWPOISON;
          break;
        }
        if (this.accepted[done] === UNKNOWN && ret === -EEXIST) {
          // an earlier interrupted INIT_MEM_REGION may or may not have added it: where it stopped is unknown
          for (let g = start; g < end; g++) if (this.private[g] && this.accepted[g] === NO) this.accepted[g] = UNKNOWN;
          return null;
        }
      }
    }
    if (ret !== want) return `initMemRegion [0x${start.toString(16)}, 0x${end.toString(16)}): expected ${want}, got ${ret}`;
    if (!this.runnable) {
      for (let g = start; g < done; g++) {
        this.accepted[g] = YES; // PAGE.ADD pages are present without a guest ACCEPT
        this.data[g] = data + (g - start);
        this.known[g] = 1;
      }
    }
    return null;
  }

  private hostRef(kind: 'hostMap' | 'pin', g: number, ret: number, ctx: RefContext): string | null {
    const where = `${kind}(0x${g.toString(16)})`;
    if (!this.inSlot(g) || this.design.vmMemoryAttributes) return ret === -EINVAL ? null : `${where}: outside the memslot or no guest_memfd shared memory, expected ${-EINVAL}, got ${ret}`;
    if (this.private[g]) return ret === -EFAULT ? null : `${where}: a private page must not be mapped by the host, expected ${-EFAULT}, got ${ret}`;
    if (this.poison[g] === POISONED) return ret === -EHWPOISON ? null : `${where}: HWPoisoned, expected ${-EHWPOISON}, got ${ret}`;
    if (this.poison[g] === MAYBE && ret === -EHWPOISON) return null;
    if (ret === -ENOMEM && this.allocMayFail(ctx)) return null; // the fault that backs the mapping found no folio
    if (ret !== 0) return `${where}: expected 0, got ${ret}`;
    (kind === 'hostMap' ? this.hostMaps : this.pins)[g]++;
    return null;
  }

  /**
   * Host userspace loads or stores through its mapping. In place (guest_memfd mmap): a private page is never
   * mapped to userspace, so the access faults (SIGBUS, -EFAULT; 003:L761) and the host never reads private
   * data; a shared page holds what the guest or the host last wrote there. With VM attributes the host's
   * memory is the slot's userspace memory, never guest_memfd: it keeps what the host or the guest's shared
   * accesses wrote, across conversions (tdx_upm_test.c).
   */
  private hostAccess(g: number, write: number | undefined, ret: number, ctx: RefContext): string | RefMismatch | null {
    const where = `${write === undefined ? 'hostRead' : 'hostWrite'}(0x${g.toString(16)})`;
    if (!this.inSlot(g)) return ret === -EINVAL ? null : `${where}: outside the memslot, expected ${-EINVAL}, got ${ret}`;
    if (ret === -ENOMEM && this.allocMayFail(ctx)) return null; // the fault that backs the mapping found no page
    if (this.design.vmMemoryAttributes) {
      if (write !== undefined) {
        if (ret !== 0) return `${where}: expected 0, got ${ret}`;
        this.userMem[g] = write;
        if (!this.private[g]) this.setData(g, write);
        return null;
      }
      return ret === this.userMem[g] ? null : `${where}: the slot's userspace memory holds ${this.userMem[g]}, the host read ${ret}`;
    }
    if (this.private[g]) {
      if (ret === -EFAULT) return null;
      return { inv: 'INV-25', message: `${where}: gfn is private, so the guest_memfd mmap must fault (SIGBUS, ${-EFAULT}), but the host ${write === undefined ? `read ${ret}` : `wrote (ret ${ret})`}` };
    }
    if (this.poison[g] === POISONED) return ret === -EHWPOISON ? null : `${where}: HWPoisoned, expected ${-EHWPOISON}, got ${ret}`;
    if (this.poison[g] === MAYBE && ret === -EHWPOISON) return null;
    if (write !== undefined) {
      if (ret !== 0) return `${where}: expected 0, got ${ret}`;
      this.setData(g, write);
      return null;
    }
    if (ret < 0) return `${where}: expected the page's contents, got ${ret}`;
    if (this.known[g] && ret !== this.data[g]) return `${where}: the host read ${ret}, but the page last held ${this.data[g]} (written by the guest or the host)`;
    this.setData(g, ret);
    return null;
  }

  private setData(g: number, v: number): void {
    this.data[g] = v;
    this.known[g] = 1;
  }

  /** memory_failure(): 1 when a page was there and got poisoned, 0 when nothing backed the gfn. */
  private memoryFailure(g: number, ret: number, ctx: RefContext): string | null {
    const where = `memoryFailure(0x${g.toString(16)})`;
    if (!this.inSlot(g)) return ret === -EINVAL ? null : `${where}: outside the memslot, expected ${-EINVAL}, got ${ret}`;
    const surelyBacked = this.accepted[g] === YES || this.hostMaps[g] > 0 || this.pins[g] > 0 || this.poison[g] === POISONED;
    if (ret !== 1 && (ret !== 0 || surelyBacked)) return `${where}: expected ${surelyBacked ? 1 : '0 or 1'}, got ${ret}`;
    if (ret === 0) return null;
    const [lo, hi] = this.folioSpan(g);
    for (let h = lo; h < hi; h++) {
      // kvm_gmem_error_folio() zaps every mapping of the folio, whose size the reference cannot see.
      // zapped or not, so re-accepted (zeroed) or not: its data is unknown too
      if (this.private[h] && this.accepted[h] === YES) {
        this.accepted[h] = UNKNOWN;
        this.known[h] = 0;
      }
      if (this.poison[h] === NO) this.poison[h] = MAYBE;
    }
    // 1 says the gfn's page was there and is poisoned now, unless a truncation overlapping the op (a
    // concurrent punch) may have let go of the page it hit, so that the gfn's next page is clean
    this.poison[g] = surelyBacked || !ctx.overlapping?.has('punch') ? POISONED : MAYBE;
    this.hostMaps[g] = 0;
    this.known[g] = 0;
    return null;
  }
}

/** The gfns an op names: its gfn, its 2M range for a 2M ACCEPT, its [start, end), or every gfn. */
function gfnsNamed(op: Op, ptrs: number, gfns: number): [number, number] {
  switch (op.op) {
    case 'touch':
    case 'hostMap':
    case 'hostUnmap':
    case 'pin':
    case 'unpin':
    case 'memoryFailure':
    case 'hostRead':
    case 'hostWrite':
      return [op.gfn, op.gfn + 1];
    case 'accept':
      return op.level === '4K' ? [op.gfn, op.gfn + 1] : [op.gfn - (op.gfn % ptrs), op.gfn - (op.gfn % ptrs) + ptrs];
    case 'convert':
    case 'mapGpa':
    case 'punch':
    case 'initMemRegion':
    case 'prefault':
      return [op.start, Math.min(op.end, gfns)];
    default:
      return [0, gfns];
  }
}

/** A host access as one number: the token a load read (>= 0), 0 for a store, or the negative errno. */
function hostResult(out: OpOutcome): number {
  return out.kind === 'hostRead' && out.ret === 0 ? out.value ?? NaN : retOf(out);
}

function retOf(out: OpOutcome): number {
  return isIoctl(out) ? out.ret : NaN;
}

/** The error an op reported: an ioctl's negative return, or a guest op's exit errno; 0 otherwise. */
function outcomeErrno(out: OpOutcome): number {
  if ('ret' in out) return out.ret < 0 ? out.ret : 0;
  return 'result' in out && out.result === 'exit' ? out.errno : 0;
}
