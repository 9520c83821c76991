// Design settings: the knobs of model-spec.md section 1 that this build models, resolved once at the
// edge (raw JSON -> Design) so the model never sees a half-filled or unknown setting.
import { GUARD_IDS, type GuardId, guardInfo } from './guards.js';

export type Backing = 'HUGETLB_2M' | 'HUGETLB_1G' | 'THP_2M' | '4K';
/** How hugetlb-1G folios split: 1G -> 2M first, only converted 2M -> 4K, or straight to 4K (003:L443, L759). */
export type SplitPolicy = 'HIERARCHICAL' | 'UNIFORM_4K';
export type ConversionOrder = 'V3_ZAP_THEN_SPLIT' | 'WIP_SPLIT_FOLIO_FIRST' | 'SEPT_SPLIT_FIRST' | 'PREPARE_THEN_ZAP';
/** How large a private mapping may be: no larger than the folio, or than the contiguous, homogeneous range (open question 7.1). */
export type MappingRule = 'STRICT_FOLIO' | 'CONTIGUITY';
export type PunchPartialHuge = 'REJECT' | 'ZAP_ONLY';
export type TdPhase = 'BUILD' | 'RUNNABLE';
/** What TDX/guest_memfd do about page references and failed zaps (002, 001, 003:L297-307). */
export type RefcountPolicy = 'NONE' | 'HOLD_WHILE_MAPPED' | 'HOLD_ON_ZAP_FAILURE' | 'HWPOISON_ON_BUG' | 'GMEM_BUGGY_CLEANUP' | 'NO_MORE_SEAMCALLS';
export const PROTECTIVE_POLICIES: readonly RefcountPolicy[] = ['HOLD_ON_ZAP_FAILURE', 'HWPOISON_ON_BUG', 'GMEM_BUGGY_CLEANUP', 'NO_MORE_SEAMCALLS'];

export interface Design {
  /** Entries per page table; 512 on real hardware, small values reach 2M boundaries sooner [M]. */
  ptrs: number;
  /** Number of 2M ranges in the single memslot (slot base gfn 0, gmem offset 0). */
  regions: number;
  /** guest_memfd backing (003:L110-118, L443, L759). */
  backing: Backing;
  /** How a hugetlb-1G folio splits. */
  splitPolicy: SplitPolicy;
  /** kvm_intel.tdx_huge_page (003:L38-40). */
  tdxHugePage: boolean;
  /** TDX module feature ENHANCED_DEMOTE_INTERRUPTIBILITY (003:L35-37, L152-160). */
  enhancedDemoteInterruptibility: boolean;
  /** TDX module feature Dynamic PAMT (003:L41-56, L261-296). */
  dpamt: boolean;
  /** TDX module feature NON-BLOCKING-RESIZE: DEMOTE without BLOCK, so splitting under the shared lock is possible (003:L121-127). */
  nonBlockingResize: boolean;
  /** Private->shared conversion order (003:L30-34, L436, L763). G1 off selects WIP_SPLIT_FOLIO_FIRST. */
  conversionOrder: ConversionOrder;
  /**
   * kvm.vm_memory_attributes: true keeps attributes in the VM (KVM_SET_MEMORY_ATTRIBUTES, shared memory from
   * ordinary userspace pages); false (v3, 003:L339) keeps them in guest_memfd with in-place conversion.
   */
  vmMemoryAttributes: boolean;
  /** A memslot delete that also zaps page tables (a variant that needs G11 to stay safe, BUG-11) [M]. */
  slotDeleteZapsTables: boolean;
  /** STRICT_FOLIO (mapping <= folio, 003:L23-24) or CONTIGUITY (003:L439, L759-760); PREPARE_THEN_ZAP needs CONTIGUITY. */
  mappingRule: MappingRule;
  /** Partial punch of a huge folio: refused (003:L762) or only zapped [A]. */
  punchPartialHuge: PunchPartialHuge;
  /** First gfn of the memslot; the slot runs to the end of the GPA space (003:L176 slot base_gfn). */
  slotBaseGfn: number;
  /**
   * Memslots the guest range [slotBaseGfn, end of GPA space) is split into: 1, or 2 cut at slotSplitGfn. Both
   * are bound to the one guest_memfd at consistent offsets, as the selftests bind one gmem fd (issue 11).
   */
  memslots: number;
  /** With memslots 2: the first gfn of the second memslot (its base_gfn); 0 with one memslot. */
  slotSplitGfn: number;
  /** guest_memfd offset (in pages) bound at slotBaseGfn: index = gfn - slotBaseGfn + gmemOffset. */
  gmemOffset: number;
  /** Misalignment (in pages) of the slot's userspace address against its base gfn (ugfn, 003:L176, L321-324). */
  uaddrOffset: number;
  /**
   * The TD attribute SEPT_VE_DISABLE: a guest access to a PENDING page is an EPT violation that KVM treats as
   * unexpected (kvm_vm_dead, -EIO) instead of a #VE (kernel-facts.md 2.6). Default off, as the KVM selftests
   * run (tdx_upm_test.c and tdx_vm_huge_page.c accept pages in their #VE handler).
   */
  septVeDisable: boolean;
  /** Where the case starts: a TD still being built (before KVM_TDX_FINALIZE_VM) or a running TD. */
  startPhase: TdPhase;
  /** Page-reference policy; NONE is v3/upstream: TDX holds no reference and a failed zap is an accepted risk (002). */
  refcountPolicy: RefcountPolicy;
  /** Count a freed page the TD still owns as a failure even after KVM_BUG_ON under policy NONE. */
  strictUAF: boolean;
  /** Guards switched off (model-spec.md section 6). */
  guardsOff: GuardId[];
}

