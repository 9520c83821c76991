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

export function septLeafOf(sys: System, gfn: number, out: LeafView = { state: SeptState.FREE, pfn: -1, level: -1 }): LeafView {
  const s = sys.tdx.sept;
  const ptrs = sys.ptrs;
  const r = (gfn / ptrs) | 0;
  const e = s.e2m[r];
  // `out` lets a caller walking every gfn reuse one object
  if (e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED) {
    const c = s.e4k[gfn];
    if (c === SeptState.FREE) return setLeaf(out, SeptState.FREE, -1, -1);
    return setLeaf(out, c, s.pfn4k[gfn], 0);
  }
  if (e === SeptState.FREE) return setLeaf(out, SeptState.FREE, -1, -1);
  return setLeaf(out, e, s.pfn2m[r] + (gfn - r * ptrs), 1);
}

function setLeaf(out: LeafView, state: SeptState, pfn: number, level: number): LeafView {
  out.state = state;
  out.pfn = pfn;
  out.level = level;
  return out;
}


/**
 * The memslot holding gfn, deleted or not (-1: none), read from the design's layout on the oracle's own terms
 * (docs/model.md, issue 11): [slotBaseGfn, end of GPA space), cut at slotSplitGfn when memslots is 2.
 */
export function slotAt(sys: System, gfn: number): number {
  const d = sys.design;
  if (gfn < d.slotBaseGfn || gfn >= d.ptrs * d.regions) return -1;
  return d.memslots === 2 && gfn >= d.slotSplitGfn ? 1 : 0;
}

/** Has any memslot been deleted (read from KVM's per-slot state)? */
export function anySlotDeleted(sys: System): boolean {
  return sys.kvm.slotDeleted.some((x) => x);
}

/**
 * gmem index bound at gfn, or -1 outside every live memslot. Every slot binds the one guest_memfd at a
 * consistent offset, so index = gfn - slotBaseGfn + gmemOffset in each.
 */
export function indexOf(sys: System, gfn: number): number {
  const d = sys.design;
  const s = slotAt(sys, gfn);
  if (s < 0 || sys.kvm.slotDeleted[s]) return -1;
  return gfn - d.slotBaseGfn + d.gmemOffset;
}

/** The gfn's memory attribute as guest_memfd holds it; gfns outside the slot count as not private. */
export function attrPrivate(sys: System, gfn: number): boolean {
  const i = indexOf(sys, gfn);
  if (i < 0) return false;
  return sys.design.vmMemoryAttributes ? sys.kvm.attrs[gfn] === 1 : sys.gmem.attr[i] === 1;
}

/** Order of the guest_memfd folio holding index (-1 when none), from the folio arrays. */
export function folioOrderAt(sys: System, index: number): number {
  const gm = sys.gmem;
  const h = gm.folioHead[index];
  return h < 0 ? -1 : gm.folioOrder[h];
}

/** Is the 2M index block of `index` backed by 2M-aligned contiguous pfns (CONTIGUITY, 003:L439)? */
export function contiguousAt(sys: System, index: number): boolean {
  const { pfn, size } = sys.gmem;
  const ptrs = sys.ptrs;
  const base = index - (index % ptrs);
  const p0 = pfn[base];
  if (p0 < 0 || p0 % ptrs !== 0 || base + ptrs > size) return false;
  for (let i = 1; i < ptrs; i++) if (pfn[base + i] !== p0 + i) return false;
  return true;
}

/** References on the folio at head beyond the filemap's own: host maps, IOMMU pins, TDX holds. */
export function extraRefsAt(sys: System, head: number): number {
  const gm = sys.gmem;
  let n = 0;
  const end = head + (1 << gm.folioOrder[head]);
  for (let i = head; i < end; i++) n += gm.hostMaps[i] + gm.pins[i] + gm.tdxHold[i];
  return n;
}

/** What holds guest_memfd pages [start, start + n) beyond the filemap, as words ("1 host map, 2 TDX references"), or null. */
export function heldRefsAt(sys: System, start: number, n: number): string | null {
  const gm = sys.gmem;
  let maps = 0;
  let pins = 0;
  let tdx = 0;
  for (let i = start; i < start + n && i < gm.size; i++) {
    maps += gm.hostMaps[i];
    pins += gm.pins[i];
    tdx += gm.tdxHold[i];
  }
  const parts: string[] = [];
  if (maps) parts.push(`${maps} host map${maps > 1 ? 's' : ''}`);
  if (pins) parts.push(`${pins} IOMMU pin${pins > 1 ? 's' : ''}`);
  if (tdx) parts.push(`${tdx} TDX reference${tdx > 1 ? 's' : ''}`);
  return parts.length ? parts.join(', ') : null;
}

/** Does the TDX module have the 4K PAMT pair of physical 2M region r installed? */
export function pamtPairInstalled(sys: System, r: number): boolean {
  return sys.tdx.pamtPair[2 * r] >= 0;
}
