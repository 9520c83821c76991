// The minimiser's passes over a concurrent case's actors and schedule (issue 10): fewer switches, fewer
// actors, and at best no actors at all (a one-actor case). Each is a Pass of engine.ts like the op passes.
import type { Case } from '../case.js';
import type { Switch } from '../schedule.js';
import { chunkRemovals } from './engine.js';
import type { CasePass } from './passes.js';

const switches = (c: Case): Switch[] | null => (c.actors && Array.isArray(c.schedule) ? c.schedule : null);

/** Drop the actors: every op in case order on one actor. */
export const serialize: CasePass = function* (c) {
  if (!c.actors) return;
  const { actors: _a, schedule: _s, ...rest } = c;
  yield { ...rest, version: 1, ops: c.ops.map(({ actor: _x, ...o }) => o as typeof c.ops[number]) };
};

/**
 * No switches at all, then chunks of switches removed (ddmin, halving down to single switches, latest first), so
 * a schedule of thousands of switches (a livelock's) shrinks in a few hundred attempts, not one per switch.
 */
export const dropSwitches: CasePass = function* (c, { memo }) {
  const s = switches(c);
  if (!s || s.length === 0) return;
  yield { ...c, schedule: [] };
  if (s.length === 1) return;
  for (const kept of chunkRemovals(s, memo, 1)) yield { ...c, schedule: kept };
};

/** Move each switch one step earlier (a shorter prefix runs before the other actor takes over). */
export const earlierSwitches: CasePass = function* (c) {
  const s = switches(c);
  if (!s) return;
  for (let i = 0; i < s.length; i++) {
    const prev = i > 0 ? s[i - 1].step : -1;
    if (s[i].step - 1 > prev) yield { ...c, schedule: s.map((x, j) => (j === i ? { step: x.step - 1, to: x.to } : x)) };
  }
};

/** Merge actor b into an earlier actor a of the same kind: its ops run on a; the schedule forgets b. */
export const mergeActors: CasePass = function* (c) {
  const actors = c.actors;
  if (!actors || actors.length < 2) return;
  for (let b = actors.length - 1; b > 0; b--) {
    const a = actors.findIndex((k, i) => i < b && k === actors[b]);
    const used = c.ops.some((o) => o.actor === b);
    if (a < 0 && used) continue;
    const renum = (x: number): number => (x === b ? a : x > b ? x - 1 : x);
    const ops = c.ops.map((o) => (o.actor === undefined ? o : { ...o, actor: renum(o.actor) }));
    const next = actors.filter((_, i) => i !== b);
    const s = switches(c);
    const schedule = s ? s.filter((x) => x.to !== b).map((x) => ({ step: x.step, to: renum(x.to) })) : c.schedule;
    yield { ...c, actors: next, ops, schedule };
  }
};

/** Actors that issue no op go, the others renumbered (switches to a dropped actor go too). */
export const dropIdleActors: CasePass = function* (c) {
  const actors = c.actors;
  if (!actors || actors.length < 2) return;
  const used = actors.map((_, a) => c.ops.some((o) => o.actor === a));
  if (used.every(Boolean) || !used.some(Boolean)) return;
  const map = used.map((u, a) => (u ? used.slice(0, a).filter(Boolean).length : -1));
  const s = switches(c);
  yield {
    ...c,
    actors: actors.filter((_, a) => used[a]),
    ops: c.ops.map((o) => (o.actor === undefined ? o : { ...o, actor: map[o.actor] })),
    schedule: s ? s.filter((x) => used[x.to]).map((x) => ({ step: x.step, to: map[x.to] })) : c.schedule,
  };
};

export const SCHEDULE_PASSES: readonly CasePass[] = [serialize, dropIdleActors, mergeActors, dropSwitches, earlierSwitches];
