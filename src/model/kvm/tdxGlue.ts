// arch/x86/kvm/vmx/tdx.c as the v3 series shapes it: the one-retry BUSY helper, TDX_BUG_ON, TRACK with
// the vCPU kick, and the external-SPTE hooks that turn mirror changes into SEAMCALLs
// (kernel-facts.md 2.1-2.5).
import { EBUSY, EIO, EOPNOTSUPP } from '../errno.js';
import type { Path, System } from '../system.js';
import { L2M, type Level } from '../tdx/leaf.js';
import { formatStatus, isOperandBusy, isSuccess, type SeamStatus, status, statusIs } from '../tdx/status.js';
import { splitCacheLock, splitCacheUnlock } from './locks.js';
import { onMapped, onRemoved, onVmBugged, onZapFailure } from './refcount.js';
import { dequeue, requeueSplitCache, SPLIT_CACHE, splitCacheNeed, tdxPamtGet, tdxPamtPut, VCPU_CACHE } from './pamt.js';
import { Owner, PfnKind } from '../host/phys.js';

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
  sys.kvm.vcpus.forEach((v, i) => {
    v.inGuest = false;
    v.tlbEpoch = sys.tdx.epoch;
    v.tlbGfn = -1; // the exit flushes the vCPU's translations
    v.tlbPfn = -1;
    sys.tdx.vpExit(i);
  });
}

/**
 * tdh_do_no_vcpus(): call once; on TDX_OPERAND_BUSY kick every vCPU out, keep them out
 * (wait_for_sept_zap) and retry exactly once — "the retry is guaranteed to succeed, absent KVM and/or
 * TDX-Module bugs" (kernel-facts.md 2.1, 003:L238-240). G15 off: no kick, no retry (BUG-15).
 */
export function* tdhDoNoVcpus(sys: System, call: () => SeamStatus): Path<SeamStatus> {
  let err = yield* seamcall(sys, call);
  if (isOperandBusy(err) && sys.guard('G15')) {
    sys.kvm.waitForSeptZap = true;
    kickAllVcpus(sys);
    sys.trace.event('TDX_OPERAND_BUSY: kick all vCPUs (KVM_REQ_OUTSIDE_GUEST_MODE) and retry once');
    yield 'kick';
    err = yield* seamcall(sys, call, 'seamcall-retry');
    sys.kvm.waitForSeptZap = false;
  }
  return err;
}

/**
 * One host SEAMCALL that spans a step: the module holds the S-EPT entry lock (or, for TRACK, the TD epoch
 * lock) from the call to its end, and the end is this actor's next step, so another actor's SEAMCALL on the
 * same entry meanwhile answers TDX_OPERAND_BUSY (kernel-facts.md 2.7, MOD-*). With one actor nothing runs in
 * between and the call behaves as one step.
 */
export function* seamcall(sys: System, call: () => SeamStatus, label = 'seamcall'): Path<SeamStatus> {
  const actor = sys.actor;
  const err = call();
  yield label;
  sys.tdx.seamcallEnd(actor);
  return err;
}

/** A SEAMCALL's status, after marking gfn's 2M range as touched (the per-step checks look there). */
function touching(sys: System, gfn: number, err: SeamStatus): SeamStatus {
  sys.touch(sys.region(gfn));
  return err;
}

