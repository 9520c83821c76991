// VM teardown in the real order (seed 000; kernel-facts.md 2.4): (1) kvm_gmem_release unmaps every guest
// page while the HKID is still assigned; (2) kvm_destroy_vm releases the HKID (VPFLUSHDONE, CACHE.WB,
// KEY.FREEID), then reclaims the S-EPT page-table pages and the TD control pages with
// TDH.PHYMEM.PAGE.RECLAIM, leaking any page it cannot reclaim; (3) the guest_memfd inode goes, freeing
// its folios. Closing the VM fd first changes nothing: the guest_memfd file holds a reference to the VM.
import { EBADF } from '../errno.js';
import type { Path, System } from '../system.js';
import { isSuccess, statusIs, type SeamStatus } from '../tdx/status.js';
import { writeLock, writeUnlock } from './locks.js';
import { Spte } from './mirror.js';
import { zapPrivateLeafs, zapSharedRange } from './tdpMmu.js';
import { kvmVmBugged, tdxBugOn } from './tdxGlue.js';
import { freeCaches, tdxPamtPut } from './pamt.js';

/** TDX_SEAMCALL_RETRIES: how often tdx_mmu_release_hkid() retries CACHE.WB on TDX_INTERRUPTED_RESUMABLE. */
const CACHE_WB_RETRIES = 10000;

/** tdx_mmu_release_hkid(): on any failure the HKID is leaked and stays assigned. */
export function* tdxMmuReleaseHkid(sys: System): Path {
  const tdx = sys.tdx;
  if (tdx.hkid < 0) return;
  let err = tdx.tdhMngVpflushdone();
  yield 'seamcall';
  if (statusIs(err, 'TDX_FLUSHVP_NOT_DONE')) {
    sys.trace.event('TDH.MNG.VPFLUSHDONE: vCPUs not flushed, HKID kept (leaked)');
    return;
  }
  if (tdxBugOn(sys, err, 'TDH.MNG.VPFLUSHDONE (HKID is leaked)')) return;
  let tries = 0;
  do {
    err = tdx.tdhPhymemCacheWb();
    yield 'seamcall';
  } while (statusIs(err, 'TDX_INTERRUPTED_RESUMABLE') && ++tries < CACHE_WB_RETRIES);
  if (!statusIs(err, 'TDX_NO_HKID_READY_TO_WBCACHE') && tdxBugOn(sys, err, 'TDH.PHYMEM.CACHE.WB (HKID is leaked)')) return;
  err = tdx.tdhMngKeyFreeid();
  yield 'seamcall';
  if (tdxBugOn(sys, err, 'TDH.MNG.KEY.FREEID (HKID is leaked)')) return;
  sys.trace.event('HKID released');
}

/** tdx_reclaim_page(): RECLAIM; on success the page can be freed, otherwise the caller leaks it. */
function reclaimPage(sys: System, pfn: number): SeamStatus {
  const err = sys.tdx.tdhPhymemPageReclaim(pfn);
  if (!isSuccess(err)) sys.trace.event(`TDH.PHYMEM.PAGE.RECLAIM of pfn ${sys.hex(pfn)} failed: page leaked`);
  return err;
}

/**
 * reclaim_external_sp() for the S-EPT page of one mirror page table (004:L104-139): KVM_BUG_ON while the
 * HKID is assigned, or when RECLAIM fails, and the page is leaked (external_spt = NULL). G11 off frees it
 * without either check; G12 off frees it although RECLAIM failed.
 */
export function* reclaimExternalSp(sys: System, r: number): Path {
  const m = sys.kvm.mirror;
  const pfn = m.externalSpt[r];
  if (pfn < 0) return;
  m.externalSpt[r] = -1;
  sys.touch(r);
  yield* reclaimSeptPage(sys, pfn, r * sys.ptrs, `of 2M range ${r}`);
}

