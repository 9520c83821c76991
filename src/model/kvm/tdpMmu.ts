// The TDP MMU operations on the mirror root that reach the TDX module: zapping leaves, splitting a huge
// leaf (kvm_split_cross_boundary_leafs, V3-11) and installing a private leaf from the fault path.
import { ENOMEM } from '../errno.js';
import { Owner } from '../host/phys.js';
import type { Path, System } from '../system.js';
import { L2M, L4K } from '../tdx/leaf.js';
import { Spte } from './mirror.js';
import { tdhDoNoVcpus, tdxBugOn, tdxSeptLinkPrivateSpt, tdxSeptRemovePrivateSpte, tdxSeptSetPrivateSpte, tdxSeptSplitPrivateSpte, tdxTrack } from './tdxGlue.js';
import { mmuLock, mmuUnlock, splitCacheLock, splitCacheUnlock } from './locks.js';
import { fillCache, SPLIT_CACHE, splitCacheNeed, tdxPamtPut } from './pamt.js';

export const RET_PF_FIXED = 0;
export const RET_PF_RETRY = 1;

/**
 * kvm_tdp_mmu_unmap_gfn_range() on the mirror root, under write mmu_lock: every leaf overlapping
 * [start, end) is cleared and removed from the S-EPT. A 2M leaf that only partly overlaps goes whole,
 * which is why the caller splits first (G2). Page-table pages stay while the TD runs (INV-7).
 */
export function* zapPrivateLeafs(sys: System, start: number, end: number): Path {
  const m = sys.kvm.mirror;
  const ptrs = sys.ptrs;
  for (let r = sys.region(start); r <= sys.region(end - 1); r++) {
    const base = r * ptrs;
    if (m.m2m[r] === Spte.LEAF) {
      const pfn = m.pfn2m[r];
      m.m2m[r] = Spte.NONE;
      m.pfn2m[r] = -1;
      sys.kvm.stats.pages2m--;
      sys.touch(r);
      sys.trace.text('zap 2M leaf gfn ').hex(base).text(' pfn ').hex(pfn).endEvent();
      yield* tdxSeptRemovePrivateSpte(sys, base, L2M, pfn);
    } else if (m.m2m[r] === Spte.NONLEAF) {
      const lo = Math.max(start, base);
      const hi = Math.min(end, base + ptrs);
      for (let g = lo; g < hi; g++) {
        if (m.m4k[g] !== Spte.LEAF) continue;
        const pfn = m.pfn4k[g];
        m.m4k[g] = Spte.NONE;
        m.pfn4k[g] = -1;
        sys.kvm.stats.pages4k--;
        sys.touch(r);
        sys.trace.text('zap 4K leaf gfn ').hex(g).text(' pfn ').hex(pfn).endEvent();
        yield* tdxSeptRemovePrivateSpte(sys, g, L4K, pfn);
      }
    }
  }
}

/** Zap shared-EPT mappings of [start, end) (direct root, no SEAMCALLs). */
export function zapSharedRange(sys: System, start: number, end: number): void {
  for (let g = start; g < end; g++) sys.kvm.sharedEpt[g] = -1;
}

/**
 * kvm_split_cross_boundary_leafs(kvm, [start, end)) (003:L98, L264-290): split to 4K every mirror 2M leaf
 * that crosses a boundary of the range; leaves wholly outside stay, and so do those wholly inside unless
 * `splitWhole`. Per leaf: (1) allocate the
 * child sp and its external S-EPT page (may drop mmu_lock), (2.1) check the split cache holds enough PAMT
 * pages and, if not, (2.2) drop mmu_lock, top it up and walk again; (3) link the 4K table in the mirror,
 * then split_external_spte. With G7 off the check comes before the allocation that drops the lock (BUG-7).
 * A DEMOTE failure is not propagated (kernel-facts.md 2.5). Returns 0 or a negative errno.
 */
