// Page lifetime (model-spec.md 5, INV-7 and INV-20..22, INV-27, INV-28): every page the host frees is
// examined once, from the model's free log, against what the TDX module still says about it.
import { i32, u8 } from '../model/arena.js';
import { Owner, OWNER_NAMES } from '../model/host/phys.js';
import type { System } from '../model/system.js';
import { PamtType } from '../model/tdx/module.js';
import { SeptState } from '../model/tdx/sept.js';
import type { Violation } from './oracle.js';

const PAMT_NAMES = ['NDA', 'REG_4K', 'REG_2M', 'SEPT', 'CTRL'];

export class LifetimeChecker {
  private cursor = 0;
  /** UAF seen while the VM was bugged under refcount policy NONE: reported, not failed (002, INV-20). */
  readonly acceptedRisks: string[] = [];
  /** Per pfn: it held TD private data (AUG or ADD) and the host has not been handed it since (INV-22). */
  private readonly tdData: Uint8Array;
  /** Per pfn: IOMMU pins the oracle saw succeed and not undone (the device may still DMA into it). */
  readonly pinned: Int32Array;

  constructor(private readonly sys: System, private readonly uafIsFailure: boolean) {
    this.tdData = u8(sys.phys.total);
    this.pinned = i32(sys.phys.total);
  }

  /** The TD now holds private data in pfn..pfn+n-1 (a successful PAGE.AUG or PAGE.ADD). */
  markTdData(pfn: number, n: number): void {
    this.tdData.fill(1, pfn, pfn + n);
  }

  /**
   * INV-22's content clause at the moment the host can see a page that held TD data: once the TD no longer
   * owns it (PAMT NDA), it must have been reset (tdx_quirk_reset_page). After the VM was bugged under policy
   * NONE a failed step may have skipped the reset: that is the accepted risk, reported, not failed (002).
   */
  handedToHost(pfn: number, how: string): Violation | null {
    if (!this.tdData[pfn] || this.sys.tdx.pamt[pfn] !== PamtType.NDA) return null;
    this.tdData[pfn] = 0;
    if (this.sys.tdx.noMoreSeamcalls || this.sys.phys.content[pfn] === 0) return null;
    return this.failOrRisk('INV-22', `page 0x${pfn.toString(16)} ${how} still holding the TD's data (token ${this.sys.phys.content[pfn]}): it was not reset after leaving the TD`);
  }

  /**
   * A page the TD may still use reached the host. Once the VM is bugged under refcount policy NONE that is
   * the accepted window ("a private page mapped in the S-EPT could be reallocated", 002): recorded as a risk
   * and null; otherwise the violation.
   */
  private failOrRisk(inv: string, msg: string): Violation | null {
    if (this.sys.kvm.bugged && !this.uafIsFailure) {
      this.acceptedRisks.push(`ACCEPTED-RISK ${inv}: ${msg} after the VM was bugged (refcount policy NONE)`);
      return null;
    }
    return { inv, message: msg };
  }

  /** Frees since the last call. */
  check(): Violation | null {
    const sys = this.sys;
    const log = sys.phys.freeLog;
    const tdAlive = sys.tdx.hkid >= 0;
    for (; this.cursor < log.length; this.cursor++) {
      const { pfn, was } = log[this.cursor];
      const pamt = sys.tdx.pamt[pfn];
      if (was === Owner.LEAKED) return { inv: 'INV-21', message: `leaked page ${hx(pfn)} was returned to the host allocator` };
      // a pinned folio cannot be freed by truncation: the pin's reference keeps it (003:L661)
      if (this.pinned[pfn] > 0) return { inv: 'INV-21', message: `IOMMU-pinned page ${hx(pfn)} was returned to the host allocator while the device may still use it` };
      if (sys.phys.hwpoison[pfn]) return { inv: 'INV-26', message: `HWPoisoned page ${hx(pfn)} was returned to the host allocator` };
      // NO_MORE_SEAMCALLS: after the bug the module is never asked about this TD again and caches were
      // written back, so its pages are plain memory (the policy's premise, 001:L80-81).
      if (sys.tdx.noMoreSeamcalls) continue;
      // an S-EPT page is one the module holds as PT_SEPT: a page KVM allocated for a table whose SEPT.ADD
      // failed because the module still holds it as the TD's guest page (reallocated after an accepted
      // use-after-free) is the INV-20 case below
      if (was === Owner.SEPT && tdAlive && pamt === PamtType.SEPT) {
        return { inv: 'INV-7', message: `S-EPT page ${hx(pfn)} freed to the host while the HKID is assigned` };
      }
      if (pamt !== PamtType.NDA && tdAlive) {
        const v = this.failOrRisk('INV-20', `page ${hx(pfn)} (${OWNER_NAMES[was]}) freed to the host while the live TD still owns it (PAMT ${PAMT_NAMES[pamt]}${inSept(sys, pfn) ? ', mapped in the S-EPT' : ''})`);
        if (v) return v;
        continue;
      }
      if (pamt !== PamtType.NDA || sys.phys.dirtyHkid[pfn] >= 0) {
        // the same window: after KVM_BUG_ON nothing holds the page back from guest_memfd (002)
        const v = this.failOrRisk('INV-22', `page ${hx(pfn)} freed to the host ${pamt !== PamtType.NDA ? `still PAMT ${PAMT_NAMES[pamt]}` : `with cache lines of HKID ${sys.phys.dirtyHkid[pfn]}`}`);
        if (v) return v;
        continue;
      }
      const stale = this.handedToHost(pfn, 'freed to the host');
      if (stale) return stale;
    }
    return null;
  }

  /** INV-28 at the end of a teardown with no fatal-by-design fault: nothing leaked, nothing kept. */
  checkTeardownComplete(): Violation | null {
    const sys = this.sys;
    const kept: string[] = [];
    for (let p = 0; p < sys.phys.total; p++) {
      const o = sys.phys.owner[p];
      if (o === Owner.FREE || o === Owner.FREE_HUGE || o === Owner.HOST_OTHER) continue;
      // Pages something outside TDX holds on to (a VFIO pin, HWPoison) are not TDX's leak.
      const why = sys.phys.leakWhy.get(p);
      if (o === Owner.LEAKED && (why === 'pinned' || why === 'poison')) continue;
      kept.push(`0x${p.toString(16)} ${OWNER_NAMES[o]}${why ? ` (${why})` : ''}`);
    }
    if (sys.tdx.hkid >= 0) kept.push(`HKID ${sys.tdx.hkid}`);
    return kept.length ? { inv: 'INV-28', message: `teardown left ${kept.length} resources behind: ${kept.slice(0, 6).join(', ')}${kept.length > 6 ? ', ...' : ''}` } : null;
  }
}

/** A pfn as messages write it (built only for a message: every freed page is checked). */
const hx = (pfn: number): string => `0x${pfn.toString(16)}`;

/** Is pfn a leaf or table page of the S-EPT right now? */
export function inSept(sys: System, pfn: number): boolean {
  const s = sys.tdx.sept;
  for (let r = 0; r < sys.regions; r++) {
    const e = s.e2m[r];
    if (e >= SeptState.PENDING && e <= SeptState.PENDING_BLOCKED && pfn >= s.pfn2m[r] && pfn < s.pfn2m[r] + sys.ptrs) return true;
    if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
      if (s.table[r] === pfn) return true;
      for (let g = r * sys.ptrs; g < (r + 1) * sys.ptrs; g++) if (s.e4k[g] !== SeptState.FREE && s.pfn4k[g] === pfn) return true;
    }
  }
  return false;
}
