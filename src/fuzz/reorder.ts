// A reorder buffer: results arrive in any order (whichever worker finishes first) and are committed
// strictly in sequence order, so what a campaign saves does not depend on the number of workers.

export class InOrder<T> {
  private next = 0;
  private readonly ready = new Map<number, T>();

  constructor(private readonly commit: (item: T, seq: number) => void) {}

  /** Hand in the result numbered `seq`; commits it and every consecutive result already waiting. */
  put(seq: number, item: T): void {
    if (seq < this.next || this.ready.has(seq)) throw new Error(`result ${seq} handed in twice`);
    this.ready.set(seq, item);
    while (this.ready.has(this.next)) {
      const it = this.ready.get(this.next) as T;
      this.ready.delete(this.next);
      this.commit(it, this.next++);
    }
  }

  /** Results received but waiting for an earlier one. */
  get waiting(): number {
    return this.ready.size;
  }

  /** Results committed so far. */
  get committed(): number {
    return this.next;
  }
}
