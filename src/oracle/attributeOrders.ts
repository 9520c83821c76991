// Serial orders for a linearizability search that gave up (oracle.ts giveUp): the memory attribute of a gfn
// is a register that conversions write. Each op takes effect at some point within its interval [began,
// ended] (Herlihy & Wing 1990, linearization points), and sorting by points gives a serial order that
// respects real-time order. A conversion that no conversion of some gfn of it follows in real time (begins
// after it ended) can be the last to write that gfn: its point at its end, theirs at their beginnings. The completion
// order (every point at the end) shows only the conversion that ended last.

/** What attributeOrders needs of an ended op (or a step of one). */
export interface TimedEvent {
  ctx: { op: { op: string }; beganAt: number };
  endedAt: number;
  /** The event before it in its op's program order. */
  prev?: TimedEvent;
}

/** Ops that write memory attributes: a conversion ioctl, or a MapGPA the VMM converts for. */
function writesAttributes(e: TimedEvent): boolean {
  return e.ctx.op.op === 'convert' || e.ctx.op.op === 'mapGpa';
}

function overlaps(a: [number, number] | null, b: [number, number] | null): boolean {
  return a === null || b === null || (a[0] < b[1] && b[0] < a[1]);
}

/** Is every gfn of `r` in one of `by` (null: every gfn)? */
function covered(r: [number, number] | null, by: ([number, number] | null)[]): boolean {
  if (by.some((b) => b === null)) return true;
  if (r === null) return false;
  let next = r[0]; // the first gfn of r not yet covered
  for (const [lo, hi] of (by as [number, number][]).slice().sort((a, b) => a[0] - b[0])) {
    if (lo > next) break;
    next = Math.max(next, hi);
  }
  return next >= r[1];
}

/** `window` sorted by points: the events of `early` at their beginnings, the rest at their ends, none before the step before it. */
function orderWith<E extends TimedEvent>(window: readonly E[], early: ReadonlySet<E>): E[] {
  const point = new Map<TimedEvent, number>();
  for (const e of window) {
    const p = early.has(e) ? e.ctx.beganAt : e.endedAt;
    point.set(e, Math.max(p, e.prev ? point.get(e.prev) ?? p : p)); // program order: window keeps it
  }
  // at a tie an event taken at its beginning goes first: it began no later than the other ended
  const rank = (e: E): number => (early.has(e) ? 0 : 1);
  return window.map((e, i) => ({ e, i, p: point.get(e)! })).sort((a, b) => a.p - b.p || rank(a.e) - rank(b.e) || a.i - b.i).map((x) => x.e);
}

/**
 * The completion order `window`, then orders in which each conversion that no conversion of some gfn of it
 * follows in real time is the last on its gfns, in every combination over disjoint gfns, at most
 * `max` orders in all. Each respects real-time order and each op's program order.
 */
export function attributeOrders<E extends TimedEvent>(window: readonly E[], footprint: (e: E) => [number, number] | null, max: number): E[][] {
  const writers = window.filter(writesAttributes);
  const feet = new Map(writers.map((w) => [w, footprint(w)] as const));
  const rivals = (w: E): E[] => writers.filter((o) => o !== w && overlaps(feet.get(w)!, feet.get(o)!));
  // last on some gfn: not every gfn of it is written again by a conversion that begins after it ended
  const last = writers.filter((w) => !covered(feet.get(w)!, rivals(w).filter((o) => o.ctx.beganAt > w.endedAt).map((o) => feet.get(o)!)));
  let early: Set<E>[] = [new Set()];
  for (const w of last) {
    const r = rivals(w);
    if (!r.length) continue; // alone on its gfns: every order leaves its attributes
    // w last on its gfns, with each choice so far that left it free to be (did not move it early)
    const more = early.filter((s) => !s.has(w)).map((s) => new Set([...s, ...r]));
    early = [...early, ...more].slice(0, max);
  }
  // distinct orders only: moving a conversion that already ends last early-free changes nothing
  const byKey = new Map<string, E[]>();
  for (const s of early) {
    const o = orderWith(window, s);
    const key = o.map((e) => window.indexOf(e)).join(',');
    if (!byKey.has(key)) byKey.set(key, o);
  }
  return [...byKey.values()];
}
