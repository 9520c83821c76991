// guest_memfd in-place conversion (model-spec.md 3.4; Ackerley's steps, 003:L436). Private->shared in the
// v3 order with the FIXUP "Zap mappings before splitting backend folios" and patch 16:
//   invalidate begin -> kvm_split_cross_boundary_leafs -> zap -> split folios -> update attributes -> end.
// With G1 off the WIP order splits folios first and never splits the S-EPT (BUG-1).
import { EBUSY, EINVAL, ENOMEM } from '../errno.js';
import { filemapInvalidateLock, filemapInvalidateUnlock, writeLock, writeUnlock } from '../kvm/locks.js';
import { splitCrossBoundaryLeafs, zapPrivateLeafs, zapSharedRange } from '../kvm/tdpMmu.js';
import { checkConvertArgs } from '../kvm/memAttributes.js';
import type { ConvertArgError } from '../ops.js';
import type { Path, System } from '../system.js';
import { PRIVATE, SHARED } from './gmem.js';

/**
 * kvm_gmem_invalidate_begin(): mmu_invalidate_begin on the bound slot's range. Overlapping invalidations
 * widen the range to their union (kvm_mmu_invalidate_range_add).
 */
export function invalidateBegin(sys: System, start: number, end: number): void {
  const k = sys.kvm;
  k.invalidateSeq++;
  if (k.invalidateInProgress++ === 0) {
    k.invalidateStart = start;
    k.invalidateEnd = end;
  } else {
    k.invalidateStart = Math.min(k.invalidateStart, start);
    k.invalidateEnd = Math.max(k.invalidateEnd, end);
  }
}

/** kvm_mmu_invalidate_range_add(): widen the invalidation in progress to cover [start, end) too. */
export function invalidateRangeAdd(sys: System, start: number, end: number): void {
  const k = sys.kvm;
  k.invalidateStart = Math.min(k.invalidateStart, start);
  k.invalidateEnd = Math.max(k.invalidateEnd, end);
}

export function invalidateEnd(sys: System): void {
  const k = sys.kvm;
  k.invalidateInProgress--;
  k.invalidateSeq++;
}

/**
 * Wait until the folio at `head` has no reference beyond the filemap's: split and merge need that (003:L661
 * "how many other users are left?"). A transient reference (fault site TRANSIENT_REF) goes away after one
 * wait; one that is never dropped (TDX holding it, BUG-14) waits forever, which the oracle calls INV-24.
 */
export function* waitSafeRefs(sys: System, head: number): Path {
  let transient = sys.inj.siteFails('TRANSIENT_REF') ? 1 : 0;
  while (sys.gmem.extraRefs(head) + transient > 0) {
    sys.counters.refcountWaits++;
    transient = 0;
    yield 'gmem-refcount:retry';
  }
}

/**
 * Split every huge folio overlapping gmem indices [istart, iend) down to 4K where the range is: a 1G folio
 * first to 2M (HIERARCHICAL, only converted 2M -> 4K) or straight to 4K (UNIFORM_4K) (003:L443, L759). A
 * hugetlb split can fail when undoing HVO needs memory (003:L436, L759; fault site FOLIO_SPLIT): -ENOMEM, and
 * folios already split stay split (003:L762).
 */
export function* splitFoliosInRange(sys: System, istart: number, iend: number): Path<number> {
  const gm = sys.gmem;
  for (let b = istart - (istart % sys.ptrs); b < iend; b += sys.ptrs) {
    for (;;) {
      const head = gm.folioHead[b];
      if (head < 0 || gm.folioOrder[head] === 0) break;
      const to = gm.folioOrder[head] > gm.hugeOrder && gm.splitPolicy === 'HIERARCHICAL' ? gm.hugeOrder : 0;
      yield* waitSafeRefs(sys, head);
      if (gm.hugetlb && sys.inj.siteFails('FOLIO_SPLIT')) {
        sys.trace.event(`gmem: splitting the folio at index ${sys.hex(head)} failed (HVO undo) -> -ENOMEM`);
        return -ENOMEM;
      }
      const n = gm.folioNrPages(head);
      gm.splitFolio(head, to);
      touchIndexRange(sys, head, head + n);
      sys.trace.event(`gmem: split ${n === sys.ptrs ? '2M' : n === sys.ptrs * sys.ptrs ? '1G' : `${n}-page`} folio at index ${sys.hex(head)} into ${to ? '2M' : '4K'} folios`);
      yield 'gmem-split-folio';
    }
  }
  return 0;
}

