// Named invariants (model-spec.md section 5) and the oracle's own checks. Each check reads model state
// for the regions a step touched and returns a message when it is violated, or null.
import { Spte } from '../model/kvm/mirror.js';
import type { System } from '../model/system.js';
import { isBlockedState, SEPT_STATE_NAMES, SeptState } from '../model/tdx/sept.js';
import { attrPrivate, indexOf, slotAt } from './view.js';
import { LIVE, type Reach, unreachable } from '../model/guards.js';

export type InvariantKind = 'always' | 'quiescent' | 'per-op' | 'liveness' | 'perf';

/**
 * How a failure of the check shows a bug (the benchmark reports it per BUG-n):
 * - damage: something the guest, the host or the page pool can observe went wrong: data or acceptance
 *   lost, a page leaked, freed while in use or handed to the wrong owner, a hang, a dead VM or host;
 * - structural: a rule the code must follow to avoid damage was broken (a flag, a lock, the state or order
 *   of a call, the shape of a mapping), caught before any damage is observable;
 * - performance: the design works but maps or merges less than it should.
 */
export type Detection = 'damage' | 'structural' | 'performance';

/** One clause of an invariant, and whether any generated case can reach it today. */
export interface Clause {
  text: string;
  reach: Reach;
  /** How a failure of this clause shows the bug, where it differs from the invariant's own detection. */
  detection?: Detection;
}

export interface InvariantInfo {
  id: string;
  kind: InvariantKind;
  detection: Detection;
  meaning: string;
  source: string;
  /** The parts of `meaning` that differ in reachability; without it the invariant is one live clause. */
  clauses?: readonly Clause[];
}

/** An invariant's clauses: its own list, or its meaning as one live clause. */
export function clausesOf(i: InvariantInfo): readonly Clause[] {
  return i.clauses ?? [{ text: i.meaning, reach: LIVE }];
}

