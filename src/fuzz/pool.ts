// The mutation pool (issue 12): the corpus as a campaign grows it, in commit order, with the coverage each
// entry brought. Case i's parents are a pure function of (seed, i, the pool snapshot of its epoch), so a
// campaign is the same set of cases with 1 worker or 16 (architecture principle 3):
//
//   - epoch k holds the cases with (shard-local) indices [k*E, (k+1)*E);
//   - its snapshot is the pool as committed after every case below (k-1)*E (the entries the run started
//     with for k <= 1), so the coordinator may run epoch k while epoch k-1 is still in flight;
//   - the pool only grows (append in index order), so a snapshot is a length.
//
// Parents are drawn by weight: more for more coverage brought (log-scaled, so one rich case does not take
// every draw), more for recent entries (up to RECENCY times the oldest), less for costly ones (many ops on a
// large GPA space: a 75-op selftest on 1024 2M ranges runs a hundred times longer than a generated case),
// as AFL++'s favoured queue prefers fast, small entries that bring coverage.
import type { Case } from './case.js';
import { mutateCase, mutationRng, type Operator, wantsDonor } from './mutate.js';
import type { Rng } from './generate.js';

/** Cases per epoch (shard-local indices). Fixed: changing it changes which cases a campaign runs. */
export const EPOCH = 512;

/** The newest entry weighs this many times the oldest with the same coverage. */
const RECENCY = 4;

/** Mutation settings of a campaign: the share of cases mutated from the pool once it has entries. */
export interface MutationSettings {
  share: number;
  /**
   * The first epoch with mutated cases; the epochs before it are generated afresh. Absent (campaigns
   * started before it existed): 0.
   */
  fromEpoch?: number;
  /**
   * The share follows the search (epochShare): `share` is the first mutating epoch's, and each later epoch
   * mutates a share set by the new coverage mutated and generated cases brought in the epochs committed before
   * its snapshot. Absent (campaigns started before it existed, or a fixed --mutate S): the share stays `share`.
   */
  adaptive?: boolean;
}

/**
 * Campaigns mutate from epoch 1: the first EPOCH cases are generated whatever the corpus, so the campaign
 * starts at once instead of waiting for the corpus cases to run (the parents' weights need their coverage),
 * and the failures those cases meet are met at the same case as with --mutate 0.
 */
export const MUTATE_FROM_EPOCH = 1;

/** The mutation settings of a campaign mutating a fixed share `share` of its cases, or `auto`; null for 0. */
export function mutationOf(share: number | 'auto'): MutationSettings | null {
  if (share === 'auto') return { share: ADAPTIVE_START, fromEpoch: MUTATE_FROM_EPOCH, adaptive: true };
  return share > 0 ? { share, fromEpoch: MUTATE_FROM_EPOCH } : null;
}

/** --mutate auto's share in the first mutating epochs, before either arm has a record. */
export const ADAPTIVE_START = 0.1;
/** Bounds of an adaptive share: neither arm is ever starved (a corpus that stalls now may steer later). */
export const ADAPTIVE_MIN = 0.1;
export const ADAPTIVE_MAX = 0.9;
/** Epochs an adaptive share looks back on. */
export const ADAPTIVE_WINDOW = 4;
/** Weight, in cases, of the common rate in each arm's rate (epochShare). */
const PRIOR_CASES = 128;

/** What the cases of one epoch brought, as committed in case order (features go to the first case reaching them). */
export interface EpochYield {
  epoch: number;
  cases: number;
  /** Of them mutated from the pool. */
  mutated: number;
  /** New coverage features brought by the mutated cases, and by the generated ones. */
  fromMutated: number;
  fromGenerated: number;
}

/**
 * The share of epoch `epoch`: fixed, or for an adaptive campaign the mutated arm's part of the two arms'
 * squared rates of new features per case (each shrunk toward the common rate by PRIOR_CASES cases) over
 * the ADAPTIVE_WINDOW epochs committed before its snapshot (epochs up to epoch-2, those with mutated cases),
 * between ADAPTIVE_MIN and ADAPTIVE_MAX: a two-armed bandit that leans harder than probability matching
 * toward the better arm. `yields` must hold those epochs complete (the coordinator keeps them; a resumed run
 * has them from campaign.json).
 */
export function epochShare(m: MutationSettings, epoch: number, yields: readonly EpochYield[]): number {
  if (!m.adaptive) return m.share;
  let casesM = 0;
  let casesG = 0;
  let featM = 0;
  let featG = 0;
  for (const y of yields) {
    if (y.epoch > epoch - 2 || y.epoch < epoch - 1 - ADAPTIVE_WINDOW || y.mutated === 0) continue;
    casesM += y.mutated;
    casesG += y.cases - y.mutated;
    featM += y.fromMutated;
    featG += y.fromGenerated;
  }
  if (casesM === 0) return m.share;
  // neither arm found anything: no reason to prefer one
  if (featM + featG === 0) return 0.5;
  // each arm's rate is shrunk toward the two arms' common rate by PRIOR_CASES cases of it, so an arm that ran
  // few cases is judged mostly by the common rate, not by its own luck (a fixed prior of one feature in so many
  // cases overrates the arm that ran few cases once features are rare, and the share swings from bound to bound)
  const common = (featM + featG) / (casesM + casesG);
  const rateM = (featM + common * PRIOR_CASES) / (casesM + PRIOR_CASES);
  const rateG = (featG + common * PRIOR_CASES) / (casesG + PRIOR_CASES);
  // squared rates: the arm that brings twice the coverage per case gets four fifths of the cases, not two thirds
  const s = (rateM * rateM) / (rateM * rateM + rateG * rateG);
  return Math.min(ADAPTIVE_MAX, Math.max(ADAPTIVE_MIN, s));
}

