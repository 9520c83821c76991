// The design space a campaign samples: each case's design settings are drawn from (campaign seed, case
// index) on a stream of their own, like the memslot layout, so case i runs the same design with 1 worker
// or 16 (architecture principle 3), and the generator's own stream is untouched.
//
// By default a campaign varies the deployment settings the v3 design supports (kvm.vm_memory_attributes,
// the guest_memfd backing, the TDX module's features, kvm_intel.tdx_huge_page), keeping about half the
// cases on the campaign design itself. Alternative designs (refcount policies, conversion orders, mapping
// rules, ...) are sampled only from a design-space file. A setting a --config file names is never varied.
import seedrandom from 'seedrandom';
import { type ConcurrencySettings, withActors } from './concurrency.js';
import { type Design, DesignError, DESIGN_KEYS, resolveDesign } from '../model/config.js';
import type { Case } from './case.js';
import { generateCase } from './generate.js';
import { type MutationSettings, mutatedCase, type PoolView } from './pool.js';

/** Where a campaign's mutated cases come from: the mutation share and the pool snapshot of the case's epoch. */
export interface MutationSource {
  mutation: MutationSettings;
  view: PoolView;
}

export type SettingKey = Exclude<keyof Design, 'guardsOff'>;
export type SettingValue = boolean | number | string;

export interface Axis {
  key: SettingKey;
  values: SettingValue[];
  /** One weight per value, all positive. */
  weights: number[];
  /** Sample this axis only when another setting already has this value (splitPolicy: only for 1G folios). */
  when?: { key: SettingKey; value: SettingValue };
}

/** Plain data: it crosses to the workers through workerData. */
export interface DesignSpace {
  /** "default deployments" or the design-space file it was read from. */
  source: string;
  /** Share of cases that keep the campaign design unchanged. */
  keepShare: number;
  axes: Axis[];
}

/** The memslot layout (base, offsets, one or two slots) and start phase: the generator's choice per case (generate.ts pickLayout), not a design. */
export const LAYOUT_KEYS: readonly SettingKey[] = ['slotBaseGfn', 'gmemOffset', 'uaddrOffset', 'startPhase', 'memslots', 'slotSplitGfn'];

/** Share of a default-space campaign's cases that run the campaign design itself. */
const DEFAULT_KEEP_SHARE = 0.5;
/** In a varied case, the odds that one axis keeps the campaign's value (2 to 1), so most varied cases change one to three settings. */
const KEEP_WEIGHT = 2;

/** Could a 1G folio fit this campaign's GPA space (resolveDesign's HUGETLB_1G rule, 003:L443)? */
function oneGigFits(d: Design): boolean {
  return d.regions % d.ptrs === 0 && d.gmemOffset % d.ptrs === 0;
}

/**
 * The deployments of the v3 design (003:L35-56, L110-127, L339; kernel-facts.md 3.2): every one is a
 * configuration KVM supports, e.g. a module without ENHANCED_DEMOTE_INTERRUPTIBILITY, on which KVM turns
 * huge pages off. HUGETLB_1G joins only where the campaign's ptrs and regions leave room for a 1G folio
 * (at the campaign's default ptrs 16 and regions 2 they do not); splitPolicy only matters for it, and
 * varies only where the mapping rule allows UNIFORM_4K.
 */
function deploymentAxes(d: Design): { key: SettingKey; values: SettingValue[]; when?: Axis['when'] }[] {
  const backings: SettingValue[] = ['HUGETLB_2M', 'THP_2M', '4K'];
  if (oneGigFits(d)) backings.push('HUGETLB_1G');
  const axes: { key: SettingKey; values: SettingValue[]; when?: Axis['when'] }[] = [
    { key: 'vmMemoryAttributes', values: [false, true] },
    { key: 'backing', values: backings },
    { key: 'dpamt', values: [true, false] },
    { key: 'nonBlockingResize', values: [false, true] },
    { key: 'tdxHugePage', values: [true, false] },
    { key: 'enhancedDemoteInterruptibility', values: [true, false] },
    // the TD attribute is userspace's choice at KVM_TDX_INIT_VM; KVM supports both (kernel-facts.md 2.6)
    { key: 'septVeDisable', values: [false, true] },
  ];
  // UNIFORM_4K leaves 2M mappings over 4K folios outside the converted range, which STRICT_FOLIO forbids
  // (a known design finding, docs/model.md; Ackerley 003:L759): it is a v3 deployment only under CONTIGUITY.
  if (oneGigFits(d) && d.mappingRule === 'CONTIGUITY') axes.push({ key: 'splitPolicy', values: ['HIERARCHICAL', 'UNIFORM_4K'], when: { key: 'backing', value: 'HUGETLB_1G' } });
  return axes;
}

