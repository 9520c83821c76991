// The reference model (model-spec.md 8, layer 2): what the guest and userspace must observe, written from
// the spec alone. Per gfn: attribute, accepted, data (and whether the data is known). It predicts each
// op's result, then advances on the result it accepted.
import type { Design } from '../model/config.js';
import { EBADF, EEXIST, EFAULT, EINVAL } from '../model/errno.js';
import type { Op } from '../model/ops.js';
import { describeOutcome, isIoctl, type OpOutcome } from '../model/outcome.js';

export class Reference {
  readonly private: Uint8Array;
  readonly accepted: Uint8Array;
  readonly data: Int32Array;
  readonly known: Uint8Array;

  private readonly slotBase: number;
  /** The TD may run only after KVM_TDX_FINALIZE_VM succeeded. */
  runnable: boolean;
  /** The VM and guest_memfd fds are closed. */
  destroyed = false;

  constructor(readonly design: Design, readonly gfns: number) {
    this.runnable = design.startPhase === 'RUNNABLE';
    this.slotBase = design.slotBaseGfn;
    this.private = new Uint8Array(gfns).fill(1, design.slotBaseGfn); // TD memory in the slot starts private
    this.accepted = new Uint8Array(gfns);
    this.data = new Int32Array(gfns);
    this.known = new Uint8Array(gfns);
  }

  private inSlot(g: number): boolean {
    return g >= this.slotBase && g < this.gfns;
  }

  /** A valid ioctl range: non-empty and inside the memslot. */
  private validRange(start: number, end: number): boolean {
    return start < end && this.inSlot(start) && end <= this.gfns;
  }

  private forget(start: number, end: number): void {
    this.accepted.fill(0, start, end);
    this.known.fill(0, start, end);
  }

  private acceptOne(g: number): void {
    this.accepted[g] = 1;
    this.data[g] = 0; // ACCEPT hands the guest a zeroed page [A]
    this.known[g] = 1;
  }