export function* splitCrossBoundaryLeafs(sys: System, start: number, end: number, shared: boolean, splitWhole = false): Path<number> {
  // Under the shared mmu_lock the TDX split hook itself refuses (V3-09, 003:L398; kernel-facts.md 2.5): the
  // mirror SPTE is restored below and the caller retries. G4 off lets the split through (BUG-4).
  const drop = (): Path => mmuUnlock(sys, shared, 'tdp_mmu_alloc_sp_for_split');
  const retake = (): Path => mmuLock(sys, shared, 'tdp_mmu_alloc_sp_for_split');
  const m = sys.kvm.mirror;
  const ptrs = sys.ptrs;
  for (let r = sys.region(start); r <= sys.region(end - 1); r++) {
    const base = r * ptrs;
    if (m.m2m[r] !== Spte.LEAF) continue;
    // A leaf wholly inside the range is zapped whole: no split needed, unless the caller splits the folios
    // under it before zapping (splitWhole, SEPT_SPLIT_FIRST: "split S-EPT around every future folio boundary").
    if (!splitWhole && base >= start && base + ptrs <= end) continue;
    let guestPfn = m.pfn2m[r];
    if (!sys.guard('G7')) {
      // BUG-7: check and top up first, then drop the lock in (1); another splitter may drain the cache.
      const short = checkSplitCache(sys, -1, guestPfn);
      if (short > 0 && !topupSplitCache(sys, sys.kvm.splitCache.length + short)) return -ENOMEM;
    }
    // (1) tdp_mmu_alloc_sp_for_split(): may drop mmu_lock to allocate the sp and its external S-EPT page.
    yield* drop();
    const newSept = sys.inj.siteFails('ALLOC') ? -1 : sys.phys.allocSmall(Owner.SEPT, r);
    yield* retake();
    if (newSept < 0) return -ENOMEM;
    if (m.m2m[r] !== Spte.LEAF) {
      sys.phys.free(newSept); // someone else changed it while the lock was dropped: walk on
      continue;
    }
    // the walk resumes from the SPTE as it is now: another actor may have replaced the leaf meanwhile
    guestPfn = m.pfn2m[r];
    if (sys.guard('G7') && checkSplitCache(sys, newSept, guestPfn) > 0) {
      // (2.2) topup_external_split_cache(): drop mmu_lock, allocate, enqueue under the spinlock, re-walk.
      sys.phys.free(newSept);
      yield* drop();
      const ok = topupSplitCache(sys, splitCacheNeed(sys, newSept, guestPfn));
      yield 'topup-split-cache';
      yield* retake();
      if (!ok) return -ENOMEM;
      r--; // walk this range again
      continue;
    }
    // (3) tdp_mmu_split_huge_page(): the mirror gets the 4K children first, then the S-EPT follows.
    m.m2m[r] = Spte.NONLEAF;
    m.pfn2m[r] = -1;
    m.externalSpt[r] = newSept;
    for (let i = 0; i < ptrs; i++) {
      m.m4k[base + i] = Spte.LEAF;
      m.pfn4k[base + i] = guestPfn + i;
    }
    sys.kvm.stats.pages2m--;
    sys.kvm.stats.pages4k += ptrs;
    sys.touch(r);
    sys.trace.event(`split 2M leaf gfn ${sys.hex(base)} pfn ${sys.hex(guestPfn)} into 4K (S-EPT page ${sys.hex(newSept)})`);
    yield 'mirror-split';
    const ret = yield* tdxSeptSplitPrivateSpte(sys, base, newSept, guestPfn, shared);
    if (ret < 0 && shared) {
      // tdp_mmu_set_spte_atomic() failed: the old SPTE goes back and the caller retries (kernel-facts.md 2.2).
      m.m2m[r] = Spte.LEAF;
      m.pfn2m[r] = guestPfn;
      m.externalSpt[r] = -1;
      m.m4k.fill(Spte.NONE, base, base + ptrs);
      sys.kvm.stats.pages2m++;
      sys.kvm.stats.pages4k -= ptrs;
      sys.phys.free(newSept);
      yield 'mirror-restore';
      return ret;
    }
  }
  return 0;
}

/**
 * Step 2.1, need_topup_external_split_cache(): how many pages the cache is short of (0 = enough). Records
 * when it checked: the dequeue must happen without mmu_lock dropped in between (INV-13).
 */
function checkSplitCache(sys: System, newSeptPfn: number, guestPfn: number): number {
  // Before the S-EPT page exists (G7 off) its region is unknown: assume it needs a pair.
  const need = newSeptPfn < 0 ? 2 + splitCacheNeed(sys, sys.phys.smallBase, guestPfn) : splitCacheNeed(sys, newSeptPfn, guestPfn);
  const short = Math.max(0, need - sys.kvm.splitCache.length);
  sys.trace.hook('split_cache_check', short, 0);
  return short;
}

