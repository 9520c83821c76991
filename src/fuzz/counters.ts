// Campaign counters shared by the workers and the main thread through a SharedArrayBuffer (anchors.md
// 3.4: progress without messages). Workers bump them with Atomics; the main thread only samples them for
// the status line. Results never depend on them: the coordinator counts committed batches itself.
// Each worker thread also claims a slot where it says what it is doing, for the status screen's
// per-worker health.

/** Cases run so far. */
export const CASES = 0;
/** Operations run so far. */
export const OPS = 1;
/** Failing cases so far (before deduplication). */
export const FAILURES = 2;
/** Minimisations finished so far. */
export const MINIMIZED = 3;
/** Next worker slot to hand out. */
const NEXT_SLOT = 4;
const FIELDS = 5;
/** Per slot: thread id, state, heartbeat (cases or minimisation attempts so far). */
const SLOT_FIELDS = 3;

export const IDLE = 0;
export const RUNNING = 1;
export const MINIMIZING = 2;

export interface CounterSample {
  cases: number;
  ops: number;
  failures: number;
  minimized: number;
}

export interface SlotSample {
  threadId: number;
  state: number;
  heartbeat: number;
}

/** 64-bit counters: an 8-hour campaign runs well over 2^31 operations. */
export class SharedCounters {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: BigInt64Array;
  readonly slots: number;

  /** `slots`: worker slots (replacement workers take new ones, wrapping around). */
  constructor(buffer?: SharedArrayBuffer, slots = 16) {
    this.buffer = buffer ?? new SharedArrayBuffer((FIELDS + slots * SLOT_FIELDS) * BigInt64Array.BYTES_PER_ELEMENT);
    this.cells = new BigInt64Array(this.buffer);
    this.slots = Math.floor((this.cells.length - FIELDS) / SLOT_FIELDS);
  }

  add(field: number, n: number): void {
    if (n !== 0) Atomics.add(this.cells, field, BigInt(n));
  }

  sample(): CounterSample {
    const get = (f: number): number => Number(Atomics.load(this.cells, f));
    return { cases: get(CASES), ops: get(OPS), failures: get(FAILURES), minimized: get(MINIMIZED) };
  }

  /** A worker thread takes a slot for its health; returns the slot number. */
  claimSlot(threadId: number): number {
    const slot = Number(Atomics.add(this.cells, NEXT_SLOT, 1n)) % this.slots;
    const base = FIELDS + slot * SLOT_FIELDS;
    Atomics.store(this.cells, base, BigInt(threadId));
    Atomics.store(this.cells, base + 1, BigInt(IDLE));
    return slot;
  }

  /** Worker threads that have loaded their modules (each claims a slot when it has): 0 while none has. */
  started(): number {
    return Number(Atomics.load(this.cells, NEXT_SLOT));
  }

  setState(slot: number, state: number): void {
    Atomics.store(this.cells, FIELDS + slot * SLOT_FIELDS + 1, BigInt(state));
  }

  beat(slot: number, n = 1): void {
    Atomics.add(this.cells, FIELDS + slot * SLOT_FIELDS + 2, BigInt(n));
  }

  slotSamples(): SlotSample[] {
    const out: SlotSample[] = [];
    for (let s = 0; s < this.slots; s++) {
      const base = FIELDS + s * SLOT_FIELDS;
      const threadId = Number(Atomics.load(this.cells, base));
      if (threadId !== 0) out.push({ threadId, state: Number(Atomics.load(this.cells, base + 1)), heartbeat: Number(Atomics.load(this.cells, base + 2)) });
    }
    return out;
  }
}
