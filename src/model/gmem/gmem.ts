// guest_memfd (model-spec.md 2.6): folios per index, the per-index memory attribute (in-place conversion,
// kvm vm_memory_attributes=N, 003:L339), and the page allocations behind them. The memslot binds gfn g to
// gmem index g (slot base gfn 0, gmem offset 0) in this build.
import { i32, u8 } from '../arena.js';
import type { Backing, SplitPolicy } from '../config.js';
import { RwLock } from '../kvm/locks.js';
import { type LeakWhy, Owner, PfnKind, type PhysMem } from '../host/phys.js';

export const SHARED = 0;
export const PRIVATE = 1;

export class Gmem {
  /** Memory attribute per index: PRIVATE or SHARED. A TD's memory starts private. */
  readonly attr: Uint8Array;
  /** pfn backing each index, or -1 when nothing is allocated there. */
  readonly pfn: Int32Array;
  /** Index of the head of the folio holding each index, or -1. */
  readonly folioHead: Int32Array;
  /** Folio order (0 or log2(ptrs)), stored at the head index. */
  readonly folioOrder: Uint8Array;
  /** filemap_invalidate_lock (held for write by conversion and punch) [S] 003:L662. */
  readonly invalidateLock = new RwLock();
  /** References from host userspace mappings of shared pages (MMAP flag), per index. */
  readonly hostMaps: Int32Array;
  /** IOMMU (VFIO) pins of shared pages, per index (003:L661). */
  readonly pins: Int32Array;
  /** References TDX holds on the page (refcount policies HOLD_*), per index. */
  readonly tdxHold: Int32Array;
  /** kvm_gmem_buggy_cleanup() ran: no folio of this file goes back to the host (001:L42-49). */
  buggy = false;
  /** Order of a 2M folio (log2 ptrs). */
  readonly hugeOrder: number;
  /** Order of a folio as the backing allocates it: 0 (4K), 2M (THP, hugetlb-2M) or 1G (hugetlb-1G). */
  readonly allocOrder: number;
  /** hugetlb backings restructure folios (split can fail undoing HVO; truncation below the original size is refused). */
  readonly hugetlb: boolean;

  constructor(
    readonly phys: PhysMem,
    readonly ptrs: number,
    readonly size: number,
    readonly backing: Backing,
    readonly splitPolicy: SplitPolicy = 'HIERARCHICAL',
  ) {
    this.attr = u8(size).fill(PRIVATE);
    this.pfn = i32(size).fill(-1);
    this.folioHead = i32(size).fill(-1);
    this.folioOrder = u8(size);
    this.hugeOrder = Math.log2(ptrs);
    this.allocOrder = backing === '4K' ? 0 : backing === 'HUGETLB_1G' ? 2 * this.hugeOrder : this.hugeOrder;
    this.hugetlb = backing === 'HUGETLB_2M' || backing === 'HUGETLB_1G';
    this.hostMaps = i32(size);
    this.pins = i32(size);
    this.tdxHold = i32(size);
  }

  /** References on the folio beyond the filemap's own: what a split or merge must wait for (003:L661). */
  extraRefs(head: number): number {
    let n = 0;
    const end = head + this.folioNrPages(head);
    for (let i = head; i < end; i++) n += this.hostMaps[i] + this.pins[i] + this.tdxHold[i];
    return n;
  }

  /** Under CONTIGUITY: is the 2M index block of `index` allocated over 2M-aligned contiguous pfns? */
  contiguousBlock(index: number): boolean {
    const base = index - (index % this.ptrs);
    const p0 = this.pfn[base];
    if (p0 < 0 || p0 % this.ptrs !== 0 || base + this.ptrs > this.size) return false;
    for (let i = 1; i < this.ptrs; i++) if (this.pfn[base + i] !== p0 + i) return false;
    return true;
  }

  /** Any page of the folio HWPoisoned? (folio_test_hwpoison) */
  folioPoisoned(head: number): boolean {
    const end = head + this.folioNrPages(head);
    for (let i = head; i < end; i++) if (this.pfn[i] >= 0 && this.phys.hwpoison[this.pfn[i]]) return true;
    return false;
  }

  folioNrPages(head: number): number {
    return 1 << this.folioOrder[head];
  }

  /** Order of the folio holding `index` (-1 when none). */
  orderAt(index: number): number {
    const h = this.folioHead[index];
    return h < 0 ? -1 : this.folioOrder[h];
  }

