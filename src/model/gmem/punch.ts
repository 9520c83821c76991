// fallocate(PUNCH_HOLE | KEEP_SIZE) on guest_memfd (kernel-facts.md 3.1, V3-16): invalidate begin,
// split cross-boundary leaves, zap, truncate, invalidate end. Hugetlb refuses to truncate less than an
// original folio (003:L762) unless punchPartialHuge is ZAP_ONLY, which zaps and keeps the folio [A].
import { EINVAL } from '../errno.js';
import { filemapInvalidateLock, filemapInvalidateUnlock, writeLock, writeUnlock } from '../kvm/locks.js';
import { splitCrossBoundaryLeafs, zapPrivateLeafs, zapSharedRange } from '../kvm/tdpMmu.js';
import type { Path, System } from '../system.js';
import { invalidateBegin, invalidateEnd, splitFoliosInRange, touchIndexRange } from './convert.js';

export function* kvmGmemPunchHole(sys: System, start: number, end: number): Path<number> {
  const gm = sys.gmem;
  if (start >= end || sys.index(start) < 0 || sys.index(end - 1) < 0) return -EINVAL;
  const istart = sys.index(start);
  const iend = sys.index(end - 1) + 1;
  const orig = 1 << gm.allocOrder;
  const partial = gm.hugetlb && (istart % orig !== 0 || iend % orig !== 0);
  // "truncation of anything less than the original size of the folio before restructuring is blocked" (003:L762)
  if (partial && sys.design.punchPartialHuge === 'REJECT') return -EINVAL;
  yield* filemapInvalidateLock(sys, 'kvm_gmem_punch_hole');
  invalidateBegin(sys, start, end);
  yield 'invalidate-begin';
  yield* writeLock(sys, 'kvm_gmem_punch_hole');
  if (sys.guard('G2')) {
    const ret = yield* splitCrossBoundaryLeafs(sys, start, end, false);
    if (ret < 0) {
      yield* writeUnlock(sys, 'kvm_gmem_punch_hole');
      invalidateEnd(sys);
      yield* filemapInvalidateUnlock(sys, 'kvm_gmem_punch_hole');
      return ret;
    }
  }
  yield* zapPrivateLeafs(sys, start, end);
  zapSharedRange(sys, start, end);
  yield* writeUnlock(sys, 'kvm_gmem_punch_hole');
  if (gm.backing === 'THP_2M') {
    // A THP straddling an edge of the hole is split so the 4K pages inside it can go.
    for (const edge of [istart, iend - 1]) {
      const head = gm.folioHead[edge];
      if (head >= 0 && gm.folioOrder[head] > 0 && (head < istart || head + gm.folioNrPages(head) > iend)) {
        const ret = yield* splitFoliosInRange(sys, edge, edge + 1);
        if (ret < 0) return yield* bail(sys, ret);
      }
    }
  }
  // truncate_inode_pages_range(): free folios wholly inside the range.
  for (let i = istart; i < iend; ) {
    const head = gm.folioHead[i];
    if (head < 0) {
      i++;
      continue;
    }
    const n = gm.folioNrPages(head);
    const whole = head >= istart && head + n <= iend && (!gm.hugetlb || isWholeOriginalFolio(sys, head, istart, iend));
    if (whole) {
      const leaked = gm.truncateFolio(head, sys.guard('G23'));
      touchIndexRange(sys, head, head + n);
      sys.trace.text('gmem: truncate folio at index ').hex(head).text(' (').dec(n).text(' pages) ').text(leaked ? 'and leak it (still referenced, poisoned or buggy file)' : 'back to the host').endEvent();
    }
    i = head + n;
  }
  yield 'truncate';
  invalidateEnd(sys);
  yield 'invalidate-end';
  yield* filemapInvalidateUnlock(sys, 'kvm_gmem_punch_hole');
  return 0;
}

/** Hugetlb frees a split folio's pages only when the whole original folio is inside the index range. */
function isWholeOriginalFolio(sys: System, head: number, istart: number, iend: number): boolean {
  const orig = 1 << sys.gmem.allocOrder;
  const base = head - (head % orig);
  return base >= istart && base + orig <= iend;
}

function* bail(sys: System, ret: number): Path<number> {
  invalidateEnd(sys);
  yield* filemapInvalidateUnlock(sys, 'kvm_gmem_punch_hole');
  return ret;
}