/** FIXUP-3: after a to-private conversion, merge split hugetlb folios whose whole 2M range is private again. */
export function mergeFoliosInRange(sys: System, istart: number, iend: number): void {
  const gm = sys.gmem;
  if (!gm.hugetlb) return; // FIXUP-3 "Allow merging folios after to-private conversion" is for hugetlb
  for (let b = istart - (istart % sys.ptrs); b < iend; b += sys.ptrs) {
    if (gm.folioHead[b] !== b || gm.folioOrder[b] === gm.hugeOrder) continue;
    let ok = true;
    for (let i = 0; i < sys.ptrs && ok; i++) {
      ok = gm.attr[b + i] === PRIVATE && gm.folioHead[b + i] === b + i && gm.pfn[b + i] === gm.pfn[b] + i;
    }
    if (!ok) continue;
    let refs = 0;
    for (let i = b; i < b + sys.ptrs; i++) refs += gm.extraRefs(i);
    if (refs > 0) continue; // merging must not fail, so an unsafe range simply stays split
    gm.mergeFolios(b);
    touchIndexRange(sys, b, b + sys.ptrs);
    sys.trace.event(`gmem: merge 4K folios at index ${sys.hex(b)} back into a 2M folio`);
  }
}

/** Mark the 2M GPA ranges that map gmem indices [istart, iend) as touched. */
export function touchIndexRange(sys: System, istart: number, iend: number): void {
  const lo = Math.max(sys.slotBase, sys.gfnOfClamped(istart));
  const hi = Math.min(sys.slotEnd, sys.gfnOfClamped(iend));
  sys.touchRange(lo, hi);
}

/** Recompute MIXED for the 2M GPA ranges overlapping gfns [start, end) (never GUEST_INHIBIT). */
export function recomputeMixed(sys: System, start: number, end: number): void {
  for (let r = sys.region(start); r <= sys.region(end - 1); r++) {
    const lo = Math.max(r * sys.ptrs, sys.slotBase);
    const hi = Math.min((r + 1) * sys.ptrs, sys.slotEnd);
    let mixed = 0;
    for (let g = lo + 1; g < hi && !mixed; g++) if (sys.isPrivate(g) !== sys.isPrivate(lo)) mixed = 1;
    sys.kvm.lpage.mixed[r] = mixed;
    // G9 off: the recompute rewrites the whole lpage_info word and GUEST_INHIBIT with it (BUG-9).
    if (!sys.guard('G9')) sys.kvm.lpage.guestInhibit[r] = 0;
    sys.touch(r);
  }
}

/**
 * Update the attributes of gmem indices [istart, iend) (gfns [start, end)) and recompute MIXED for the touched
 * 2M ranges. The attributes maple tree is keyed by guest_memfd index (003:L661 "a lookup from guest_memfd
 * index"), not by a binding: a memslot deleted while the conversion ran does not shrink the range converted.
 */
export function updateAttributes(sys: System, istart: number, iend: number, start: number, end: number, to: number): void {
  sys.gmem.attr.fill(to, istart, iend);
  recomputeMixed(sys, start, end);
}

/** Undo the locks and the invalidation of a conversion that stops early. */
function* bail(sys: System, ret: number): Path<number> {
  invalidateEnd(sys);
  yield* filemapInvalidateUnlock(sys, 'kvm_gmem_convert');
  return ret;
}

/**
 * The conversion ioctl on [start, end). Returns 0 or a negative errno. Private->shared follows the
 * design's order (003:L436, L763; model-spec.md 3.4):
 * - WIP_SPLIT_FOLIO_FIRST: split folios, invalidate, zap (no S-EPT split): the folio is split under a huge
 *   mapping (BUG-1);
 * - V3_ZAP_THEN_SPLIT: invalidate, split cross-boundary leaves, zap, split folios: a failed folio split comes
 *   after the point of no return (BUG-19, open in v3);
 * - SEPT_SPLIT_FIRST (Yan): split every huge leaf over the folios about to be split, then the folios ("if it
 *   fails, don't split the backend folio"), then zap only the range;
 * - PREPARE_THEN_ZAP (Ackerley): split folios first (2b), then S-EPT split and zap after invalidate begin;
 *   sound only under the CONTIGUITY mapping rule.
 */
