// Performance findings (model-spec.md 8 "expected 2M" predicate; BUG-8b, BUG-17b, BUG-18): a 2M range the
// design should map with one 2M leaf but maps 4K by 4K. They are their own class: reported, and failing a
// case only when asked (--fail-on perf).
import type { System } from '../model/system.js';
import { attrPrivate, contiguousAt, extraRefsAt, folioOrderAt, indexOf, slotAt } from './view.js';

/**
 * Would the v3 design ideally map 2M range r with a 2M leaf? The whole range private and in one memslot, a
 * 2M-aligned gfn-to-index binding, a huge folio (or a contiguous block under CONTIGUITY), huge pages on, the
 * TD running, no GUEST_INHIBIT. The slot's uaddr does not count: FIXUP-4 (003:L321-324).
 */
export function expect2M(sys: System, r: number): boolean {
  const d = sys.design;
  if (!d.tdxHugePage || !d.enhancedDemoteInterruptibility || sys.kvm.tdState !== 'RUNNABLE') return false;
  const base = r * sys.ptrs;
  const idx = indexOf(sys, base);
  if (idx < 0 || indexOf(sys, base + sys.ptrs - 1) < 0 || idx % sys.ptrs !== 0) return false;
  // a 2M mapping lies in one memslot (model-spec.md 2.4, INV-3): a range a memslot boundary cuts stays 4K
  if (slotAt(sys, base) !== slotAt(sys, base + sys.ptrs - 1)) return false;
  if (sys.kvm.lpage.guestInhibit[r]) return false;
  for (let g = base; g < base + sys.ptrs; g++) if (!attrPrivate(sys, g)) return false;
  const gm = sys.gmem;
  if (d.mappingRule === 'CONTIGUITY') return contiguousAt(sys, idx);
  return folioOrderAt(sys, idx) >= gm.hugeOrder;
}

/**
 * After a to-private conversion: a hugetlb range the conversion made wholly private again (one of its gfns
 * was shared before, `wasShared`), contiguous and unreferenced, is merged back (INV-33). Ranges left split by
 * an earlier failed split are not its business ("not merged back", 003:L762).
 */
export function unmergedFolios(sys: System, start: number, end: number, wasShared: (gfn: number) => boolean): string | null {
  const gm = sys.gmem;
  if (!gm.hugetlb || sys.design.mappingRule === 'CONTIGUITY') return null;
  for (let r = sys.region(start); r <= sys.region(end - 1); r++) {
    const base = r * sys.ptrs;
    const idx = indexOf(sys, base);
    if (idx < 0 || idx % sys.ptrs !== 0 || indexOf(sys, base + sys.ptrs - 1) < 0) continue;
    if (!contiguousAt(sys, idx) || folioOrderAt(sys, idx) >= gm.hugeOrder) continue;
    let converted = false;
    for (let g = Math.max(base, start); g < Math.min(base + sys.ptrs, end) && !converted; g++) converted = wasShared(g);
    if (!converted) continue;
    let whole = true;
    for (let g = base; g < base + sys.ptrs && whole; g++) whole = attrPrivate(sys, g) && extraRefsAt(sys, gm.folioHead[indexOf(sys, g)]) === 0;
    if (whole) return `2M range ${r} is private again but its hugetlb folio stays split (FIXUP-3 merge missing)`;
  }
  return null;
}
