// The EPT-violation path of a TD vCPU (model-spec.md 3.3, kernel-facts.md 2.2 and 2.6): attribute check,
// honouring the guest's ACCEPT level, kvm_gmem_get_pfn, the invalidation retry check, the maximum mapping
// level, and the local retry loop of tdx_handle_ept_violation().
import { EAGAIN, EBUSY, EFAULT, EHWPOISON, EIO, ENOMEM } from '../errno.js';
import type { Path, System } from '../system.js';
import { L2M, L4K, type Level } from '../tdx/leaf.js';
import { filemapInvalidateLockShared, filemapInvalidateUnlockShared, mmuLock, srcuReadLock, srcuReadUnlock, mmuUnlock, readLock, readUnlock, writeLock, writeUnlock } from './locks.js';
import { Spte } from './mirror.js';
import { memoryFaultExit } from './exit.js';
import type { Vcpu } from './vm.js';
import { Owner, PfnKind } from '../host/phys.js';
import { fillCache, VCPU_CACHE } from './pamt.js';
import { kickAllVcpus } from './tdxGlue.js';
import { mmuInvalidateRetryGfn, RET_PF_FIXED, RET_PF_RETRY, splitCrossBoundaryLeafs, tdpMmuMapPrivate } from './tdpMmu.js';

/**
 * The highest level KVM may map `gfn` at (model-spec.md 3.2 maxMappingLevel): gmem's max mapping level
 * (4K unless huge pages are effective, V3-24), the folio order (STRICT_FOLIO), lpage_info (slot
 * misalignment, MIXED, GUEST_INHIBIT), the fault's ACCEPT level, and no merging of an existing 4K table
 * for the mirror root (patch 06).
 */
export function maxMappingLevel(sys: System, gfn: number, folioOrder: number, acceptLevel: Level | -1): Level {
  if (!sys.effectiveHuge) return L4K;
  if (sys.kvm.tdState !== 'RUNNABLE' && sys.guard('G10')) return L4K; // gmem_max_mapping_level() before finalize (003:L161-165)
  if (sys.design.mappingRule === 'STRICT_FOLIO') {
    if (folioOrder < sys.gmem.hugeOrder) return L4K; // "(1) the backend folio is 4KB" (003:L173)
  } else if (!sys.gmem.contiguousBlock(sys.index(gfn))) {
    return L4K; // CONTIGUITY: "contiguous and homogenous" (003:L439), attributes through MIXED
  }
  const r = sys.region(gfn);
  const lp = sys.kvm.lpage;
  if (lp.disallowCount[r] > 0 || lp.guestInhibit[r]) return L4K;
  if (lp.mixed[r] && sys.guard('G16')) return L4K;
  if (acceptLevel === L4K) return L4K;
  // G8b off: 4K whenever the fault carries no ACCEPT level ("would disable huge pages for non-Linux TDs", 003:L134-138)
  if (acceptLevel === -1 && !sys.guard('G8b') && sys.kvm.tdState === 'RUNNABLE') return L4K;
  if (sys.kvm.mirror.m2m[r] === Spte.NONLEAF && sys.guard('G6')) return L4K; // no merging for the mirror root (patch 06)
  return L2M;
}

/**
 * tdx_honor_guest_accept_level() (V3-13): an ACCEPT at 4K under a huge mapping arrives as an EPT violation
 * carrying level 4K. Unless GUEST_INHIBIT is already set, take mmu_lock for write, split the huge leaf
 * covering gfn and set GUEST_INHIBIT one-way (003:L196-201). An error goes back to userspace.
 */
/** tdxHonorGuestAcceptLevel(): the split was given up, resume the guest so it faults again. */
export const HONOR_RETRY = 1;