export function* kvmGmemConvert(sys: System, start: number, end: number, toPrivate: boolean, arg?: ConvertArgError, onStored?: () => void): Path<number> {
  const gm = sys.gmem;
  if (checkConvertArgs(sys, start, end, arg) < 0) return -EINVAL;
  const istart = sys.index(start);
  const iend = sys.index(end - 1) + 1;
  const to = toPrivate ? PRIVATE : SHARED;
  const order = sys.conversionOrder;
  yield* filemapInvalidateLock(sys, 'kvm_gmem_convert');
  const unlockOnly = function* (ret: number): Path<number> {
    yield* filemapInvalidateUnlock(sys, 'kvm_gmem_convert');
    return ret;
  };
  // the attributes are read under the invalidate lock that guards their updates: a conversion of the same
  // indices still running finishes first, so "already converted" is not judged on what it is about to overwrite
  let already = true;
  for (let i = istart; i < iend && already; i++) already = gm.attr[i] === to;
  if (already) {
    onStored?.();
    return yield* unlockOnly(0); // the whole range already has the attribute: no-op
  }
  if (toPrivate) {
    // 2a: unmap from host page tables, then check for safe refcounts: an IOMMU pin fails the ioctl (003:L661).
    for (let i = istart; i < iend; i++) gm.hostMaps[i] = 0;
    let pinned = -1;
    for (let i = istart; i < iend && pinned < 0; i++) if (gm.pins[i] > 0) pinned = i;
    if (pinned >= 0) {
      sys.trace.event(`gmem: index ${sys.hex(pinned)} is IOMMU-pinned -> -EBUSY`);
      return yield* unlockOnly(-EBUSY);
    }
    yield 'gmem-unmap-host';
  } else if (order === 'WIP_SPLIT_FOLIO_FIRST' || order === 'PREPARE_THEN_ZAP') {
    const ret = yield* splitFoliosInRange(sys, istart, iend); // 2b, before anything is zapped
    if (ret < 0) return yield* unlockOnly(ret);
  }
  invalidateBegin(sys, start, end);
  yield 'invalidate-begin';
  yield* writeLock(sys, 'kvm_gmem_convert');
  if (toPrivate) {
    zapSharedRange(sys, start, end);
    yield 'zap-shared';
  } else {
    // kvm_gmem_split_private() and kvm_gmem_zap() walk the file's bindings in index order (= gfn order at
    // consistent offsets) [A]: a split that fails in a later memslot leaves earlier ones split, zapped by
    // nothing (the zap comes after every split, V3-16), so the guest keeps its pages.
    const parts = sys.slotRanges(start, end);
    let ret = 0;
    for (const part of parts) {
      sys.kvm.rangeSlot.set(sys.actor, part.slot);
      if (order === 'SEPT_SPLIT_FIRST') ret = yield* splitCrossBoundaryLeafs(sys, part.start, part.end, false, true);
      else if (order !== 'WIP_SPLIT_FOLIO_FIRST' && sys.guard('G2')) ret = yield* splitCrossBoundaryLeafs(sys, part.start, part.end, false);
      sys.kvm.rangeSlot.delete(sys.actor);
      if (ret < 0) break;
    }
    if (ret < 0) {
      yield* writeUnlock(sys, 'kvm_gmem_convert');
      return yield* bail(sys, ret);
    }
    if (order === 'SEPT_SPLIT_FIRST') {
      yield* writeUnlock(sys, 'kvm_gmem_convert');
      const split = yield* splitFoliosInRange(sys, istart, iend);
      if (split < 0) return yield* bail(sys, split); // nothing zapped yet: the guest keeps its pages
      yield* writeLock(sys, 'kvm_gmem_convert');
    }
    for (const part of parts) yield* zapPrivateLeafs(sys, part.start, part.end); // the point of no return (003:L436 step 4)
  }
  yield* writeUnlock(sys, 'kvm_gmem_convert');
  if (!toPrivate && order === 'V3_ZAP_THEN_SPLIT') {
    const ret = yield* splitFoliosInRange(sys, istart, iend);
    if (ret < 0) return yield* bail(sys, ret); // after the zap: the private pages are gone (BUG-19, open in v3)
  }
  updateAttributes(sys, istart, iend, start, end, to); // the indices of the ioctl's range, taken at entry
  onStored?.();
  sys.trace.event(`gmem: attributes [${sys.hex(start)}, ${sys.hex(end)}) -> ${toPrivate ? 'PRIVATE' : 'SHARED'}`);
  yield 'update-attributes';
  invalidateEnd(sys);
  yield 'invalidate-end';
  if (toPrivate && sys.guard('G18')) {
    mergeFoliosInRange(sys, istart, iend); // step 7, after the attribute update (FIXUP-3)
    yield 'gmem-merge-folios';
  }
  return yield* unlockOnly(0);
}