  /**
   * Compare the op's outcome with what the spec allows and advance. Returns a mismatch message or null.
   * `vmDead` is what userspace can see (ioctls fail, vCPUs do not run); guest ops may then say so.
   */
  apply(op: Op, out: OpOutcome, vmDead: boolean): string | null {
    if (this.destroyed) {
      if (op.op === 'touch' || op.op === 'accept') return out.kind === op.op && 'result' in out && out.result === 'vm-dead' ? null : `${op.op} after teardown: expected vm-dead, got ${describeOutcome(out)}`;
      return isIoctl(out) && out.ret === -EBADF ? null : `${op.op} after teardown: expected ${-EBADF}, got ${describeOutcome(out)}`;
    }
    switch (op.op) {
      case 'touch': {
        if (out.kind !== 'touch') return `touch returned a ${out.kind} outcome`;
        if (out.result === 'vm-dead') return vmDead ? null : 'touch reported a dead VM but the VM is alive';
        if (!this.runnable) return out.result === 'exit' && out.errno === -EINVAL ? null : `KVM_RUN before finalize: expected -EINVAL, got ${describeOutcome(out)}`;
        const g = op.gfn;
        if (!this.inSlot(g)) return out.result === 'exit' && out.errno === -EFAULT ? null : `gfn 0x${g.toString(16)} outside the memslot: expected an exit to userspace, got ${describeOutcome(out)}`;
        if (!this.private[g] || this.accepted[g]) {
          const want = op.write !== undefined ? 'written' : 'read';
          if (out.result !== want) return `${this.private[g] ? 'accepted private' : 'shared'} gfn 0x${g.toString(16)}: expected ${want}, got ${describeOutcome(out)}`;
          if (out.result === 'read' && this.known[g] && out.value !== this.data[g]) {
            return `gfn 0x${g.toString(16)} read ${out.value}, expected ${this.data[g]}`;
          }
          if (op.write !== undefined) {
            this.data[g] = op.write;
            this.known[g] = 1;
          }
          return null;
        }
        return out.result === 've' ? null : `unaccepted private gfn 0x${g.toString(16)}: expected #VE, got ${describeOutcome(out)}`;
      }
      case 'accept': {
        if (out.kind !== 'accept') return `accept returned a ${out.kind} outcome`;
        if (out.result === 'vm-dead') return vmDead ? null : 'accept reported a dead VM but the VM is alive';
        if (!this.runnable) return out.result === 'exit' && out.errno === -EINVAL ? null : `KVM_RUN before finalize: expected -EINVAL, got ${describeOutcome(out)}`;
        if (op.level === '4K') {
          const g = op.gfn;
          if (!this.inSlot(g) || !this.private[g]) return out.result === 'exit' && out.errno === -EFAULT ? null : `ACCEPT of shared gfn 0x${g.toString(16)}: expected a memory-fault exit, got ${describeOutcome(out)}`;
          const want = this.accepted[g] ? 'already' : 'accepted';
          if (out.result !== want) return `4K ACCEPT of gfn 0x${g.toString(16)}: expected ${want}, got ${describeOutcome(out)}`;
          if (want === 'accepted') this.acceptOne(g);
          return null;
        }
        const base = op.gfn - (op.gfn % this.design.ptrs);
        const end = base + this.design.ptrs;
        let firstShared = end;
        let nAcc = 0;
        for (let g = base; g < end; g++) {
          if (!this.private[g]) { firstShared = g; break; }
          if (this.accepted[g]) nAcc++;
        }
        if (firstShared < end) {
          // The guest walks the range 4K by 4K until it reaches the shared gfn [A].
          if (out.result !== 'exit' || out.errno !== -EFAULT) return `2M ACCEPT over a range with shared gfn 0x${firstShared.toString(16)}: expected a memory-fault exit, got ${describeOutcome(out)}`;
          for (let g = base; g < firstShared; g++) if (!this.accepted[g]) this.acceptOne(g);
          return null;
        }
        const n = this.design.ptrs;
        const ok =
          (out.result === 'accepted' && nAcc === 0) ||
          (out.result === 'already' && nAcc === n) ||
          (out.result === 'fallback-4k' && out.accepted === n - nAcc && out.already === nAcc);
        if (!ok) return `2M ACCEPT of [0x${base.toString(16)}, 0x${end.toString(16)}) with ${nAcc} of ${n} gfns accepted: got ${describeOutcome(out)}`;
        for (let g = base; g < end; g++) if (!this.accepted[g]) this.acceptOne(g);
        return null;
      }
      case 'convert': {
        if (out.kind !== 'convert') return `convert returned a ${out.kind} outcome`;
        const valid = this.validRange(op.start, op.end);
        const want = valid ? 0 : -EINVAL;
        if (out.ret !== want) return `convert [0x${op.start.toString(16)}, 0x${op.end.toString(16)}) -> ${op.to}: expected ${want}, got ${out.ret}`;
        if (!valid) return null;
        const to = op.to === 'private' ? 1 : 0;
        for (let g = op.start; g < op.end; g++) {
          if (this.private[g] === to) continue; // a gfn that already has the attribute is left alone
          this.private[g] = to;
          this.forget(g, g + 1); // contents do not survive a conversion either way
        }
        return null;
      }
      case 'punch': {
        if (out.kind !== 'punch') return `punch returned a ${out.kind} outcome`;
        let want = 0;
        const off = this.design.gmemOffset - this.slotBase; // gmem index = gfn + off
        if (!this.validRange(op.start, op.end)) want = -EINVAL;
        else if (this.design.backing === 'HUGETLB_2M' && this.design.punchPartialHuge === 'REJECT' && ((op.start + off) % this.design.ptrs !== 0 || (op.end + off) % this.design.ptrs !== 0)) {
          want = -EINVAL; // truncating less than an original hugetlb folio is refused (003:L762)
        }
        if (out.ret !== want) return `punch [0x${op.start.toString(16)}, 0x${op.end.toString(16)}): expected ${want}, got ${out.ret}`;
        if (want === 0) this.forget(op.start, op.end);
        return null;
      }
      case 'initMemRegion': {
        if (out.kind !== 'initMemRegion') return `initMemRegion returned a ${out.kind} outcome`;
        // Page by page: each must be private and not yet added; earlier pages stay added [A].
        let want = 0;
        let done = op.start;
        if (this.runnable || !this.validRange(op.start, op.end)) want = -EINVAL;
        else {
          for (; done < op.end; done++) {
            if (!this.private[done]) { want = -EINVAL; break; }
            if (this.accepted[done]) { want = -EEXIST; break; }
          }
        }
        if (out.ret !== want) return `initMemRegion [0x${op.start.toString(16)}, 0x${op.end.toString(16)}): expected ${want}, got ${out.ret}`;
        if (!this.runnable) {
          for (let g = op.start; g < done; g++) {
            this.accepted[g] = 1; // PAGE.ADD pages are present without a guest ACCEPT
            this.data[g] = op.data + (g - op.start);
            this.known[g] = 1;
          }
        }
        return null;
      }
      case 'destroy': {
        if (out.kind !== 'destroy') return `destroy returned a ${out.kind} outcome`;
        this.destroyed = true;
        return out.ret === 0 ? null : `destroy: expected 0, got ${out.ret}`;
      }
      case 'finalize': {
        if (out.kind !== 'finalize') return `finalize returned a ${out.kind} outcome`;
        const want = this.runnable ? -EINVAL : 0;
        if (out.ret !== want) return `finalize: expected ${want}, got ${out.ret}`;
        this.runnable = true;
        return null;
      }
    }
  }
}

