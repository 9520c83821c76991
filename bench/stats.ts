// Repeated measurements for the benchmark: every timing is taken several times and shown as its median
// and spread (min-max), and the arms of a comparison run interleaved in one process, so a ratio is never
// one run of A against one run of B taken minutes apart on a machine whose load changes meanwhile.

/** A repeated measurement: its values, median and range. */
export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

export function spread(xs: readonly number[]): Spread {
  return { n: xs.length, median: median(xs), min: xs.length ? Math.min(...xs) : NaN, max: xs.length ? Math.max(...xs) : NaN, values: [...xs] };
}

export const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : x === Infinity ? 'inf' : '-');

/** "median (min-max)", or "-" for no values. */
export function mmm(xs: readonly number[], d = 0): string {
  return xs.length ? `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)})` : '-';
}

/** "median (min-max), n=R" of a Spread. */
export function showSpread(s: Spread, d = 0): string {
  return s.n ? `${fmt(s.median, d)} (${fmt(s.min, d)}-${fmt(s.max, d)}, n=${s.n})` : '-';
}

/**
 * Run the arms `reps` times, interleaved: A B, then B A, then A B... (the order flips every repetition so
 * a slow drift of the machine's load weighs on every arm alike). Returns each arm's results in rep order.
 */
export async function interleaved<K extends string, T>(reps: number, arms: Record<K, () => Promise<T> | T>, onRep?: (rep: number, arm: K) => void): Promise<Record<K, T[]>> {
  const keys = Object.keys(arms) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as T[]])) as Record<K, T[]>;
  for (let r = 0; r < reps; r++) {
    for (const k of r % 2 ? [...keys].reverse() : keys) {
      onRep?.(r, k);
      out[k].push(await arms[k]());
    }
  }
  return out;
}

/** Element-wise a[i] / b[i] (the ratio of each interleaved pair). */
export const ratios = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x / b[i]);
