// What TDX and guest_memfd do with page references under each refcount policy (002; 001; 003:L297-307).
// NONE (v3): TDX takes no reference, and after a failed zap nothing keeps guest_memfd from freeing the
// page: the accepted risk. HOLD_WHILE_MAPPED (RFC v1): a reference per mapped page, dropped on removal.
// HOLD_ON_ZAP_FAILURE: a reference only when a removal fails. HWPOISON_ON_BUG: on KVM_BUG_ON every page
// still in the S-EPT gets HWPoison. GMEM_BUGGY_CLEANUP: the whole guest_memfd is treated as poisoned.
// NO_MORE_SEAMCALLS: after the bug the host issues no SEAMCALL for the TD again (001:L80-81).
import { effectiveRefcountPolicy } from '../config.js';
import type { System } from '../system.js';
import { SeptState } from '../tdx/sept.js';

function forEachIndex(sys: System, gfn: number, n: number, f: (i: number) => void): void {
  for (let g = gfn; g < gfn + n; g++) {
    const i = sys.index(g);
    if (i >= 0) f(i);
  }
}

/** A private leaf of n pages at gfn was mapped. */
export function onMapped(sys: System, gfn: number, n: number): void {
  if (effectiveRefcountPolicy(sys.design) !== 'HOLD_WHILE_MAPPED') return;
  forEachIndex(sys, gfn, n, (i) => sys.gmem.tdxHold[i]++);
}

/** A private leaf of n pages at gfn was removed from the S-EPT cleanly. */
export function onRemoved(sys: System, gfn: number, n: number): void {
  if (effectiveRefcountPolicy(sys.design) !== 'HOLD_WHILE_MAPPED') return;
  forEachIndex(sys, gfn, n, (i) => {
    if (sys.gmem.tdxHold[i] > 0) sys.gmem.tdxHold[i]--;
  });
}

/** Removing a private leaf of n pages at gfn failed: the page may still be in the S-EPT. */
export function onZapFailure(sys: System, gfn: number, n: number): void {
  if (effectiveRefcountPolicy(sys.design) !== 'HOLD_ON_ZAP_FAILURE') return;
  forEachIndex(sys, gfn, n, (i) => {
    if (sys.gmem.tdxHold[i] === 0) sys.gmem.tdxHold[i] = 1;
  });
  sys.trace.event(`zap failed: TDX keeps a reference on ${n} page(s) at gfn ${sys.hex(gfn)} (HOLD_ON_ZAP_FAILURE)`);
}

/** KVM_BUG_ON / TDX_BUG_ON fired: apply the policy's bug handling. */
export function onVmBugged(sys: System): void {
  switch (effectiveRefcountPolicy(sys.design)) {
    case 'HWPOISON_ON_BUG': {
      // "set HWPoison to private pages whenever KVM_BUG_ON() was hit in TDX" (001:L12-15)
      const s = sys.tdx.sept;
      let n = 0;
      for (let r = 0; r < sys.regions; r++) {
        const e = s.e2m[r];
        if (e >= SeptState.PENDING && e <= SeptState.PENDING_BLOCKED) {
          for (let k = 0; k < sys.ptrs; k++, n++) sys.phys.hwpoison[s.pfn2m[r] + k] = 1;
        } else if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
          for (let g = r * sys.ptrs; g < (r + 1) * sys.ptrs; g++) {
            if (s.e4k[g] !== SeptState.FREE) {
              sys.phys.hwpoison[s.pfn4k[g]] = 1;
              n++;
            }
          }
        }
      }
      sys.trace.event(`HWPOISON_ON_BUG: ${n} page(s) still in the S-EPT marked HWPoison`);
      break;
    }
    case 'GMEM_BUGGY_CLEANUP':
      sys.gmem.buggy = true;
      sys.trace.event('kvm_gmem_buggy_cleanup: no page of this guest_memfd goes back to the host');
      break;
    case 'NO_MORE_SEAMCALLS':
      // Like kexec: stop talking to the module and write back every cache line, so the pages can be
      // reused as plain memory (001:L80-81) [A].
      sys.tdx.noMoreSeamcalls = true;
      sys.phys.dirtyHkid.fill(-1);
      sys.trace.event('no more SEAMCALLs for this TD; caches written back');
      break;
    default:
      break;
  }
}