export const INVARIANTS: readonly InvariantInfo[] = [
  { id: 'INV-1', kind: 'always', detection: 'structural', meaning: 'every private leaf maps pfns inside one folio of order >= the leaf level (STRICT_FOLIO)', source: '003:L23-24' },
  { id: 'INV-2', kind: 'always', detection: 'structural', meaning: 'a private leaf never covers a SHARED gfn', source: '003:L437' },
  { id: 'INV-3', kind: 'always', detection: 'structural', meaning: 'a 2M leaf has a 2M-aligned gfn and pfn, lies in one memslot, and lpage_info allowed 2M when it was mapped', source: '003:L172-178' },
  { id: 'INV-4', kind: 'always', detection: 'structural', meaning: 'no 2M private mapping and no DEMOTE/PROMOTE while the TD is being built; PAGE.ADD only at 4K', source: '003:L161-165' },
  { id: 'INV-7', kind: 'always', detection: 'damage', meaning: 'no S-EPT page-table page is freed while the HKID is assigned', source: '004:L122-123' },
  { id: 'INV-5', kind: 'always', detection: 'structural', meaning: 'no TDX private mapping larger than 2M', source: '003:L166' },
  {
    id: 'INV-6', kind: 'always', detection: 'structural', meaning: 'TDH.MEM.PAGE.PROMOTE is never issued and a mirror 4K table is never merged into a 2M leaf while the TD is active', source: '003:L242-253, L377',
    clauses: [
      { text: 'TDH.MEM.PAGE.PROMOTE is never issued while the TD is active', reach: LIVE },
      // KVM's only merge path (huge page adjustment, G6 off) issues PROMOTE before it installs the 2M leaf
      { text: 'a 4K table the S-EPT linked is never replaced by a 2M leaf while the TD is active', reach: unreachable('the only merge path (huge page adjustment, G6 off) issues TDH.MEM.PAGE.PROMOTE first, which the first clause reports') },
    ],
  },
  {
    id: 'INV-8', kind: 'always', detection: 'structural', meaning: 'GUEST_INHIBIT is one-way and only written under write mmu_lock', source: '003:L196-201',
    clauses: [
      { text: 'GUEST_INHIBIT is only written under write mmu_lock', reach: LIVE },
      // recomputeMixed clears it only with G9 off, after G9 off set it under the read lock (the first clause,
      // structural): the case goes on past that, so a later conversion's recompute makes this one fire
      { text: 'GUEST_INHIBIT is never cleared', reach: LIVE },
    ],
  },
  { id: 'INV-9', kind: 'quiescent', detection: 'structural', meaning: 'a 2M range with GUEST_INHIBIT is not mapped by a 2M leaf', source: '003:L181-183' },
  { id: 'INV-10', kind: 'liveness', detection: 'damage', meaning: 'a guest access or ACCEPT completes within a bounded number of EPT violations', source: '003:L184-186' },
  { id: 'INV-11', kind: 'quiescent', detection: 'structural', meaning: 'MIXED equals "the 2M range has both attributes"', source: '003:L175' },
  { id: 'INV-12', kind: 'always', detection: 'structural', meaning: 'DEMOTE on the mirror root only with mmu_lock held for write', source: '003:L121-127, L396-398' },
  {
    id: 'INV-13', kind: 'always', detection: 'structural', meaning: 'the split cache never underflows: the splitter that checked it (step 2.1) dequeues (3.2/3.4) with the write mmu_lock held throughout, under prealloc_split_cache_lock', source: '003:L291-296',
    clauses: [
      // damage: a dequeue from an empty cache hands TDH.MEM.PAGE.DEMOTE a NULL PAMT page (model-spec BUG-7).
      // Needs two splitters: one drops mmu_lock after its step 2.1 check (G7 off) and the other drains the cache.
      { text: 'the split cache never underflows', reach: LIVE, detection: 'damage' },
      { text: 'the splitter dequeues without dropping mmu_lock since its step 2.1 check', reach: LIVE },
      // G7b off enqueues without the lock first (the enqueue clause, structural); the case goes on to the dequeue
      { text: 'dequeue under prealloc_split_cache_lock', reach: LIVE },
      { text: 'enqueue under prealloc_split_cache_lock', reach: LIVE },
    ],
  },
  { id: 'INV-14', kind: 'always', detection: 'damage', meaning: 'page conservation: split-cache pages = enqueued - dequeued - freed (every step); cache and PAMT-pair pages are exactly the caches\' contents and the installed pairs (every op)', source: 'model-spec.md 2.1; 003:L291-296' },
  { id: 'INV-15', kind: 'quiescent', detection: 'structural', meaning: 'no BLOCKED S-EPT entry and no FROZEN mirror SPTE unless the VM is bugged', source: '004:L75' },
  { id: 'INV-16', kind: 'quiescent', detection: 'structural', meaning: 'the mirror root equals the S-EPT (leaves, levels, pfns, tables) unless the VM is bugged', source: '004:L68-69' },
  {
    id: 'INV-17', kind: 'always', detection: 'damage', meaning: 'BUSY is retried once after kicking the vCPUs, and that retry does not see BUSY again; a benign BUSY never kills the VM', source: '003:L238-240',
    clauses: [
      // damage: the VM dies (003:L238-240)
      { text: 'a benign TDX_OPERAND_BUSY never kills the VM: KVM kicks the vCPUs and retries once', reach: LIVE },
      // the kick ends every vCPU's TDCALL and keeps vCPUs out, so BUSY on the retry needs another host actor inside a
      // SEAMCALL on the same entry or TRACK (module.ts entry/epoch locks), which mmu_lock held for write rules out;
      // G4 off lets two splits under the shared lock overlap (corpus/regression/g4-track-busy-after-kick.json)
      { text: 'the retry after the kick does not see TDX_OPERAND_BUSY again', detection: 'structural', reach: LIVE },
    ],
  },
  { id: 'INV-18', kind: 'per-op', detection: 'damage', meaning: 'a conversion or punch of R keeps acceptance and data of every gfn outside R', source: '003:L254-258' },
  {
    id: 'INV-19', kind: 'always', detection: 'structural', meaning: 'REMOVE and DEMOTE only after BLOCK, TRACK and a vCPU kick; after REMOVE no vCPU TLB was last flushed before the BLOCK', source: '003:L228-230',
    clauses: [
      { text: 'REMOVE and DEMOTE only after BLOCK, TRACK and a vCPU kick', reach: LIVE },
      // tdx_track() kicks every vCPU after TRACK, which flushes its TLB (tdxGlue.ts kickAllVcpus)
      { text: 'after REMOVE no vCPU TLB was last flushed before the BLOCK', reach: unreachable('the module itself refuses such a REMOVE: it succeeds only once the TD epoch moved past the BLOCK and no vCPU still runs in the BLOCK\'s epoch (is_tlb_tracked), and a vCPU entering later flushes its TLB at entry; so with any guard off, and with several actors, a vCPU holding an older translation makes the REMOVE fail (TDX_TLB_TRACKING_NOT_DONE, the VM is bugged) instead of succeeding. The clause catches a module that skips that check') },
    ],
  },
  { id: 'INV-20', kind: 'always', detection: 'damage', meaning: 'a page the TD still owns (in its S-EPT or PAMT-assigned) is never handed back to the host while the TD lives', source: '000; 002' },
  { id: 'INV-21', kind: 'always', detection: 'damage', meaning: 'a leaked page, or one an IOMMU pin still holds, is never returned to the host allocator', source: '004:L125-126' },
  { id: 'INV-22', kind: 'always', detection: 'damage', meaning: 'a page freed to the host is PAMT-unassigned (NDA), has no cache lines of the TD key, and was reset if it held TD data (also when converted to shared)', source: '004:L132-133' },
  { id: 'INV-23', kind: 'quiescent', detection: 'structural', meaning: 'DPAMT: a region\'s refcount equals its 4K TDX uses (plus the one tdx_pamt_put() restores after a failed PAMT.REMOVE), and its pair is installed iff the refcount is positive', source: '003:L261-296, L383' },
  {
    id: 'INV-24', kind: 'liveness', detection: 'damage', meaning: 'a folio split or merge never waits forever for references (no TDX refcount under policy NONE), and waits for them: it never restructures a folio that a host map, IOMMU pin or TDX reference still holds', source: '002; 003:L661',
    clauses: [
      { text: 'a folio split or merge never waits forever for references', reach: LIVE },
      // split_folio() needs the refcount to be the filemap's alone ("how many other users are left?", 003:L661)
      { text: 'a folio is split or merged only when no host map, IOMMU pin or TDX reference holds it', reach: LIVE, detection: 'structural' },
    ],
  },
  { id: 'INV-25', kind: 'per-op', detection: 'damage', meaning: 'host userspace and the IOMMU never map a private page or one the TD owns', source: '003:L761' },
  { id: 'INV-26', kind: 'always', detection: 'damage', meaning: 'a HWPoisoned page is never mapped on a guest or host fault and never returned to the host allocator', source: '001:L28-37' },
  { id: 'INV-27', kind: 'always', detection: 'structural', meaning: 'teardown order: unmap guest pages, release the HKID, then reclaim S-EPT pages', source: '000; 004:L115-116' },
  { id: 'INV-28', kind: 'per-op', detection: 'damage', meaning: 'with no fatal-by-design fault, teardown returns every page to the host and leaks nothing', source: '000' },
  {
    id: 'INV-29', kind: 'always', detection: 'structural', meaning: 'after the VM is bugged no vCPU enters the guest, and VM ioctls fail with -EIO and change no KVM or S-EPT state', source: '002; kernel-facts.md 2.1',
    clauses: [
      { text: 'after the VM is bugged no vCPU enters the guest', reach: LIVE },
      { text: 'after the VM is bugged VM ioctls fail with -EIO', reach: LIVE },
      // every VM ioctl path starts with `if (kvm.bugged) return -EIO` (tdBuild.ts, slot.ts, memAttributes.ts)
      { text: 'a VM ioctl that fails on a bugged VM changes no KVM, S-EPT, PAMT, cache, refcount or guest_memfd state', reach: unreachable('a dead VM refuses every VM ioctl at entry, so no path gets far enough to change state; a VM bugged by another actor while an ioctl runs changes state through that actor, so the clause is judged only for an ioctl that ran alone') },
    ],
  },
  {
    id: 'INV-30', kind: 'liveness', detection: 'structural', meaning: 'huge pages only with ENHANCED_DEMOTE_INTERRUPTIBILITY; every SEAMCALL retry loop is bounded', source: '003:L35-37, L143-160',
    clauses: [
      { text: 'huge pages only with ENHANCED_DEMOTE_INTERRUPTIBILITY', reach: LIVE },
      // damage: an interrupt storm keeps the DEMOTE loop going for good, a hang (003:L157-160)
      { text: 'every SEAMCALL retry loop is bounded', reach: LIVE, detection: 'damage' },
    ],
  },
  { id: 'INV-31', kind: 'per-op', detection: 'damage', meaning: 'a failed conversion changes no attribute and (desired form, open in v3) removes no accepted private page', source: '003:L435-436' },
  { id: 'INV-32', kind: 'per-op', detection: 'damage', meaning: 'shared->private conversion of an IOMMU-pinned page fails with an error and changes nothing', source: '003:L661' },
  { id: 'INV-33', kind: 'perf', detection: 'performance', meaning: 'after a to-private conversion makes a whole huge range private again, its folios are merged back (FIXUP-3)', source: '003:L319-320, L325' },
  { id: 'PERF-2M', kind: 'perf', detection: 'performance', meaning: 'a 2M range the design should map with one 2M leaf gets a 4K table ("expected 2M" predicate: BUG-8b, BUG-17b)', source: 'model-spec.md 8; 003:L134-138, L321-324' },
  {
    id: 'GMEM-FOLIO', kind: 'always', detection: 'structural', meaning: 'in place, guest_memfd folios follow the attributes: a range converted to shared is split to 4K, a merge takes only a wholly private 2M range, and a new folio has the backing\'s size, split to 4K where its 2M range holds both attributes', source: '003:L436, L761; model-spec.md 3.4',
    clauses: [
      // "until: 1) The complete range to be converted is split to 4K granularity" (003:L761)
      { text: 'a range converted to shared in place is in 4K folios when the conversion returns', reach: LIVE },
      // FIXUP-3 merges after the attribute update, "when the whole range is private and refs are safe" (model-spec.md 3.4)
      { text: 'a merge takes only a 2M range whose gfns are all private', reach: LIVE },
      // hugetlb allocates huge pages only; 4K backing only 4K pages; a range of both attributes is restructured at once [M]
      { text: 'a new folio has the backing\'s size (4K backing: a 4K page; hugetlb: a whole huge page of contiguous pfns) and, in place, is 4K where its 2M range holds both attributes', reach: LIVE },
    ],
  },
  { id: 'TDX-PFN', kind: 'always', detection: 'structural', meaning: 'only TDX-convertible RAM reaches TDH.MEM.PAGE.AUG/ADD (BUG-22)', source: '003:L446, L651, L655-660' },
  { id: 'HOST-OOPS', kind: 'always', detection: 'damage', meaning: 'the host kernel never oopses, e.g. pfn_to_page() of a pfn with no struct page (BUG-22 crash variant)', source: '003:L446, L472' },
  {
    id: 'VM-BUGGED', kind: 'always', detection: 'damage', meaning: 'the VM was bugged (KVM_BUG_ON/TDX_BUG_ON) although no injected fault was fatal by design', source: '000; 002; kernel-facts.md 2.1',
    clauses: [
      { text: 'the VM was bugged (KVM_BUG_ON/TDX_BUG_ON) although no injected fault was fatal by design', reach: LIVE },
      // tdhMemTrack (module.ts) returns it for a vCPU that entered before the previous TRACK and was not kicked yet:
      // under mmu_lock held for write no TRACK runs between another's TRACK and its kick; with G4 off a split under
      // the shared lock can (corpus/regression/g4-previous-tlb-epoch-busy.json; a PCT schedule of its ops in
      // test/model/contention.test.ts). Generated cases reach it rarely: it needs three vCPUs and a switch into the
      // one-step window between TRACK and its kick (PCT schedules of that file's ops hit it 4 times in 20,000; none
      // of the 1,068,600 cases of a 12-minute G4-off campaign at 257f8fc, every case concurrent, did)
      { text: 'in particular: TDH.MEM.TRACK refused with TDX_PREVIOUS_TLB_EPOCH_BUSY (a vCPU still runs in an older TD epoch), which KVM does not retry', reach: LIVE },
    ],
  },
  { id: 'REF-RESULT', kind: 'per-op', detection: 'damage', meaning: 'the op returned what the reference model predicts for the guest or userspace', source: 'model-spec.md 8 layer 2' },
  { id: 'REF-ACCEPT', kind: 'per-op', detection: 'damage', meaning: 'a private gfn is accepted in the S-EPT iff the guest accepted it since its last conversion', source: 'kernel-facts.md 2.6' },
  { id: 'REF-DATA', kind: 'per-op', detection: 'damage', meaning: 'an accepted private gfn holds the data the guest last wrote', source: 'model-spec.md 2.8' },
  { id: 'REF-HOLE', kind: 'per-op', detection: 'damage', meaning: 'a punch that returned 0 left no guest_memfd page in the hole (hugetlb: in the original folios wholly inside it), so its memory went back', source: 'kernel-facts.md 3.1; 003:L762' },
  { id: 'REF-ATTR', kind: 'per-op', detection: 'damage', meaning: 'guest_memfd attributes equal the reference (successful conversions only)', source: 'INV-31, 003:L436' },
  { id: 'WATCHDOG', kind: 'liveness', detection: 'damage', meaning: 'an operation finishes within the step budget', source: 'model-spec.md 8 layer 3' },
];