export const DEFAULT_DESIGN: Readonly<Design> = Object.freeze({
  ptrs: 512,
  regions: 2,
  backing: 'HUGETLB_2M',
  splitPolicy: 'HIERARCHICAL',
  tdxHugePage: true,
  enhancedDemoteInterruptibility: true,
  dpamt: true,
  nonBlockingResize: false,
  conversionOrder: 'V3_ZAP_THEN_SPLIT',
  mappingRule: 'STRICT_FOLIO',
  vmMemoryAttributes: false,
  slotDeleteZapsTables: false,
  punchPartialHuge: 'REJECT',
  slotBaseGfn: 0,
  memslots: 1,
  slotSplitGfn: 0,
  gmemOffset: 0,
  uaddrOffset: 0,
  septVeDisable: false,
  startPhase: 'RUNNABLE',
  refcountPolicy: 'NONE',
  strictUAF: false,
  guardsOff: [],
} satisfies Design);

export const DESIGN_KEYS = Object.keys(DEFAULT_DESIGN) as (keyof Design)[];

/**
 * What a fuzz campaign uses where neither --config nor the command line says otherwise: the v3 design
 * with 16-entry tables, so generated gfns reach 2M boundaries often (model-spec.md 1: "fuzz with 4..16").
 */
export const CAMPAIGN_DEFAULTS: Readonly<Design> = Object.freeze({ ...DEFAULT_DESIGN, ptrs: 16, guardsOff: [] });

/** A bad setting, named by its field path so the CLI can say exactly what is wrong. */
export class DesignError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

