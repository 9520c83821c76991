// Seeded case generation. Case i of campaign S depends only on (S, i, generator version, design), never
// on worker count or order (architecture principle 3). Values favour the places bugs live: 2M
// boundaries, the first and last page of a range, accept-after-touch, faults on the calls an op makes.
import seedrandom from 'seedrandom';
import type { Design } from '../model/config.js';
import type { FaultSite, FaultSpec, SeamcallFault } from '../model/faults.js';
import type { Leaf } from '../model/tdx/leaf.js';
import type { StatusName } from '../model/tdx/status.js';
import { CASE_FORMAT, CASE_VERSION, type Case, type Op } from './case.js';

export const GENERATOR_VERSION = 1;

export class Rng {
  private readonly next: () => number;
  constructor(seed: string) {
    this.next = seedrandom.alea(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** Pick by weight from [value, weight] pairs. */
  weighted<T>(xs: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of xs) total += w;
    let x = this.next() * total;
    for (const [v, w] of xs) {
      x -= w;
      if (x < 0) return v;
    }
    return xs[xs.length - 1][0];
  }
}

/** The leaves each op kind can reach, to aim faults where they take effect. */
const LEAVES_BY_OP: Record<Op['op'], readonly Leaf[]> = {
  touch: ['TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD'],
  accept: ['TDG.MEM.PAGE.ACCEPT', 'TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD', 'TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.DEMOTE'],
  convert: ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE', 'TDH.MEM.PAGE.DEMOTE', 'TDH.PHYMEM.PAGE.WBINVD'],
  punch: ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD'],
  initMemRegion: ['TDH.MEM.PAGE.ADD', 'TDH.MEM.SEPT.ADD'],
  finalize: ['TDH.MR.FINALIZE'],
  destroy: ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.PAGE.REMOVE', 'TDH.MNG.VPFLUSHDONE', 'TDH.PHYMEM.CACHE.WB', 'TDH.MNG.KEY.FREEID', 'TDH.PHYMEM.PAGE.RECLAIM'],
  hostMap: [],
  hostUnmap: [],
  pin: [],
  unpin: [],
  memoryFailure: ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.PAGE.REMOVE'],
  hostAlloc: [],
  prefault: ['TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD'],
  deleteSlot: ['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.PAGE.REMOVE'],
};

/** Non-SEAMCALL fault sites each op kind can reach. */
const SITES_BY_OP: Partial<Record<Op['op'], readonly FaultSite[]>> = {
  touch: ['ALLOC', 'ALLOC', 'NON_TDX_PFN', 'NO_STRUCT_PFN'],
  accept: ['ALLOC', 'ALLOC', 'NON_TDX_PFN', 'NO_STRUCT_PFN'],
  convert: ['ALLOC', 'FOLIO_SPLIT', 'TRANSIENT_REF'],
  punch: ['ALLOC'],
  initMemRegion: ['ALLOC', 'ALLOC', 'NON_TDX_PFN', 'NO_STRUCT_PFN'],
  prefault: ['ALLOC', 'ALLOC', 'NON_TDX_PFN', 'NO_STRUCT_PFN'],
};

/** Hard errors a fuzzer may inject: statuses the design does not expect (fatal by design). */
const HARD_ERRORS: readonly StatusName[] = ['TDX_EPT_ENTRY_STATE_INCORRECT', 'TDX_SW_ERROR', 'TDX_OPERAND_INVALID'];

function genFaults(rng: Rng, kind: Op['op']): FaultSpec[] | undefined {
  if (!rng.chance(0.18)) return undefined;
  const sites = SITES_BY_OP[kind];
  if (sites && rng.chance(0.2)) return [{ site: rng.pick(sites), nth: rng.weighted([[1, 6], [2, 2]] as const) }];
  if (LEAVES_BY_OP[kind].length === 0) return undefined;
  const out: SeamcallFault[] = [];
  const n = rng.chance(0.8) ? 1 : 2;
  for (let k = 0; k < n; k++) {
    const leaf = rng.pick(LEAVES_BY_OP[kind]);
    const nth = rng.weighted([[1, 6], [2, 2], [3, 1]] as const);
    // The guest's TDCALL only meets contention; hard errors are for host SEAMCALLs.
    const status: StatusName =
      leaf === 'TDH.MEM.PAGE.DEMOTE' && rng.chance(0.25)
        ? 'TDX_INTERRUPTED_RESTARTABLE'
        : leaf !== 'TDG.MEM.PAGE.ACCEPT' && rng.chance(0.06)
          ? rng.pick(HARD_ERRORS)
          : 'TDX_OPERAND_BUSY';
    if (out.some((f) => f.leaf === leaf && f.nth === nth)) continue;
    // An IRQ/NMI storm: every DEMOTE from here on is interrupted (003:L143-155).
    if (status === 'TDX_INTERRUPTED_RESTARTABLE' && rng.chance(0.3)) out.push({ leaf, nth, status, every: true });
    else out.push({ leaf, nth, status });
    // BUSY on the retry after the kick as well: the design says that retry must succeed.
    if (status === 'TDX_OPERAND_BUSY' && rng.chance(0.1) && !out.some((f) => f.leaf === leaf && f.nth === nth + 1)) {
      out.push({ leaf, nth: nth + 1, status });
    }
  }
  return out;
}

/**
 * The memslot layout is userspace's choice, not the design's: unless the campaign design fixes it (a
 * non-zero setting), most cases use an aligned slot and some a misaligned base, gmem offset or uaddr, which
 * the design must answer by disallowing huge mappings (003:L176, L321-324).
 */
function pickLayout(rng: Rng, d: Design): Design {
  const P = d.ptrs;
  const out = { ...d, guardsOff: [...d.guardsOff] };
  if (d.slotBaseGfn === 0 && rng.chance(0.12)) out.slotBaseGfn = rng.pick([P >> 1, 1, P, P + (P >> 1)].filter((b) => b <= P * (d.regions - 1)));
  if (d.gmemOffset === 0 && rng.chance(0.1)) out.gmemOffset = d.backing === 'HUGETLB_1G' ? P : rng.pick([P >> 1, 1, P]);
  if (d.uaddrOffset === 0 && rng.chance(0.08)) out.uaddrOffset = rng.pick([1, P >> 1]);
  if (d.startPhase === 'RUNNABLE' && rng.chance(0.15)) out.startPhase = 'BUILD';
  return out;
}

export function generateCase(campaignDesign: Design, campaignSeed: number, index: number): Case {
  const rng = new Rng(`tdxfuzz/${GENERATOR_VERSION}/${campaignSeed}/${index}`);
  const design = pickLayout(rng, campaignDesign);
  const P = design.ptrs;
  const G = P * design.regions;
  const lo = design.slotBaseGfn;
  const gfnPick = (): number => {
    if (lo > 0 && rng.chance(0.15)) return rng.pick([lo, lo - 1, lo + 1, lo - (lo % P)]);
    const r = Math.max(lo, rng.int(design.regions) * P);
    const base = r - (r % P);
    return Math.min(G - 1, Math.max(lo, rng.weighted([
      [base, 4],
      [base + 1, 2],
      [base + P - 1, 2],
      [base + (P >> 1), 1],
      [base + rng.int(P), 4],
    ] as const)));
  };
  const nOps = 3 + rng.int(rng.chance(0.7) ? 10 : 22);
  const ops: Op[] = [];
  let last = gfnPick();
  let token = 1 + (index % 1000) * 1000;
  if (design.startPhase === 'BUILD') {
    // TD build: initial pages through KVM_TDX_INIT_MEM_REGION, then (usually) KVM_TDX_FINALIZE_VM.
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      const start = gfnPick();
      const len = rng.pick([1, 2, P >> 1, P]);
      const op: Op = { op: 'initMemRegion', start, end: Math.min(G, start + len), data: token };
      token += len;
      const faults = genFaults(rng, 'initMemRegion');
      if (faults) op.faults = faults;
      ops.push(op);
      last = start;
    }
    if (rng.chance(0.9)) ops.push({ op: 'finalize' });
  }
  for (let i = 0; i < nOps; i++) {
    const kind = rng.weighted([
      ['touch', 34],
      ['accept', 26],
      ['convert', 28],
      ['punch', 7],
      ['hostMap', 3],
      ['hostUnmap', 1.5],
      ['pin', 2],
      ['unpin', 1.5],
      ['memoryFailure', 1.5],
      ['hostAlloc', 1],
      ['prefault', 3],
      ['deleteSlot', 0.3],
    ] as const);
    const gfn = rng.chance(0.35) ? last : gfnPick();
    let op: Op;
    switch (kind) {
      case 'touch':
        op = rng.chance(0.5) ? { op: 'touch', gfn, write: token++ } : { op: 'touch', gfn };
        break;
      case 'accept':
        op = { op: 'accept', gfn, level: rng.chance(0.6) ? '4K' : '2M' };
        break;
      case 'convert': {
        const len = rng.weighted([
          [1, 5],
          [2, 1],
          [P >> 1, 1],
          [P, 2],
          [P + 1, 1],
          [1 + rng.int(2 * P), 2],
        ] as const);
        const start = rng.chance(0.6) ? gfn : gfnPick();
        const end = rng.chance(0.01) ? start : Math.min(G, start + len);
        op = { op: 'convert', start, end, to: rng.chance(0.55) ? 'shared' : 'private' };
        break;
      }
      case 'hostMap':
      case 'hostUnmap':
      case 'pin':
      case 'unpin':
      case 'memoryFailure':
        op = { op: kind, gfn };
        break;
      case 'hostAlloc':
        op = { op: 'hostAlloc', pages: rng.pick([1, 4, P]) };
        break;
      case 'prefault': {
        const start = rng.chance(0.6) ? gfn - (gfn % P) : gfn;
        op = { op: 'prefault', start, end: Math.min(G, start + rng.pick([1, P >> 1, P])) };
        break;
      }
      case 'deleteSlot':
        op = { op: 'deleteSlot' };
        break;
      case 'punch': {
        if (rng.chance(0.75)) {
          // whole original folios: 2M-aligned in gmem index space
          const off = design.gmemOffset - lo;
          const r = rng.int(design.regions);
          const n = 1 + rng.int(2);
          const start = Math.max(lo, r * P - off);
          op = { op: 'punch', start, end: Math.min(G, start + n * P) };
        } else {
          const start = gfnPick();
          op = { op: 'punch', start, end: Math.min(G, start + 1 + rng.int(P)) };
        }
        break;
      }
    }
    const faults = genFaults(rng, kind);
    if (faults) op.faults = faults;
    ops.push(op);
    last = gfn;
  }
  // Teardown (seed 000) ends a quarter of the cases, occasionally followed by ops that must find nothing.
  if (rng.chance(0.25)) {
    const op: Op = { op: 'destroy' };
    const faults = genFaults(rng, 'destroy');
    if (faults) op.faults = faults;
    ops.push(op);
    if (rng.chance(0.05)) ops.push({ op: 'touch', gfn: gfnPick() });
  }
  return {
    format: CASE_FORMAT,
    version: CASE_VERSION,
    design,
    ops,
    provenance: { campaignSeed, caseIndex: index, generatorVersion: GENERATOR_VERSION },
  };
}