/** The index of the clause of `inv` whose text starts with `prefix` (violations name the clause they report). */
export function clauseIndex(inv: string, prefix: string): number {
  const info = INVARIANTS.find((i) => i.id === inv);
  const k = info?.clauses?.findIndex((c) => c.text.startsWith(prefix)) ?? -1;
  if (k < 0) throw new Error(`${inv} has no clause starting "${prefix}"`);
  return k;
}

/**
 * How a violation shows its bug: its clause's detection, else its invariant's. Checks outside the table
 * (DEADLOCK, LIVELOCK, HARNESS-EXCEPTION) are damage: a hang, or a harness that cannot go on.
 */
export function detectionOf(v: { inv: string; clause?: number }): Detection {
  const info = INVARIANTS.find((i) => i.id === v.inv);
  if (!info) return 'damage';
  return (v.clause !== undefined ? info.clauses?.[v.clause]?.detection : undefined) ?? info.detection;
}

/** The clause text a violation names, or undefined when its invariant is one clause. */
export function clauseText(v: { inv: string; clause?: number }): string | undefined {
  if (v.clause === undefined) return undefined;
  return INVARIANTS.find((i) => i.id === v.inv)?.clauses?.[v.clause]?.text;
}

/** INV-1 under STRICT_FOLIO for one leaf: its pfns lie in the folio at gfn's index, of order >= the leaf's. */
function folioCovers(sys: System, gfn: number, pfn: number, level: number): string | null {
  const gm = sys.gmem;
  const idx = indexOf(sys, gfn);
  const head = idx < 0 ? -1 : gm.folioHead[idx];
  if (head < 0 || gm.pfn[idx] !== pfn) return `pfn 0x${pfn.toString(16)} is not the guest_memfd page at index 0x${idx.toString(16)} (folio truncated or replaced)`;
  if (level !== 1) return null;
  if (sys.design.mappingRule === 'CONTIGUITY') {
    // within one original-folio contiguity domain (003:L439 "contiguous and homogenous", L765)
    for (let i = 1; i < sys.ptrs; i++) {
      if (gm.pfn[idx + i] !== pfn + i) return `2M leaf at gfn 0x${gfn.toString(16)} is not backed by contiguous guest_memfd pages at index 0x${(idx + i).toString(16)}`;
    }
    return null;
  }
  if (gm.folioOrder[head] < gm.hugeOrder || idx + sys.ptrs > head + (1 << gm.folioOrder[head])) {
    return `2M leaf at gfn 0x${gfn.toString(16)} but the folio at index 0x${idx.toString(16)} has order ${gm.folioOrder[head]} (split while mapped huge)`;
  }
  return null;
}