const ENUMS: Partial<Record<keyof Design, readonly string[]>> = {
  backing: ['HUGETLB_2M', 'HUGETLB_1G', 'THP_2M', '4K'],
  splitPolicy: ['HIERARCHICAL', 'UNIFORM_4K'],
  conversionOrder: ['V3_ZAP_THEN_SPLIT', 'WIP_SPLIT_FOLIO_FIRST', 'SEPT_SPLIT_FIRST', 'PREPARE_THEN_ZAP'],
  mappingRule: ['STRICT_FOLIO', 'CONTIGUITY'],
  punchPartialHuge: ['REJECT', 'ZAP_ONLY'],
  startPhase: ['BUILD', 'RUNNABLE'],
  refcountPolicy: ['NONE', 'HOLD_WHILE_MAPPED', 'HOLD_ON_ZAP_FAILURE', 'HWPOISON_ON_BUG', 'GMEM_BUGGY_CLEANUP', 'NO_MORE_SEAMCALLS'],
};

export function parseGuardList(list: readonly unknown[], field: string): GuardId[] {
  const out: GuardId[] = [];
  list.forEach((raw, i) => {
    const info = typeof raw === 'string' ? guardInfo(raw.trim()) : undefined;
    if (!info) throw new DesignError(`${field}[${i}]`, `unknown guard ${JSON.stringify(raw)} (known: ${GUARD_IDS.join(', ')})`);
    if (!info.modelled) {
      throw new DesignError(`${field}[${i}]`, `guard ${info.id} (${info.bug}) is not modelled by this version of tdxfuzz yet`);
    }
    if (!out.includes(info.id)) out.push(info.id);
  });
  return out.sort((a, b) => GUARD_IDS.indexOf(a) - GUARD_IDS.indexOf(b));
}

/** Raw settings (a case file's `design`, a config file) to a complete Design. Missing keys take defaults. */
export function resolveDesign(raw: unknown, field = 'design', base: Readonly<Design> = DEFAULT_DESIGN): Design {
  if (raw === undefined) return { ...base, guardsOff: [...base.guardsOff] };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DesignError(field, 'must be an object');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!(DESIGN_KEYS as string[]).includes(k)) throw new DesignError(`${field}.${k}`, `unknown setting (known: ${DESIGN_KEYS.join(', ')})`);
  }
  const d: Design = { ...base, guardsOff: [...base.guardsOff] };
  for (const k of DESIGN_KEYS) {
    const v = r[k];
    if (v === undefined) continue;
    const f = `${field}.${k}`;
    const def = DEFAULT_DESIGN[k];
    if (k === 'guardsOff') {
      if (!Array.isArray(v)) throw new DesignError(f, 'must be an array of guard ids such as ["G1"]');
      d.guardsOff = parseGuardList(v, f);
    } else if (typeof def === 'number') {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new DesignError(f, 'must be an integer');
      (d as unknown as Record<string, unknown>)[k] = v;
    } else if (typeof def === 'boolean') {
      if (typeof v !== 'boolean') throw new DesignError(f, 'must be true or false');
      (d as unknown as Record<string, unknown>)[k] = v;
    } else {
      const allowed = ENUMS[k] ?? [];
      if (typeof v !== 'string' || !allowed.includes(v)) throw new DesignError(f, `must be one of ${allowed.join(', ')}`);
      (d as unknown as Record<string, unknown>)[k] = v;
    }
  }
  if (![4, 8, 16, 32, 64, 128, 256, 512].includes(d.ptrs)) throw new DesignError(`${field}.ptrs`, 'must be a power of two from 4 to 512');
  if (d.regions < 2 || d.regions > 8) throw new DesignError(`${field}.regions`, 'must be from 2 to 8');
  const gpaPages = d.ptrs * d.regions;
  if (d.slotBaseGfn < 0 || d.slotBaseGfn > gpaPages - d.ptrs) {
    throw new DesignError(`${field}.slotBaseGfn`, `must be from 0 to ${gpaPages - d.ptrs} (the slot keeps at least one 2M range)`);
  }
  if (d.memslots !== 1 && d.memslots !== 2) throw new DesignError(`${field}.memslots`, 'must be 1 or 2');
  if (d.memslots === 1 && d.slotSplitGfn !== 0) throw new DesignError(`${field}.slotSplitGfn`, 'must be 0 with one memslot (set memslots to 2 to split the guest range)');
  if (d.memslots === 2 && (d.slotSplitGfn <= d.slotBaseGfn || d.slotSplitGfn >= gpaPages)) {
    throw new DesignError(`${field}.slotSplitGfn`, `must be from ${d.slotBaseGfn + 1} to ${gpaPages - 1} (both memslots keep at least one page)`);
  }
  if (d.gmemOffset < 0 || d.gmemOffset > 4 * d.ptrs) throw new DesignError(`${field}.gmemOffset`, `must be from 0 to ${4 * d.ptrs}`);
  if (d.uaddrOffset < 0 || d.uaddrOffset >= d.ptrs) throw new DesignError(`${field}.uaddrOffset`, `must be from 0 to ${d.ptrs - 1}`);
  if (d.backing === 'HUGETLB_1G' && (d.regions % d.ptrs !== 0 || d.gmemOffset % d.ptrs !== 0)) {
    throw new DesignError(`${field}.backing`, `a 1G folio spans ptrs (${d.ptrs}) 2M ranges: HUGETLB_1G needs regions a multiple of ptrs (e.g. ptrs 4, regions 4 or 8) and a 2M-aligned gmemOffset`);
  }
  if (d.conversionOrder === 'PREPARE_THEN_ZAP' && d.mappingRule !== 'CONTIGUITY') {
    throw new DesignError(`${field}.conversionOrder`, 'PREPARE_THEN_ZAP splits folios while KVM still maps them huge, so it needs mappingRule CONTIGUITY');
  }
  return d;
}

