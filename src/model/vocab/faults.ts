// The fault vocabulary: for each SEAMCALL/TDCALL leaf, the classes of status the design can meet from it
// (kernel-facts.md 1.1, 2.1-2.7; src/model/tdx/module.ts), with the weight the generator gives each class,
// and the non-SEAMCALL fault sites. The op table (ops.ts beside this file) says which leaves and sites
// each op kind reaches; the generator, the minimiser, the parser and the fast-check baseline read both.
import { type Design, effectiveHuge, guardOn } from '../config.js';
import { type Leaf, LEAVES } from '../tdx/leaf.js';
import type { StatusName } from '../tdx/status.js';
import type { Pick } from './pick.js';

/**
 * Classes of injected status, ordered by how much of a case they end (the minimiser weakens a fault to a
 * class of lower rank):
 * - interrupted: the module stopped for a pending interrupt; KVM loops (DEMOTE's RESTARTABLE, CACHE.WB's
 *   RESUMABLE) or takes it as done (CACHE.WB's NO_HKID_READY_TO_WBCACHE);
 * - busy: TDX_OPERAND_BUSY, contention on an entry or the epoch lock;
 * - epoch-busy: TRACK's TDX_PREVIOUS_TLB_EPOCH_BUSY, a vCPU still in the previous epoch (not retried);
 * - flush-not-done: VPFLUSHDONE's TDX_FLUSHVP_NOT_DONE, KVM gives up and leaks the HKID;
 * - hard: a status the design does not expect ("Other errors ... are not expected, triggering TDX_BUG_ON()").
 */
export const STATUS_CLASSES = ['interrupted', 'busy', 'epoch-busy', 'flush-not-done', 'hard'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];
const RANK: Record<StatusClass, number> = { interrupted: 0, busy: 1, 'epoch-busy': 2, 'flush-not-done': 2, hard: 3 };

/** Hard errors a fuzzer injects: statuses the design does not expect (fatal by design). */
export const HARD_ERRORS: readonly StatusName[] = ['TDX_EPT_ENTRY_STATE_INCORRECT', 'TDX_SW_ERROR', 'TDX_OPERAND_INVALID'];

export interface ClassEntry {
  readonly cls: StatusClass;
  readonly statuses: readonly StatusName[];
  /** Weight against the other classes of the leaf (busy is 1). Hard errors stay rare: they end a case's interesting life. */
  readonly weight: number;
  /** The design can meet it at all (the module returns it on this design). */
  readonly meets?: (d: Design) => boolean;
  /** Chance that the fault is a storm (`every`: each later call of the leaf in the op fails too). */
  readonly storm?: number;
}

export interface LeafVocab {
  /** The design issues this leaf at all. */
  readonly reach: (d: Design) => boolean;
  readonly classes: readonly ClassEntry[];
}

const busy: ClassEntry = { cls: 'busy', statuses: ['TDX_OPERAND_BUSY'], weight: 1 };
const hard: ClassEntry = { cls: 'hard', statuses: HARD_ERRORS, weight: 0.064 };
const always = (): boolean => true;
const dpamt = (d: Design): boolean => d.dpamt;
const common: LeafVocab = { reach: always, classes: [busy, hard] };

