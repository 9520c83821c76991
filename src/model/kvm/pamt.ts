// Dynamic PAMT on the KVM side (003:L41-56, L261-296; V3-21/23): every physical 2M region that holds a 4K
// TDX page (a 4K guest page, an S-EPT page, a control page) needs a pair of PAMT pages installed with
// TDH.PHYMEM.PAMT.ADD; KVM counts the uses per region (tdx_pamt_get/put) and removes the pair at zero.
// Pairs come from a per-vCPU cache topped up before a fault, or, for a split, from the per-VM external
// split cache topped up in step 2.2 and dequeued in steps 3.2 and 3.4 under prealloc_split_cache_lock.
import { EIO, ENOMEM } from '../errno.js';
import { Owner } from '../host/phys.js';
import type { Path, System } from '../system.js';
import { isSuccess } from '../tdx/status.js';
import { splitCacheLock, splitCacheUnlock } from './locks.js';
import { tdxBugOn } from './tdxGlue.js';

export const VCPU_CACHE = 0;
export const SPLIT_CACHE = 1;

/** Pages a pair costs. */
const PAIR = 2;

function cacheOf(sys: System, which: number): number[] {
  return which === SPLIT_CACHE ? sys.kvm.splitCache : sys.kvm.vcpuPamtCache;
}

/** Allocate host pages into a cache; false on -ENOMEM (host allocation failed, fault site ALLOC). */
export function fillCache(sys: System, which: number, want: number): boolean {
  const cache = cacheOf(sys, which);
  while (cache.length < want) {
    const p = sys.inj.siteFails('ALLOC') ? -1 : sys.phys.allocSmall(Owner.PAMT_CACHE, which);
    if (p < 0) return false;
    if (which === SPLIT_CACHE) sys.trace.hook('split_cache_enqueue', p, 0);
    cache.push(p);
  }
  return true;
}

/** Take n pages out of a cache (null when it holds fewer: an underflow). */
export function dequeue(sys: System, which: number, n: number): number[] | null {
  const cache = cacheOf(sys, which);
  if (which === SPLIT_CACHE) sys.trace.hook('split_cache_dequeue', n, 0);
  if (cache.length < n) return null;
  return cache.splice(cache.length - n, n);
}

/** Pages the split cache needs for one 2M split (step 2.1): a pair per region without one (at most 4). */
export function splitCacheNeed(sys: System, newSeptPfn: number, guestPfn: number): number {
  if (!sys.design.dpamt) return 0;
  const a = sys.tdx.pamtRegion(newSeptPfn);
  const b = sys.tdx.pamtRegion(guestPfn);
  let need = 0;
  if (!sys.tdx.pairInstalled(a)) need += PAIR;
  if (b !== a && !sys.tdx.pairInstalled(b)) need += PAIR;
  return need;
}

/** Install a region's pair from `pages` (two pages that already left their cache). */
function* installPair(sys: System, region: number, pages: number[], underSpinlock = false): Path<number> {
  for (const p of pages) {
    sys.phys.owner[p] = Owner.PAMT_PAIR;
    sys.phys.ownerArg[p] = region;
  }
  const err = sys.tdx.tdhPhymemPamtAdd(region, pages[0], pages[1]);
  // under pamt_lock the refcount goes 0 -> 1 with the ADD, before any other get or put can look at it
  if (isSuccess(err)) sys.kvm.pamtRefcount[region]++;
  if (!underSpinlock) yield 'seamcall'; // under a spinlock the SEAMCALL is not a step of its own
  if (isSuccess(err)) {
    if (sys.trace.lines) sys.trace.note(`DPAMT: pair ${sys.hex(pages[0])}, ${sys.hex(pages[1])} added for physical 2M region ${region}`);
    return 0;
  }
  for (const p of pages) sys.phys.free(p);
  tdxBugOn(sys, err, 'TDH.PHYMEM.PAMT.ADD');
  return -EIO;
}

