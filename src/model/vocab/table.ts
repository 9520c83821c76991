// The op vocabulary (architecture principle 11): every op kind described once — its fields with their
// domains, favoured values and shrinking; the phases it may be issued in and how often the generator
// draws it in each; whether it is a VM ioctl; the SEAMCALL leaves and fault sites it can reach; how it is
// shown. The case parser, generator, minimiser, describeOp and the fast-check baseline derive from it.
// The types of the ops themselves are in ../ops.ts (applyOp says how each one drives the system).
import type { Design } from '../config.js';
import type { FaultSite } from '../faults.js';
import type { Op, OpKind } from '../ops.js';
import type { Leaf } from '../tdx/leaf.js';
import { type FieldSpec, fieldNames, folioStartPick, gfnPick, type Space, TOKEN_MAX } from './fields.js';
import { PHASES, type Phase } from './phase.js';
import { interval, type Pick } from './pick.js';

/**
 * Who issues an op when a case has several actors (issue 10): a vCPU (guest code and vCPU ioctls), the
 * userspace ioctl thread (VM and guest_memfd ioctls, build and teardown), or the host mm (page faults on
 * mmaps, pins, memory failure, other allocations).
 */
export type ActorKind = 'vcpu' | 'ioctl' | 'mm';
export const ACTOR_KINDS: readonly ActorKind[] = ['vcpu', 'ioctl', 'mm'];

export interface OpDescriptor {
  /** The kind of actor that issues it. */
  readonly actor: ActorKind;
  /** One line: what the op is, for people reading the table. */
  readonly doc: string;
  readonly fields: readonly FieldSpec[];
  /**
   * The phases the op may be issued in (any other is refused by the generator, never by the parser) and
   * the weight the generator draws it with there. Every legal phase has a weight: ops out of place must
   * fail cleanly, and only generating them shows that they do.
   */
  readonly phases: Partial<Record<Phase, number>>;
  /** An ioctl on the VM fd, which a dead (bugged) VM refuses; guest_memfd file operations are not. */
  readonly vmIoctl: boolean | ((d: Design) => boolean);
  /**
   * Guest code: a vCPU runs it inside the TD. With several actors, a vCPU whose next op is guest code stays
   * in the guest between its ops (it keeps running guest code), until a kick or an exit takes it out.
   */
  readonly guestCode?: boolean;
  /** SEAMCALL/TDCALL leaves it can reach, with the weight a fault is aimed at each. */
  readonly leaves: readonly (readonly [Leaf, number])[];
  /** Non-SEAMCALL fault sites it can reach, weighted. */
  readonly sites: Pick<FaultSite>;
  /** Chance that a generated op of this kind carries faults (default FAULT_RATE.op). */
  readonly faultRate?: number;
}

const gfn: FieldSpec = { kind: 'gfn', name: 'gfn' };
const w1 = (...ls: Leaf[]): [Leaf, number][] => ls.map((l) => [l, 1]);
/** The leaves of tdx_sept_remove_private_spte (BLOCK, TRACK, REMOVE, WBINVD) and the PAMT put after it. */
const ZAP = w1('TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD', 'TDH.PHYMEM.PAMT.REMOVE');
/** The leaves of a private fault: AUG (or ADD at build), the S-EPT page, the PAMT pair, and the known-bug-only PROMOTE/UNBLOCK. */
const MAP = w1('TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD', 'TDH.PHYMEM.PAMT.ADD', 'TDH.PHYMEM.PAMT.REMOVE', 'TDH.MEM.PAGE.PROMOTE', 'TDH.MEM.RANGE.UNBLOCK');
/** A split: BLOCK, TRACK, the pair for the new S-EPT page, DEMOTE (weighted up: few ops reach a split). */
const SPLIT: [Leaf, number][] = [['TDH.MEM.RANGE.BLOCK', 1], ['TDH.MEM.TRACK', 1], ['TDH.PHYMEM.PAMT.ADD', 1], ['TDH.MEM.PAGE.DEMOTE', 3]];
const FAULT_SITES_OF_MAP: Pick<FaultSite> = [['ALLOC', 2], ['NON_TDX_PFN', 1], ['NO_STRUCT_PFN', 1]];
const HOST_PAGE = { RUNNABLE: 0, BUILD: 0.2, DEAD: 0.3 };
const hostPage = (doc: string, runnable: number, extra: Partial<OpDescriptor> = {}): OpDescriptor => ({
  actor: 'mm',
  doc,
  fields: [gfn],
  phases: { ...HOST_PAGE, RUNNABLE: runnable },
  vmIoctl: false,
  leaves: [],
  sites: [],
  ...extra,
});
/** The GPA alias a guest access uses: the one the guest believes, or one named (the implicit conversion's trigger). */
const ALIAS: FieldSpec = { kind: 'enum', name: 'alias', values: ['believed', 'private', 'shared'], weights: [0.9, 0.05, 0.05], default: 'believed', simplest: 'believed', show: 'plain' };
/** What the vCPU thread's userspace does with an exit: return it as the outcome, or handle it as the selftests' host loop does. */
const ON_EXIT = (vmm: number): FieldSpec => ({ kind: 'enum', name: 'onExit', values: ['return', 'vmm'], weights: [1 - vmm, vmm], default: 'return', simplest: 'return', show: 'plain' });
const lengths = (s: Space): Pick => [[1, 5], [2, 1], [s.P >> 1, 1], [s.P, 2], [s.P + 1, 1], [interval(1, 2 * s.P), 2]];