  /**
   * Allocate the folio for `index` (kvm_gmem_get_folio): one folio of the backing's size (4K, 2M or 1G). A
   * range whose attributes are mixed is restructured at once, before anything can map it [M].
   * Returns false when the pool is empty (-ENOMEM). A `kind` other than TDX_RAM is a buggy allocator
   * handing out memory TDX cannot use (the BUG-22 fault sites).
   */
  allocFolio(index: number, kind: PfnKind = PfnKind.TDX_RAM): boolean {
    if (this.backing === '4K' || (this.backing === 'THP_2M' && this.blockPartlyPopulated(index))) {
      // 4K backing, or a THP range with a hole punched in it: the hole is refilled with a small page.
      const p = kind !== PfnKind.TDX_RAM ? this.phys.allocSpecialPage(kind, Owner.GMEM, index) : this.phys.allocSmall(Owner.GMEM, index);
      if (p < 0) return false;
      this.pfn[index] = p;
      this.folioHead[index] = index;
      this.folioOrder[index] = 0;
      return true;
    }
    const n = 1 << this.allocOrder;
    const base = index - (index % n);
    if (base + n > this.size) return false;
    const block = kind !== PfnKind.TDX_RAM ? (n === this.ptrs ? this.phys.allocSpecialHuge(kind) : -1) : this.phys.allocHugeRun(n / this.ptrs);
    if (block < 0) return false;
    for (let i = 0; i < n; i++) {
      this.phys.take(block + i, Owner.GMEM, base + i);
      this.pfn[base + i] = block + i;
      this.folioHead[base + i] = base;
    }
    this.folioOrder[base] = this.allocOrder;
    for (let b = base; b < base + n; b += this.ptrs) {
      if (this.attrsHomogeneous(b, b + this.ptrs)) continue;
      if (this.folioOrder[this.folioHead[b]] > this.hugeOrder) this.splitFolio(this.folioHead[b], this.splitPolicy === 'UNIFORM_4K' ? 0 : this.hugeOrder);
      if (this.folioOrder[this.folioHead[b]] > 0) this.splitFolio(this.folioHead[b], 0);
    }
    return true;
  }

  private blockPartlyPopulated(index: number): boolean {
    const base = index - (index % this.ptrs);
    for (let i = base; i < base + this.ptrs; i++) if (this.pfn[i] >= 0) return true;
    return false;
  }

  attrsHomogeneous(start: number, end: number): boolean {
    const a = this.attr[start];
    for (let i = start + 1; i < end; i++) if (this.attr[i] !== a) return false;
    return true;
  }

  /** Split a folio into folios of order `to` (0 = 4K; a 1G folio to 2M under HIERARCHICAL, 003:L443). */
  splitFolio(head: number, to = 0): void {
    const n = this.folioNrPages(head);
    const step = 1 << to;
    for (let i = 0; i < n; i++) {
      const h = head + i - (i % step);
      this.folioHead[head + i] = h;
      if (i % step === 0) this.folioOrder[h] = to;
    }
  }

  /** Merge the 4K folios of one original 2M range back into a 2M folio (FIXUP-3). */
  mergeFolios(base: number): void {
    for (let i = 0; i < this.ptrs; i++) this.folioHead[base + i] = base;
    this.folioOrder[base] = this.hugeOrder;
  }

  /**
   * Drop the folio from the file. Its pages go back to the host unless something keeps them: a reference
   * TDX holds (the folio is freed only when the last reference goes, i.e. never), HWPoison when
   * `refusePoisoned` (hugetlb "doesn't actually deal with poisoned folios on freeing", 003:L762, so the
   * folio is leaked; 001:L28-37), or a buggy-cleaned file. Returns how many pages were leaked.
   */
  truncateFolio(head: number, refusePoisoned: boolean): number {
    const n = this.folioNrPages(head);
    // truncate_inode_pages() unmaps host userspace mappings first; pins and TDX references stay.
    let pins = 0;
    let tdx = 0;
    for (let i = head; i < head + n; i++) {
      pins += this.pins[i];
      tdx += this.tdxHold[i];
    }
    const why: LeakWhy | null = this.buggy ? 'buggy-gmem' : tdx > 0 ? 'tdx-ref' : pins > 0 ? 'pinned' : refusePoisoned && this.folioPoisoned(head) ? 'poison' : null;
    for (let i = 0; i < n; i++) {
      const p = this.pfn[head + i];
      if (p >= 0) {
        if (why) this.phys.leak(p, why);
        else this.phys.free(p);
      }
      this.pfn[head + i] = -1;
      this.folioHead[head + i] = -1;
      this.folioOrder[head + i] = 0;
      this.hostMaps[head + i] = 0;
      this.pins[head + i] = 0;
      this.tdxHold[head + i] = 0;
    }
    return why ? n : 0;
  }
}