/** The default design space of a campaign on design `d`, leaving out the settings a --config file pinned. */
export function defaultDesignSpace(d: Design, pinned: ReadonlySet<string> = new Set()): DesignSpace {
  const axes: Axis[] = [];
  for (const a of deploymentAxes(d)) {
    if (pinned.has(a.key)) continue;
    if (a.when && pinned.has(a.when.key) && d[a.when.key] !== a.when.value) continue;
    const own = d[a.key] as SettingValue;
    const values = a.values.includes(own) ? a.values : [own, ...a.values];
    const others = values.length - 1;
    axes.push({ key: a.key, values, weights: values.map((v) => (v === own ? KEEP_WEIGHT : 1 / others)), ...(a.when ? { when: a.when } : {}) });
  }
  return { source: 'default deployments', keepShare: DEFAULT_KEEP_SHARE, axes };
}

/** A bad design-space file, named by its field path. */
export class DesignSpaceError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Combinations beyond this are not enumerated when checking that every value can be used. */
const MAX_COMBINATIONS = 4096;

/**
 * Parse a design-space file's JSON: an object from setting name to a non-empty array of values, each a
 * plain value or {"value": v, "weight": w}. Every value is checked through resolveDesign on the campaign
 * design, together with some choice of the file's other settings (so PREPARE_THEN_ZAP may come with a
 * mappingRule axis holding CONTIGUITY). A setting the --config file pinned may not be sampled.
 */
export function parseDesignSpace(raw: unknown, source: string, base: Design, pinned: ReadonlySet<string> = new Set()): DesignSpace {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DesignSpaceError('(top level)', 'must be an object from setting name to the values to sample, e.g. {"refcountPolicy": ["NONE", "HOLD_ON_ZAP_FAILURE"]}');
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) throw new DesignSpaceError('(top level)', 'names no setting to sample');
  const axes: Axis[] = [];
  for (const [key, list] of entries) {
    if (key === 'guardsOff') throw new DesignSpaceError(key, 'guards are not sampled: switch them off with --guard-off or a --config file');
    if (!(DESIGN_KEYS as string[]).includes(key)) throw new DesignSpaceError(key, `unknown setting (known: ${DESIGN_KEYS.filter((k) => k !== 'guardsOff').join(', ')})`);
    if (pinned.has(key)) throw new DesignSpaceError(key, 'the --config file fixes this setting; sample it here or fix it there, not both');
    if (!Array.isArray(list) || list.length === 0) throw new DesignSpaceError(key, 'must be a non-empty array of values, each a value or {"value": v, "weight": w}');
    const values: SettingValue[] = [];
    const weights: number[] = [];
    list.forEach((item, i) => {
      const f = `${key}[${i}]`;
      let v: unknown = item;
      let w: unknown = 1;
      if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
        const o = item as Record<string, unknown>;
        const extra = Object.keys(o).filter((k) => k !== 'value' && k !== 'weight');
        if (extra.length || !('value' in o)) throw new DesignSpaceError(f, 'must be a value or {"value": v, "weight": w}');
        v = o.value;
        w = o.weight ?? 1;
      }
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) throw new DesignSpaceError(`${f}.weight`, 'must be a positive number');
      if (typeof v !== 'boolean' && typeof v !== 'number' && typeof v !== 'string') throw new DesignSpaceError(f, 'must be a string, number or boolean setting value');
      if (values.includes(v)) throw new DesignSpaceError(f, `${JSON.stringify(v)} is listed twice`);
      values.push(v);
      weights.push(w);
    });
    axes.push({ key: key as SettingKey, values, weights });
  }
  checkEveryValueUsable(axes, base);
  return { source, keepShare: 0, axes };
}

/** resolveDesign's complaint about raw settings on the campaign design, or null. */
function designError(raw: Record<string, unknown>, base: Design): DesignError | null {
  try {
    resolveDesign(raw, 'design', base);
    return null;
  } catch (e) {
    if (e instanceof DesignError) return e;
    throw e;
  }
}

/**
 * Every value of every axis must be valid on the campaign design together with some choice of the other
 * axes' values (all combinations are tried when there are at most MAX_COMBINATIONS, else each value
 * alone). A value that fits none is reported with resolveDesign's own message for it.
 */