export function* tdxHonorGuestAcceptLevel(sys: System, gfn: number, acceptLevel: Level): Path<number> {
  if (acceptLevel !== L4K) return 0; // a 2M ACCEPT inhibits 1G, which TDX never maps privately
  if (sys.index(gfn) < 0) return 0; // "returns 0 if no slot" (V3-13)
  const r = sys.region(gfn);
  // the fast path: inhibited already. With G9 the bit is trusted only when no huge leaf covers the range (a
  // fault that decided 2M before the bit was set may have installed one since); BUG-9 trusts the bit alone.
  if (sys.kvm.lpage.guestInhibit[r] && (!sys.guard('G9') || sys.kvm.mirror.m2m[r] !== Spte.LEAF)) return 0;
  if (!sys.guard('G9')) {
    // BUG-9: the inhibit bit written under the shared lock, before the split.
    yield* readLock(sys, 'tdx_honor_guest_accept_level');
    setGuestInhibit(sys, gfn, r);
    yield 'set-guest-inhibit';
    // "vCPU1 sets inhibit under read lock and finds nothing to split" (model-spec.md BUG-9): a fault of
    // another vCPU that chose 2M before the bit was set may be installing its leaf now (FROZEN)
    const nothingToSplit = sys.kvm.mirror.m2m[r] !== Spte.LEAF;
    yield* readUnlock(sys, 'tdx_honor_guest_accept_level');
    if (nothingToSplit) return 0;
  }
  // G4 off: the split under the shared lock instead of the write lock (BUG-4); with NON-BLOCKING-RESIZE the
  // shared lock is enough (the future design of 003:L121-127).
  const write = sys.guard('G4') && !sys.design.nonBlockingResize;
  yield* mmuLock(sys, !write, 'tdx_honor_guest_accept_level');
  const ret = yield* splitCrossBoundaryLeafs(sys, gfn, gfn + 1, !write);
  if (ret < 0) {
    yield* mmuUnlock(sys, !write, 'tdx_honor_guest_accept_level');
    // Under the shared lock a BUSY split is given up and the vCPU faults again (RET_PF_RETRY).
    return !write && ret === -EBUSY ? HONOR_RETRY : ret;
  }
  if (!write) {
    yield* readUnlock(sys, 'tdx_honor_guest_accept_level');
    yield* writeLock(sys, 'tdx_honor_guest_accept_level'); // the inhibit bit is G9's business: keep it under the write lock here
    if (sys.design.nonBlockingResize && sys.guard('G9') && sys.kvm.mirror.m2m[r] === Spte.LEAF) {
      // NON-BLOCKING-RESIZE (the future design): a fault that chose 2M mapped its leaf while no lock was held,
      // and GUEST_INHIBIT must not go on over a huge leaf (INV-9): resume the guest, which faults again and
      // splits this leaf first. (G4 off keeps v3's window: the split under the shared lock is its bug.)
      yield* writeUnlock(sys, 'tdx_honor_guest_accept_level');
      return HONOR_RETRY;
    }
  }
  if (sys.guard('G9')) {
    setGuestInhibit(sys, gfn, r); // hugepage_set_guest_inhibit(), one-way, under the write lock
    yield 'set-guest-inhibit';
  }
  yield* writeUnlock(sys, 'tdx_honor_guest_accept_level');
  return 0;
}

function setGuestInhibit(sys: System, gfn: number, r: number): void {
  sys.kvm.lpage.guestInhibit[r] = 1;
  sys.touch(r);
  sys.trace.event(`honor ACCEPT level 4K at ${sys.hex(gfn)}: GUEST_INHIBIT set for 2M range ${r}`);
}

