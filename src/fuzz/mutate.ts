// Mutation of corpus cases (issue 12), in syzkaller's prog/mutation.go spirit: a parent from the corpus is
// changed a little (ops inserted, deleted, duplicated, spliced from a second parent; arguments moved toward
// 2M boundaries, memslot edges, one-page ranges and level changes; faults inserted, moved, weakened or
// removed; schedules perturbed). Everything is derived from the op table (src/model/vocab). Pure: the
// mutated case depends only on (parents, seed, index), never on the clock or the worker.
import type { FaultSpec, SeamcallFault } from '../model/faults.js';
import type { Op, OpKind } from '../model/ops.js';
import {
  drawPick, type FieldSpec, gfnPick, kindsIn, OPS, type Phase, type Space, spaceOf, weakerStatuses,
} from '../model/vocab/index.js';
import { isSiteFault } from '../model/faults.js';
import type { Case } from './case.js';
import { genFaults, OpGen, Rng } from './generate.js';
import type { Switch } from './schedule.js';

/** Bumped when the mutators change: a mutated case of campaign S, index i is the same only for the same version. */
export const MUTATOR_VERSION = 1;

/** A mutated case never grows beyond this many ops (generated cases have at most about 30). */
export const MAX_MUTATED_OPS = 40;

/** Chance a mutation splices in ops of a second parent (the coordinator sends that parent too). */
const SPLICE = 0.15;
/** Chance of one more mutation after each (1 + geometric, at most MAX_ROUNDS). */
const MORE = 0.5;
const MAX_ROUNDS = 6;

/** The mutation operators with their weights; `splice` only runs with a donor. */
const OPERATORS = [
  ['insert', 4],
  ['delete', 3],
  ['duplicate', 2],
  ['args', 6],
  ['faultInsert', 2],
  ['faultMove', 1],
  ['faultWeaken', 1],
  ['faultRemove', 2],
  ['schedule', 2],
] as const;
export type Operator = (typeof OPERATORS)[number][0] | 'splice';

/** The random stream of a campaign case's mutation plan (parent choice, then the mutations). */
export function mutationRng(seed: number, index: number): Rng {
  return new Rng(`tdxfuzz/mutate/${MUTATOR_VERSION}/${seed}/${index}`);
}

/** The phase each op of a case is meant for: the start phase, RUNNABLE after finalize, DEAD after destroy. */
function phases(c: Case): Phase[] {
  let p: Phase = c.design.startPhase;
  return c.ops.map((o) => {
    const here = p;
    if (o.op === 'finalize' && p === 'BUILD') p = 'RUNNABLE';
    if (o.op === 'destroy') p = 'DEAD';
    return here;
  });
}

function copyOp(o: Op): Op {
  const out = { ...o } as Op;
  if (o.faults) out.faults = o.faults.map((f) => ({ ...f }));
  return out;
}

/** Actor indices of a kind in a multi-actor case. */
function actorsOf(c: Case, kind: OpKind): number[] {
  const want = OPS[kind].actor;
  return (c.actors ?? []).flatMap((a, i) => (a === want ? [i] : []));
}

/** Op kinds legal in a phase that some actor of the case can issue (all of them in a one-actor case). */
function kindsFor(c: Case, phase: Phase): (readonly [OpKind, number])[] {
  return kindsIn(phase).filter(([k]) => !c.actors || actorsOf(c, k).length > 0);
}

/** Gives an op an actor of its kind (multi-actor cases) or none; false when no actor of the case can issue it. */
function placeActor(c: Case, o: Op, rng: Rng): boolean {
  if (!c.actors) {
    delete (o as { actor?: number }).actor;
    return true;
  }
  const cands = actorsOf(c, o.op);
  if (!cands.length) return false;
  if (o.actor === undefined || !cands.includes(o.actor)) o.actor = rng.pick(cands);
  return true;
}

/** Do the op's fields fit the case's GPA space (a spliced op comes from a design with maybe more gfns)? */
function fits(o: Op, s: Space): boolean {
  const x = o as unknown as Record<string, number | undefined>;
  if (x.gfn !== undefined && x.gfn >= s.G) return false;
  if (x.start !== undefined && x.start > s.G) return false;
  if (x.end !== undefined && x.end > s.G) return false;
  return true;
}

