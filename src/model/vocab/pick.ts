// Weighted choices: the one way the vocabulary states which values it favours. Both the seeded generator
// (src/fuzz/generate.ts) and the fast-check baseline (bench/fastcheck.ts) interpret the same Pick, so they
// draw from the same values with the same weights.

/** Every integer from min to max (inclusive), drawn uniformly. */
export interface Interval {
  readonly min: number;
  readonly max: number;
}

/** [value or interval, weight] pairs; weights need not sum to 1. */
export type Pick<T = number> = readonly (readonly [T | Interval, number])[];

export function isInterval(x: unknown): x is Interval {
  return typeof x === 'object' && x !== null && 'min' in x && 'max' in x;
}

export const interval = (min: number, max: number): Interval => ({ min, max: Math.max(min, max) });

/** The source of randomness a Pick is drawn with: the generator's Rng satisfies it. */
export interface Draw {
  /** Integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  weighted<T>(xs: readonly (readonly [T, number])[]): T;
}

export function drawPick<T>(d: Draw, p: Pick<T>): T | number {
  const v = d.weighted(p);
  return isInterval(v) ? v.min + d.int(v.max - v.min + 1) : v;
}
