// SEAMCALL (host -> module) and TDCALL (guest -> module) functions the model issues, with their real
// leaf numbers (kernel-facts.md 1.2). Names are the ones used in case files and traces.

export const LEAVES = [
  'TDH.MEM.PAGE.AUG',
  'TDH.MEM.SEPT.ADD',
  'TDH.MEM.RANGE.BLOCK',
  'TDH.MEM.TRACK',
  'TDH.MEM.PAGE.DEMOTE',
  'TDH.MEM.PAGE.REMOVE',
  'TDH.PHYMEM.PAGE.WBINVD',
  'TDG.MEM.PAGE.ACCEPT',
  'TDH.MEM.PAGE.ADD',
  'TDH.MR.FINALIZE',
  'TDH.MNG.VPFLUSHDONE',
  'TDH.PHYMEM.CACHE.WB',
  'TDH.MNG.KEY.FREEID',
  'TDH.PHYMEM.PAGE.RECLAIM',
  'TDH.PHYMEM.PAMT.ADD',
  'TDH.PHYMEM.PAMT.REMOVE',
  'TDH.MEM.PAGE.PROMOTE',
  'TDH.MEM.RANGE.UNBLOCK',
] as const;
export type Leaf = (typeof LEAVES)[number];

export const LEAF_NUMBER: Record<Leaf, number> = {
  'TDH.MEM.PAGE.AUG': 6,
  'TDH.MEM.SEPT.ADD': 3,
  'TDH.MEM.RANGE.BLOCK': 7,
  'TDH.MEM.TRACK': 38,
  'TDH.MEM.PAGE.DEMOTE': 15,
  'TDH.MEM.PAGE.REMOVE': 29,
  'TDH.PHYMEM.PAGE.WBINVD': 41,
  'TDG.MEM.PAGE.ACCEPT': 6, // TDCALL leaf TDG.MEM.PAGE.ACCEPT
  'TDH.MEM.PAGE.ADD': 2,
  'TDH.MR.FINALIZE': 17,
  'TDH.MNG.VPFLUSHDONE': 19,
  'TDH.PHYMEM.CACHE.WB': 40,
  'TDH.MNG.KEY.FREEID': 20,
  'TDH.PHYMEM.PAGE.RECLAIM': 28,
  'TDH.PHYMEM.PAMT.ADD': 58,
  'TDH.PHYMEM.PAMT.REMOVE': 59,
  'TDH.MEM.PAGE.PROMOTE': 23,
  'TDH.MEM.RANGE.UNBLOCK': 39,
};

export const LEAF_INDEX: Record<Leaf, number> = Object.fromEntries(LEAVES.map((l, i) => [l, i])) as Record<Leaf, number>;

export function isLeaf(x: string): x is Leaf {
  return (LEAVES as readonly string[]).includes(x);
}

/** TDX S-EPT levels: 0 = 4K, 1 = 2M (pg_level_to_tdx_sept_level, kernel-facts.md 1.3). */
export type Level = 0 | 1;
export const L4K: Level = 0;
export const L2M: Level = 1;
export const LEVEL_NAME = ['4K', '2M'] as const;
