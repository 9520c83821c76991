// How guest_memfd's folios change, read from the folio arrays step by step on the oracle's own record of the
// order and first pfn each index had when its range was last checked: INV-24's refcount clause and GMEM-FOLIO.
import type { System } from '../model/system.js';
import { clauseIndex } from './invariants.js';
import type { Violation } from './oracle.js';
import { attrPrivate, folioOrderAt, heldRefsAt, indexOf } from './view.js';

const C = {
  inv24Refs: clauseIndex('INV-24', 'a folio is split or merged only when'),
  toShared: clauseIndex('GMEM-FOLIO', 'a range converted to shared'),
  merge: clauseIndex('GMEM-FOLIO', 'a merge takes'),
  alloc: clauseIndex('GMEM-FOLIO', 'a new folio'),
} as const;

const hex = (n: number): string => `0x${n.toString(16)}`;

export class FolioWatch {
  /** Per guest_memfd index: the order and pfn of its folio when its range was last checked (-1: none). */
  private readonly orderSeen: Int8Array;
  private readonly pfnSeen: Int32Array;
  private readonly hugetlb: boolean;
  /**
   * In place, guest_memfd holds both attributes and its folios follow them; with VM attributes it backs private
   * memory only (shared gfns are the slot's userspace memory), so a folio over a shared gfn is just unused there.
   */
  private readonly inPlace: boolean;

  constructor(private readonly sys: System) {
    const size = sys.gmem.size;
    this.orderSeen = new Int8Array(size);
    this.pfnSeen = new Int32Array(size);
    for (let i = 0; i < size; i++) this.see(i);
    this.hugetlb = sys.design.backing === 'HUGETLB_2M' || sys.design.backing === 'HUGETLB_1G';
    this.inPlace = !sys.design.vmMemoryAttributes;
  }

  private see(i: number): void {
    this.orderSeen[i] = folioOrderAt(this.sys, i);
    this.pfnSeen[i] = this.sys.gmem.pfn[i];
  }

  /**
   * Every index whose page changed since the last step (a pfn where there was none or another one) got a new
   * folio in this step: judged now, while the attributes it was allocated under still hold. A scan of the pfns
   * alone, at every step, since an allocation marks no range touched.
   */
  afterStep(): Violation | null {
    const gm = this.sys.gmem;
    const pfn = gm.pfn;
    let bad: Violation | null = null;
    for (let i = 0; i < pfn.length; i++) {
      if (pfn[i] === this.pfnSeen[i]) continue;
      if (!bad && pfn[i] >= 0) bad = this.allocated(i, folioOrderAt(this.sys, i));
      this.see(i);
    }
    return bad;
  }

  /**
   * The folios of 2M range r's indices since the range was last checked: the same pages in another order is a
   * split or a merge. No reference may hold the folio (INV-24; split_folio() needs the refcount to be the
   * filemap's, 003:L661), and a merge takes a wholly private 2M range only. Judged at the step that made the
   * change (a split or merge takes no step between its checks and the change), or at the op's end at the latest.
   */
  check(r: number): Violation | null {
    const sys = this.sys;
    const gm = sys.gmem;
    let bad: Violation | null = null;
    for (let g = r * sys.ptrs, end = g + sys.ptrs; g < end; g++) {
      const i = indexOf(sys, g);
      if (i < 0) continue;
      const was = this.orderSeen[i];
      const now = folioOrderAt(sys, i);
      if (!bad && now >= 0 && was >= 0 && was !== now && gm.pfn[i] === this.pfnSeen[i]) bad = this.restructured(i, was, now);
      this.see(i);
    }
    return bad;
  }

