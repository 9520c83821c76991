// Host physical memory: every pfn has exactly one owner (model-spec.md 2.1). Two pools: 2M-aligned
// hugetlb blocks for guest_memfd folios and single 4K pages for S-EPT pages and other kernel use.
// Allocation is lowest-free-first so that a freed page is handed out again soon (it makes reuse after
// free visible).
import { i16, i32, u8 } from '../arena.js';

export enum Owner {
  FREE_HUGE = 0, // in the hugetlb pool
  FREE = 1, // in the 4K page allocator
  GMEM = 2, // a guest_memfd folio page; arg = gmem index
  SEPT = 3, // an S-EPT page-table page (external_spt); arg = 2M region it maps
  HOST_OTHER = 4, // used by the host kernel or userspace for something else
  LEAKED = 5, // intentionally leaked after a failure (004:L125-126)
  CTRL = 6, // TD control structure page (TDR, TDCS, TDVPR); arg = which
  PAMT_PAIR = 7, // one of the two pages of an installed Dynamic PAMT pair; arg = physical 2M region
  PAMT_CACHE = 8, // waiting in a PAMT page cache; arg = 0 per-vCPU cache, 1 per-VM split cache
}

export const OWNER_NAMES = ['FREE_HUGE', 'FREE', 'GMEM', 'SEPT', 'HOST_OTHER', 'LEAKED', 'CTRL', 'PAMT_PAIR', 'PAMT_CACHE'] as const;

/** What kind of memory a pfn is (model-spec.md 2.1; 003:L446, L606): only TDX_RAM can become private. */
export enum PfnKind {
  TDX_RAM = 0,
  NON_TDX_RAM = 1,
  NO_STRUCT_PAGE = 2,
}

/** Why a page was leaked: TDX could not take it back, or something outside TDX still holds it. */
export type LeakWhy = 'tdx' | 'tdx-ref' | 'poison' | 'pinned' | 'buggy-gmem';

/** How `show` explains each reason. */
export const LEAK_REASONS: Readonly<Record<LeakWhy, string>> = {
  tdx: 'TDX could not take it back (a removal, reclaim or teardown step failed)',
  'tdx-ref': 'TDX still holds a reference to it (refcount policy)',
  poison: 'HWPoisoned: never returned to the allocator',
  pinned: 'an IOMMU pin still holds it',
  'buggy-gmem': 'guest_memfd leaks every page of a file whose VM was bugged (GMEM_BUGGY_CLEANUP)',
};

export class PhysMem {
  readonly owner: Uint8Array;
  readonly ownerArg: Int32Array;
  /** Data token of the page; guests and host write tokens, 0 = zeroed page [M]. */
  readonly content: Int32Array;
  /** HKID whose cache lines may still be dirty for this page; -1 = none [A]. */
  readonly dirtyHkid: Int16Array;
  /** memory_failure() marked the page HWPoison (001). */
  readonly hwpoison: Uint8Array;
  /** For LEAKED pages: why. */
  readonly leakWhy = new Map<number, LeakWhy>();
  /** Memory kind per pfn; the last hugetlb block is RAM the TDX module cannot convert. */
  readonly kind: Uint8Array;
  /** The non-convertible hugetlb block, handed out only through the fault site NON_TDX_PFN. */
  readonly nonTdxBlock: number;
  /**
   * A 2M block of pfns with no struct page (device memory behind a VM_PFNMAP-like mapping, 003:L443-446),
   * after the small pages so that it shifts no other pfn; handed out only through the fault site NO_STRUCT_PFN.
   */
  readonly noStructBlock: number;
  readonly hugeBlocks: number;
  readonly smallBase: number;
  /** One past the last page of the 4K allocator (2M-aligned: the pool is rounded up to whole 2M blocks). */
  readonly smallEnd: number;
  readonly total: number;
  /** Every free, in order: the pfn and the owner it had. The oracle reads this log from its own cursor. */
  readonly freeLog: { pfn: number; was: Owner }[] = [];

  constructor(readonly ptrs: number, hugeBlocks: number, smallPages: number) {
    this.hugeBlocks = hugeBlocks;
    this.nonTdxBlock = hugeBlocks * ptrs;
    this.smallBase = (hugeBlocks + 1) * ptrs;
    this.smallEnd = this.smallBase + Math.ceil(smallPages / ptrs) * ptrs; // keeps noStructBlock 2M-aligned
    this.noStructBlock = this.smallEnd;
    this.total = this.smallEnd + ptrs;
    this.owner = u8(this.total);
    this.ownerArg = i32(this.total);
    this.content = i32(this.total);
    this.dirtyHkid = i16(this.total).fill(-1);
    this.hwpoison = u8(this.total);
    this.kind = u8(this.total);
    this.kind.fill(PfnKind.NON_TDX_RAM, this.nonTdxBlock, this.smallBase);
    this.kind.fill(PfnKind.NO_STRUCT_PAGE, this.noStructBlock, this.total);
    this.owner.fill(Owner.FREE, this.smallBase, this.smallEnd);
  }