/** Gfns a mutated argument moves toward: the favoured ones (2M boundaries, edges), neighbours, alignment. */
function moveGfn(g: number, s: Space, rng: Rng, near: number[]): number {
  const choice = rng.int(6);
  let v: number;
  if (choice === 0) v = g + (rng.chance(0.5) ? 1 : -1);
  else if (choice === 1) v = g - (g % s.P); // down to the 2M boundary
  else if (choice === 2) v = g - (g % s.P) + s.P - 1; // last page of its 2M range
  else if (choice === 3 && near.length) v = rng.pick(near); // meet another op on its page
  else if (choice === 4) v = g + (rng.chance(0.5) ? s.P : -s.P); // the same page of the next or previous 2M range
  else v = drawPick(rng, gfnPick(s)) as number;
  return Math.min(s.G - 1, Math.max(0, v));
}

/** Moves a field's value; returns whether something changed. */
function mutateField(f: FieldSpec, o: Record<string, unknown>, s: Space, rng: Rng, near: number[]): boolean {
  switch (f.kind) {
    case 'gfn': {
      const g = o.gfn as number;
      o.gfn = moveGfn(g, s, rng, near);
      return o.gfn !== g;
    }
    case 'range': {
      const start = o.start as number;
      const end = o.end as number;
      const len = Math.max(0, end - start);
      let a = start;
      let b = end;
      switch (rng.int(6)) {
        case 0: // one page
          b = a + 1;
          break;
        case 1: // exactly its 2M range
          a -= a % s.P;
          b = a + s.P;
          break;
        case 2: // start moves, length kept
          a = Math.min(s.G - 1, moveGfn(a, s, rng, near));
          b = a + len;
          break;
        case 3: // end crosses or stops at a 2M boundary
          b = b - (b % s.P) + (rng.chance(0.5) ? 1 : 0);
          if (b <= a) b = a + 1;
          break;
        case 4: // one page more or less at either end
          if (rng.chance(0.5)) a += rng.chance(0.5) ? 1 : -1;
          else b += rng.chance(0.5) ? 1 : -1;
          break;
        default: // a memslot edge: the slot's first page or the end of the GPA space
          if (rng.chance(0.5)) a = s.lo;
          else b = s.G;
      }
      a = Math.min(s.G, Math.max(0, a));
      b = Math.min(s.G, Math.max(a, b));
      o.start = a;
      o.end = b;
      return a !== start || b !== end;
    }
    case 'enum': {
      const cur = (o[f.name] as string | undefined) ?? f.default;
      const others = f.values.filter((v) => v !== cur);
      if (!others.length) return false;
      const v = rng.pick(others); // a level change (accept 4K <-> 2M), the other conversion direction, ...
      if (v === f.default) delete o[f.name];
      else o[f.name] = v;
      return true;
    }
    case 'count': {
      const n = o[f.name] as number;
      const v = rng.chance(0.5) ? (drawPick(rng, f.pick(s)) as number) : n + (rng.chance(0.5) ? 1 : -1);
      o[f.name] = Math.min(f.max, Math.max(f.min, v));
      return o[f.name] !== n;
    }
    case 'token':
      return false; // data tokens only tell writes apart; moving them finds nothing new
  }
}

/** Indices of ops with a fault (of any kind). */
function withFaults(c: Case): number[] {
  return c.ops.flatMap((o, i) => (o.faults?.length ? [i] : []));
}

