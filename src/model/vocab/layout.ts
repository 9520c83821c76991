// The workload layout a case varies: userspace's memslot choices and where the case starts. Unless the
// campaign design fixes a setting (a non-default value), most cases keep it and some take one of the
// favoured values: a misaligned slot base, gmem offset or uaddr, which the design must answer by
// disallowing huge mappings (003:L176, L321-324), or a TD still being built, or the guest range cut into two
// memslots (issue 11), at a 2M boundary or inside a 2M range (which both slots then disallow).
import type { Design } from '../config.js';

export interface LayoutChoice {
  readonly setting: 'slotBaseGfn' | 'gmemOffset' | 'uaddrOffset' | 'startPhase' | 'memslots' | 'slotSplitGfn';
  /** The campaign value this choice varies (any other value is the campaign's own choice and kept). */
  readonly from: number | string;
  /** Chance of taking one of `values` instead. */
  readonly chance: number;
  /** Values to pick from, uniformly, given the layout chosen so far (empty: never varied on this design). */
  readonly values: (d: Design) => readonly (number | string)[];
}

export const LAYOUT: readonly LayoutChoice[] = [
  // a campaign that fixes two memslots keeps the first one's base below the second's
  { setting: 'slotBaseGfn', from: 0, chance: 0.12, values: (d) => [d.ptrs >> 1, 1, d.ptrs, d.ptrs + (d.ptrs >> 1)].filter((b) => b <= d.ptrs * (d.regions - 1) && (d.memslots !== 2 || b < d.slotSplitGfn)) },
  { setting: 'gmemOffset', from: 0, chance: 0.1, values: (d) => (d.backing === 'HUGETLB_1G' ? [d.ptrs] : [d.ptrs >> 1, 1, d.ptrs]) },
  { setting: 'uaddrOffset', from: 0, chance: 0.08, values: (d) => [1, d.ptrs >> 1] },
  { setting: 'startPhase', from: 'RUNNABLE', chance: 0.15, values: () => ['BUILD'] },
  { setting: 'memslots', from: 1, chance: 0.15, values: (d) => (splitPoints(d).length ? [2] : []) },
  { setting: 'slotSplitGfn', from: 0, chance: 1, values: (d) => (d.memslots === 2 ? splitPoints(d) : []) },
];

/** Where a second memslot may begin: 2M boundaries, the middle and the edges of a 2M range, inside the guest range. */
function splitPoints(d: Design): number[] {
  const P = d.ptrs;
  const G = P * d.regions;
  return [P, P + (P >> 1), P >> 1, 2 * P, P + 1, G - 1].filter((b, i, a) => b > d.slotBaseGfn && b < G && a.indexOf(b) === i);
}