/** kvm_tdp_page_fault() for one attempt. Returns RET_PF_FIXED, RET_PF_RETRY or a negative errno. */
export function* kvmTdpPageFault(sys: System, gfn: number, isPrivate: boolean, acceptLevel: Level | -1, prefetch = false, vcpu?: Vcpu): Path<number> {
  // kvm_mmu_faultin_pfn(): "fault->mmu_seq = vcpu->kvm->mmu_invalidate_seq; smp_rmb();" before the attribute
  // check and the pfn lookup, so an invalidation that begins after this point makes the fault retry.
  const seq = sys.kvm.invalidateSeq;
  const gm = sys.gmem;
  const idx = sys.index(gfn);
  // kvm_mmu_faultin_pfn(): a memslot being deleted makes the fault retry; "Punt the error to userspace if
  // this is a prefault, as KVM's prefaulting ABI doesn't provide the same forward progress guarantees"
  if (idx >= 0 && sys.kvm.slotInvalid[sys.slotOf(gfn)]) return prefetch ? -EAGAIN : RET_PF_RETRY;
  if (idx < 0) {
    // no memslot (never one, or deleted): KVM_RUN returns -EFAULT to userspace (the TDX private fault on a
    // gfn without a slot has no MMIO fallback; kernel-facts.md 3.2, docs/model.md issue 11)
    sys.trace.event(`fault at ${sys.hex(gfn)}: no memslot -> exit to userspace`);
    return -EFAULT;
  }
  if (isPrivate !== sys.isPrivate(gfn)) {
    sys.trace.event(`fault at ${sys.hex(gfn)}: ${isPrivate ? 'private' : 'shared'} access to a ${isPrivate ? 'shared' : 'private'} gfn -> KVM_EXIT_MEMORY_FAULT`);
    if (vcpu) vcpu.run = memoryFaultExit(gfn, isPrivate); // kvm_mmu_prepare_memory_fault_exit()
    return -EFAULT;
  }
  if (!isPrivate && sys.design.vmMemoryAttributes) return yield* mapSharedUserspace(sys, gfn, seq);
  // kvm_gmem_get_pfn(), with the folio lookup under the shared filemap_invalidate_lock
  yield* filemapInvalidateLockShared(sys, 'kvm_gmem_get_pfn');
  const got = yield* gmemGetPfn(sys, gfn, idx);
  filemapInvalidateUnlockShared(sys, 'kvm_gmem_get_pfn');
  if (got < 0) return got;
  const pfn = gm.pfn[idx];
  const order = gm.orderAt(idx);
  // kvm_mmu_topup_memory_cache() and the per-vCPU DPAMT cache, before mmu_lock: up to a table page and a
  // 4K guest page, a pair each (003:L56).
  if (sys.design.dpamt && isPrivate && !fillCache(sys, VCPU_CACHE, 4)) return -ENOMEM;
  yield 'gmem-get-pfn';
  yield* readLock(sys, 'kvm_tdp_page_fault');
  const k = sys.kvm;
  if (mmuInvalidateRetryGfn(sys, gfn, seq)) {
    yield* readUnlock(sys, 'kvm_tdp_page_fault'); // mmu_invalidate_retry_gfn()
    return RET_PF_RETRY;
  }
  let ret: number;
  if (!isPrivate) {
    k.sharedEpt[gfn] = pfn; // the shared EPT maps 4K only (003:L322)
    ret = RET_PF_FIXED;
  } else {
    const level = maxMappingLevel(sys, gfn, order, acceptLevel);
    ret = yield* tdpMmuMapPrivate(sys, gfn, level, pfn, seq);
  }
  yield* readUnlock(sys, 'kvm_tdp_page_fault');
  return ret;
}

/** Allocate the folio on first use and refuse a hwpoisoned one: 0 or a negative errno. */
function* gmemGetPfn(sys: System, gfn: number, idx: number): Path<number> {
  const gm = sys.gmem;
  if (gm.pfn[idx] < 0) {
    if (!gm.allocFolio(idx, folioKindFromSites(sys))) return -ENOMEM;
    sys.touch(sys.region(gfn));
    sys.trace.text('gmem: allocate folio for index ').hex(idx).text(' (order ').dec(gm.orderAt(idx)).text(')').endEvent();
    yield 'gmem-alloc-folio';
  }
  // __kvm_gmem_get_pfn() returns -EHWPOISON for a hwpoisoned folio (kernel-facts.md 3.1); G23 off skips it.
  if (sys.guard('G23') && gm.folioPoisoned(gm.folioHead[idx])) {
    sys.trace.event(`fault at ${sys.hex(gfn)}: guest_memfd folio is HWPoisoned -> -EHWPOISON`);
    return -EHWPOISON;
  }
  return 0;
}

/**
 * tdx_handle_ept_violation(): one EPT-violation exit. Honour the ACCEPT level, then fault, retrying
 * locally while the fault says RET_PF_RETRY and the VM is alive. Returns 0 to resume the guest or a
 * negative errno for userspace. The loop has no bound of its own, as in the kernel; the oracle's
 * watchdog ends a case that spins here.
 */