/** One mutation of the case (in place); false when the operator had nothing to work on. */
function applyOperator(op: Operator, c: Case, donor: Case | null, rng: Rng, gen: OpGen, s: Space): boolean {
  const n = c.ops.length;
  switch (op) {
    case 'insert': {
      if (n >= MAX_MUTATED_OPS) return false;
      const at = rng.int(n + 1);
      const phase = at < n ? phases(c)[at] : (phases(c)[n - 1] ?? c.design.startPhase);
      const kinds = kindsFor(c, phase);
      if (!kinds.length) return false;
      const o = gen.op(rng.weighted(kinds), phase);
      if (!placeActor(c, o, rng)) return false;
      c.ops.splice(at, 0, o);
      return true;
    }
    case 'delete': {
      if (n <= 1) return false;
      c.ops.splice(rng.int(n), 1);
      return true;
    }
    case 'duplicate': {
      if (n >= MAX_MUTATED_OPS || n === 0) return false;
      const from = rng.int(n);
      // right after itself (the same op again, e.g. a retried ioctl) or anywhere later
      const to = rng.chance(0.5) ? from + 1 : from + 1 + rng.int(n - from);
      c.ops.splice(to, 0, copyOp(c.ops[from]));
      return true;
    }
    case 'splice': {
      if (!donor || !donor.ops.length) return false;
      // the parent's head, then a slice of the donor's ops (syzkaller's splice keeps the tail of the other)
      const cut = rng.int(n + 1);
      const from = rng.int(donor.ops.length);
      const take = donor.ops.slice(from, from + 1 + rng.int(Math.min(8, donor.ops.length - from))).map(copyOp).filter((o) => fits(o, s) && placeActor(c, o, rng));
      if (!take.length) return false;
      c.ops.splice(cut, rng.chance(0.5) ? n - cut : 0, ...take);
      if (c.ops.length > MAX_MUTATED_OPS) c.ops.length = MAX_MUTATED_OPS;
      return true;
    }
    case 'args': {
      if (!n) return false;
      const i = rng.int(n);
      const o = c.ops[i] as unknown as Record<string, unknown>;
      const fields = OPS[c.ops[i].op].fields.filter((f) => f.kind !== 'token');
      if (!fields.length) return false;
      const near = c.ops.flatMap((x) => {
        const r = x as unknown as Record<string, number | undefined>;
        return r.gfn ?? r.start ?? [];
      });
      return mutateField(rng.pick(fields), o, s, rng, near);
    }
    case 'faultInsert': {
      if (!n) return false;
      const i = rng.int(n);
      const o = c.ops[i];
      const phase = phases(c)[i];
      const add = genFaults(new ForcedRng(rng), o.op, c.design, phase === 'DEAD' ? 'RUNNABLE' : phase);
      if (!add?.length) return false;
      const have = o.faults ?? [];
      const fresh = add.filter((f) => !have.some((h) => sameSlot(h, f)));
      if (!fresh.length) return false;
      o.faults = [...have, ...fresh];
      return true;
    }
    case 'faultMove': {
      const w = withFaults(c);
      if (!w.length) return false;
      const i = rng.pick(w);
      const faults = c.ops[i].faults!;
      const k = rng.int(faults.length);
      const f = faults[k];
      if (rng.chance(0.5)) {
        // a later or earlier call of the same leaf or site
        const nth = Math.max(1, f.nth + (rng.chance(0.5) ? 1 : -1));
        if (nth === f.nth || faults.some((h, j) => j !== k && sameSlot(h, { ...f, nth }))) return false;
        faults[k] = { ...f, nth };
        return true;
      }
      // the same fault on a neighbouring op (of a kind that reaches the leaf or site)
      const to = Math.min(n - 1, Math.max(0, i + (rng.chance(0.5) ? 1 : -1)));
      if (to === i || !reaches(c.ops[to].op, f)) return false;
      faults.splice(k, 1);
      if (!faults.length) delete c.ops[i].faults;
      const dst = c.ops[to].faults ?? [];
      if (dst.some((h) => sameSlot(h, f))) return true; // moved onto an equal fault: it is simply gone
      c.ops[to].faults = [...dst, f];
      return true;
    }
    case 'faultWeaken': {
      const cands: [number, number, string][] = [];
      for (const i of withFaults(c)) {
        c.ops[i].faults!.forEach((f, k) => {
          if (isSiteFault(f)) return;
          if (f.every) cands.push([i, k, '']); // a storm becomes one fault
          for (const st of weakerStatuses(f.leaf, f.status)) cands.push([i, k, st]);
        });
      }
      if (!cands.length) return false;
      const [i, k, st] = rng.pick(cands);
      const f = c.ops[i].faults![k] as SeamcallFault;
      c.ops[i].faults![k] = st === '' ? { leaf: f.leaf, nth: f.nth, status: f.status } : { leaf: f.leaf, nth: f.nth, status: st as SeamcallFault['status'] };
      return true;
    }
    case 'faultRemove': {
      const w = withFaults(c);
      if (!w.length) return false;
      const i = rng.pick(w);
      const faults = c.ops[i].faults!;
      faults.splice(rng.int(faults.length), 1);
      if (!faults.length) delete c.ops[i].faults;
      return true;
    }
    case 'schedule':
      return perturbSchedule(c, rng);
  }
}

/** Two faults aimed at the same call (the parser keeps both, the injector fires the first). */
function sameSlot(a: FaultSpec, b: FaultSpec): boolean {
  if (isSiteFault(a) || isSiteFault(b)) return isSiteFault(a) && isSiteFault(b) && a.site === b.site && a.nth === b.nth;
  return a.leaf === b.leaf && a.nth === b.nth;
}

function reaches(kind: OpKind, f: FaultSpec): boolean {
  const d = OPS[kind];
  return isSiteFault(f) ? d.sites.some(([s]) => s === f.site) : d.leaves.some(([l]) => l === f.leaf);
}