/** INV-3 for a 2M mapping: gfn and pfn 2M-aligned, every gfn inside one memslot (003:L172-178). */
export function hugeMappingMisfit(sys: System, gfn: number, pfn: number): string | null {
  if (gfn % sys.ptrs !== 0 || pfn % sys.ptrs !== 0) return `2M mapping gfn 0x${gfn.toString(16)} pfn ${pfn < 0 ? '-0x' + (-pfn).toString(16) : '0x' + pfn.toString(16)} not 2M-aligned`;
  const idx = indexOf(sys, gfn);
  if (idx < 0 || indexOf(sys, gfn + sys.ptrs - 1) < 0) return `2M mapping at gfn 0x${gfn.toString(16)} reaches outside the memslot`;
  // "all 512 gfns in one memslot" (model-spec.md INV-3), from the oracle's own reading of the slot layout
  if (slotAt(sys, gfn) !== slotAt(sys, gfn + sys.ptrs - 1)) return `2M mapping at gfn 0x${gfn.toString(16)} spans memslots ${slotAt(sys, gfn)} and ${slotAt(sys, gfn + sys.ptrs - 1)}`;
  if (idx % sys.ptrs !== 0) return `2M mapping at gfn 0x${gfn.toString(16)} over guest_memfd index 0x${idx.toString(16)}: gfn and index are not 2M-aligned alike`;
  return null;
}

