// fallocate(PUNCH_HOLE | KEEP_SIZE) on guest_memfd (kernel-facts.md 3.1, V3-16): invalidate begin,
// split cross-boundary leaves, zap, truncate, invalidate end. Hugetlb refuses to truncate less than an
// original folio (003:L762) unless punchPartialHuge is ZAP_ONLY, which zaps and keeps the folio [A].
import { EINVAL } from '../errno.js';
import { writeLock, writeUnlock } from '../kvm/locks.js';
import { splitCrossBoundaryLeafs, zapPrivateLeafs, zapSharedRange } from '../kvm/tdpMmu.js';
import type { Path, System } from '../system.js';
import { invalidateBegin, invalidateEnd, touchIndexRange } from './convert.js';

export function* kvmGmemPunchHole(sys: System, start: number, end: number): Path<number> {
  const gm = sys.gmem;
  if (start >= end || sys.index(start) < 0 || sys.index(end - 1) < 0) return -EINVAL;
  const istart = sys.index(start);
  const iend = sys.index(end - 1) + 1;
  const huge = gm.backing === 'HUGETLB_2M';
  const partial = huge && (istart % sys.ptrs !== 0 || iend % sys.ptrs !== 0);
  if (partial && sys.design.punchPartialHuge === 'REJECT') return -EINVAL;
  gm.invalidateLocked = true;
  yield 'filemap_invalidate_lock';
  invalidateBegin(sys, start, end);
  yield 'invalidate-begin';
  yield* writeLock(sys);
  if (sys.guard('G2')) {
    const ret = yield* splitCrossBoundaryLeafs(sys, start, end);
    if (ret < 0) {
      yield* writeUnlock(sys);
      invalidateEnd(sys);
      gm.invalidateLocked = false;
      yield 'filemap_invalidate_unlock';
      return ret;
    }
  }
  yield* zapPrivateLeafs(sys, start, end);
  zapSharedRange(sys, start, end);
  yield* writeUnlock(sys);
  // truncate_inode_pages_range(): free folios wholly inside the range.
  for (let i = istart; i < iend; ) {
    const head = gm.folioHead[i];
    if (head < 0) {
      i++;
      continue;
    }
    const n = gm.folioNrPages(head);
    const whole = head >= istart && head + n <= iend && (!huge || isWholeOriginalFolio(sys, head, istart, iend));
    if (whole) {
      const leaked = gm.truncateFolio(head, sys.guard('G23'));
      touchIndexRange(sys, head, head + n);
      sys.trace.event(`gmem: truncate folio at index ${sys.hex(head)} (${n} pages) ${leaked ? 'and leak it (still referenced, poisoned or buggy file)' : 'back to the host'}`);
    }
    i = head + n;
  }
  yield 'truncate';
  invalidateEnd(sys);
  yield 'invalidate-end';
  gm.invalidateLocked = false;
  yield 'filemap_invalidate_unlock';
  return 0;
}

/** Hugetlb frees a split folio's pages only when the whole original 2M folio is inside the index range. */
function isWholeOriginalFolio(sys: System, head: number, istart: number, iend: number): boolean {
  const base = head - (head % sys.ptrs);
  return base >= istart && base + sys.ptrs <= iend;
}