/** The range and direction of a conversion, the same for the ioctl and the guest's MapGPA. */
const CONVERSION: FieldSpec[] = [
  { kind: 'range', shapes: [{ weight: 0.6, start: 'local', lengths }, { weight: 0.4, start: gfnPick, lengths }], empty: 0.01 },
  { kind: 'enum', name: 'to', values: ['shared', 'private'], weights: [0.55, 0.45], show: 'arrow' },
];

export const OPS: Readonly<Record<OpKind, OpDescriptor>> = {
  touch: {
    actor: 'vcpu',
    guestCode: true,
    doc: 'guest read of gfn, or write of the token `write`, through `alias` (default: private or shared as the guest believes); `onExit: "vmm"`: the VMM handles a KVM_EXIT_MEMORY_FAULT and re-enters',
    fields: [gfn, { kind: 'token', name: 'write', max: () => TOKEN_MAX, optional: 0.5 }, ALIAS, ON_EXIT(0.5)],
    phases: { RUNNABLE: 34, BUILD: 0.5, DEAD: 2 },
    vmIoctl: false,
    leaves: MAP,
    sites: FAULT_SITES_OF_MAP,
  },
  accept: {
    actor: 'vcpu',
    guestCode: true,
    doc: "guest TDG.MEM.PAGE.ACCEPT of the 4K page or the 2M range containing gfn (falls back to 4K on TDX_PAGE_SIZE_MISMATCH)",
    fields: [gfn, { kind: 'enum', name: 'level', values: ['4K', '2M'], weights: [0.6, 0.4], simplest: '4K', show: 'plain' }],
    phases: { RUNNABLE: 26, BUILD: 0.5, DEAD: 1 },
    vmIoctl: false,
    leaves: [['TDG.MEM.PAGE.ACCEPT', 2], ...MAP, ...SPLIT],
    sites: FAULT_SITES_OF_MAP,
  },
  convert: {
    actor: 'ioctl',
    doc: "the guest's MapGPA and the guest_memfd conversion ioctl of [start, end) (KVM_SET_MEMORY_ATTRIBUTES with vmMemoryAttributes); `arg` names an invalid argument besides the range",
    fields: [
      ...CONVERSION,
      // a few invalid arguments, which the ioctl refuses with -EINVAL and no side effect (kernel-facts.md 3.2)
      {
        kind: 'enum',
        name: 'arg',
        values: ['valid', 'flags', 'attributes', 'unaligned-address', 'unaligned-size'],
        weights: [0.96, 0.01, 0.01, 0.01, 0.01],
        default: 'valid',
        show: 'plain',
      },
    ],
    phases: { RUNNABLE: 28, BUILD: 1, DEAD: 1 },
    vmIoctl: (d) => d.vmMemoryAttributes,
    leaves: [...ZAP, ...SPLIT.filter(([l]) => l !== 'TDH.MEM.RANGE.BLOCK' && l !== 'TDH.MEM.TRACK')],
    sites: [['ALLOC', 1], ['FOLIO_SPLIT', 1], ['TRANSIENT_REF', 1]],
  },
  punch: {
    actor: 'ioctl',
    doc: 'fallocate(PUNCH_HOLE | KEEP_SIZE) on the guest_memfd over [start, end)',
    fields: [{
      kind: 'range',
      shapes: [
        // whole original folios: 2M-aligned in gmem index space
        { weight: 0.75, start: folioStartPick, lengths: (s) => [[s.P, 1], [2 * s.P, 1]] },
        { weight: 0.25, start: gfnPick, lengths: (s) => [[interval(1, s.P), 1]] },
      ],
    }],
    phases: { RUNNABLE: 7, BUILD: 0.5, DEAD: 1 },
    vmIoctl: false,
    leaves: ZAP,
    sites: [['ALLOC', 1]],
  },
  initMemRegion: {
    actor: 'ioctl',
    doc: 'KVM_TDX_INIT_MEM_REGION of [start, end) at build time; page i gets contents data + i',
    fields: [
      { kind: 'range', shapes: [{ weight: 1, start: gfnPick, lengths: (s) => [[1, 1], [2, 1], [s.P >> 1, 1], [s.P, 1]] }] },
      { kind: 'token', name: 'data', max: (gfns) => TOKEN_MAX - gfns },
    ],
    phases: { BUILD: 10, RUNNABLE: 0.5, DEAD: 0.3 },
    vmIoctl: true,
    leaves: [['TDH.MEM.PAGE.ADD', 3], ...w1('TDH.MEM.SEPT.ADD', 'TDH.PHYMEM.PAMT.ADD', 'TDH.PHYMEM.PAMT.REMOVE')],
    sites: FAULT_SITES_OF_MAP,
    faultRate: 0.25,
  },
  finalize: {
    actor: 'ioctl',
    doc: 'KVM_TDX_FINALIZE_VM',
    fields: [],
    phases: { BUILD: 4, RUNNABLE: 0.5, DEAD: 0.3 },
    vmIoctl: true,
    leaves: w1('TDH.MR.FINALIZE'),
    sites: [],
    faultRate: 0.4,
  },
  destroy: {
    actor: 'ioctl',
    doc: 'close the guest_memfd and the VM fd: the whole teardown (seed 000)',
    fields: [],
    // closing fds that are closed already is no operation; the generator also ends cases with it
    phases: { BUILD: 0.2, RUNNABLE: 0.4 },
    vmIoctl: false,
    leaves: [...ZAP, ['TDH.MNG.VPFLUSHDONE', 3], ['TDH.PHYMEM.CACHE.WB', 3], ['TDH.MNG.KEY.FREEID', 3], ['TDH.PHYMEM.PAGE.RECLAIM', 3]],
    sites: [],
    faultRate: 0.4,
  },
  hostMap: hostPage('a userspace mmap fault on the shared guest_memfd page of gfn', 3),
  hostUnmap: hostPage('userspace unmaps the shared guest_memfd page of gfn', 1.5),
  pin: hostPage('an IOMMU (VFIO) pin of the shared page of gfn', 2),
  unpin: hostPage('the IOMMU unpin of that page', 1.5),
  memoryFailure: hostPage('memory_failure() on the page backing gfn', 1.5, { phases: { RUNNABLE: 1.5, BUILD: 0.5, DEAD: 0.5 }, leaves: ZAP }),
  hostRead: hostPage('host userspace reads the page of gfn: through the guest_memfd mmap (shared pages only), or the slot memory with VM attributes', 1.5, { phases: { RUNNABLE: 1.5, BUILD: 0.5, DEAD: 0.3 } }),
  hostWrite: hostPage('host userspace writes the token `data` into the page of gfn (the same mapping as hostRead)', 1.5, {
    fields: [gfn, { kind: 'token', name: 'data', max: () => TOKEN_MAX }],
    phases: { RUNNABLE: 1.5, BUILD: 0.5, DEAD: 0.3 },
  }),
  hostAlloc: {
    actor: 'mm',
    doc: 'the host kernel allocates `pages` 4K pages for other use (they may be pages guest_memfd just freed)',
    fields: [{ kind: 'count', name: 'pages', min: 1, max: 4096, pick: (s) => [[1, 1], [4, 1], [s.P, 1]] }],
    phases: { RUNNABLE: 1, BUILD: 0.2, DEAD: 0.3 },
    vmIoctl: false,
    leaves: [],
    sites: [],
  },
  prefault: {
    actor: 'vcpu',
    doc: 'KVM_PRE_FAULT_MEMORY of [start, end)',
    fields: [{ kind: 'range', shapes: [0.6, 0.4].map((weight, i) => ({ weight, start: i ? 'local' : 'local-aligned', lengths: (s: Space): Pick => [[1, 1], [s.P >> 1, 1], [s.P, 1]] })) }],
    phases: { RUNNABLE: 3, BUILD: 0.5, DEAD: 0.3 },
    vmIoctl: true,
    leaves: MAP,
    sites: FAULT_SITES_OF_MAP,
  },
  mapGpa: {
    actor: 'vcpu',
    guestCode: true,
    doc: "the guest's MapGPA hypercall of [start, end) (TDG.VP.VMCALL<MapGPA>): KVM exits to userspace with KVM_HC_MAP_GPA_RANGE per 2M; `onExit: \"vmm\"`: the VMM converts each chunk and re-enters",
    fields: [
      ...CONVERSION,
      ON_EXIT(0.85),
    ],
    phases: { RUNNABLE: 6, BUILD: 0.3, DEAD: 0.5 },
    vmIoctl: false,
    leaves: [...ZAP, ...SPLIT.filter(([l]) => l !== 'TDH.MEM.RANGE.BLOCK' && l !== 'TDH.MEM.TRACK')],
    sites: [['ALLOC', 1], ['FOLIO_SPLIT', 1], ['TRANSIENT_REF', 1]],
  },
  deleteSlot: {
    actor: 'ioctl',
    doc: 'delete memslot `slot` (KVM_SET_USER_MEMORY_REGION2 with size 0); default slot 0, the only one unless the design has memslots 2',
    // a slot the VM does not have (1 on a one-slot VM) is refused with -EINVAL
    fields: [{ kind: 'enum', name: 'slot', values: ['0', '1'], weights: [0.7, 0.3], default: '0', simplest: '0', show: 'plain' }],
    phases: { RUNNABLE: 0.6, BUILD: 0.1, DEAD: 0.3 },
    vmIoctl: true,
    leaves: ZAP,
    sites: [],
  },
};