export const LEAF_VOCAB: Record<Leaf, LeafVocab> = {
  'TDH.MEM.PAGE.AUG': common,
  'TDH.MEM.SEPT.ADD': common,
  'TDH.MEM.RANGE.BLOCK': common,
  // MOD-track: vCPUs still in the previous epoch -> TDX_PREVIOUS_TLB_EPOCH_BUSY (kernel-facts.md 2.3)
  'TDH.MEM.TRACK': { reach: always, classes: [busy, hard, { cls: 'epoch-busy', statuses: ['TDX_PREVIOUS_TLB_EPOCH_BUSY'], weight: 0.04 }] },
  'TDH.MEM.PAGE.DEMOTE': {
    reach: effectiveHuge,
    // a pending host interrupt only interrupts a module without ENHANCED_DEMOTE_INTERRUPTIBILITY (003:L143-160);
    // a storm of them is the IRQ/NMI storm of 003:L143-155 (BUG-3). On a module with the feature the status is
    // a misbehaving module, which v3 KVM answers with TDX_BUG_ON: rare there.
    classes: [busy, hard, { cls: 'interrupted', statuses: ['TDX_INTERRUPTED_RESTARTABLE'], weight: 0.33, storm: 0.3 }],
  },
  'TDH.MEM.PAGE.REMOVE': common,
  'TDH.PHYMEM.PAGE.WBINVD': common,
  // the guest's TDCALL: BUSY is entry-lock contention the guest retries; anything else reaches the guest as an error
  'TDG.MEM.PAGE.ACCEPT': common,
  'TDH.MEM.PAGE.ADD': common,
  'TDH.MR.FINALIZE': common,
  // tdx_mmu_release_hkid(): TDX_FLUSHVP_NOT_DONE -> give up silently, the HKID is leaked (kernel-facts.md 2.4)
  'TDH.MNG.VPFLUSHDONE': { reach: always, classes: [busy, hard, { cls: 'flush-not-done', statuses: ['TDX_FLUSHVP_NOT_DONE'], weight: 0.1 }] },
  // loops up to TDX_SEAMCALL_RETRIES on TDX_INTERRUPTED_RESUMABLE; TDX_NO_HKID_READY_TO_WBCACHE is success (kernel-facts.md 2.4)
  'TDH.PHYMEM.CACHE.WB': {
    reach: always,
    classes: [busy, hard, { cls: 'interrupted', statuses: ['TDX_INTERRUPTED_RESUMABLE', 'TDX_NO_HKID_READY_TO_WBCACHE'], weight: 0.33, storm: 0.1 }],
  },
  'TDH.MNG.KEY.FREEID': common,
  'TDH.PHYMEM.PAGE.RECLAIM': common,
  'TDH.PHYMEM.PAMT.ADD': { reach: dpamt, classes: [busy, hard] },
  'TDH.PHYMEM.PAMT.REMOVE': { reach: dpamt, classes: [busy, hard] },
  // only the huge page adjustment over a 4K table issues PROMOTE, which G6 forbids (BUG-6)
  'TDH.MEM.PAGE.PROMOTE': { reach: (d) => !guardOn(d, 'G6') && effectiveHuge(d), classes: [busy, hard] },
  // only a split under the shared mmu_lock whose DEMOTE meets BUSY unblocks (G4 off, BUG-4; 003:L123-125)
  'TDH.MEM.RANGE.UNBLOCK': { reach: (d) => !guardOn(d, 'G4') && !d.nonBlockingResize && effectiveHuge(d), classes: [busy, hard] },
};

/** Statuses the module returns from one leaf only; a case naming them on another leaf is refused. */
export const LEAF_ONLY_STATUS: Partial<Record<StatusName, Leaf>> = { TDX_INTERRUPTED_RESTARTABLE: 'TDH.MEM.PAGE.DEMOTE' };

/** Which call of a leaf within the op a fault hits: mostly the first, the retry after the kick, or a later one. */
export const NTH_PICK: Pick = [[1, 6], [2, 2], [3, 1]];
/** Which visit of a site fails. */
export const SITE_NTH_PICK: Pick = [[1, 6], [2, 2]];

/** Chance that an op carries faults, and that an op with sites gets a site fault rather than SEAMCALL faults. */
export const FAULT_RATE = { op: 0.18, site: 0.2, second: 0.2, busyAfterKick: 0.1 } as const;

/** The classes of `leaf` the design can meet, with their weights. */
export function classesOf(leaf: Leaf, d: Design): ClassEntry[] {
  const v = LEAF_VOCAB[leaf];
  if (!v.reach(d)) return [];
  return v.classes.filter((c) => !c.meets || c.meets(d));
}

/** Every (leaf, status class) pair the design can meet, as "CLASS@LEAF". */
export function reachablePairs(d: Design, leaves: readonly Leaf[] = LEAVES): string[] {
  const out: string[] = [];
  for (const leaf of leaves) for (const c of classesOf(leaf, d)) out.push(pairKey(leaf, c.cls));
  return out;
}

export const pairKey = (leaf: Leaf, cls: StatusClass): string => `${cls}@${leaf}`;

/** The class a status injected on `leaf` belongs to (hard for anything the table does not list). */
export function classOf(leaf: Leaf, st: string): StatusClass {
  for (const c of LEAF_VOCAB[leaf].classes) if ((c.statuses as readonly string[]).includes(st)) return c.cls;
  return 'hard';
}

/** Weaker forms of a status on `leaf` for the minimiser: plain contention instead of anything it outranks. */
export function weakerStatuses(leaf: Leaf, st: StatusName): StatusName[] {
  const r = RANK[classOf(leaf, st)];
  return RANK.busy < r ? ['TDX_OPERAND_BUSY'] : [];
}
