// The schedule of a case with several actors (issue 10): which actor runs each atomic step. A case records
// it as the switch points the run made ("before step k, actor a runs"); between switches the running actor
// keeps going until it finishes its ops or blocks. A generated case may instead name a policy (PCT or
// random), which the run turns into recorded switches, so a saved failure replays step for step.
import seedrandom from 'seedrandom';

/** Before global step `step` (0-based count of steps run), actor `to` runs. */
export interface Switch {
  step: number;
  to: number;
}

/**
 * PCT (Burckhardt et al., ASPLOS 2010): random distinct actor priorities, the highest runnable actor runs,
 * and at each of depth-1 change points the running actor drops below every initial priority.
 * `random`: at each step, with probability 1/`mean` switch to an actor drawn uniformly.
 */
export type SchedulePolicy = { kind: 'pct'; seed: number; depth: number; horizon: number } | { kind: 'random'; seed: number; mean: number };

export const MAX_ACTORS = 6;
export const MAX_VCPUS = 4;

/** Chooses the actor of each step; `runnable` lists the actors that may run now (not finished, not blocked). */
export interface Scheduler {
  pick(step: number, current: number, runnable: readonly number[]): number;
}

/** Follow recorded switches; between them keep the current actor while it can run, else the next that can. */
export class ReplayScheduler implements Scheduler {
  private k = 0;
  constructor(private readonly switches: readonly Switch[]) {}
  pick(step: number, current: number, runnable: readonly number[]): number {
    let want = current;
    while (this.k < this.switches.length && this.switches[this.k].step <= step) want = this.switches[this.k++].to;
    return runnable.includes(want) ? want : nextAfter(want, runnable);
  }
}

/** The first runnable actor after `a` in index order, wrapping around. */
function nextAfter(a: number, runnable: readonly number[]): number {
  for (const r of runnable) if (r > a) return r;
  return runnable[0];
}

export class PctScheduler implements Scheduler {
  private readonly prio: number[];
  private readonly changeAt: number[];
  private changes = 0;
  constructor(actors: number, p: Extract<SchedulePolicy, { kind: 'pct' }>) {
    const rng = seedrandom(`pct:${p.seed}`);
    // distinct initial priorities depth..depth+actors-1 in random order; change points lower to 1..depth-1
    this.prio = Array.from({ length: actors }, (_, i) => p.depth + i);
    for (let i = actors - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [this.prio[i], this.prio[j]] = [this.prio[j], this.prio[i]];
    }
    this.changeAt = Array.from({ length: Math.max(0, p.depth - 1) }, () => Math.floor(rng() * p.horizon)).sort((a, b) => a - b);
  }
  pick(step: number, current: number, runnable: readonly number[]): number {
    while (this.changes < this.changeAt.length && this.changeAt[this.changes] <= step) {
      this.prio[current] = this.changeAt.length - this.changes; // below every initial priority
      this.changes++;
    }
    let best = runnable[0];
    for (const a of runnable) if (this.prio[a] > this.prio[best]) best = a;
    return best;
  }
}

export class RandomScheduler implements Scheduler {
  private readonly rng: () => number;
  constructor(private readonly p: Extract<SchedulePolicy, { kind: 'random' }>) {
    this.rng = seedrandom(`random-schedule:${p.seed}`);
  }
  pick(_step: number, current: number, runnable: readonly number[]): number {
    if (runnable.includes(current) && this.rng() * this.p.mean >= 1) return current;
    return runnable[Math.floor(this.rng() * runnable.length)];
  }
}

export function schedulerFor(actors: number, s: readonly Switch[] | SchedulePolicy | undefined): Scheduler {
  if (s === undefined || Array.isArray(s)) return new ReplayScheduler((s as Switch[] | undefined) ?? []);
  const p = s as SchedulePolicy;
  return p.kind === 'pct' ? new PctScheduler(actors, p) : new RandomScheduler(p);
}
