// KVM's mirror TDP root (model-spec.md 2.5): KVM's own copy of the private mappings. Every change to it
// is propagated to the TDX module through the external-SPTE hooks (set / remove / split), and FROZEN is
// the transient value used while a change is being propagated (004:L75).
import { i32, u8 } from '../arena.js';

export enum Spte {
  NONE = 0,
  LEAF = 1,
  NONLEAF = 2,
  FROZEN = 3,
}

export const SPTE_NAMES = ['NONE', 'LEAF', 'NONLEAF', 'FROZEN'] as const;

export class MirrorRoot {
  /** The SPTE for each 2M region. */
  readonly m2m: Uint8Array;
  readonly pfn2m: Int32Array;
  /** pfn of the external S-EPT page (sp->external_spt) of the 4K table under a NONLEAF 2M SPTE. */
  readonly externalSpt: Int32Array;
  /** 4K SPTEs, region-major; meaningful while the 2M SPTE is NONLEAF. */
  readonly m4k: Uint8Array;
  readonly pfn4k: Int32Array;
  /** S-EPT pages of the levels above 2M (PD, PDPT), present from TD creation [M]. */
  readonly upperSpt: number[] = [];

  constructor(readonly ptrs: number, readonly regions: number) {
    this.m2m = u8(regions);
    this.pfn2m = i32(regions).fill(-1);
    this.externalSpt = i32(regions).fill(-1);
    this.m4k = u8(regions * ptrs);
    this.pfn4k = i32(regions * ptrs).fill(-1);
  }
}