/** Yields the coordinator keeps (and campaign.json saves): enough for the shares of every epoch still in use. */
export const YIELDS_KEPT = ADAPTIVE_WINDOW + 6;

/** Does epoch `epoch` (of shard-local indices) mutate any case? */
export function mutatesIn(m: MutationSettings | null | undefined, epoch: number): boolean {
  return !!m && m.share > 0 && epoch >= (m.fromEpoch ?? 0);
}

/** A share as a whole percentage: 0.25 -> "25%". */
export function formatShare(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** One line about the campaign's mutation, for the header and the summary. */
export function describeMutation(m: MutationSettings | null | undefined, mutated?: number): string {
  if (!m || m.share <= 0) return 'none (every case generated afresh)';
  const n = mutated === undefined ? '' : `; ${mutated} cases mutated`;
  const from = m.fromEpoch ? ` from case ${m.fromEpoch * EPOCH} on` : '';
  const which = m.adaptive
    ? `auto: a share of the cases${from} (${formatShare(m.share)} at first, then ${formatShare(ADAPTIVE_MIN)}-${formatShare(ADAPTIVE_MAX)} by the new coverage mutated and generated cases brought in the last ${ADAPTIVE_WINDOW} epochs of ${EPOCH} cases)`
    : `${formatShare(m.share)} of the cases${from}`;
  return `${which} mutate corpus cases (parents by coverage brought and recency), the rest are generated${n}`;
}

export interface PoolEntry {
  case: Case;
  /** The case file (the working corpus, or the corpus it was read from). */
  file: string;
  /** Shard-local index of the campaign case that added it; -1 for the corpus the campaign started with. */
  index: number;
  /** Coverage features this entry added when it was committed (the seeded ones: when the corpus was read). */
  brought: number;
}

/** Ops and gfns of a generated case of the campaign defaults, about: the unit of parentCost. */
const USUAL_OPS = 10;
const USUAL_GFNS = 32;

/** How much longer than a usual generated case a parent (and so its children) runs, roughly: ops times GPA size. */
export function parentCost(c: Case): number {
  return Math.max(1, c.ops.length / USUAL_OPS) * Math.max(1, (c.design.ptrs * c.design.regions) / USUAL_GFNS);
}

/** Parent weights of a snapshot: the first `length` entries, by coverage brought, recency and cost. */
export function poolWeights(entries: readonly { brought: number; cost: number }[], length: number): Float64Array {
  const w = new Float64Array(length);
  for (let i = 0; i < length; i++) w[i] = ((1 + Math.log2(1 + entries[i].brought)) * (1 + ((RECENCY - 1) * (i + 1)) / length)) / entries[i].cost;
  return w;
}

/** A snapshot of the pool as a worker sees it: all weights, and the cases of the entries it may need. */
export interface PoolView {
  /** Cumulative weights (the last is the total). */
  cumulative: Float64Array;
  entry(pos: number): Case;
}

export function cumulativeOf(weights: ArrayLike<number>): Float64Array {
  const c = new Float64Array(weights.length);
  let t = 0;
  for (let i = 0; i < weights.length; i++) c[i] = t += weights[i];
  return c;
}

function drawEntry(cum: Float64Array, rng: Rng): number {
  const x = rng.int(0x40000000) / 0x40000000 * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface Plan {
  parent: number;
  donor: number | null;
  rng: Rng;
}

/** Is case `index` mutated, and from which entries? null: it is generated afresh. */
export function planCase(seed: number, index: number, m: MutationSettings, cumulative: Float64Array): Plan | null {
  if (m.share <= 0 || cumulative.length === 0) return null;
  const rng = mutationRng(seed, index);
  if (!rng.chance(m.share)) return null;
  const parent = drawEntry(cumulative, rng);
  const donor = wantsDonor(rng) ? drawEntry(cumulative, rng) : null;
  return { parent, donor, rng };
}

/** The entries case `index` needs from the snapshot (to send with its batch). */
export function entriesNeeded(seed: number, index: number, m: MutationSettings, cumulative: Float64Array): number[] {
  const p = planCase(seed, index, m, cumulative);
  return p ? (p.donor === null ? [p.parent] : [p.parent, p.donor]) : [];
}

/** The mutated case `index`, or null when it is generated afresh. */
export function mutatedCase(seed: number, index: number, m: MutationSettings, view: PoolView): { case: Case; applied: Operator[] } | null {
  const p = planCase(seed, index, m, view.cumulative);
  if (!p) return null;
  return mutateCase(view.entry(p.parent), p.donor === null ? null : view.entry(p.donor), p.rng, seed, index);
}

/** The epoch of a shard-local case index. */
export function epochOf(local: number): number {
  return Math.floor(local / EPOCH);
}

/** Cases below this shard-local index must be committed before epoch k's snapshot is known. */
export function snapshotBoundary(epoch: number): number {
  return Math.max(0, (epoch - 1) * EPOCH);
}