/** genFaults draws with the op's fault rate; a mutation that inserts a fault wants one drawn always. */
class ForcedRng extends Rng {
  private first = true;
  constructor(private readonly inner: Rng) {
    super('');
  }
  override int(n: number): number {
    return this.inner.int(n);
  }
  override chance(p: number): boolean {
    if (this.first) {
      this.first = false; // genFaults' first draw decides whether the op gets faults at all
      return true;
    }
    return this.inner.chance(p);
  }
  override pick<T>(xs: readonly T[]): T {
    return this.inner.pick(xs);
  }
  override weighted<T>(xs: readonly (readonly [T, number])[]): T {
    return this.inner.weighted(xs);
  }
}

/**
 * Schedules: a policy gets a new seed (a new PCT priority order, new random switches), another depth or mean;
 * recorded switches move by a few steps, swap their actors, or one is dropped. An op may also move to
 * another actor of its kind.
 */
function perturbSchedule(c: Case, rng: Rng): boolean {
  if (!c.actors || c.schedule === undefined) return false;
  const sch = c.schedule;
  if (rng.chance(0.25)) {
    const movable = c.ops.flatMap((o, i) => (actorsOf(c, o.op).length > 1 ? [i] : []));
    if (movable.length) {
      const o = c.ops[rng.pick(movable)];
      const others = actorsOf(c, o.op).filter((a) => a !== o.actor);
      o.actor = rng.pick(others);
      return true;
    }
  }
  if (!Array.isArray(sch)) {
    if (sch.kind === 'pct') {
      c.schedule = rng.chance(0.7) ? { ...sch, seed: rng.int(0x7fffffff) } : { ...sch, depth: Math.min(64, Math.max(1, sch.depth + (rng.chance(0.5) ? 1 : -1))) };
    } else {
      c.schedule = rng.chance(0.7) ? { ...sch, seed: rng.int(0x7fffffff) } : { ...sch, mean: Math.max(1, rng.pick([2, 4, 12, 40, 100])) };
    }
    return true;
  }
  if (!sch.length) return false;
  const sw: Switch[] = sch.map((x) => ({ ...x }));
  const k = rng.int(sw.length);
  const what = rng.int(3);
  if (what === 0) {
    // move a switch a few steps, keeping the steps increasing
    const lo = k > 0 ? sw[k - 1].step + 1 : 0;
    const hi = k + 1 < sw.length ? sw[k + 1].step - 1 : sw[k].step + 8;
    if (hi < lo) return false;
    sw[k].step = lo + rng.int(hi - lo + 1);
  } else if (what === 1 && sw.length > 1) {
    const j = rng.int(sw.length);
    [sw[k].to, sw[j].to] = [sw[j].to, sw[k].to]; // swap the actors of two switches
  } else sw.splice(k, 1);
  c.schedule = sw;
  return true;
}

/** The case a parent (and maybe a donor) becomes; `rng` continues the stream that chose them. */
export function mutateCase(parent: Case, donor: Case | null, rng: Rng, seed: number, index: number): { case: Case; applied: Operator[] } {
  const c: Case = { ...parent, ops: parent.ops.map(copyOp) };
  if (parent.actors) c.actors = [...parent.actors];
  if (Array.isArray(parent.schedule)) c.schedule = parent.schedule.map((x) => ({ ...x }));
  delete c.expect;
  const s = spaceOf(c.design);
  const gen = new OpGen(rng, s, index);
  const applied: Operator[] = [];
  const ops = donor ? [...OPERATORS, ['splice', 3] as const] : OPERATORS;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const op = rng.weighted(ops as readonly (readonly [Operator, number])[]);
    if (applyOperator(op, c, donor, rng, gen, s)) applied.push(op);
    if (applied.length && !rng.chance(MORE)) break;
  }
  if (c.schedule && !Array.isArray(c.schedule) && c.schedule.kind === 'pct') c.schedule = { ...c.schedule, horizon: Math.max(1, c.ops.length * 12) };
  c.provenance = { campaignSeed: seed, caseIndex: index, note: `${MUTATED} (${applied.join(', ') || 'unchanged'}) from case ${parent.provenance?.caseIndex ?? '?'}` };
  // valid by construction (test/fuzz/mutate.test.ts parses thousands); not re-parsed here, it would cost
  // about as much as generating a case
  return { case: c, applied };
}

/** The provenance note of a mutated case starts with this (a generated case has none). */
const MUTATED = 'mutated';

export function isMutated(c: Case): boolean {
  return c.provenance?.note?.startsWith(MUTATED) === true;
}

/** Whether a mutation splices: drawn right after the parent, so the coordinator knows to send the donor. */
export function wantsDonor(rng: Rng): boolean {
  return rng.chance(SPLICE);
}
