// The TD guest (model-spec.md 3.5): private and shared accesses and TDG.MEM.PAGE.ACCEPT, re-executed after
// every EPT-violation exit that KVM resolves. The guest knows which gfns it asked to be private.
import { EINVAL, EIO } from '../errno.js';
import { tdxHandleEptViolation, tdxUnexpectedPendingAccess } from '../kvm/fault.js';
import type { AcceptOutcome, TouchOutcome } from '../outcome.js';
import type { Path, System } from '../system.js';
import { L2M, L4K, type Level } from '../tdx/leaf.js';
import { ACCESS_EPT_VIOLATION, ACCESS_VE } from '../tdx/module.js';
import { isOperandBusy, isSuccess, statusIs, statusName } from '../tdx/status.js';

export class Guest {
  /** The guest's own view: gfns it converted to shared via MapGPA are accessed through the shared EPT. */
  readonly believesPrivate: Uint8Array;
  constructor(gfns: number) {
    this.believesPrivate = new Uint8Array(gfns).fill(1);
  }
}

function enter(sys: System): boolean {
  if (sys.kvm.bugged) return false;
  sys.kvm.vcpus[0].inGuest = true;
  sys.tdx.vpEnter(0);
  return true;
}

function exit(sys: System): void {
  sys.kvm.vcpus[0].inGuest = false;
  sys.tdx.vpExit(0);
}

/** Guest load or store at gfn (a store writes the token `write`). */
export function* guestTouch(sys: System, guest: Guest, gfn: number, write: number | undefined): Path<TouchOutcome> {
  const isPrivate = guest.believesPrivate[gfn] === 1;
  if (!sys.kvm.bugged && sys.kvm.tdState !== 'RUNNABLE') return { kind: 'touch', result: 'exit', errno: -EINVAL }; // tdx_vcpu_pre_run()
  for (;;) {
    if (!enter(sys)) return { kind: 'touch', result: 'vm-dead' };
    const pfn = isPrivate ? sys.tdx.guestAccess(gfn) : sys.kvm.sharedEpt[gfn] >= 0 ? sys.kvm.sharedEpt[gfn] : ACCESS_EPT_VIOLATION;
    if (pfn >= 0) {
      exit(sys);
      if (write !== undefined) {
        sys.phys.content[pfn] = write;
        sys.trace.event(`guest ${isPrivate ? 'private' : 'shared'} write gfn ${sys.hex(gfn)} pfn ${sys.hex(pfn)} = ${write}`);
        return { kind: 'touch', result: 'written', value: write };
      }
      const value = sys.phys.content[pfn];
      sys.trace.event(`guest ${isPrivate ? 'private' : 'shared'} read gfn ${sys.hex(gfn)} pfn ${sys.hex(pfn)} -> ${value}`);
      return { kind: 'touch', result: 'read', value };
    }
    exit(sys);
    if (pfn === ACCESS_VE) {
      if (sys.design.septVeDisable) {
        tdxUnexpectedPendingAccess(sys, gfn); // no #VE: KVM calls the EPT violation unexpected and kills the VM
        return { kind: 'touch', result: 'vm-dead' };
      }
      sys.trace.event(`guest access gfn ${sys.hex(gfn)}: page PENDING -> #VE`);
      return { kind: 'touch', result: 've' };
    }
    sys.trace.event(`guest ${isPrivate ? 'private' : 'shared'} access gfn ${sys.hex(gfn)} -> EPT violation`);
    yield 'ept-violation';
    const ret = yield* tdxHandleEptViolation(sys, gfn, isPrivate, -1);
    if (ret < 0) return ret === -EIO && sys.kvm.bugged ? { kind: 'touch', result: 'vm-dead' } : { kind: 'touch', result: 'exit', errno: ret };
  }
}

/** One TDG.MEM.PAGE.ACCEPT at (gfn, level), re-issued after each EPT-violation exit. */
function* acceptOnce(sys: System, gfn: number, level: Level): Path<AcceptOutcome | 'size-mismatch'> {
  for (;;) {
    if (!enter(sys)) return { kind: 'accept', result: 'vm-dead' };
    const r = sys.tdx.tdgMemPageAccept(gfn, level);
    exit(sys);
    if (r.kind === 'status') {
      if (isSuccess(r.st)) return { kind: 'accept', result: 'accepted' };
      if (statusIs(r.st, 'TDX_PAGE_ALREADY_ACCEPTED')) return { kind: 'accept', result: 'already' };
      if (statusIs(r.st, 'TDX_PAGE_SIZE_MISMATCH')) return 'size-mismatch';
      if (isOperandBusy(r.st)) {
        yield 'accept-busy'; // entry lock contention: the guest retries
        continue;
      }
      return { kind: 'accept', result: 'error', status: statusName(r.st) };
    }
    yield 'ept-violation';
    const ret = yield* tdxHandleEptViolation(sys, gfn, true, r.level);
    if (ret < 0) return ret === -EIO && sys.kvm.bugged ? { kind: 'accept', result: 'vm-dead' } : { kind: 'accept', result: 'exit', errno: ret };
  }
}

/** Guest ACCEPT of the 4K page at gfn, or of the 2M range containing it, falling back to 4K on size mismatch. */
export function* guestAccept(sys: System, gfn: number, level: '4K' | '2M'): Path<AcceptOutcome> {
  if (!sys.kvm.bugged && sys.kvm.tdState !== 'RUNNABLE') return { kind: 'accept', result: 'exit', errno: -EINVAL };
  if (level === '4K') {
    const r = yield* acceptOnce(sys, gfn, L4K);
    return r === 'size-mismatch' ? { kind: 'accept', result: 'error', status: 'TDX_PAGE_SIZE_MISMATCH' } : r;
  }
  const base = gfn - (gfn % sys.ptrs);
  const r = yield* acceptOnce(sys, base, L2M);
  if (r !== 'size-mismatch') return r;
  // "If host mapping level < guest's ACCEPT level, the guest's ACCEPT operation returns
  // TDX_PAGE_SIZE_MISMATCH" (003:L187-188): the guest then accepts 4K by 4K [A].
  sys.trace.event(`guest: 2M ACCEPT at ${sys.hex(base)} got TDX_PAGE_SIZE_MISMATCH, falling back to 4K`);
  let accepted = 0;
  let already = 0;
  for (let g = base; g < base + sys.ptrs; g++) {
    const s = yield* acceptOnce(sys, g, L4K);
    if (s === 'size-mismatch' || s.result !== 'accepted' && s.result !== 'already') {
      return s === 'size-mismatch' ? { kind: 'accept', result: 'error', status: 'TDX_PAGE_SIZE_MISMATCH' } : s;
    }
    if (s.result === 'accepted') accepted++;
    else already++;
  }
  return { kind: 'accept', result: 'fallback-4k', accepted, already };
}
