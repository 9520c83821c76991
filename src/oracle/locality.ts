// Locality of linearizability (Herlihy & Wing 1990, Theorem 1): a history is linearizable iff its
// restriction to each object is. Overlapping ops whose reference footprints (the gfns they read or change)
// are disjoint act on separate objects, so the check orders each group apart: the search then costs the sum
// of the groups' orders, not their product (two 2M ACCEPT fallbacks on one range beside ops on another
// spent the whole budget on the product; corpus/regression/flow-linearize-independent-gfn-groups-apart.json).

/** Ops that share no gfn with ops outside the group, with the gfns they touch (mask[g] = 1). */
export interface Group<E> {
  events: E[];
  mask: Uint8Array;
}

/**
 * Split `events` into groups of ops that touch common gfns, transitively. A null footprint (the whole VM)
 * joins everything into one group; so does program order (an event and the one before it in its op).
 * Groups keep the events' order and come in the order of their first event.
 */
export function independentGroups<E>(events: readonly E[], footprint: (e: E) => [number, number] | null, prev: (e: E) => E | undefined, gfns: number): Group<E>[] {
  const n = events.length;
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const join = (a: number, b: number): void => {
    const [x, y] = [find(a), find(b)];
    if (x !== y) parent[Math.max(x, y)] = Math.min(x, y);
  };
  const feet = events.map(footprint);
  // the last event seen at each gfn: joining each event with it links every event of that gfn
  const owner = new Int32Array(gfns).fill(-1);
  for (let i = 0; i < n; i++) {
    const f = feet[i];
    if (f === null) {
      for (let j = 0; j < n; j++) join(i, j);
      continue;
    }
    for (let g = f[0]; g < f[1]; g++) {
      if (owner[g] >= 0) join(i, owner[g]);
      owner[g] = i;
    }
    const p = prev(events[i]);
    const k = p === undefined ? -1 : events.indexOf(p);
    if (k >= 0) join(i, k);
  }
  const byRoot = new Map<number, Group<E>>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    let grp = byRoot.get(r);
    if (!grp) byRoot.set(r, (grp = { events: [], mask: new Uint8Array(gfns) }));
    grp.events.push(events[i]);
    const f = feet[i];
    if (f === null) grp.mask.fill(1);
    else grp.mask.fill(1, f[0], f[1]);
  }
  return [...byRoot.values()];
}

/** What combineGroupStates needs of a reference state. */
export interface GroupState<S> {
  clone(): S;
  copyGfnsFrom(o: S, mask: Uint8Array, findingsFrom: number): void;
  widenWith(others: readonly S[]): boolean;
  readonly knownDesignFindings: readonly string[];
}

/**
 * The states a window of groups ordered apart may have left: each starting state completed, at each group's
 * gfns, with one of the states that group's orders left from it (parts[k].get(start)), every combination in
 * order up to `max`. Past that the last kept stands for every combination of the starting states from the
 * cut on: each group's states widened into one (the states one start leaves in a group differ only at that
 * group's gfns, so widening them apart and combining widens the product). `exact`: nothing it could not widen.
 */
export function combineGroupStates<S extends GroupState<S>>(starts: readonly S[], masks: readonly Uint8Array[], parts: readonly Map<number, S[]>[], max: number): { states: S[]; widened: boolean; exact: boolean } {
  const combine = (i: number, pick: (k: number) => S): S => {
    const out = starts[i].clone();
    masks.forEach((mask, k) => out.copyGfnsFrom(pick(k), mask, starts[i].knownDesignFindings.length));
    return out;
  };
  const from = starts.map((_, i) => i).filter((i) => parts.every((p) => p.has(i)));
  const states: S[] = [];
  let cut = -1;
  for (let c = 0; c < from.length && cut < 0; c++) {
    const lists = parts.map((p) => p.get(from[c])!);
    const at = lists.map(() => 0);
    let done = false;
    while (!done && states.length < max) {
      states.push(combine(from[c], (k) => lists[k][at[k]]));
      let k = lists.length - 1;
      while (k >= 0 && ++at[k] === lists[k].length) at[k--] = 0;
      done = k < 0;
    }
    if (states.length === max && (!done || c < from.length - 1)) cut = c;
  }
  if (cut < 0) return { states, widened: false, exact: true };
  let exact = true;
  const collapsed = from.slice(cut).map((i) =>
    combine(i, (k) => {
      const [head, ...rest] = parts[k].get(i)!;
      const w = head.clone();
      if (!w.widenWith(rest)) exact = false;
      return w;
    }),
  );
  const last = collapsed[0];
  if (!last.widenWith(collapsed.slice(1))) exact = false;
  states[max - 1] = last;
  return { states, widened: true, exact };
}