/** The op kinds in table order (the order case-format.md lists them). */
export const OP_KINDS = Object.keys(OPS) as OpKind[];

/** Field names of an op kind in a case file, in canonical order. */
export const OP_FIELDS: Readonly<Record<OpKind, readonly string[]>> = Object.fromEntries(
  OP_KINDS.map((k) => [k, OPS[k].fields.flatMap(fieldNames)]),
) as Record<OpKind, string[]>;

export function legalPhases(kind: OpKind): Phase[] {
  return PHASES.filter((p) => OPS[kind].phases[p] !== undefined);
}

/** Is `op` an ioctl on the VM fd, which a dead VM refuses (guest_memfd file operations are not)? */
export function isVmIoctl(op: Op | OpKind, design: Design): boolean {
  const v = OPS[typeof op === 'string' ? op : op.op].vmIoctl;
  return typeof v === 'function' ? v(design) : v;
}

/** Is `op` guest code, which a vCPU runs inside the TD? */
export function isGuestCode(op: Op | OpKind): boolean {
  return OPS[typeof op === 'string' ? op : op.op].guestCode === true;
}

const KINDS_BY_PHASE = new Map<Phase, readonly (readonly [OpKind, number])[]>();

/** Weighted op kinds the generator draws in a phase (built once per phase: the table is constant). */
export function kindsIn(phase: Phase): readonly (readonly [OpKind, number])[] {
  let ks = KINDS_BY_PHASE.get(phase);
  if (!ks) {
    ks = OP_KINDS.flatMap((k): [OpKind, number][] => {
      const w = OPS[k].phases[phase];
      return w ? [[k, w]] : [];
    });
    KINDS_BY_PHASE.set(phase, ks);
  }
  return ks;
}