function* reclaimSeptPage(sys: System, pfn: number, gfn: number, what: string): Path {
  sys.trace.hook('reclaim_external_sp', gfn, 1);
  if (sys.tdx.hkid >= 0) {
    if (!sys.guard('G11')) {
      sys.trace.event(`free S-EPT page ${sys.hex(pfn)} ${what} while the HKID is assigned (G11 off)`);
      sys.phys.free(pfn);
      yield 'free-external-spt';
      return;
    }
    kvmVmBugged(sys, 'reclaim_external_sp with the HKID assigned; S-EPT page leaked');
    sys.phys.leak(pfn, 'tdx');
    yield 'leak-external-spt';
    return;
  }
  const err = reclaimPage(sys, pfn);
  yield 'seamcall';
  if (isSuccess(err)) yield* tdxPamtPut(sys, pfn);
  if (isSuccess(err) || !sys.guard('G12')) {
    sys.phys.free(pfn); // tdp_mmu_free_sp_rcu_callback frees external_spt when it is not NULL
    yield 'free-external-spt';
    return;
  }
  sys.phys.leak(pfn, 'tdx');
  yield 'leak-external-spt';
}

/** Free the mirror root's page tables (handle_removed_pt on every 4K table, then the levels above 2M). */
function* freeMirrorTables(sys: System): Path {
  const m = sys.kvm.mirror;
  for (let r = 0; r < sys.regions; r++) {
    if (m.m2m[r] !== Spte.NONLEAF) continue;
    m.m2m[r] = Spte.NONE;
    m.m4k.fill(Spte.NONE, r * sys.ptrs, (r + 1) * sys.ptrs);
    yield* reclaimExternalSp(sys, r);
  }
  while (m.upperSpt.length) yield* reclaimSeptPage(sys, m.upperSpt.pop()!, 0, 'above the 2M level');
}

/** tdx_reclaim_td_control_pages(): nothing while the HKID is assigned (all leaked); else RECLAIM each. */
function* reclaimControlPages(sys: System): Path {
  for (const pfn of sys.controlPages) {
    if (sys.tdx.hkid >= 0) {
      sys.phys.leak(pfn, 'tdx');
      continue;
    }
    const err = reclaimPage(sys, pfn);
    if (isSuccess(err)) {
      yield* tdxPamtPut(sys, pfn);
      sys.phys.free(pfn);
    } else sys.phys.leak(pfn, 'tdx');
  }
  yield 'reclaim-control-pages';
}

/** Close the guest_memfd and the VM: the whole teardown. Returns 0, or -EBADF when already destroyed. */
export function* kvmDestroy(sys: System): Path<number> {
  if (sys.destroyed) return -EBADF;
  // The last fput of the VM and guest_memfd runs only when no other thread holds them: vCPU fds hold the VM,
  // mmaps and pins hold the file. Teardown waits until every other actor is done with its ops.
  while (sys.otherUsers > 0) yield 'fput:wait';
  sys.trace.event('teardown: kvm_gmem_release unmaps every guest page');
  yield* writeLock(sys, 'kvm_destroy_vm');
  yield* zapPrivateLeafs(sys, sys.slotBase, sys.slotEnd);
  zapSharedRange(sys, 0, sys.gfns);
  yield* writeUnlock(sys, 'kvm_destroy_vm');
  if (!sys.guard('G13')) {
    sys.trace.event('teardown: reclaim S-EPT pages before releasing the HKID (G13 off)');
    yield* freeMirrorTables(sys);
  }
  sys.trace.event('teardown: kvm_destroy_vm releases the HKID');
  yield* tdxMmuReleaseHkid(sys);
  yield* freeMirrorTables(sys);
  yield* reclaimControlPages(sys);
  freeCaches(sys); // the per-vCPU and split caches go with the VM
  // The guest_memfd inode goes with its last reference: every folio is freed.
  const gm = sys.gmem;
  for (let i = 0; i < gm.size; i++) {
    const head = gm.folioHead[i];
    if (head === i) gm.truncateFolio(head, sys.guard('G23'));
  }
  sys.touchRange(0, sys.gfns);
  sys.destroyed = true;
  sys.trace.event('teardown: guest_memfd inode released');
  yield 'teardown-done';
  return 0;
}