export function guardOn(d: Design, g: GuardId): boolean {
  return !d.guardsOff.includes(g);
}

/**
 * Guards that select a design variant rather than remove a check: G1 off means the WIP order; G19 off means
 * the v3 order with its open question counted as a failure (otherwise a known-design finding, BUG-19).
 */
export function effectiveConversionOrder(d: Design): ConversionOrder {
  if (!guardOn(d, 'G1')) return 'WIP_SPLIT_FOLIO_FIRST';
  if (!guardOn(d, 'G19') && d.conversionOrder !== 'WIP_SPLIT_FOLIO_FIRST') return 'V3_ZAP_THEN_SPLIT';
  return d.conversionOrder;
}

/**
 * The refcount policy in force: G14 off means TDX holds a folio reference while a page is mapped (RFC v1,
 * BUG-14); G5 off means policy NONE with the use-after-free window counted as a failure (BUG-5).
 */
export function effectiveRefcountPolicy(d: Design): RefcountPolicy {
  if (!guardOn(d, 'G14')) return 'HOLD_WHILE_MAPPED';
  if (!guardOn(d, 'G5')) return 'NONE';
  return d.refcountPolicy;
}

/** Is a freed page the TD still owns, after KVM_BUG_ON, a failure rather than the accepted risk of 002? */
export function uafIsFailure(d: Design): boolean {
  return d.strictUAF || !guardOn(d, 'G5') || effectiveRefcountPolicy(d) !== 'NONE';
}

/**
 * effectiveHuge = tdx_huge_page && ENHANCED_DEMOTE (V3-24: KVM clears enable_tdx_huge_page otherwise).
 * G3 off keeps huge pages on an older module with the "Loop for TDX_INTERRUPTED_RESTARTABLE" workaround
 * (003:L356-362), which an interrupt storm turns into an endless loop (BUG-3).
 */
export function effectiveHuge(d: Design): boolean {
  return d.tdxHugePage && (d.enhancedDemoteInterruptibility || !guardOn(d, 'G3'));
}

/** Canonical key order for writing a design into a case file. */
export function canonicalDesign(d: Design): Design {
  const out = {} as Record<string, unknown>;
  for (const k of DESIGN_KEYS) out[k] = k === 'guardsOff' ? [...d.guardsOff] : d[k];
  return out as unknown as Design;
}
