// arch/x86/kvm/vmx/tdx.c as the v3 series shapes it: the one-retry BUSY helper, TDX_BUG_ON, TRACK with
// the vCPU kick, and the external-SPTE hooks that turn mirror changes into SEAMCALLs
// (kernel-facts.md 2.1-2.5).
import { EBUSY, EIO } from '../errno.js';
import type { Path, System } from '../system.js';
import { L2M, type Level } from '../tdx/leaf.js';
import { formatStatus, isOperandBusy, isSuccess, type SeamStatus } from '../tdx/status.js';
import { onMapped, onRemoved, onVmBugged, onZapFailure } from './refcount.js';

/** kvm_vm_bugged(): the VM is dead; vCPUs are kicked and may not re-enter (kernel-facts.md 2.1). */
export function kvmVmBugged(sys: System, why: string): void {
  if (!sys.kvm.bugged) sys.trace.event(`KVM_BUG_ON: ${why} -> VM bugged (dead)`);
  sys.kvm.bugged = true;
  kickAllVcpus(sys);
  onVmBugged(sys);
}

/** TDX_BUG_ON(err, leaf): any non-zero status marks the VM bugged. Returns true when it fired. */
export function tdxBugOn(sys: System, err: SeamStatus, what: string): boolean {
  if (isSuccess(err)) return false;
  if (!sys.kvm.bugged) sys.trace.event(`TDX_BUG_ON: ${what} failed with ${formatStatus(err)}`);
  kvmVmBugged(sys, what);
  return true;
}

/** kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE): vCPUs leave the guest and flush. */
export function kickAllVcpus(sys: System): void {
  for (const v of sys.kvm.vcpus) {
    v.inGuest = false;
    v.tlbEpoch = sys.tdx.epoch;
  }
}

/**
 * tdh_do_no_vcpus(): call once; on TDX_OPERAND_BUSY kick every vCPU out, keep them out
 * (wait_for_sept_zap) and retry exactly once — "the retry is guaranteed to succeed, absent KVM and/or
 * TDX-Module bugs" (kernel-facts.md 2.1, 003:L238-240). G15 off: no kick, no retry (BUG-15).
 */
export function* tdhDoNoVcpus(sys: System, call: () => SeamStatus): Path<SeamStatus> {
  let err = call();
  yield 'seamcall';
  if (isOperandBusy(err) && sys.guard('G15')) {
    sys.kvm.waitForSeptZap = true;
    kickAllVcpus(sys);
    sys.trace.event('TDX_OPERAND_BUSY: kick all vCPUs (KVM_REQ_OUTSIDE_GUEST_MODE) and retry once');
    yield 'kick';
    err = call();
    yield 'seamcall-retry';
    sys.kvm.waitForSeptZap = false;
  }
  return err;
}

/** tdx_track(): TDH.MEM.TRACK through the no-vCPUs helper, then always kick the vCPUs (kernel-facts.md 2.3). */
export function* tdxTrack(sys: System): Path {
  const err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemTrack());
  tdxBugOn(sys, err, 'TDH.MEM.TRACK');
  kickAllVcpus(sys);
  yield 'track-kick';
}

/**
 * set_external_spte -> tdx_sept_set_private_spte(): TDH.MEM.PAGE.AUG of a runnable TD. BUSY returns
 * -EBUSY (the fault is retried); any other error is TDX_BUG_ON and -EIO (kernel-facts.md 2.2).
 */
export function* tdxSeptSetPrivateSpte(sys: System, gfn: number, level: Level, pfn: number): Path<number> {
  sys.trace.hook('set_external_spte', gfn, level);
  const runnable = sys.kvm.tdState === 'RUNNABLE';
  // V3-17: KVM_BUG_ON((!enable_tdx_huge_page || state != RUNNABLE) && level != PG_LEVEL_4K)
  if (level === L2M && (!sys.effectiveHuge || !runnable)) {
    kvmVmBugged(sys, `tdx_sept_set_private_spte: 2M mapping ${runnable ? 'with huge pages disabled' : 'before the TD is finalized'}`);
    return -EIO;
  }
  if (!runnable) return yield* tdxMemPageAdd(sys, gfn, pfn);
  const err = sys.tdx.tdhMemPageAug(gfn, level, pfn);
  sys.touch(sys.region(gfn));
  yield 'seamcall';
  if (isOperandBusy(err)) return -EBUSY;
  if (tdxBugOn(sys, err, 'TDH.MEM.PAGE.AUG')) return -EIO;
  onMapped(sys, gfn, level === L2M ? sys.ptrs : 1);
  return 0;
}