/** INV-3, INV-1 and INV-2 for one leaf, in that order. */
function checkLeaf(sys: System, table: string, gfn: number, pfn: number, level: number): [string, string] | null {
  if (level === 1) {
    const m = hugeMappingMisfit(sys, gfn, pfn);
    if (m) return ['INV-3', `${table}: ${m}`];
  }
  const m = folioCovers(sys, gfn, pfn, level);
  if (m) return ['INV-1', `${table}: ${m}`];
  const n = level === 1 ? sys.ptrs : 1;
  for (let g = gfn; g < gfn + n; g++) {
    if (!attrPrivate(sys, g)) return ['INV-2', `${table}: private ${level ? '2M' : '4K'} leaf at gfn 0x${gfn.toString(16)} covers SHARED gfn 0x${g.toString(16)}`];
  }
  return null;
}

/** INV-1, INV-2, INV-3 over region r: mirror always, S-EPT while the VM is not bugged. */
export function checkLeafInvariants(sys: System, r: number): [string, string] | null {
  const m = sys.kvm.mirror;
  const base = r * sys.ptrs;
  const end = base + sys.ptrs;
  if (m.m2m[r] === Spte.LEAF) {
    const v = checkLeaf(sys, 'mirror', base, m.pfn2m[r], 1);
    if (v) return v;
  } else if (m.m2m[r] === Spte.NONLEAF) {
    for (let g = base; g < end; g++) {
      if (m.m4k[g] !== Spte.LEAF) continue;
      const v = checkLeaf(sys, 'mirror', g, m.pfn4k[g], 0);
      if (v) return v;
    }
  }
  if (sys.kvm.bugged) return null;
  const s = sys.tdx.sept;
  const e = s.e2m[r];
  if (e >= SeptState.PENDING && e <= SeptState.PENDING_BLOCKED) return checkLeaf(sys, 'S-EPT', base, s.pfn2m[r], 1);
  if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
    for (let g = base; g < end; g++) {
      const c = s.e4k[g];
      if (c < SeptState.PENDING || c > SeptState.PENDING_BLOCKED) continue;
      const v = checkLeaf(sys, 'S-EPT', g, s.pfn4k[g], 0);
      if (v) return v;
    }
  }
  return null;
}

