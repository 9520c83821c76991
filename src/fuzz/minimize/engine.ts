// The minimisation engine (anchors.md 3.3, syzkaller's prog/minimization.go): greedy reduction of a value
// under a predicate, pass by pass, to a fixed point. It knows nothing about cases or the executor: a pass
// proposes simpler candidates, the predicate says whether one still shows the failure, a cache skips
// candidates already tried, and an attempt budget bounds the work while the best value so far is kept.

/** What a pass may read besides the value: the predicate's answer for it, and a memo kept while the pass runs. */
export interface PassContext<R> {
  /** The predicate's result for the current value. */
  result: R;
  /** Per-pass scratch space, kept across the restarts of one pass within one round (e.g. ddmin's chunk size). */
  memo: Record<string, number>;
}

/** Candidates simpler than `x`, the most aggressive first. A plain `(x) => Iterable<T>` is a pass too. */
export type Pass<T, R = unknown> = (x: T, ctx: PassContext<R>) => Iterable<T>;

/** Truthy: the candidate keeps the failure (the value is its result); falsy: it does not. */
export type Predicate<T, R> = (x: T) => R | null | undefined | false;

export interface ReduceOptions<T> {
  /** Most predicate calls (default 3000). When spent, the best value found so far is returned. */
  maxAttempts?: number;
  /** Identity of a candidate for the cache (default: stable JSON of the whole value, every field included). */
  key?: (x: T) => string;
  /** Accept a candidate only if it is strictly better than the current value (default: always): makes termination certain. */
  better?: (candidate: T, current: T) => boolean;
  /** A second budget, checked before each predicate call (e.g. model steps the candidates ran): true stops like maxAttempts. */
  spent?: () => boolean;
}

export interface Reduced<T, R> {
  value: T;
  result: R;
  /** Predicate calls made. */
  attempts: number;
  /** Candidates skipped because an equal one was tried before. */
  cacheHits: number;
  /** Candidates accepted (each made the value simpler). */
  accepted: number;
  /** The budget ran out before a fixed point. */
  exhausted: boolean;
}

/** JSON with object keys sorted at every level: equal values give equal strings whatever their key order. */
export function stableJson(x: unknown): string {
  if (x === null || typeof x !== 'object') return JSON.stringify(x) ?? 'null';
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
  const o = x as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}

/**
 * Reduce `start` (for which the predicate gave `startResult`) with `passes` in order. After a pass's
 * candidate is accepted the pass starts again on the new value (its memo kept); a round runs every pass,
 * and rounds repeat until one accepts nothing or the budget is spent.
 */
export function reduce<T, R>(start: T, startResult: R, test: Predicate<T, R>, passes: readonly Pass<T, R>[], opts: ReduceOptions<T> = {}): Reduced<T, R> {
  const max = opts.maxAttempts ?? 3000;
  const key = opts.key ?? stableJson;
  const tried = new Set<string>([key(start)]);
  const out: Reduced<T, R> = { value: start, result: startResult, attempts: 0, cacheHits: 0, accepted: 0, exhausted: false };
  let progress = true;
  while (progress && !out.exhausted) {
    progress = false;
    for (const pass of passes) {
      const memo: Record<string, number> = {};
      let again = true;
      while (again && !out.exhausted) {
        again = false;
        for (const cand of pass(out.value, { result: out.result, memo })) {
          if (opts.better && !opts.better(cand, out.value)) continue;
          const k = key(cand);
          if (tried.has(k)) {
            out.cacheHits++;
            continue;
          }
          if (out.attempts >= max || opts.spent?.()) {
            out.exhausted = true;
            break;
          }
          tried.add(k);
          out.attempts++;
          const r = test(cand);
          if (r) {
            out.value = cand;
            out.result = r;
            out.accepted++;
            again = progress = true;
            break;
          }
        }
      }
      if (out.exhausted) break;
    }
  }
  return out;
}

/**
 * ddmin over a list (Zeller's delta debugging, complement-only): remove chunks of `size`, halving the size
 * down to `minChunk`; the memo keeps the size reached, so after a removal the pass goes on at that size.
 */
export function* chunkRemovals<E>(items: readonly E[], memo: Record<string, number>, minChunk = 1): Generator<E[]> {
  for (let size = memo.chunk ?? items.length >> 1; size >= minChunk; size >>= 1) {
    memo.chunk = size;
    for (let start = items.length - size; start >= 0; start -= size) {
      if (items.length - size < 1) continue;
      yield [...items.slice(0, start), ...items.slice(start + size)];
    }
    // the first chunk when the size does not divide the length
    const rest = items.length % size;
    if (rest > 0 && items.length - rest >= 1) yield items.slice(rest);
  }
}