/** Step 2.2: allocate and enqueue under prealloc_split_cache_lock (G7b off: without it). */
function topupSplitCache(sys: System, want: number): boolean {
  const spin = sys.guard('G7b');
  if (spin) splitCacheLock(sys, 'topup_external_split_cache');
  const ok = fillCache(sys, SPLIT_CACHE, want);
  if (spin) splitCacheUnlock(sys, 'topup_external_split_cache');
  return ok;
}

/**
 * mmu_invalidate_retry_gfn(): an invalidation began since the fault sampled `seq`, or one covering gfn is
 * in progress. G20 off skips the check (BUG-20).
 */
export function mmuInvalidateRetryGfn(sys: System, gfn: number, seq: number): boolean {
  const k = sys.kvm;
  return sys.guard('G20') && ((k.invalidateInProgress > 0 && gfn >= k.invalidateStart && gfn < k.invalidateEnd) || seq !== k.invalidateSeq);
}

/**
 * Install the private leaf for `gfn` at `level` in the mirror and the S-EPT, under shared mmu_lock
 * (tdp_mmu_map + tdp_mmu_set_spte_atomic); `seq` is the fault's mmu_invalidate_seq. A failing external set
 * restores the old SPTE and the fault becomes RET_PF_RETRY (kernel-facts.md 2.2). Returns RET_PF_FIXED,
 * RET_PF_RETRY or a negative errno.
 */
export function* tdpMmuMapPrivate(sys: System, gfn: number, level: 0 | 1, pfn: number, seq = sys.kvm.invalidateSeq): Path<number> {
  const m = sys.kvm.mirror;
  const r = sys.region(gfn);
  const base = r * sys.ptrs;
  const cur = m.m2m[r];
  if (level === L2M) {
    if (cur === Spte.LEAF) return RET_PF_FIXED; // spurious: already mapped
    if (cur === Spte.NONLEAF) return yield* hugepageAdjust(sys, r);
    if (cur !== Spte.NONE) return RET_PF_RETRY;
    const pfnBase = pfn - (pfn % sys.ptrs); // kvm_mmu_hugepage_adjust(): fault->pfn &= ~(KVM_PAGES_PER_HPAGE - 1)
    m.m2m[r] = Spte.FROZEN;
    sys.touch(r);
    yield 'mirror-frozen';
    const ret = yield* tdxSeptSetPrivateSpte(sys, base, L2M, pfnBase);
    if (ret !== 0) {
      m.m2m[r] = Spte.NONE;
      yield 'mirror-restore';
      return RET_PF_RETRY;
    }
    m.m2m[r] = Spte.LEAF;
    m.pfn2m[r] = pfnBase;
    sys.kvm.stats.pages2m++;
    sys.touch(r);
    sys.trace.text('map 2M leaf gfn ').hex(base).text(' pfn ').hex(pfnBase).endEvent();
    yield 'mirror-set';
    return RET_PF_FIXED;
  }
  if (cur === Spte.LEAF) {
    // A huge leaf covers gfn but the fault wants 4K: kvm_tdp_mmu_map() splits it under the shared mmu_lock
    // (tdp_mmu_split_huge_page(..., shared)); the TDX hook refuses that without NON-BLOCKING-RESIZE (V3-09),
    // the mirror SPTE is restored and the fault is retried (kernel-facts.md 2.5).
    const ret = yield* splitCrossBoundaryLeafs(sys, gfn, gfn + 1, true);
    if (ret < 0) {
      if (sys.trace.lines) sys.trace.note(`4K fault at ${sys.hex(gfn)} under a 2M leaf: split under shared mmu_lock failed (${ret}) -> RET_PF_RETRY`);
      return RET_PF_RETRY;
    }
    if (m.m2m[r] !== Spte.NONLEAF) return RET_PF_RETRY;
    // the split may have dropped mmu_lock to allocate (tdp_mmu_alloc_sp_for_split): a conversion may have run
    // meanwhile, so the fault is stale like one that found the invalidation on taking the lock [A]
    if (mmuInvalidateRetryGfn(sys, gfn, seq)) return RET_PF_RETRY;
  }
  if (cur === Spte.FROZEN) return RET_PF_RETRY;
  if (cur === Spte.NONE) {
    const table = sys.inj.siteFails('ALLOC') ? -1 : sys.phys.allocSmall(Owner.SEPT, r);
    yield 'alloc-sp';
    if (table < 0) return -ENOMEM;
    if (m.m2m[r] !== Spte.NONE) {
      // tdp_mmu_set_spte_atomic(): the cmpxchg lost to another actor that changed the entry meanwhile: retry
      sys.phys.free(table);
      return RET_PF_RETRY;
    }
    m.m2m[r] = Spte.FROZEN;
    sys.touch(r);
    const ret = yield* tdxSeptLinkPrivateSpt(sys, base, table);
    if (ret !== 0) {
      sys.phys.free(table);
      m.m2m[r] = Spte.NONE;
      yield 'mirror-restore';
      return RET_PF_RETRY;
    }
    m.m2m[r] = Spte.NONLEAF;
    m.externalSpt[r] = table;
    m.m4k.fill(Spte.NONE, base, base + sys.ptrs);
    m.pfn4k.fill(-1, base, base + sys.ptrs);
    sys.trace.event(`link 4K table for gfn ${sys.hex(base)} (S-EPT page ${sys.hex(table)})`);
    yield 'mirror-link';
  }
  const c = m.m4k[gfn];
  if (c === Spte.LEAF) return RET_PF_FIXED;
  if (c === Spte.FROZEN) return RET_PF_RETRY;
  m.m4k[gfn] = Spte.FROZEN;
  yield 'mirror-frozen';
  const ret = yield* tdxSeptSetPrivateSpte(sys, gfn, L4K, pfn);
  if (ret !== 0) {
    m.m4k[gfn] = Spte.NONE;
    yield 'mirror-restore';
    return RET_PF_RETRY;
  }
  m.m4k[gfn] = Spte.LEAF;
  m.pfn4k[gfn] = pfn;
  sys.kvm.stats.pages4k++;
  sys.touch(r);
  sys.trace.text('map 4K leaf gfn ').hex(gfn).text(' pfn ').hex(pfn).endEvent();
  yield 'mirror-set';
  return RET_PF_FIXED;
}

