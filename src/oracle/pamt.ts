// Dynamic PAMT and page-conservation checks (INV-14, INV-23), from the module's PAMT and the host's page
// owners, compared with KVM's own bookkeeping.
import { Owner } from '../model/host/phys.js';
import type { System } from '../model/system.js';
import { PamtType } from '../model/tdx/module.js';
import type { Violation } from './oracle.js';

/** INV-14: every cache page is in exactly one cache, every PAMT_PAIR page is in exactly one installed pair. */
export function checkPageConservation(sys: System): Violation | null {
  const owner = sys.phys.owner;
  const inCache = new Set<number>();
  for (const c of [sys.kvm.vcpuPamtCache, sys.kvm.splitCache]) {
    for (const p of c) {
      if (inCache.has(p)) return { inv: 'INV-14', message: `page 0x${p.toString(16)} is in a PAMT cache twice` };
      inCache.add(p);
      if (owner[p] !== Owner.PAMT_CACHE) return { inv: 'INV-14', message: `cached page 0x${p.toString(16)} is owned by someone else` };
    }
  }
  const pair = sys.tdx.pamtPair;
  const inPair = new Set<number>();
  for (let i = 0; i < pair.length; i++) if (pair[i] >= 0) inPair.add(pair[i]);
  for (let p = 0; p < sys.phys.total; p++) {
    if (owner[p] === Owner.PAMT_CACHE && !inCache.has(p)) return { inv: 'INV-14', message: `page 0x${p.toString(16)} was lost from a PAMT cache` };
    if (owner[p] === Owner.PAMT_PAIR && !inPair.has(p)) return { inv: 'INV-14', message: `PAMT page 0x${p.toString(16)} belongs to no installed pair` };
    if (inPair.has(p) && owner[p] !== Owner.PAMT_PAIR) return { inv: 'INV-14', message: `installed PAMT page 0x${p.toString(16)} is owned by someone else` };
  }
  return null;
}

/** INV-23: per physical 2M region, KVM's refcount = 4K TDX uses in the PAMT; pair installed iff refcount > 0. */
export function checkDpamtRefcounts(sys: System): Violation | null {
  if (!sys.design.dpamt) return null;
  const pamt = sys.tdx.pamt;
  const ptrs = sys.ptrs;
  const rc = sys.kvm.pamtRefcount;
  for (let r = 0; r < rc.length; r++) {
    let uses = 0;
    for (let p = r * ptrs; p < (r + 1) * ptrs && p < pamt.length; p++) {
      const t = pamt[p];
      if (t === PamtType.REG_4K || t === PamtType.SEPT || t === PamtType.CTRL) uses++;
    }
    if (uses !== rc[r]) return { inv: 'INV-23', message: `physical 2M region ${r}: KVM counts ${rc[r]} 4K TDX uses, the PAMT has ${uses}` };
    const installed = sys.tdx.pairInstalled(r);
    if (installed !== rc[r] > 0) return { inv: 'INV-23', message: `physical 2M region ${r}: refcount ${rc[r]} but PAMT pair ${installed ? 'installed' : 'missing'}` };
  }
  return null;
}