/** INV-15 over region r. */
export function checkNoTransient(sys: System, r: number): string | null {
  if (sys.kvm.bugged) return null;
  const s = sys.tdx.sept;
  const m = sys.kvm.mirror;
  if (isBlockedState(s.e2m[r])) return `S-EPT 2M entry of range ${r} left ${SEPT_STATE_NAMES[s.e2m[r]]}`;
  if (m.m2m[r] === Spte.FROZEN) return `mirror 2M SPTE of range ${r} left FROZEN`;
  const base = r * sys.ptrs;
  for (let g = base; g < base + sys.ptrs; g++) {
    if (s.e2m[r] === SeptState.NL_MAPPED && isBlockedState(s.e4k[g])) return `S-EPT 4K entry gfn 0x${g.toString(16)} left ${SEPT_STATE_NAMES[s.e4k[g]]}`;
    if (m.m2m[r] === Spte.NONLEAF && m.m4k[g] === Spte.FROZEN) return `mirror 4K SPTE gfn 0x${g.toString(16)} left FROZEN`;
  }
  return null;
}

/** INV-16 over region r: the mirror and the S-EPT agree. */
export function checkMirrorMatchesSept(sys: System, r: number): string | null {
  if (sys.kvm.bugged) return null;
  const s = sys.tdx.sept;
  const m = sys.kvm.mirror;
  const e = s.e2m[r];
  const mm = m.m2m[r];
  const where = `2M range ${r}`;
  if (mm === Spte.NONE) return e === SeptState.FREE ? null : `${where}: mirror has no SPTE but the S-EPT entry is ${SEPT_STATE_NAMES[e]}`;
  if (mm === Spte.LEAF) {
    if (e !== SeptState.PENDING && e !== SeptState.MAPPED) return `${where}: mirror has a 2M leaf but the S-EPT entry is ${SEPT_STATE_NAMES[e]}`;
    if (s.pfn2m[r] !== m.pfn2m[r]) return `${where}: 2M leaf pfn differs (mirror 0x${m.pfn2m[r].toString(16)}, S-EPT 0x${s.pfn2m[r].toString(16)})`;
    return null;
  }
  if (mm === Spte.NONLEAF) {
    if (e !== SeptState.NL_MAPPED) return `${where}: mirror has a 4K table but the S-EPT entry is ${SEPT_STATE_NAMES[e]}`;
    if (s.table[r] !== m.externalSpt[r]) return `${where}: S-EPT table page 0x${s.table[r].toString(16)} is not the mirror's external_spt 0x${m.externalSpt[r].toString(16)}`;
    const base = r * sys.ptrs;
    for (let g = base; g < base + sys.ptrs; g++) {
      const c = s.e4k[g];
      const mc = m.m4k[g];
      if (mc === Spte.LEAF) {
        if (c !== SeptState.PENDING && c !== SeptState.MAPPED) return `gfn 0x${g.toString(16)}: mirror has a 4K leaf but the S-EPT entry is ${SEPT_STATE_NAMES[c]}`;
        if (s.pfn4k[g] !== m.pfn4k[g]) return `gfn 0x${g.toString(16)}: 4K leaf pfn differs`;
      } else if (c !== SeptState.FREE) {
        return `gfn 0x${g.toString(16)}: mirror has no 4K leaf but the S-EPT entry is ${SEPT_STATE_NAMES[c]}`;
      }
    }
    return null;
  }
  return null; // FROZEN is INV-15's business
}

