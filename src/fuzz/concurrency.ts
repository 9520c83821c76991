// Concurrent cases from generated ones (issue 10): the ops of a generated case are dealt to actors of the
// kind that issues them (vCPUs, the ioctl thread, the host mm), and the case gets a scheduling policy,
// PCT or random, which the run turns into recorded switch points. Deterministic in (seed, index).
import type { ActorKind } from '../model/vocab/index.js';
import { guardInfo } from '../model/guards.js';
import { OPS } from '../model/vocab/index.js';
import type { Case } from './case.js';
import { Rng } from './generate.js';
import type { SchedulePolicy } from './schedule.js';

/** Which policies concurrent cases get: PCT, uniform random switching, or both (half each). */
export type ScheduleMix = 'pct' | 'random' | 'mix';
export const SCHEDULE_MIXES: readonly ScheduleMix[] = ['pct', 'random', 'mix'];

export interface ConcurrencySettings {
  /** Share of a campaign's cases that run with several actors (0 = every case has one actor). */
  share: number;
  schedule: ScheduleMix;
}

/**
 * Off by default for now: concurrent cases run at about half the speed of one-actor cases, and long concurrent
 * campaigns on the correct design have turned up a false alarm about once in every few hundred thousand concurrent
 * cases (4 at 62af0ee in 1.8 million cases, 1 at f2c71f1 in 1.2 million; all fixed). The 30-minute campaign at 9940367
 * (seed 41, 750,504 cases, half concurrent) found none (bench/results/concurrency-2026-12-07.md).
 */
export const DEFAULT_CONCURRENCY: ConcurrencySettings = { share: 0, schedule: 'mix' };

/** Steps a generated op takes on average, for the PCT horizon (change points fall inside the run). */
const STEPS_PER_OP = 12;

/** The case, dealt to actors with a scheduling policy, or unchanged when it stays a one-actor case. */
export function withActors(c: Case, seed: number, index: number, s: ConcurrencySettings): Case {
  if (s.share <= 0) return c;
  const rng = new Rng(`tdxfuzz/actors/${seed}/${index}`);
  if (!rng.chance(s.share)) return c;
  const need = new Set(c.ops.map((o) => OPS[o.op].actor));
  // two vCPUs most of the time: the races of model-spec.md 6 need two; sometimes three or four
  const vcpus = need.has('vcpu') || rng.chance(0.5) ? rng.weighted([[2, 6], [1, 2], [3, 1], [4, 1]] as const) : 0;
  const actors: ActorKind[] = [];
  for (let i = 0; i < vcpus; i++) actors.push('vcpu');
  if (need.has('ioctl')) actors.push('ioctl');
  if (need.has('mm')) actors.push('mm');
  if (actors.length < 2) return c;
  const byKind = (k: ActorKind): number[] => actors.flatMap((a, i) => (a === k ? [i] : []));
  const ops = c.ops.map((o) => ({ ...o, actor: rng.pick(byKind(OPS[o.op].actor)) }));
  const kind = s.schedule === 'mix' ? (rng.chance(0.5) ? 'pct' : 'random') : s.schedule;
  const policySeed = rng.int(0x7fffffff);
  const schedule: SchedulePolicy =
    kind === 'pct'
      ? { kind: 'pct', seed: policySeed, depth: 2 + rng.int(3), horizon: Math.max(1, c.ops.length * STEPS_PER_OP) }
      : { kind: 'random', seed: policySeed, mean: rng.weighted([[4, 1], [12, 2], [40, 1]] as const) };
  return { ...c, version: 2, actors, schedule, ops };
}

/** One line about the campaign's concurrency, for the header and the summary. */
export function describeConcurrency(s: ConcurrencySettings | null): string {
  if (!s || s.share <= 0) return 'none (one actor per case)';
  const how = s.schedule === 'mix' ? 'PCT and random schedules, half each' : s.schedule === 'pct' ? 'PCT schedules' : 'random schedules';
  return `${Math.round(s.share * 100)}% of the cases run several actors (${how})`;
}

/** The share of cases with several actors a campaign gets when a guard it switches off guards a race. */
export const RACE_GUARD_SHARE = 0.5;

/**
 * A campaign's concurrency: --concurrency when given (0 keeps one actor per case); otherwise the default,
 * unless the default is off and a switched-off guard is marked `needsActors` (its bug is a race between
 * actors, model-spec.md 6): then RACE_GUARD_SHARE of the cases run several actors, and `note` says so.
 */
export function campaignConcurrency(
  given: boolean,
  share: number,
  schedule: ScheduleMix,
  guardsOff: readonly string[],
): { settings: ConcurrencySettings | null; note: string | null } {
  if (given || DEFAULT_CONCURRENCY.share > 0) return { settings: share > 0 ? { share, schedule } : null, note: null };
  const races = guardsOff.map((id) => guardInfo(id)).filter((g) => g?.needsActors);
  if (!races.length) return { settings: null, note: null };
  const settings = { share: RACE_GUARD_SHARE, schedule };
  const which = races.map((g) => `${g!.id} (${g!.bug})`).join(', ');
  return { settings, note: `concurrency: ${describeConcurrency(settings)}, because guard ${which} is off and its bug is a race between actors (--concurrency 0 keeps one actor)` };
}
