// Field kinds of an op: what values a field takes (as a function of the design), which of them the
// generator favours, how a value shrinks and how it is shown. The op table (ops.ts) lists its fields by
// these kinds; the parser, generator, minimiser, describeOp and the fast-check baseline interpret them.
import type { Design } from '../config.js';
import { type Interval, interval, type Pick } from './pick.js';

/** What a field's domain and favoured values depend on: the design of the case (after its layout). */
export interface Space {
  readonly design: Design;
  /** Entries per table: 4K pages per 2M range. */
  readonly P: number;
  /** Gfns in the GPA space: ptrs * regions. */
  readonly G: number;
  /** First gfn of the memslot. */
  readonly lo: number;
}

export function spaceOf(design: Design): Space {
  return { design, P: design.ptrs, G: design.ptrs * design.regions, lo: design.slotBaseGfn };
}

/**
 * Favoured gfns: 2M boundaries and the first, middle and last page of a 2M range (any range of the slot),
 * a uniform page, on a slot that does not start at 0 its edges (003:L176), and the boundary between two memslots.
 */
export function gfnPick(s: Space): Pick {
  let p = GFN_PICKS.get(s);
  if (!p) GFN_PICKS.set(s, (p = buildGfnPick(s)));
  return p;
}

/** gfnPick per Space (a pure function of it): the generator asks once per field, with one Space per case. */
const GFN_PICKS = new WeakMap<Space, Pick>();

function buildGfnPick(s: Space): Pick {
  const { P, G, lo, design } = s;
  const clamp = (g: number): number => Math.min(G - 1, Math.max(lo, g));
  const out: [number | Interval, number][] = [];
  const inSlot = lo > 0 ? 0.85 : 1;
  for (let r = 0; r < design.regions; r++) {
    const x = Math.max(lo, r * P);
    const base = x - (x % P);
    const w = inSlot / design.regions / 13;
    out.push([clamp(base), 4 * w], [clamp(base + 1), 2 * w], [clamp(base + P - 1), 2 * w], [clamp(base + (P >> 1)), w]);
    out.push([interval(clamp(base), clamp(base + P - 1)), 4 * w]);
  }
  if (lo > 0) for (const g of [lo, lo - 1, lo + 1, lo - (lo % P)]) out.push([g, 0.15 / 4]);
  // the boundary between two memslots, so ranges reach across it (issue 11)
  if (design.memslots === 2) for (const g of [design.slotSplitGfn, design.slotSplitGfn - 1]) out.push([g, 0.1 / 2]);
  return out;
}

/** 2M-aligned gfns of the slot (the start of each range it covers). */
export function alignedPick(s: Space): Pick {
  const out: [number, number][] = [];
  for (let r = 0; r < s.design.regions; r++) if ((r + 1) * s.P > s.lo) out.push([Math.max(r * s.P, s.lo - (s.lo % s.P)), 1]);
  return out;
}

/** Gfns where an original guest_memfd folio starts (2M-aligned in gmem index space), inside the slot. */
export function folioStartPick(s: Space): Pick {
  const off = s.design.gmemOffset - s.lo;
  const out: [number, number][] = [];
  for (let r = 0; r < s.design.regions; r++) out.push([Math.max(s.lo, r * s.P - off), 1]);
  return out;
}

/**
 * Where a range starts: `local` is the op's own gfn (the generator reuses the previous op's gfn often, so
 * consecutive ops meet on the same page), `local-aligned` that gfn rounded down to 2M, or any Pick.
 */
export type StartRule = 'local' | 'local-aligned' | ((s: Space) => Pick);

export interface RangeShape {
  readonly weight: number;
  readonly start: StartRule;
  readonly lengths: (s: Space) => Pick;
}

export interface GfnField {
  readonly kind: 'gfn';
  readonly name: 'gfn';
}
/** The half-open gfn range [start, end): two fields, each from 0 to gfns. */
export interface RangeField {
  readonly kind: 'range';
  readonly shapes: readonly RangeShape[];
  /** Chance of an empty range (start = end), which the ioctl must refuse. */
  readonly empty?: number;
}
export interface EnumField {
  readonly kind: 'enum';
  readonly name: string;
  readonly values: readonly string[];
  readonly weights: readonly number[];
  /** The value the minimiser tries instead of any other (none: no value is simpler). */
  readonly simplest?: string;
  /** How describeOp shows it: as an argument, or as "-> value" after the others. */
  readonly show: 'plain' | 'arrow';
  /**
   * The value an absent field means (the field is optional): the parser, generator and minimiser leave the
   * field out of a case when it has this value, so case files written before the field existed still read.
   */
  readonly default?: string;
}
/** A data token: the case's running counter when generated, so every written value is distinct. */
export interface TokenField {
  readonly kind: 'token';
  readonly name: string;
  /** Largest value, from the number of gfns (initMemRegion's page i gets data + i). */
  readonly max: (gfns: number) => number;
  /** Chance the field is present (absent: it is required). The minimiser drops an optional token. */
  readonly optional?: number;
}
export interface CountField {
  readonly kind: 'count';
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly pick: (s: Space) => Pick;
}
export type FieldSpec = GfnField | RangeField | EnumField | TokenField | CountField;

/** The names a field spec takes in a case file, in order. */
export function fieldNames(f: FieldSpec): string[] {
  return f.kind === 'range' ? ['start', 'end'] : [f.name];
}

export const TOKEN_MAX = 0x7fffffff;
