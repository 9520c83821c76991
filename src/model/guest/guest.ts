// The TD guest (model-spec.md 3.5): private and shared accesses and TDG.MEM.PAGE.ACCEPT, re-executed after
// every EPT-violation exit that KVM resolves. The guest knows which gfns it asked to be private.
import { u8 } from '../arena.js';
import { EFAULT, EINVAL, EIO } from '../errno.js';
import { tdxHandleEptViolation, tdxUnexpectedPendingAccess } from '../kvm/fault.js';
import type { AcceptOutcome, TouchOutcome, VmmStep } from '../outcome.js';
import { vmmHandleExit } from '../vmm.js';
import type { Path, System } from '../system.js';
import { L2M, L4K, type Level } from '../tdx/leaf.js';
import { ACCESS_EPT_VIOLATION, ACCESS_VE } from '../tdx/module.js';
import { isOperandBusy, isSuccess, statusIs, statusName } from '../tdx/status.js';

/** Exits the VMM serves for one guest access before it returns the next one as the op's outcome [M]. */
export const VMM_MAX_EXITS = 4;

export class Guest {
  /** The guest's own view: gfns it converted to shared via MapGPA are accessed through the shared EPT. */
  readonly believesPrivate: Uint8Array;
  constructor(gfns: number) {
    this.believesPrivate = u8(gfns).fill(1);
  }
}

/**
 * TDH.VP.ENTER of vCPU v. While KVM keeps vCPUs out for its one BUSY retry (wait_for_sept_zap) the vCPU
 * cannot enter and waits; a bugged VM is never entered again (kernel-facts.md 2.1). False when the VM is dead.
 */
export function* enter(sys: System, v: number): Path<boolean> {
  for (;;) {
    if (sys.kvm.bugged) return false;
    if (sys.kvm.vcpus[v].inGuest) return true; // still running guest code since its last op: same TD epoch
    if (!sys.kvm.waitForSeptZap) break;
    yield 'vcpu-enter:wait';
  }
  sys.kvm.vcpus[v].inGuest = true;
  sys.tdx.vpEnter(v);
  return true;
}

/**
 * Between two ops of guest code the vCPU goes on running guest code: it re-enters the TD in the current
 * epoch and stays there until its next op, a kick or the VM's death. Only before guest code (a vCPU ioctl
 * next is issued from outside the guest), and not while KVM holds vCPUs out (wait_for_sept_zap) or the TD
 * cannot run: the next op then enters as usual.
 */
export function resumeGuestCode(sys: System, v: number): void {
  if (sys.kvm.bugged || sys.kvm.waitForSeptZap || sys.kvm.tdState !== 'RUNNABLE' || sys.kvm.vcpus[v].inGuest) return;
  sys.kvm.vcpus[v].inGuest = true;
  sys.tdx.vpEnter(v);
  sys.trace.event(`vCPU ${v} runs guest code until its next op (TD epoch ${sys.tdx.epoch})`);
}

export function exit(sys: System, v: number): void {
  const vc = sys.kvm.vcpus[v];
  vc.inGuest = false;
  vc.tlbGfn = -1;
  vc.tlbPfn = -1;
  sys.tdx.vpExit(v);
}

/**
 * Guest load or store at gfn (a store writes the token `write`) on vCPU v. The vCPU translates, stays in the
 * guest for a step, then makes the access through the translation it took: a kick in between makes it exit
 * and execute the instruction again; without TRACK + kick before REMOVE it uses a stale translation (BUG-21).
 * The access goes through `alias` (the shared bit of the GPA it uses), by default the one the guest believes.
 * With `vmm`, the vCPU thread's userspace handles a KVM_EXIT_MEMORY_FAULT the access causes (converts exactly
 * the reported range) and enters again, until the access completes or the conversion fails.
 */
