// What the host does to guest_memfd pages besides conversion and punch: userspace mmap faults on shared
// pages (MMAP flag), IOMMU pins by VFIO (003:L661), memory failure (kvm_gmem_error_folio, kernel-facts.md
// 3.1; 003:L765) and unrelated kernel allocations that may pick up freed pages.
import { EFAULT, EHWPOISON, EINVAL, ENOMEM } from '../errno.js';
import { filemapInvalidateLockShared, filemapInvalidateUnlockShared, writeLock, writeUnlock } from '../kvm/locks.js';
import { zapPrivateLeafs, zapSharedRange } from '../kvm/tdpMmu.js';
import type { Path, System } from '../system.js';
import { invalidateBegin, invalidateEnd, splitFoliosInRange } from './convert.js';
import { PRIVATE } from './gmem.js';

/**
 * kvm_gmem_get_folio() for a host-side reference on a shared page; the index, or a negative errno. Host
 * userspace gets only 4K folios ("will not make the ranges available to host userspace ... until ... split
 * to 4K granularity", 003:L761), so a huge folio is split first, once its references allow.
 */
export function* sharedPageFor(sys: System, gfn: number): Path<number> {
  const gm = sys.gmem;
  const idx = sys.index(gfn);
  if (idx < 0 || sys.design.vmMemoryAttributes) return -EINVAL; // with VM attributes guest_memfd has no shared pages
  if (gm.attr[idx] === PRIVATE) return -EFAULT; // guest_memfd never maps private memory to userspace (003:L761)
  if (gm.pfn[idx] < 0 && !gm.allocFolio(idx)) return -ENOMEM;
  if (sys.guard('G23') && gm.folioPoisoned(gm.folioHead[idx])) return -EHWPOISON;
  if (gm.orderAt(idx) > 0) {
    const ret = yield* splitFoliosInRange(sys, idx, idx + 1);
    if (ret < 0) return ret;
  }
  return idx;
}

/** A userspace mmap fault on the shared page at gfn: one more host mapping reference. */
export function* hostMap(sys: System, gfn: number): Path<number> {
  // the attribute check and the new reference under filemap_invalidate_lock_shared: a conversion holding it
  // cannot make the page private in between ("other folio accesses will be locked out", 003:L661)
  yield* filemapInvalidateLockShared(sys, 'kvm_gmem_fault_user_mapping');
  const idx = yield* sharedPageFor(sys, gfn);
  if (idx >= 0) sys.gmem.hostMaps[idx]++;
  filemapInvalidateUnlockShared(sys, 'kvm_gmem_fault_user_mapping');
  if (idx < 0) return idx;
  sys.touch(sys.region(gfn));
  sys.trace.event(`host: userspace maps gmem index ${sys.hex(idx)} (pfn ${sys.hex(sys.gmem.pfn[idx])})`);
  yield 'host-map';
  return 0;
}

export function* hostUnmap(sys: System, gfn: number): Path<number> {
  const idx = sys.index(gfn);
  if (idx < 0 || sys.gmem.hostMaps[idx] === 0) return -EINVAL;
  sys.gmem.hostMaps[idx]--;
  yield 'host-unmap';
  return 0;
}

/** VFIO pins the shared page at gfn for DMA. */
export function* iommuPin(sys: System, gfn: number): Path<number> {
  yield* filemapInvalidateLockShared(sys, 'kvm_gmem_get_folio(pin)');
  const idx = yield* sharedPageFor(sys, gfn);
  if (idx >= 0) {
    sys.gmem.pins[idx]++;
    sys.trace.hook('iommu_pin', sys.gmem.pfn[idx], gfn);
  }
  filemapInvalidateUnlockShared(sys, 'kvm_gmem_get_folio(pin)');
  if (idx < 0) return idx;
  sys.touch(sys.region(gfn));
  sys.trace.event(`host: IOMMU pins gmem index ${sys.hex(idx)}`);
  yield 'iommu-pin';
  return 0;
}

export function* iommuUnpin(sys: System, gfn: number): Path<number> {
  const idx = sys.index(gfn);
  if (idx < 0 || sys.gmem.pins[idx] === 0) return -EINVAL;
  sys.gmem.pins[idx]--;
  sys.trace.hook('iommu_unpin', sys.gmem.pfn[idx], gfn);
  yield 'iommu-unpin';
  return 0;
}

/**
 * memory_failure() on the page backing gfn: HWPoison it and let kvm_gmem_error_folio() zap every mapping of
 * the whole folio ("for now it zaps the entire huge page", 003:L765) without truncating; the poisoned page
 * is also unmapped from userspace. Returns 1, or 0 when no page backs the gfn (left alone).
 */
export function* memoryFailure(sys: System, gfn: number): Path<number> {
  const gm = sys.gmem;
  const idx = sys.index(gfn);
  if (idx < 0) return -EINVAL;
  const pfn = gm.pfn[idx];
  if (pfn < 0) return 0; // nothing to poison
  sys.phys.hwpoison[pfn] = 1;
  gm.hostMaps[idx] = 0;
  const head = gm.folioHead[idx];
  const lo = Math.max(sys.slotBase, sys.gfnOfClamped(head));
  const hi = Math.min(sys.slotEnd, sys.gfnOfClamped(head + gm.folioNrPages(head)));
  sys.trace.event(`memory failure on pfn ${sys.hex(pfn)} (gmem index ${sys.hex(idx)}): zap the whole folio [${sys.hex(lo)}, ${sys.hex(hi)})`);
  invalidateBegin(sys, lo, hi);
  yield 'invalidate-begin';
  yield* writeLock(sys, 'kvm_gmem_error_folio');
  yield* zapPrivateLeafs(sys, lo, hi);
  zapSharedRange(sys, lo, hi);
  yield* writeUnlock(sys, 'kvm_gmem_error_folio');
  invalidateEnd(sys);
  sys.touchRange(lo, hi);
  yield 'invalidate-end';
  return 1; // a page was poisoned
}

/**
 * The host kernel briefly allocates `pages` free pages for something else and writes `token` into them,
 * lowest pfn first: a page guest_memfd freed while the TD still used it gets overwritten (BUG-5).
 */
export function* hostAlloc(sys: System, pages: number, token: number): Path<number> {
  const used = sys.phys.scribbleFree(pages, token);
  sys.trace.event(`host: allocate and write ${used.length} free page(s)${used.length ? ` from pfn ${sys.hex(used[0])}` : ''}`);
  yield 'host-alloc';
  return used.length;
}