/** INV-11 over region r: MIXED iff the slot's gfns in the range have both attributes. */
export function checkMixed(sys: System, r: number): string | null {
  const lo = Math.max(r * sys.ptrs, sys.design.slotBaseGfn);
  const hi = (r + 1) * sys.ptrs;
  let mixed = 0;
  for (let g = lo + 1; g < hi; g++) if (attrPrivate(sys, g) !== attrPrivate(sys, lo)) { mixed = 1; break; }
  const flag = sys.kvm.lpage.mixed[r];
  return flag === mixed ? null : `MIXED is ${flag} for 2M range ${r} but the range ${mixed ? 'has both attributes' : 'is homogeneous'}`;
}

/** INV-25 and INV-26 for host-side references: host maps and pins only on shared, TD-free, unpoisoned pages. */
export function checkHostMappings(sys: System, risks: string[], uafIsFailure: boolean): { inv: string; message: string } | null {
  const gm = sys.gmem;
  for (let i = 0; i < gm.size; i++) {
    if (gm.hostMaps[i] === 0 && gm.pins[i] === 0) continue;
    const what = gm.pins[i] ? 'IOMMU-pinned' : 'host-mapped';
    const p = gm.pfn[i];
    if (gm.attr[i] === 1) return { inv: 'INV-25', message: `gmem index 0x${i.toString(16)} is PRIVATE but ${what}` };
    if (p >= 0 && sys.tdx.pamt[p] !== 0 && !sys.tdx.noMoreSeamcalls) {
      const message = `pfn 0x${p.toString(16)} is ${what} while the TD owns it`;
      // After KVM_BUG_ON under policy NONE a page whose zap failed is not held back from guest_memfd (002).
      if (sys.kvm.bugged && !uafIsFailure) {
        risks.push(`ACCEPTED-RISK INV-25: ${message} after the VM was bugged (refcount policy NONE)`);
        continue;
      }
      return { inv: 'INV-25', message };
    }
    if (p >= 0 && gm.hostMaps[i] > 0 && sys.phys.hwpoison[p]) return { inv: 'INV-26', message: `HWPoisoned pfn 0x${p.toString(16)} is mapped by host userspace` };
  }
  for (let g = 0; g < sys.gfns; g++) {
    const p = sys.kvm.sharedEpt[g];
    if (p >= 0 && sys.phys.hwpoison[p]) return { inv: 'INV-26', message: `gfn 0x${g.toString(16)} is mapped in the shared EPT to HWPoisoned pfn 0x${p.toString(16)}` };
  }
  return null;
}