/** tdx_mem_page_add(): build time, PAGE.ADD with the source page KVM_TDX_INIT_MEM_REGION supplied. */
function* tdxMemPageAdd(sys: System, gfn: number, pfn: number): Path<number> {
  const src = sys.kvm.pageAddSrc;
  if (src === null) {
    kvmVmBugged(sys, 'tdx_mem_page_add without a source page');
    return -EIO;
  }
  const err = sys.tdx.tdhMemPageAdd(gfn, pfn, src);
  sys.touch(sys.region(gfn));
  yield 'seamcall';
  if (isOperandBusy(err)) return -EBUSY;
  if (tdxBugOn(sys, err, 'TDH.MEM.PAGE.ADD')) return -EIO;
  onMapped(sys, gfn, 1);
  return 0;
}

/** link_external_spt -> TDH.MEM.SEPT.ADD of a new 4K S-EPT page: BUSY -> -EBUSY, other -> TDX_BUG_ON. */
export function* tdxSeptLinkPrivateSpt(sys: System, gfn: number, tablePfn: number): Path<number> {
  const err = sys.tdx.tdhMemSeptAdd(gfn, tablePfn);
  sys.touch(sys.region(gfn));
  yield 'seamcall';
  if (isOperandBusy(err)) return -EBUSY;
  if (tdxBugOn(sys, err, 'TDH.MEM.SEPT.ADD')) return -EIO;
  return 0;
}

/**
 * remove_external_spte -> tdx_sept_remove_private_spte() (void; 004:L68-69): BLOCK, TRACK + kick, REMOVE,
 * WBINVD of every 4K page (V3-03), reset the contents. Failure cannot be returned ("Returning the error
 * code up the stack is not worthwhile", seed 000): TDX_BUG_ON and the page stays in the S-EPT.
 */
export function* tdxSeptRemovePrivateSpte(sys: System, gfn: number, level: Level, pfn: number): Path {
  const n = level === L2M ? sys.ptrs : 1;
  sys.trace.hook('remove_external_spte', gfn, level);
  if (yield* removeLeaf(sys, gfn, level, pfn)) onRemoved(sys, gfn, n);
  else onZapFailure(sys, gfn, n);
}

/** The body of tdx_sept_remove_private_spte(); false when a step failed and the page may still be mapped. */
function* removeLeaf(sys: System, gfn: number, level: Level, pfn: number): Path<boolean> {
  if (sys.tdx.hkid < 0) {
    kvmVmBugged(sys, 'remove_external_spte with the HKID released');
    return false;
  }
  sys.touch(sys.region(gfn));
  let err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemRangeBlock(gfn, level));
  if (tdxBugOn(sys, err, 'TDH.MEM.RANGE.BLOCK')) return false;
  yield* tdxTrack(sys);
  err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemPageRemove(gfn, level));
  if (tdxBugOn(sys, err, 'TDH.MEM.PAGE.REMOVE')) return false;
  const n = level === L2M ? sys.ptrs : 1;
  sys.trace.quiet++;
  for (let i = 0; i < n; i++) {
    err = sys.tdx.tdhPhymemPageWbinvd(pfn + i);
    if (!isSuccess(err)) break;
  }
  sys.trace.quiet--;
  if (tdxBugOn(sys, err, 'TDH.PHYMEM.PAGE.WBINVD')) return false;
  if (n > 1) sys.trace.note(`TDH.PHYMEM.PAGE.WBINVD x${n} (pfn ${sys.hex(pfn)}..${sys.hex(pfn + n - 1)}) = TDX_SUCCESS`);
  yield 'wbinvd';
  for (let i = 0; i < n; i++) sys.phys.content[pfn + i] = 0; // tdx_quirk_reset_folio
  yield 'quirk-reset';
  return true;
}

/**
 * split_external_spte -> tdx_sept_split_private_spte() (V3-08): write mmu_lock only; BLOCK, TRACK + kick,
 * DEMOTE, each BUSY handled by the one-retry helper, other errors TDX_BUG_ON. "No UNBLOCK is needed after
 * a successful DEMOTE." Returns 0 or -EIO (the TDP MMU ignores it, kernel-facts.md 2.5).
 */
export function* tdxSeptSplitPrivateSpte(sys: System, gfn: number, newSeptPfn: number): Path<number> {
  sys.touch(sys.region(gfn));
  let err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemRangeBlock(gfn, L2M));
  if (tdxBugOn(sys, err, 'TDH.MEM.RANGE.BLOCK')) return -EIO;
  yield* tdxTrack(sys);
  err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemPageDemote(gfn, newSeptPfn));
  if (tdxBugOn(sys, err, 'TDH.MEM.PAGE.DEMOTE')) return -EIO;
  return 0;
}
