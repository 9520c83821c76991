// Campaign counters shared by the workers and the main thread through a SharedArrayBuffer (anchors.md
// 3.4: progress without messages). Workers bump them with Atomics; the main thread only samples them for
// the status line. Results never depend on them: the coordinator counts committed batches itself.

/** Cases run so far. */
export const CASES = 0;
/** Operations run so far. */
export const OPS = 1;
/** Failing cases so far (before deduplication). */
export const FAILURES = 2;
/** Minimisations finished so far. */
export const MINIMIZED = 3;
const FIELDS = 4;

export interface CounterSample {
  cases: number;
  ops: number;
  failures: number;
  minimized: number;
}

/** 64-bit counters: an 8-hour campaign runs well over 2^31 operations. */
export class SharedCounters {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: BigInt64Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(FIELDS * BigInt64Array.BYTES_PER_ELEMENT);
    this.cells = new BigInt64Array(this.buffer);
  }

  add(field: number, n: number): void {
    if (n !== 0) Atomics.add(this.cells, field, BigInt(n));
  }

  sample(): CounterSample {
    const get = (f: number): number => Number(Atomics.load(this.cells, f));
    return { cases: get(CASES), ops: get(OPS), failures: get(FAILURES), minimized: get(MINIMIZED) };
  }
}