/**
 * Huge page adjustment over an existing 4K table, which patch 06 forbids for the mirror root (guard G6;
 * maxMappingLevel never asks for it while G6 is on). Without it KVM merges the table back: RANGE.BLOCK the
 * non-leaf entry, TRACK, TDH.MEM.PAGE.PROMOTE, which needs all 512 children in the same state (003:L242-253);
 * on success the S-EPT page is freed while the HKID is assigned (BUG-6, BUG-11).
 */
function* hugepageAdjust(sys: System, r: number): Path<number> {
  const base = r * sys.ptrs;
  const m = sys.kvm.mirror;
  sys.trace.event(`hugepage adjust: merge the 4K table of gfn ${sys.hex(base)} back into a 2M leaf (G6 off)`);
  let err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemRangeBlock(base, L2M));
  if (tdxBugOn(sys, err, 'TDH.MEM.RANGE.BLOCK')) return RET_PF_RETRY;
  yield* tdxTrack(sys);
  err = yield* tdhDoNoVcpus(sys, () => sys.tdx.tdhMemPagePromote(base));
  if (tdxBugOn(sys, err, 'TDH.MEM.PAGE.PROMOTE')) return RET_PF_RETRY;
  const table = m.externalSpt[r];
  let pfn0 = m.pfn4k[base];
  let n4k = 0;
  for (let g = base; g < base + sys.ptrs; g++) if (m.m4k[g] === Spte.LEAF) n4k++;
  pfn0 = pfn0 - (pfn0 % sys.ptrs);
  m.m4k.fill(Spte.NONE, base, base + sys.ptrs);
  m.m2m[r] = Spte.LEAF;
  m.pfn2m[r] = pfn0;
  m.externalSpt[r] = -1;
  sys.kvm.stats.pages4k -= n4k;
  sys.kvm.stats.pages2m++;
  sys.touch(r);
  if (table >= 0) {
    yield* tdxPamtPut(sys, table);
    sys.phys.free(table); // the mirror page table and its external_spt go
  }
  yield 'hugepage-adjust';
  return RET_PF_FIXED;
}