/** INV-26 for private mappings: no S-EPT leaf of a live VM maps a HWPoisoned page. */
export function checkPoisonedPrivateMappings(sys: System): { inv: string; message: string } | null {
  if (sys.kvm.bugged || sys.destroyed) return null;
  const hw = sys.phys.hwpoison;
  const s = sys.tdx.sept;
  for (let r = 0; r < sys.regions; r++) {
    const e = s.e2m[r];
    if (e >= SeptState.PENDING && e <= SeptState.PENDING_BLOCKED) {
      for (let k = 0; k < sys.ptrs; k++) {
        if (hw[s.pfn2m[r] + k]) return { inv: 'INV-26', message: `gfn 0x${(r * sys.ptrs + k).toString(16)} is mapped privately (2M) to HWPoisoned pfn 0x${(s.pfn2m[r] + k).toString(16)}` };
      }
    } else if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
      for (let g = r * sys.ptrs; g < (r + 1) * sys.ptrs; g++) {
        if (s.e4k[g] !== SeptState.FREE && hw[s.pfn4k[g]]) return { inv: 'INV-26', message: `gfn 0x${g.toString(16)} is mapped privately to HWPoisoned pfn 0x${s.pfn4k[g].toString(16)}` };
      }
    }
  }
  return null;
}

/** INVARIANTS in id order: INV-n by n, then the other checks as listed. */
export function invariantsInOrder(): InvariantInfo[] {
  const n = (id: string): number => (id.startsWith('INV-') ? Number(id.slice(4)) : 1000);
  return [...INVARIANTS].sort((a, b) => n(a.id) - n(b.id));
}