function checkEveryValueUsable(axes: Axis[], base: Design): void {
  const alone = axes.map((a) => a.values.map((v) => designError({ [a.key]: v }, base)));
  let combos = 1;
  for (const a of axes) combos *= a.values.length;
  const enumerate = combos <= MAX_COMBINATIONS;
  const usable = alone.map((errs) => errs.map((e) => !enumerate && e === null));
  const inCombo = axes.map((a) => a.values.map((): DesignError | null => null));
  if (enumerate) {
    const pick = axes.map(() => 0);
    for (let n = 0; n < combos; n++) {
      let k = n;
      for (let i = 0; i < axes.length; i++) {
        pick[i] = k % axes[i].values.length;
        k = Math.floor(k / axes[i].values.length);
      }
      const e = designError(Object.fromEntries(axes.map((a, i) => [a.key, a.values[pick[i]]])), base);
      pick.forEach((p, i) => {
        if (e === null) usable[i][p] = true;
        else inCombo[i][p] ??= e;
      });
    }
  }
  axes.forEach((a, i) =>
    a.values.forEach((v, j) => {
      if (usable[i][j]) return;
      const e = alone[i][j] ?? inCombo[i][j];
      throw new DesignSpaceError(`${a.key}[${j}]`, `${JSON.stringify(v)}: ${e ? e.message : 'not a valid setting'}`);
    }),
  );
}

/** Attempts at a valid combination before a case falls back to the campaign design. */
const MAX_DRAWS = 16;

/** The design of case `index` of campaign `seed`: drawn from the space on its own seeded stream. */
export function sampleDesign(space: DesignSpace, campaign: Design, seed: number, index: number): Design {
  const next = seedrandom.alea(`tdxfuzz/design/${seed}/${index}`);
  if (space.keepShare > 0 && next() < space.keepShare) return campaign;
  for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
    const d: Design = { ...campaign, guardsOff: [...campaign.guardsOff] };
    const set = d as unknown as Record<string, SettingValue>;
    for (const a of space.axes) {
      if (a.when && set[a.when.key] !== a.when.value) continue;
      set[a.key] = pickWeighted(a, next());
    }
    try {
      return resolveDesign(d, 'design', campaign); // a combination resolveDesign refuses is drawn again
    } catch (e) {
      if (!(e instanceof DesignError)) throw e;
    }
  }
  return campaign;
}

function pickWeighted(a: Axis, u: number): SettingValue {
  let total = 0;
  for (const w of a.weights) total += w;
  let x = u * total;
  for (let i = 0; i < a.values.length; i++) {
    x -= a.weights[i];
    if (x < 0) return a.values[i];
  }
  return a.values[a.values.length - 1];
}

/**
 * Case `index` of a campaign: with mutation on, a share of cases mutate parents from the pool snapshot of the
 * case's epoch (pool.ts; they keep the parent's design, actors and schedule); the others get their design
 * drawn from the space, their ops generated, and are dealt to actors when concurrency is on.
 */
export function campaignCase(campaign: Design, space: DesignSpace | null | undefined, seed: number, index: number, concurrency?: ConcurrencySettings | null, pool?: MutationSource | null): Case {
  const m = pool ? mutatedCase(seed, index, pool.mutation, pool.view) : null;
  if (m) return m.case;
  const c = generateCase(space ? sampleDesign(space, campaign, seed, index) : campaign, seed, index);
  return concurrency ? withActors(c, seed, index, concurrency) : c;
}

/** The settings of a case's design that differ from the campaign design, layout left out, e.g. {"dpamt": false}. */
export function designDiff(caseDesign: Design, campaign: Design): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  for (const k of DESIGN_KEYS) {
    if (k === 'guardsOff' || (LAYOUT_KEYS as string[]).includes(k)) continue;
    if (caseDesign[k] !== campaign[k]) out[k] = caseDesign[k] as SettingValue;
  }
  return out;
}

/** One line about the space, for the campaign header. */
export function describeDesignSpace(space: DesignSpace | null | undefined): string {
  if (!space || space.axes.length === 0) return 'none (every case runs the campaign design)';
  const keys = space.axes.map((a) => a.key).join(', ');
  const keep = space.keepShare > 0 ? `; about ${Math.round(space.keepShare * 100)}% of the cases keep the campaign design` : '';
  return `${space.source}: ${keys} varied per case${keep}`;
}