  /**
   * A short-lived host kernel allocation of up to `n` free pages, lowest first (so it lands on pages just
   * freed): each is written with `token` and freed again. Returns the pages it used.
   */
  scribbleFree(n: number, token: number): number[] {
    const used: number[] = [];
    for (let p = 0; p < this.smallEnd && used.length < n; p++) {
      if (!this.isFree(p)) continue;
      const was = this.owner[p];
      this.owner[p] = Owner.HOST_OTHER;
      this.content[p] = token;
      used.push(p);
      this.owner[p] = was;
    }
    return used;
  }

  /** First pfn of the special block holding memory of `kind` (NON_TDX_RAM or NO_STRUCT_PAGE). */
  specialBlock(kind: PfnKind): number {
    return kind === PfnKind.NO_STRUCT_PAGE ? this.noStructBlock : this.nonTdxBlock;
  }

  /** One page of a special block, for 4K backing. */
  allocSpecialPage(kind: PfnKind, owner: Owner, arg: number): number {
    const base = this.specialBlock(kind);
    for (let p = base; p < base + this.ptrs; p++) {
      if (this.owner[p] === Owner.FREE_HUGE) {
        this.take(p, owner, arg);
        return p;
      }
    }
    return -1;
  }

  /** A whole special block, if free (a misconfigured or buggy allocator handing it to guest_memfd). */
  allocSpecialHuge(kind: PfnKind): number {
    const base = this.specialBlock(kind);
    return this.isHugeBlockFree(base) ? base : -1;
  }

  /** `k` consecutive free 2M blocks starting at a multiple of k (a 1G hugetlb page when k = ptrs), or -1. */
  allocHugeRun(k: number): number {
    if (k === 1) return this.allocHuge();
    for (let b = 0; b + k <= this.hugeBlocks; b += k) {
      let ok = true;
      for (let j = 0; j < k && ok; j++) ok = this.isHugeBlockFree((b + j) * this.ptrs);
      if (ok) return b * this.ptrs;
    }
    return -1;
  }

  /** A free 2M-aligned hugetlb block, or -1 when the pool is empty. Pages come back zeroed. */
  allocHuge(): number {
    for (let b = 0; b < this.hugeBlocks; b++) {
      const base = b * this.ptrs;
      if (this.isHugeBlockFree(base)) return base;
    }
    return -1;
  }

  isHugeBlockFree(base: number): boolean {
    for (let i = 0; i < this.ptrs; i++) if (this.owner[base + i] !== Owner.FREE_HUGE) return false;
    return true;
  }

  /** One 4K page from the small-page allocator, or -1. */
  allocSmall(owner: Owner, arg: number): number {
    for (let p = this.smallBase; p < this.smallEnd; p++) {
      if (this.owner[p] === Owner.FREE) {
        this.take(p, owner, arg);
        return p;
      }
    }
    return -1;
  }

  take(pfn: number, owner: Owner, arg: number): void {
    this.owner[pfn] = owner;
    this.ownerArg[pfn] = arg;
    this.content[pfn] = 0; // the allocator hands out zeroed pages (hugetlb and __GFP_ZERO) [A]
  }

  /** Return a page to the pool it came from. */
  free(pfn: number): void {
    this.freeLog.push({ pfn, was: this.owner[pfn] });
    this.owner[pfn] = pfn < this.smallBase || pfn >= this.smallEnd ? Owner.FREE_HUGE : Owner.FREE;
    this.ownerArg[pfn] = 0;
  }

  /** Where `show` hears of each leak (System sets it to a trace note; not part of the trace hash). */
  onLeak: ((pfn: number, was: Owner, why: LeakWhy) => void) | null = null;

  leak(pfn: number, why: LeakWhy): void {
    this.onLeak?.(pfn, this.owner[pfn], why);
    this.owner[pfn] = Owner.LEAKED;
    this.leakWhy.set(pfn, why);
  }

  isFree(pfn: number): boolean {
    const o = this.owner[pfn];
    return o === Owner.FREE || o === Owner.FREE_HUGE;
  }
}