export function* tdxHandleEptViolation(sys: System, gfn: number, isPrivate: boolean, acceptLevel: Level | -1, vcpu?: Vcpu): Path<number> {
  const srcu = srcuReadLock(sys); // the exit is handled inside kvm->srcu (vcpu_run)
  try {
    return yield* handleEptViolation(sys, gfn, isPrivate, acceptLevel, vcpu);
  } finally {
    srcuReadUnlock(sys, srcu);
  }
}

function* handleEptViolation(sys: System, gfn: number, isPrivate: boolean, acceptLevel: Level | -1, vcpu?: Vcpu): Path<number> {
  sys.counters.eptViolations++;
  if (sys.kvm.bugged) return -EIO;
  if (isPrivate && acceptLevel >= 0 && sys.guard('G8')) {
    const r = yield* tdxHonorGuestAcceptLevel(sys, gfn, acceptLevel as Level);
    if (r < 0) return r;
    if (r === HONOR_RETRY) return 0;
  }
  for (;;) {
    const ret = yield* kvmTdpPageFault(sys, gfn, isPrivate, acceptLevel, false, vcpu);
    if (ret !== RET_PF_RETRY) return ret;
    if (!isPrivate) {
      yield 'pf-retry:retry'; // shared faults resume the guest, which faults again
      return 0;
    }
    sys.counters.pageFaultRetries++;
    if (sys.kvm.bugged) return -EIO; // KVM_REQ_VM_DEAD
    // "Bail if the memslot is invalid, i.e. is being deleted ... this task needs to drop SRCU" (tdx.c)
    if (sys.kvm.slotInvalid[sys.slotOf(gfn)]) return 0;
    yield 'pf-local-retry:retry';
  }
}

/** vm_memory_attributes=Y: a shared gfn is ordinary userspace memory, mapped 4K in the shared EPT. */
function* mapSharedUserspace(sys: System, gfn: number, seq: number): Path<number> {
  const k = sys.kvm;
  if (k.sharedBacking[gfn] < 0) {
    const p = sys.phys.allocSmall(Owner.HOST_OTHER, gfn);
    if (p < 0) return -ENOMEM;
    k.sharedBacking[gfn] = p;
  }
  yield* readLock(sys, 'kvm_tdp_page_fault(shared)');
  if (mmuInvalidateRetryGfn(sys, gfn, seq)) {
    // is_page_fault_stale(): the attributes changed since the fault looked at them (a conversion to private
    // zapped the shared EPT meanwhile): retry, and the next attempt exits to userspace
    yield* readUnlock(sys, 'kvm_tdp_page_fault(shared)');
    return RET_PF_RETRY;
  }
  k.sharedEpt[gfn] = k.sharedBacking[gfn];
  yield* readUnlock(sys, 'kvm_tdp_page_fault(shared)');
  return RET_PF_FIXED;
}

/** What the (possibly fault-injected) guest_memfd allocator hands out: BUG-22's two bad kinds of pfn. */
function folioKindFromSites(sys: System): PfnKind {
  // both sites are visited on every allocation, so each one's nth counts allocations
  const nonTdx = sys.inj.siteFails('NON_TDX_PFN');
  const noStruct = sys.inj.siteFails('NO_STRUCT_PFN');
  if (nonTdx) return PfnKind.NON_TDX_RAM;
  return noStruct ? PfnKind.NO_STRUCT_PAGE : PfnKind.TDX_RAM;
}

/**
 * A guest access to a PENDING (unaccepted) page of a TD with SEPT_VE_DISABLE: the module exits with an EPT
 * violation instead of a #VE, and tdx_is_sept_violation_unexpected_pending() makes KVM warn ("Guest access
 * before accepting") and kvm_vm_dead(): KVM_RUN returns -EIO (kernel-facts.md 2.6). kvm_vm_dead(), not
 * KVM_BUG_ON: nothing failed on the host side, so no refcount policy reacts.
 */
export function tdxUnexpectedPendingAccess(sys: System, gfn: number): number {
  sys.counters.eptViolations++;
  sys.trace.event(`guest access gfn ${sys.hex(gfn)} before accepting it (SEPT_VE_DISABLE): EPT violation -> kvm_vm_dead`);
  sys.kvm.bugged = true;
  kickAllVcpus(sys);
  return -EIO;
}