/** tdx_track(): TDH.MEM.TRACK through the no-vCPUs helper, then always kick the vCPUs (kernel-facts.md 2.3). */
export function* tdxTrack(sys: System): Path {
  if (sys.kvm.tdState !== 'RUNNABLE') return; // no-op until the TD can run (kernel-facts.md 2.3)
  const err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemTrack()); // the epoch lock is free again here
  tdxBugOn(sys, err, 'TDH.MEM.TRACK');
  // TRACK returned; the kick is a separate step: kvm_make_all_cpus_request() comes after tdh_do_no_vcpus(),
  // so a vCPU may enter, or another TRACK (under the shared lock, G4 off) run, in between (kernel-facts.md 2.3)
  if (sys.otherUsers > 0) yield 'track-done'; // with one actor nothing could run there
  kickAllVcpus(sys);
  if (sys.trace.lines) sys.trace.note(`after TRACK: every vCPU kicked out of the guest (KVM_REQ_OUTSIDE_GUEST_MODE), TD epoch ${sys.tdx.epoch}`);
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
  // DPAMT: "if (level == PG_LEVEL_4K) { ret = tdx_pamt_get(page, &tdx->prealloc); ... }" (V3-17)
  if (level !== L2M) {
    const r = yield* tdxPamtGet(sys, pfn, VCPU_CACHE);
    if (r < 0) return r;
  }
  // KVM_MMU_WARN_ON(!tdx_is_convertible_pfn(pfn)) for every 4K page of the mapping, and the wrapper fails
  // (003:L651, L658-660; G22). Without it a non-convertible pfn reaches the module (BUG-22).
  const n = level === L2M ? sys.ptrs : 1;
  if (sys.guard('G22')) {
    for (let i = 0; i < n; i++) {
      if (sys.phys.kind[pfn + i] !== PfnKind.TDX_RAM) {
        sys.trace.event(`WARN: pfn ${sys.hex(pfn + i)} is not TDX-convertible memory; mapping refused`);
        if (level !== L2M) yield* tdxPamtPut(sys, pfn);
        tdxBugOn(sys, status('TDX_SW_ERROR'), 'tdx_is_convertible_pfn');
        return -EIO;
      }
    }
  }
  const ret = runnable ? yield* tdxMemPageAug(sys, gfn, level, pfn) : yield* tdxMemPageAdd(sys, gfn, pfn);
  if (ret < 0 && level !== L2M && !sys.hostOops) yield* tdxPamtPut(sys, pfn); // after an oops the task is gone
  if (ret === 0) onMapped(sys, gfn, level === L2M ? sys.ptrs : 1);
  return ret;
}

/**
 * The SEAMCALL wrappers flush each page with tdx_clflush_page(pfn_to_page(pfn)) (003:L472): a pfn with no
 * struct page there is a NULL pointer dereference, "tdx_mem_page_aug() will hit a NULL pointer deref"
 * (003:L446). Only G22 off lets such a pfn get this far. Returns true when the host oopsed.
 */
function clflushOopses(sys: System, wrapper: string, pfn: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    if (sys.phys.kind[pfn + i] !== PfnKind.NO_STRUCT_PAGE) continue;
    sys.hostOops = `BUG: kernel NULL pointer dereference in ${wrapper}(): pfn_to_page(${sys.hex(pfn + i)}) of a pfn with no struct page`;
    sys.trace.event(sys.hostOops);
    kvmVmBugged(sys, 'the vCPU task oopsed'); // nothing of this VM is usable after the oops; the path unwinds
    return true;
  }
  return false;
}

function* tdxMemPageAug(sys: System, gfn: number, level: Level, pfn: number): Path<number> {
  if (clflushOopses(sys, 'tdh_mem_page_aug', pfn, level === L2M ? sys.ptrs : 1)) return -EIO;
  return yield* mapCallResult(sys, gfn, () => sys.tdx.tdhMemPageAug(gfn, level, pfn), 'TDH.MEM.PAGE.AUG');
}

/** After PAGE.AUG or PAGE.ADD: BUSY -> -EBUSY (the fault is retried), any other error -> TDX_BUG_ON and -EIO. */
function* mapCallResult(sys: System, gfn: number, call: () => SeamStatus, leaf: string): Path<number> {
  const err = yield* seamcall(sys, () => touching(sys, gfn, call()));
  if (isOperandBusy(err)) return -EBUSY;
  if (tdxBugOn(sys, err, leaf)) return -EIO;
  return 0;
}

/** tdx_mem_page_add(): build time, PAGE.ADD with the source page KVM_TDX_INIT_MEM_REGION supplied. */
function* tdxMemPageAdd(sys: System, gfn: number, pfn: number): Path<number> {
  const src = sys.kvm.pageAddSrc;
  if (src === null) {
    kvmVmBugged(sys, 'tdx_mem_page_add without a source page');
    return -EIO;
  }
  if (clflushOopses(sys, 'tdh_mem_page_add', pfn, 1)) return -EIO;
  return yield* mapCallResult(sys, gfn, () => sys.tdx.tdhMemPageAdd(gfn, pfn, src), 'TDH.MEM.PAGE.ADD');
}