  private restructured(i: number, was: number, now: number): Violation | null {
    const n = 1 << Math.max(was, now);
    const head = i - (i % n);
    const held = heldRefsAt(this.sys, head, n);
    if (held) return { inv: 'INV-24', clause: C.inv24Refs, message: `the folio at guest_memfd index ${hex(head)} was ${now < was ? 'split' : 'merged'} (order ${was} -> ${now}) while ${held} held it` };
    if (now > was) {
      // FIXUP-3 merges after a to-private conversion, and only a range the conversion left wholly private (003:L436 step 7)
      const shared = this.sharedIn(head, n, this.gfnShift());
      if (shared >= 0) return { inv: 'GMEM-FOLIO', clause: C.merge, message: `the folio at guest_memfd index ${hex(head)} was merged (order ${was} -> ${now}) over SHARED gfn ${hex(shared)}` };
    }
    return null;
  }

  /** A new page at index i, in a folio of order `now`: the backing's size, restructured at once where a 2M range is mixed. */
  private allocated(i: number, now: number): Violation | null {
    const d = this.sys.design;
    const pfn = this.sys.gmem.pfn;
    if (d.backing === '4K' && now > 0) return { inv: 'GMEM-FOLIO', clause: C.alloc, message: `a 4K-backed guest_memfd got a folio of order ${now} at index ${hex(i)}` };
    const p = d.ptrs;
    const base = i - (i % p);
    const shift = this.gfnShift();
    if (now > 0 && this.sharedIn(base, p, shift) >= 0 && this.privateIn(base, p, shift)) {
      return { inv: 'GMEM-FOLIO', clause: C.alloc, message: `a new folio of order ${now} at guest_memfd index ${hex(i)} spans both attributes of its 2M range` };
    }
    if (this.hugetlb) {
      // hugetlb hands out whole huge pages; a split right after (a mixed range, a host mapping) keeps their pages
      const n = d.backing === 'HUGETLB_1G' ? p * p : p;
      const head = i - (i % n);
      for (let j = head; j < head + n && j < pfn.length; j++) {
        if (pfn[j] !== pfn[head] + (j - head)) return { inv: 'GMEM-FOLIO', clause: C.alloc, message: `a new hugetlb folio at guest_memfd index ${hex(i)} is not one huge page: index ${hex(j)} holds ${pfn[j] < 0 ? 'no page' : `pfn ${hex(pfn[j])}`}, not pfn ${hex(pfn[head] + (j - head))}` };
      }
    }
    return null;
  }

  /** gfn - index for a gfn bound through a live memslot: every slot binds the one file at a consistent offset (view.ts indexOf). */
  private gfnShift(): number {
    const d = this.sys.design;
    return d.slotBaseGfn - d.gmemOffset;
  }

  /** A SHARED gfn among indices [start, start + n) (gfn = index + shift), or -1. Indices outside a live slot do not count. */
  private sharedIn(start: number, n: number, shift: number): number {
    if (!this.inPlace) return -1;
    for (let j = start; j < start + n; j++) if (indexOf(this.sys, j + shift) === j && !attrPrivate(this.sys, j + shift)) return j + shift;
    return -1;
  }

  private privateIn(start: number, n: number, shift: number): boolean {
    for (let j = start; j < start + n; j++) if (indexOf(this.sys, j + shift) === j && attrPrivate(this.sys, j + shift)) return true;
    return false;
  }

  /**
   * After a conversion to shared in place returned 0: every gfn it made shared sits in a 4K folio (or none).
   * "guest_memfd will not make the ranges available to host userspace ... until the complete range to be
   * converted is split to 4K granularity" (003:L761). `wasPrivate` is the attribute before the op.
   */
  convertedToShared(start: number, end: number, wasPrivate: (g: number) => boolean): Violation | null {
    if (!this.inPlace) return null;
    for (let g = start; g < end; g++) {
      const i = indexOf(this.sys, g);
      if (i < 0 || !wasPrivate(g)) continue;
      const o = folioOrderAt(this.sys, i);
      if (o > 0) return { inv: 'GMEM-FOLIO', clause: C.toShared, message: `gfn ${hex(g)} was converted to shared but its guest_memfd folio (index ${hex(i)}) has order ${o}, not 4K` };
    }
    return null;
  }
}
