// The design guards of model-spec.md section 6. Switching one off turns the model into the known-bug
// variant BUG-n of the same number. `modelled` says whether this build of the model honours the switch;
// asking to switch off a guard that is not modelled is refused at the edge (config resolution). `reach`
// says whether a generated case can get to the code the guard protects at all: a guard that no case can
// reach yet is listed as such, and switching it off warns (issue 9, "honest listings").
import type { Design } from './config.js';

/** Can a generated case reach it? When not, why not (e.g. it needs concurrent actors). */
export type Reach = { readonly live: true } | { readonly live: false; readonly reason: string };
export const LIVE: Reach = Object.freeze({ live: true });
export const unreachable = (reason: string): Reach => Object.freeze({ live: false, reason });


export interface GuardInfo {
  readonly id: GuardId;
  readonly bug: string;
  readonly summary: string;
  readonly modelled: boolean;
  readonly reach: Reach;
  /** A design setting without which switching the guard off changes nothing (the campaign must sample or set it). */
  readonly needs?: { readonly key: keyof Design; readonly value: boolean | string };
  /**
   * The bug is a race between actors: only cases with several actors can make the damage happen, so a
   * campaign with the guard off runs several actors unless --concurrency 0 says otherwise (src/fuzz/concurrency.ts).
   */
  readonly needsActors?: boolean;
}

export const GUARD_IDS = [
  'G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'G7', 'G7b', 'G8', 'G8b', 'G9', 'G10', 'G11', 'G12', 'G13',
  'G14', 'G15', 'G16', 'G17', 'G17b', 'G18', 'G19', 'G20', 'G21', 'G22', 'G23',
] as const;
export type GuardId = (typeof GUARD_IDS)[number];

const G = (id: GuardId, bug: string, modelled: boolean, summary: string, more: Partial<Pick<GuardInfo, 'reach' | 'needs' | 'needsActors'>> = {}): GuardInfo => ({
  id,
  bug,
  modelled,
  summary,
  reach: more.reach ?? LIVE,
  ...(more.needs ? { needs: more.needs } : {}),
  ...(more.needsActors ? { needsActors: true } : {}),
});

export const GUARDS: readonly GuardInfo[] = [
  G('G1', 'BUG-1', true, 'zap KVM mappings before splitting backend folios (FIXUP-2 + patch 16; 003:L31-32, L326)'),
  G('G2', 'BUG-2', true, 'kvm_split_cross_boundary_leafs before zapping a sub-range (patch 16; 003:L254-258)'),
  G('G3', 'BUG-3', true, 'huge pages only with ENHANCED_DEMOTE_INTERRUPTIBILITY (003:L143-160)', { needs: { key: 'enhancedDemoteInterruptibility', value: false } }),
  G('G4', 'BUG-4', true, 'reject splitting huge pages under shared mmu_lock (003:L121-127, L398)', {
    // the damage needs another actor: a second fault or zap under mmu_lock meets the entry a split under the read lock left BLOCKED
    needsActors: true,
  }),
  G('G5', 'BUG-5', true, 'a refcount policy that keeps a page whose zap failed from the host (000, 002); the v3 default NONE reports the window as an accepted risk, switching G5 off counts it as a failure'),
  G('G6', 'BUG-6', true, 'disallow page merging (huge page adjustment) for the mirror root (patch 06, 003:L377)'),
  G('G7', 'BUG-7', true, 'write mmu_lock held from split-cache check 2.1 to dequeue 3.2/3.4 (003:L291-293)', {
    // the damage needs another actor: a second splitter drains the split cache while the first dropped mmu_lock
    needsActors: true,
  }),
  G('G7b', 'BUG-7', true, 'prealloc_split_cache_lock around enqueue and dequeue (003:L294-296)', {
    // the damage needs another actor: a topup enqueue races a dequeue and a page is lost
    needsActors: true,
  }),
  G('G8', 'BUG-8', true, 'tdx_honor_guest_accept_level: split and GUEST_INHIBIT on ACCEPT-level faults (003:L400-401)'),
  G('G8b', 'BUG-8', true, 'do not force 4K before the guest ACCEPT level is known (003:L134-138)'),
  G('G9', 'BUG-9', true, 'GUEST_INHIBIT one-way, written under write mmu_lock, never clobbered (003:L196-201)', {
    // the damage needs another actor: one vCPU installs 2M while another sets GUEST_INHIBIT under the read lock
    needsActors: true,
  }),
  G('G10', 'BUG-10', true, 'gmem_max_mapping_level() is 4K before finalize (003:L161-165)'),
  G('G11', 'BUG-11', true, 'no S-EPT page reclaim while the HKID is assigned (004:L136-138)'),
  G('G12', 'BUG-12', true, 'leak the S-EPT page when RECLAIM fails (004:L18-22)'),
  G('G13', 'BUG-13', true, 'release the HKID before reclaiming S-EPT pages (000; 004:L122-123)'),
  G('G14', 'BUG-14', true, 'TDX holds no folio refcount while mapped (refcountPolicy is not HOLD_WHILE_MAPPED; 002, 003:L297-307)'),
  G('G15', 'BUG-15', true, 'kick all vCPUs and retry once on TDX_OPERAND_BUSY under write mmu_lock (003:L238-240)', {
    // the damage needs another actor: a vCPU in the guest (e.g. inside ACCEPT) makes the module answer BUSY; one actor meets BUSY only when injected
    needsActors: true,
  }),
  G('G16', 'BUG-16', true, 'MIXED flag in lpage_info forbids huge mappings over mixed attributes (003:L175, L437)'),
  G('G17', 'BUG-17', true, 'disallow huge pages for slot base/size/gmem-offset misalignment (003:L176)'),
  G('G17b', 'BUG-17', true, 'ignore HVA misalignment for private gmem slots (FIXUP-4; 003:L321-324)'),
  G('G18', 'BUG-18', true, 'merge folios after to-private conversion, after the attribute update (FIXUP-3; 003:L436)'),
  G('G19', 'BUG-19', true, 'do everything that might fail before the zap point of no return: conversionOrder SEPT_SPLIT_FIRST or PREPARE_THEN_ZAP (003:L435-436, L763); the v3 default reports the open question as a known-design finding, switching G19 off counts it as a failure'),
  G('G20', 'BUG-20', true, 'mmu_invalidate_retry check in the fault path', {
    // With one actor a fault runs from its mmu_invalidate_seq read to the retry check without any other
    // path in between; a conversion or punch of another actor can begin or end inside that window.
    needsActors: true,
  }),
  G('G21', 'BUG-21', true, 'BLOCK + TRACK + kick before REMOVE/DEMOTE (003:L228-230)'),
  G('G22', 'BUG-22', true, 'refuse non-convertible pfns before TDH.MEM.PAGE.AUG (003:L651, L659)'),
  G('G23', 'BUG-23', true, 'guest_memfd refuses HWPoisoned folios on fault and free (001:L28-37)'),
];

export function guardInfo(id: string): GuardInfo | undefined {
  return GUARDS.find((g) => g.id.toLowerCase() === id.toLowerCase());
}