/** link_external_spt -> TDH.MEM.SEPT.ADD of a new 4K S-EPT page: BUSY -> -EBUSY, other -> TDX_BUG_ON. */
export function* tdxSeptLinkPrivateSpt(sys: System, gfn: number, tablePfn: number): Path<number> {
  const got = yield* tdxPamtGet(sys, tablePfn, VCPU_CACHE); // an S-EPT page is a 4K TDX use too
  if (got < 0) return got;
  const err = yield* seamcall(sys, () => touching(sys, gfn, sys.tdx.tdhMemSeptAdd(gfn, tablePfn)));
  let ret = 0;
  if (isOperandBusy(err)) ret = -EBUSY;
  else if (tdxBugOn(sys, err, 'TDH.MEM.SEPT.ADD')) ret = -EIO;
  if (ret < 0) yield* tdxPamtPut(sys, tablePfn);
  return ret;
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
  if (sys.guard('G21')) yield* tdxTrack(sys); // TRACK + kick before REMOVE (003:L228-230)
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
  if (sys.trace.lines) sys.trace.note(`TDH.PHYMEM.PAGE.WBINVD x${n} (pfn ${sys.hex(pfn)}..${sys.hex(pfn + n - 1)}) = TDX_SUCCESS`);
  yield 'wbinvd';
  for (let i = 0; i < n; i++) sys.phys.content[pfn + i] = 0; // tdx_quirk_reset_folio
  if (sys.trace.lines) sys.trace.note(`tdx_quirk_reset_folio: contents of pfn ${sys.hex(pfn)}..${sys.hex(pfn + n - 1)} reset to 0`);
  yield 'quirk-reset';
  if (level !== L2M) yield* tdxPamtPut(sys, pfn); // "if (level == PG_LEVEL_4K) tdx_pamt_put(page)"
  return true;
}

/**
 * tdh_mem_page_demote() with the workaround "Loop for TDX_INTERRUPTED_RESTARTABLE" (003:L359-361): the module
 * restores RCX/RDX and nothing is committed, so the same call may be retried; "no guaranteed maximum retry
 * count ... Interrupt storms could then result in DoS" (003:L143-155). Each retry is counted for INV-30.
 */
function demoteLooping(sys: System, gfn: number, newSeptPfn: number, pair: [number, number] | null): SeamStatus {
  for (;;) {
    const err = sys.tdx.tdhMemPageDemote(gfn, newSeptPfn, pair);
    // only the G3-off variant carries the "Loop for TDX_INTERRUPTED_RESTARTABLE" workaround (003:L356-362);
    // v3 KVM treats the status like any unexpected one: TDX_BUG_ON
    if (!statusIs(err, 'TDX_INTERRUPTED_RESTARTABLE') || sys.guard('G3')) return err;
    sys.counters.demoteRestarts++;
    if (sys.counters.demoteRestarts > DEMOTE_LOOP_CAP) return err; // the model stops; the oracle calls it INV-30
  }
}

/** Where the model stops an endless DEMOTE loop so the watchdog can name it (far above any sane retry count). */
const DEMOTE_LOOP_CAP = 10_000;

/**
 * split_external_spte -> tdx_sept_split_private_spte() (V3-08, V3-21/23): write mmu_lock only; 3.1 BLOCK and
 * TRACK + kick; under prealloc_split_cache_lock 3.2 dequeue a pair for the new S-EPT page and 3.3 PAMT.ADD
 * it, 3.4 dequeue a pair for the guest 2M region; 3.5 DEMOTE; 3.6 the guest region's PAMT refcount goes
 * 0 -> 512. BUSY is handled by the one-retry helper, other errors are TDX_BUG_ON. "No UNBLOCK is needed
 * after a successful DEMOTE." Returns 0 or -EIO (the TDP MMU ignores it, kernel-facts.md 2.5).
 */
