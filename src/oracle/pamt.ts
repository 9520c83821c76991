// Dynamic PAMT and page-conservation checks (INV-14, INV-23), from the module's PAMT and the host's page
// owners, compared with KVM's own bookkeeping. They run after every op, so they allocate nothing.
import { u8 } from '../model/arena.js';
import { Owner } from '../model/host/phys.js';
import type { System } from '../model/system.js';
import { PamtType } from '../model/tdx/module.js';
import type { Violation } from './oracle.js';
import { pamtPairInstalled } from './view.js';

const IN_CACHE = 1;
const IN_PAIR = 2;
const NONE_RESTORED = new Uint8Array(0);

export class PageChecks {
  /** Per pfn: where KVM's and the module's lists put it (IN_CACHE, IN_PAIR). */
  private readonly mark: Uint8Array;

  constructor(private readonly sys: System) {
    this.mark = u8(sys.phys.total);
  }

  /** INV-14: every cache page is in exactly one cache, every PAMT_PAIR page is in exactly one installed pair. */
  conservation(): Violation | null {
    const { sys, mark } = this;
    const owner = sys.phys.owner;
    mark.fill(0);
    for (let k = 0; k < 2; k++) {
      const c = k === 0 ? sys.kvm.vcpuPamtCache : sys.kvm.splitCache;
      for (const p of c) {
        if (mark[p]) return { inv: 'INV-14', message: `page 0x${p.toString(16)} is in a PAMT cache twice` };
        mark[p] = IN_CACHE;
        if (owner[p] !== Owner.PAMT_CACHE) return { inv: 'INV-14', message: `cached page 0x${p.toString(16)} is owned by someone else` };
      }
    }
    const pair = sys.tdx.pamtPair;
    for (let i = 0; i < pair.length; i++) {
      const p = pair[i];
      if (p < 0) continue;
      if (mark[p]) return { inv: 'INV-14', message: `PAMT page 0x${p.toString(16)} is in two places` };
      mark[p] = IN_PAIR;
      if (owner[p] !== Owner.PAMT_PAIR) return { inv: 'INV-14', message: `installed PAMT page 0x${p.toString(16)} is owned by someone else` };
    }
    // every page owned as a cache or pair page is in a cache or an installed pair (native scans: few match)
    for (let p = owner.indexOf(Owner.PAMT_CACHE); p >= 0; p = owner.indexOf(Owner.PAMT_CACHE, p + 1)) {
      if (mark[p] !== IN_CACHE) return { inv: 'INV-14', message: `page 0x${p.toString(16)} was lost from a PAMT cache` };
    }
    for (let p = owner.indexOf(Owner.PAMT_PAIR); p >= 0; p = owner.indexOf(Owner.PAMT_PAIR, p + 1)) {
      if (mark[p] !== IN_PAIR) return { inv: 'INV-14', message: `PAMT page 0x${p.toString(16)} belongs to no installed pair` };
    }
    return null;
  }

  /**
   * INV-23: per physical 2M region, KVM's refcount = 4K TDX uses in the PAMT (plus one where a PAMT.REMOVE
   * failed: tdx_pamt_put() restores the count, 003:L407; `restored` is the oracle's own record); pair
   * installed iff refcount > 0.
   */
  dpamtRefcounts(restored: Uint8Array = NONE_RESTORED): Violation | null {
    const sys = this.sys;
    if (!sys.design.dpamt) return null;
    const pamt = sys.tdx.pamt;
    const ptrs = sys.ptrs;
    const rc = sys.kvm.pamtRefcount;
    for (let r = 0; r < rc.length; r++) {
      let uses = 0;
      const end = Math.min((r + 1) * ptrs, pamt.length);
      for (let p = r * ptrs; p < end; p++) {
        const t = pamt[p];
        if (t === PamtType.REG_4K || t === PamtType.SEPT || t === PamtType.CTRL) uses++;
      }
      const want = uses + (restored[r] ?? 0);
      if (want !== rc[r]) return { inv: 'INV-23', message: `physical 2M region ${r}: KVM counts ${rc[r]} 4K TDX uses, the PAMT has ${uses}${restored[r] ? ' (+1 restored after a failed PAMT.REMOVE)' : ''}` };
      const installed = pamtPairInstalled(sys, r);
      if (installed !== rc[r] > 0) return { inv: 'INV-23', message: `physical 2M region ${r}: refcount ${rc[r]} but PAMT pair ${installed ? 'installed' : 'missing'}` };
    }
    return null;
  }
}

/** One-off forms of the checks (tests and tools; the oracle keeps a PageChecks). */
export const checkPageConservation = (sys: System): Violation | null => new PageChecks(sys).conservation();
export const checkDpamtRefcounts = (sys: System): Violation | null => new PageChecks(sys).dpamtRefcounts();
