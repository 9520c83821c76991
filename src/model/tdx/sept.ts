// The TDX module's secure EPT for one TD, two levels deep: one entry per 2M range of GPA space, and a
// 4K table under a 2M entry once it is non-leaf. TDX private mappings are at most 2M (003:L166), so the
// levels above 2M are taken as present from TD creation [M].
import { i32, u8 } from '../arena.js';

export enum SeptState {
  FREE = 0,
  PENDING = 1, // AUG'd, not yet accepted (003:L244)
  MAPPED = 2, // accepted / present
  BLOCKED = 3,
  PENDING_BLOCKED = 4,
  NL_MAPPED = 5, // non-leaf: points to a 4K S-EPT page
  NL_BLOCKED = 6,
}

export const SEPT_STATE_NAMES = ['FREE', 'PENDING', 'MAPPED', 'BLOCKED', 'PENDING_BLOCKED', 'NL_MAPPED', 'NL_BLOCKED'] as const;

export function isLeafState(s: SeptState): boolean {
  return s >= SeptState.PENDING && s <= SeptState.PENDING_BLOCKED;
}

export function isBlockedState(s: SeptState): boolean {
  return s === SeptState.BLOCKED || s === SeptState.PENDING_BLOCKED || s === SeptState.NL_BLOCKED;
}

export class Sept {
  /** State of the entry for each 2M region. */
  readonly e2m: Uint8Array;
  /** Leaf pfn (2M-aligned) when the 2M entry is a leaf. */
  readonly pfn2m: Int32Array;
  /** S-EPT page pfn when the 2M entry is non-leaf. */
  readonly table: Int32Array;
  /** TD epoch at RANGE.BLOCK time (BEPOCH). */
  readonly bepoch2m: Int32Array;
  /** 4K entries, region-major; valid while the parent 2M entry is non-leaf. */
  readonly e4k: Uint8Array;
  readonly pfn4k: Int32Array;
  readonly bepoch4k: Int32Array;

  constructor(readonly ptrs: number, readonly regions: number) {
    this.e2m = u8(regions);
    this.pfn2m = i32(regions).fill(-1);
    this.table = i32(regions).fill(-1);
    this.bepoch2m = i32(regions);
    this.e4k = u8(regions * ptrs);
    this.pfn4k = i32(regions * ptrs).fill(-1);
    this.bepoch4k = i32(regions * ptrs);
  }
}