/** tdx_pamt_get(): one more 4K TDX use of pfn's region; installs the pair on 0 -> 1. */
export function* tdxPamtGet(sys: System, pfn: number, which: number, underSpinlock = false): Path<number> {
  if (!sys.design.dpamt) return 0;
  const r = sys.tdx.pamtRegion(pfn);
  const k = sys.kvm;
  if (sys.trace.lines) sys.trace.note(`DPAMT: region ${r} refcount ${k.pamtRefcount[r]} -> ${k.pamtRefcount[r] + 1} (get pfn ${sys.hex(pfn)})`);
  // atomic_inc_not_zero(); else, under pamt_lock, TDH.PHYMEM.PAMT.ADD and only on success 0 -> 1
  if (k.pamtRefcount[r] > 0) {
    k.pamtRefcount[r]++;
    return 0;
  }
  const pages = dequeue(sys, which, PAIR);
  if (!pages) return -ENOMEM;
  return yield* installPair(sys, r, pages, underSpinlock);
}

/** tdx_pamt_put(): one 4K TDX use fewer; on 1 -> 0 the pair is removed and freed ("loud warning" on failure, 003:L407). */
export function* tdxPamtPut(sys: System, pfn: number): Path {
  if (!sys.design.dpamt) return;
  const r = sys.tdx.pamtRegion(pfn);
  const k = sys.kvm;
  if (k.pamtRefcount[r] <= 0) {
    sys.trace.event(`WARN: PAMT refcount underflow for physical 2M region ${r}`);
    return;
  }
  if (sys.trace.lines) sys.trace.note(`DPAMT: region ${r} refcount ${k.pamtRefcount[r]} -> ${k.pamtRefcount[r] - 1} (put pfn ${sys.hex(pfn)})`);
  if (--k.pamtRefcount[r] > 0) return;
  // under pamt_lock: REMOVE, and on failure the refcount restored, before another get or put looks at it
  const { st, pair } = sys.tdx.tdhPhymemPamtRemove(r);
  const failed = !pair || !isSuccess(st);
  if (failed) k.pamtRefcount[r]++;
  yield 'seamcall';
  if (failed) {
    // "x86/virt/tdx: Add loud warning when tdx_pamt_put() fails" (003:L407): the refcount is restored and the
    // pair stays installed, so the region keeps its 4K PAMT pages for good.
    sys.trace.event(`WARN: TDH.PHYMEM.PAMT.REMOVE of region ${r} failed; refcount restored, its PAMT pair stays installed`);
    return;
  }
  for (const p of pair) sys.phys.free(p);
  if (sys.trace.lines) sys.trace.note(`DPAMT: pair ${sys.hex(pair[0])}, ${sys.hex(pair[1])} of physical 2M region ${r} removed and freed`);
}

/** TD creation, before any op runs: control pages get their region's pair straight from the allocator. */
export function pamtGetAtCreate(sys: System, pfn: number): boolean {
  if (!sys.design.dpamt) return true;
  const r = sys.tdx.pamtRegion(pfn);
  if (sys.kvm.pamtRefcount[r]++ > 0) return true;
  const pages = [sys.phys.allocSmall(Owner.PAMT_PAIR, r), sys.phys.allocSmall(Owner.PAMT_PAIR, r)];
  if (pages.some((p) => p < 0)) return false;
  return isSuccess(sys.tdx.tdhPhymemPamtAdd(r, pages[0], pages[1]));
}

/** Put pages a failed DEMOTE did not consume back into the split cache, under prealloc_split_cache_lock (G7b). */
export function requeueSplitCache(sys: System, pages: readonly number[]): void {
  const spin = sys.guard('G7b');
  if (spin) splitCacheLock(sys, 'tdx_sept_split_private_spte(requeue)');
  for (const p of pages) {
    sys.trace.hook('split_cache_enqueue', p, 0);
    sys.kvm.splitCache.push(p);
  }
  if (spin) splitCacheUnlock(sys, 'tdx_sept_split_private_spte(requeue)');
}

/** Give every cached page back to the host (VM teardown). */
export function freeCaches(sys: System): void {
  sys.trace.hook('split_cache_free', sys.kvm.splitCache.length, 0);
  for (const c of [sys.kvm.vcpuPamtCache, sys.kvm.splitCache]) {
    for (const p of c) sys.phys.free(p);
    c.length = 0;
  }
}