export function* guestTouch(sys: System, guest: Guest, gfn: number, write: number | undefined, v = 0, alias?: 'private' | 'shared', vmm = false): Path<TouchOutcome> {
  const isPrivate = alias === undefined ? guest.believesPrivate[gfn] === 1 : alias === 'private';
  // with other actors about, a conversion may overlap the access: the outcome names the alias it used
  const overlappable = sys.otherUsers > 0;
  const steps: VmmStep[] = [];
  for (;;) {
    sys.kvm.vcpus[v].run = null;
    const out = yield* touchAs(sys, gfn, write, v, isPrivate);
    const ex = out.result === 'exit' ? out.exit : undefined;
    // the VMM serves at most VMM_MAX_EXITS exits per access: two vCPUs using both aliases of one gfn ping-pong
    if (vmm && ex && steps.length < VMM_MAX_EXITS) {
      yield 'vmm-exit'; // KVM_RUN returned to the vCPU thread's userspace; others run meanwhile
      const ret = yield* vmmHandleExit(sys, guest, ex);
      steps.push({ exit: ex, ret });
      if (ret === 0) continue; // KVM_RUN again: the guest re-executes the access
    }
    const named = overlappable ? { ...out, alias: isPrivate ? 'private' as const : 'shared' as const } : out;
    return steps.length ? { ...named, vmm: steps } : named;
  }
}

function* touchAs(sys: System, gfn: number, write: number | undefined, v: number, isPrivate: boolean): Path<TouchOutcome> {
  if (!sys.kvm.bugged && sys.kvm.tdState !== 'RUNNABLE') return { kind: 'touch', result: 'exit', errno: -EINVAL }; // tdx_vcpu_pre_run()
  const vc = sys.kvm.vcpus[v];
  for (;;) {
    if (!(yield* enter(sys, v))) return { kind: 'touch', result: 'vm-dead' };
    const pfn = isPrivate ? sys.tdx.guestAccess(gfn) : sys.kvm.sharedEpt[gfn] >= 0 ? sys.kvm.sharedEpt[gfn] : ACCESS_EPT_VIOLATION;
    if (pfn >= 0) {
      vc.tlbGfn = gfn;
      vc.tlbPfn = pfn;
      if (sys.otherUsers > 0) {
        yield 'in-guest'; // other actors run while this vCPU is in the guest
        if (!vc.inGuest) continue; // kicked out: re-execute the access
      }
      const tpfn = vc.tlbPfn;
      exit(sys, v);
      if (!isPrivate) sys.trace.hook('guest_shared_access', tpfn, write !== undefined ? 1 : 0);
      if (write !== undefined) {
        sys.phys.content[tpfn] = write;
        sys.trace.event(`guest ${isPrivate ? 'private' : 'shared'} write gfn ${sys.hex(gfn)} pfn ${sys.hex(tpfn)} = ${write}`);
        return { kind: 'touch', result: 'written', value: write };
      }
      const value = sys.phys.content[tpfn];
      sys.trace.event(`guest ${isPrivate ? 'private' : 'shared'} read gfn ${sys.hex(gfn)} pfn ${sys.hex(tpfn)} -> ${value}`);
      return { kind: 'touch', result: 'read', value };
    }
    exit(sys, v);
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
    const ret = yield* tdxHandleEptViolation(sys, gfn, isPrivate, -1, vc);
    if (ret < 0) {
      if (ret === -EIO && sys.kvm.bugged) return { kind: 'touch', result: 'vm-dead' };
      // -EFAULT with KVM_EXIT_MEMORY_FAULT: the outcome reports kvm_run's memory_fault fields
      return vc.run && ret === -EFAULT ? { kind: 'touch', result: 'exit', errno: ret, exit: vc.run } : { kind: 'touch', result: 'exit', errno: ret };
    }
    if (sys.otherUsers > 0) yield 'resume-guest:retry'; // the guest re-executes the access; others run meanwhile
  }
}

/**
 * One TDG.MEM.PAGE.ACCEPT at (gfn, level) on vCPU v, re-issued after each EPT-violation exit. With several
 * vCPUs the TDCALL spans a step, holding the S-EPT entry, so host SEAMCALLs there meet TDX_OPERAND_BUSY
 * (model-spec.md 3.1); a kick ends it and the guest issues it again.
 */
