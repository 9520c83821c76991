// The oracle's own reading of model state: where a gfn lands in the S-EPT and the mirror. Written here
// from the data layout, not by calling model code, so a bug in the model's walkers cannot hide itself
// (architecture principle 4).
import type { System } from '../model/system.js';
import { SeptState } from '../model/tdx/sept.js';

export interface LeafView {
  /** S-EPT state of the leaf covering gfn (FREE when none). */
  state: SeptState;
  /** pfn the gfn translates to through that leaf, or -1. */
  pfn: number;
  /** 0 = 4K leaf, 1 = 2M leaf, -1 = none. */
  level: number;
}

export function septLeafOf(sys: System, gfn: number): LeafView {
  const s = sys.tdx.sept;
  const ptrs = sys.ptrs;
  const r = (gfn / ptrs) | 0;
  const e = s.e2m[r];
  if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
    const c = s.e4k[gfn];
    return c === SeptState.FREE ? { state: SeptState.FREE, pfn: -1, level: -1 } : { state: c, pfn: s.pfn4k[gfn], level: 0 };
  }
  if (e === SeptState.FREE) return { state: SeptState.FREE, pfn: -1, level: -1 };
  return { state: e, pfn: s.pfn2m[r] + (gfn - r * ptrs), level: 1 };
}


/** gmem index bound at gfn (the memslot of the design), or -1 outside the slot. */
export function indexOf(sys: System, gfn: number): number {
  const d = sys.design;
  if (sys.kvm.slotDeleted) return -1;
  const end = d.ptrs * d.regions;
  return gfn >= d.slotBaseGfn && gfn < end ? gfn - d.slotBaseGfn + d.gmemOffset : -1;
}

/** The gfn's memory attribute as guest_memfd holds it; gfns outside the slot count as not private. */
export function attrPrivate(sys: System, gfn: number): boolean {
  const i = indexOf(sys, gfn);
  if (i < 0) return false;
  return sys.design.vmMemoryAttributes ? sys.kvm.attrs[gfn] === 1 : sys.gmem.attr[i] === 1;
}
