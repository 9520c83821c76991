// The workload layout a case varies: userspace's memslot choices and where the case starts. Unless the
// campaign design fixes a setting (a non-default value), most cases keep it and some take one of the
// favoured values: a misaligned slot base, gmem offset or uaddr, which the design must answer by
// disallowing huge mappings (003:L176, L321-324), or a TD still being built.
import type { Design } from '../config.js';

export interface LayoutChoice {
  readonly setting: 'slotBaseGfn' | 'gmemOffset' | 'uaddrOffset' | 'startPhase';
  /** The campaign value this choice varies (any other value is the campaign's own choice and kept). */
  readonly from: number | string;
  /** Chance of taking one of `values` instead. */
  readonly chance: number;
  /** Values to pick from, uniformly (empty: never varied on this design). */
  readonly values: (d: Design) => readonly (number | string)[];
}

export const LAYOUT: readonly LayoutChoice[] = [
  { setting: 'slotBaseGfn', from: 0, chance: 0.12, values: (d) => [d.ptrs >> 1, 1, d.ptrs, d.ptrs + (d.ptrs >> 1)].filter((b) => b <= d.ptrs * (d.regions - 1)) },
  { setting: 'gmemOffset', from: 0, chance: 0.1, values: (d) => (d.backing === 'HUGETLB_1G' ? [d.ptrs] : [d.ptrs >> 1, 1, d.ptrs]) },
  { setting: 'uaddrOffset', from: 0, chance: 0.08, values: (d) => [1, d.ptrs >> 1] },
  { setting: 'startPhase', from: 'RUNNABLE', chance: 0.15, values: () => ['BUILD'] },
];