function* acceptOnce(sys: System, gfn: number, level: Level, v: number): Path<AcceptOutcome | 'size-mismatch'> {
  const vc = sys.kvm.vcpus[v];
  for (;;) {
    if (!(yield* enter(sys, v))) return { kind: 'accept', result: 'vm-dead' };
    if (sys.otherUsers > 0) {
      sys.tdx.tdgAcceptBegin(v, gfn);
      yield 'tdcall-accept';
      if (!vc.inGuest) continue; // kicked out (the entry is released): issue the TDCALL again
    }
    const r = sys.tdx.tdgMemPageAccept(gfn, level);
    sys.tdx.tdgAcceptDone(v);
    exit(sys, v);
    if (r.kind === 'status') {
      if (isSuccess(r.st)) return { kind: 'accept', result: 'accepted' };
      if (statusIs(r.st, 'TDX_PAGE_ALREADY_ACCEPTED')) return { kind: 'accept', result: 'already' };
      if (statusIs(r.st, 'TDX_PAGE_SIZE_MISMATCH')) return 'size-mismatch';
      if (isOperandBusy(r.st)) {
        yield 'accept-busy:retry'; // entry lock contention: the guest retries
        continue;
      }
      return { kind: 'accept', result: 'error', status: statusName(r.st) };
    }
    yield 'ept-violation';
    const ret = yield* tdxHandleEptViolation(sys, gfn, true, r.level);
    if (ret < 0) return ret === -EIO && sys.kvm.bugged ? { kind: 'accept', result: 'vm-dead' } : { kind: 'accept', result: 'exit', errno: ret };
    if (sys.otherUsers > 0) yield 'resume-guest:retry';
  }
}

/** Guest ACCEPT on vCPU v of the 4K page at gfn, or of the 2M range containing it, falling back to 4K on size mismatch. */
export function* guestAccept(sys: System, gfn: number, level: '4K' | '2M', v = 0): Path<AcceptOutcome> {
  const overlappable = sys.otherUsers > 0;
  if (!sys.kvm.bugged && sys.kvm.tdState !== 'RUNNABLE') return { kind: 'accept', result: 'exit', errno: -EINVAL };
  if (level === '4K') {
    const r = yield* acceptOnce(sys, gfn, L4K, v);
    return r === 'size-mismatch' ? { kind: 'accept', result: 'error', status: 'TDX_PAGE_SIZE_MISMATCH' } : r;
  }
  const base = gfn - (gfn % sys.ptrs);
  const r = yield* acceptOnce(sys, base, L2M, v);
  if (r !== 'size-mismatch') return r;
  // "If host mapping level < guest's ACCEPT level, the guest's ACCEPT operation returns
  // TDX_PAGE_SIZE_MISMATCH" (003:L187-188): the guest then accepts 4K by 4K [A].
  sys.trace.event(`guest: 2M ACCEPT at ${sys.hex(base)} got TDX_PAGE_SIZE_MISMATCH, falling back to 4K`);
  let accepted = 0;
  let already = 0;
  const pages: number[] = [];
  for (let g = base; g < base + sys.ptrs; g++) {
    const s = yield* acceptOnce(sys, g, L4K, v);
    if (s === 'size-mismatch' || s.result !== 'accepted' && s.result !== 'already') {
      const stop: AcceptOutcome = s === 'size-mismatch' ? { kind: 'accept', result: 'error', status: 'TDX_PAGE_SIZE_MISMATCH' } : s;
      return overlappable ? { ...stop, pages } : stop;
    }
    if (s.result === 'accepted') accepted++;
    else already++;
    pages.push(s.result === 'accepted' ? 1 : 0);
  }
  // with other actors about, each 4K TDCALL of the walk is its own event for the oracle
  return overlappable ? { kind: 'accept', result: 'fallback-4k', accepted, already, pages } : { kind: 'accept', result: 'fallback-4k', accepted, already };
}
