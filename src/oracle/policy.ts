// The design's policy choices as the oracle reads them from the settings, written here on their own
// (architecture principle 4): the model derives the same choices in src/model/config.ts for itself, and a
// slip there must not be shared by the side that judges it.
import type { ConversionOrder, Design, RefcountPolicy } from '../model/config.js';

const off = (d: Design, g: string): boolean => (d.guardsOff as readonly string[]).includes(g);

/** Which page-reference policy is in force (002; 003:L297-307). */
export function refcountPolicyOf(d: Design): RefcountPolicy {
  if (off(d, 'G14')) return 'HOLD_WHILE_MAPPED'; // RFC v1: TDX pins the folio while it is mapped (BUG-14)
  if (off(d, 'G5')) return 'NONE'; // the v3 choice, with its use-after-free window counted as a failure (BUG-5)
  return d.refcountPolicy;
}

/**
 * Is a page the TD still owns, freed after KVM_BUG_ON, a failure? Under the v3 policy NONE it is the risk 002
 * accepts ("the loud warning from KVM_BUG_ON() should provide sufficient debug information"), unless the
 * user asks for strictness or switches G5 off; any protective policy promises it never happens.
 */
export function uafIsFailureOf(d: Design): boolean {
  return d.strictUAF || off(d, 'G5') || refcountPolicyOf(d) !== 'NONE';
}

/** The private->shared conversion order in force (003:L30-34, L435-436, L763). */
export function conversionOrderOf(d: Design): ConversionOrder {
  if (off(d, 'G1')) return 'WIP_SPLIT_FOLIO_FIRST'; // split backend folios before zapping KVM mappings (BUG-1)
  if (off(d, 'G19') && d.conversionOrder !== 'WIP_SPLIT_FOLIO_FIRST') return 'V3_ZAP_THEN_SPLIT'; // BUG-19 as a failure
  return d.conversionOrder;
}

/**
 * Does KVM loop on TDX_INTERRUPTED_RESTARTABLE from DEMOTE? Only the G3-off variant has the "Loop for
 * TDX_INTERRUPTED_RESTARTABLE" workaround (003:L356-362); v3 treats it as an unexpected status (TDX_BUG_ON).
 */
export const kvmLoopsOnInterruptedDemote = (d: Design): boolean => off(d, 'G3');

/** Does G19's open question count as a failure (switched off) rather than a known design finding? */
export const g19CountsAsFailure = (d: Design): boolean => off(d, 'G19');

/**
 * Does a guest access to an unaccepted private page kill the VM? With the TD attribute SEPT_VE_DISABLE the
 * module exits instead of raising #VE and KVM calls kvm_vm_dead() (kernel-facts.md 2.6); without it the
 * guest gets #VE.
 */
export const unacceptedAccessKillsVm = (d: Design): boolean => d.septVeDisable;

/** Is guest_memfd backed by hugetlb (whole huge pages, truncated only as wholes, 003:L762)? */
export function hugetlbBacking(d: Design): boolean {
  return d.backing === 'HUGETLB_2M' || d.backing === 'HUGETLB_1G';
}

/** Pages of a folio as the backing allocates it (the largest folio a gfn can be in). */
export function originalFolioPages(d: Design): number {
  return d.backing === '4K' ? 1 : d.backing === 'HUGETLB_1G' ? d.ptrs * d.ptrs : d.ptrs;
}