export function* tdxSeptSplitPrivateSpte(sys: System, gfn: number, newSeptPfn: number, guestPfn: number, shared: boolean): Path<number> {
  const nbr = sys.design.nonBlockingResize;
  // V3-09: WARN_ON_ONCE(mmu_lock_shared) -> -EOPNOTSUPP until the module has NON-BLOCKING-RESIZE (G4).
  if (shared && !nbr && sys.guard('G4')) {
    if (!sys.kvm.warnedOnce.has('split-shared')) sys.trace.event('WARN_ON_ONCE: split_external_spte under shared mmu_lock refused (-EOPNOTSUPP)');
    sys.kvm.warnedOnce.add('split-shared');
    sys.trace.hook('split_external_spte_refused', gfn, L2M);
    return -EOPNOTSUPP;
  }
  sys.touch(sys.region(gfn));
  sys.trace.hook('split_external_spte', gfn, L2M);
  let err: SeamStatus;
  if (!nbr) {
    // Under the shared lock vCPUs cannot be kept out, so BUSY cannot be kicked away: return and retry (BUG-4).
    err = shared ? yield* seamcall(sys, () => sys.tdx.tdhMemRangeBlock(gfn, L2M)) : yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemRangeBlock(gfn, L2M));
    if (shared && isOperandBusy(err)) return -EBUSY;
    if (tdxBugOn(sys, err, 'TDH.MEM.RANGE.BLOCK')) return -EIO;
    if (sys.guard('G21')) yield* tdxTrack(sys);
  }
  let guestPair: number[] | null = null;
  const guestRegion = sys.tdx.pamtRegion(guestPfn);
  if (sys.design.dpamt) {
    const spin = sys.guard('G7b');
    if (spin) splitCacheLock(sys, 'tdx_sept_split_private_spte');
    if (shared && nbr && spin && sys.guard('G7') && sys.kvm.splitCache.length < splitCacheNeed(sys, newSeptPfn, guestPfn)) {
      // NON-BLOCKING-RESIZE: splitters under the shared mmu_lock share the per-VM cache, so G7's "check 2.1
      // to dequeue 3.2/3.4 in one critical section" (003:L291-293) is kept under the spinlock: a cache another
      // splitter drained since the check is seen here, and the split gives up; the vCPU faults and tops up again
      splitCacheUnlock(sys, 'tdx_sept_split_private_spte');
      sys.trace.event('split cache drained by another splitter since the check: give up, fault again');
      return -EBUSY;
    }
    const ret = yield* tdxPamtGet(sys, newSeptPfn, SPLIT_CACHE, spin); // 3.2 + 3.3, inside the spinlock
    if (ret === 0 && !sys.tdx.pairInstalled(guestRegion)) {
      guestPair = dequeue(sys, SPLIT_CACHE, 2); // 3.4
      if (!guestPair) kvmVmBugged(sys, 'split cache underflow: no PAMT pages for the guest 2M region');
    }
    if (spin) splitCacheUnlock(sys, 'tdx_sept_split_private_spte');
    if (ret < 0 || (!guestPair && !sys.tdx.pairInstalled(guestRegion))) {
      if (ret < 0) kvmVmBugged(sys, 'tdx_pamt_get for the new S-EPT page failed');
      yield 'split-cache';
      return -EIO;
    }
    yield 'split-cache';
  }
  const pair = guestPair as [number, number] | null;
  if (!sys.design.enhancedDemoteInterruptibility && sys.guard('G3')) {
    // V3-02: the wrapper refuses DEMOTE on a module that may interrupt it (never reached: no huge pages then)
    err = status('TDX_SW_ERROR');
  } else if (shared) {
    err = yield* seamcall(sys, () => demoteLooping(sys, gfn, newSeptPfn, pair));
  } else {
    err = yield* tdhDoNoVcpus(sys, () => demoteLooping(sys, gfn, newSeptPfn, pair));
  }
  if (!isSuccess(err)) {
    if (pair) requeueSplitCache(sys, pair); // the module did not take them
    yield* tdxPamtPut(sys, newSeptPfn);
    if (shared && isOperandBusy(err)) {
      // "requires invoking tdh_mem_range_unblock(), which may also encounter BUSY errors" (003:L123-125)
      if (!nbr) {
        const un = yield* seamcall(sys, () => sys.tdx.tdhMemRangeUnblock(gfn, L2M));
        if (!isSuccess(un)) sys.trace.event('TDH.MEM.RANGE.UNBLOCK failed: the 2M entry stays BLOCKED');
      }
      return -EBUSY;
    }
    tdxBugOn(sys, err, 'TDH.MEM.PAGE.DEMOTE');
    return -EIO;
  }
  if (pair) {
    for (const p of pair) {
      sys.phys.owner[p] = Owner.PAMT_PAIR;
      sys.phys.ownerArg[p] = guestRegion;
    }
    // 3.6: WARN_ON_ONCE(atomic_cmpxchg_release(pamt_refcount, 0, PTRS_PER_PMD))
    if (sys.kvm.pamtRefcount[guestRegion] !== 0) sys.trace.event(`WARN: PAMT refcount of region ${guestRegion} was ${sys.kvm.pamtRefcount[guestRegion]}, not 0`);
    sys.kvm.pamtRefcount[guestRegion] = sys.ptrs;
  } else if (sys.design.dpamt) {
    sys.kvm.pamtRefcount[guestRegion] += sys.ptrs;
  }
  return 0;
}
