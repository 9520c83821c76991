// How guest_memfd's folios change, read from the folio arrays at every step against the oracle's own copy of
// them from the step before: INV-24's refcount clause and GMEM-FOLIO.
import type { System } from '../model/system.js';
import { clauseIndex } from './invariants.js';
import type { Violation } from './oracle.js';
import { hugetlbBacking, originalFolioPages } from './policy.js';
import { attrPrivate, folioOrderAt, heldRefsAt, indexOf } from './view.js';

const C = {
  inv24Refs: clauseIndex('INV-24', 'a folio is split or merged only when'),
  toShared: clauseIndex('GMEM-FOLIO', 'a range converted to shared'),
  merge: clauseIndex('GMEM-FOLIO', 'a merge takes'),
  alloc: clauseIndex('GMEM-FOLIO', 'a new folio'),
} as const;

const hex = (n: number): string => `0x${n.toString(16)}`;

export class FolioWatch {
  /** Per guest_memfd index, at the end of the last step: the folio arrays as they were (to notice a change cheaply). */
  private readonly pfnSeen: Int32Array;
  private readonly headSeen: Int32Array;
  private readonly rawOrderSeen: Uint8Array;
  /** ... and the order of the folio holding each index then (-1: none). */
  private readonly orderSeen: Int8Array;
  private readonly hugetlb: boolean;
  /**
   * In place, guest_memfd holds both attributes and its folios follow them; with VM attributes it backs private
   * memory only (shared gfns are the slot's userspace memory), so a folio over a shared gfn is just unused there.
   */
  private readonly inPlace: boolean;

  constructor(private readonly sys: System) {
    const size = sys.gmem.size;
    this.pfnSeen = new Int32Array(size);
    this.headSeen = new Int32Array(size);
    this.rawOrderSeen = new Uint8Array(size);
    this.orderSeen = new Int8Array(size);
    this.seeArrays();
    for (let i = 0; i < size; i++) this.orderSeen[i] = folioOrderAt(sys, i);
    this.hugetlb = hugetlbBacking(sys.design);
    this.inPlace = !sys.design.vmMemoryAttributes;
  }

  private seeArrays(): void {
    const gm = this.sys.gmem;
    this.pfnSeen.set(gm.pfn);
    this.headSeen.set(gm.folioHead);
    this.rawOrderSeen.set(gm.folioOrder);
  }

  /**
   * The folios as the step left them, against the end of the last step; judged at the step that changed them
   * (an allocation, split or merge takes no step between its checks and the change). A page where there was none
   * or another one is a new folio: the backing's size, restructured at once where its 2M range is mixed. The same
   * pages in another order is a split or a merge: no reference may hold the folio (INV-24; split_folio() needs the
   * refcount to be the filemap's, 003:L661), and a merge takes a wholly private 2M range only. Every index is
   * compared, so no path needs to report what it touched; a step that changes no folio costs three compares per index.
   */
  afterStep(): Violation | null {
    const gm = this.sys.gmem;
    const { pfn, folioHead, folioOrder } = gm;
    let changed = false;
    for (let i = 0; i < pfn.length && !changed; i++) changed = pfn[i] !== this.pfnSeen[i] || folioHead[i] !== this.headSeen[i] || folioOrder[i] !== this.rawOrderSeen[i];
    if (!changed) return null;
    let bad: Violation | null = null;
    for (let i = 0; i < pfn.length; i++) {
      const now = folioOrderAt(this.sys, i);
      if (!bad && now >= 0) {
        if (pfn[i] !== this.pfnSeen[i]) bad = this.allocated(i, now);
        else if (this.orderSeen[i] >= 0 && this.orderSeen[i] !== now) bad = this.restructured(i, this.orderSeen[i], now);
      }
      this.orderSeen[i] = now;
    }
    this.seeArrays();
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
      const n = originalFolioPages(d);
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
