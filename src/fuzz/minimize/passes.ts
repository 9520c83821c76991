// The minimiser's passes over a case (architecture principle 5: faults are removed, moved and weakened
// like ops). Each is a Pass of engine.ts: candidates simpler than the case, the most aggressive first,
// derived from the op table (src/model/vocab) and the design defaults. A schedule pass slots in the same way.
import { CAMPAIGN_DEFAULTS, type Design, DESIGN_KEYS, DesignError, resolveDesign } from '../../model/config.js';
import { type FaultSpec, isSiteFault } from '../../model/faults.js';
import { OPS, weakerStatuses } from '../../model/vocab/index.js';
import type { Case, Op } from '../case.js';
import type { Switch } from '../schedule.js';
import { faultKindShort } from '../signature.js';
import { canonicalStatus, FIXED_SETTINGS, gfnCost } from './cost.js';
import { chunkRemovals, type Pass } from './engine.js';

/** What the case passes read from the predicate's result: where the failure fired. */
export interface FailureAt {
  failure: { opIndex: number } | null;
  /** A concurrent case: the op each step ran (RunResult.stepOps). */
  stepOps?: readonly number[];
}

export type CasePass = Pass<Case, FailureAt>;

const withOps = (c: Case, ops: Op[]): Case => ({ ...c, ops });

function setFaults(op: Op, faults: FaultSpec[]): Op {
  const o = { ...op } as Op;
  if (faults.length) o.faults = faults;
  else delete o.faults;
  return o;
}

function replaceOp(c: Case, i: number, op: Op): Case {
  const ops = c.ops.slice();
  ops[i] = op;
  return withOps(c, ops);
}

/** The ops after the failing one never ran: cut them. */
export const cutTail: CasePass = function* (c, { result }) {
  const at = result.failure?.opIndex;
  if (at !== undefined && at + 1 < c.ops.length) yield withOps(c, c.ops.slice(0, at + 1));
};

/** Every fault at once. */
export const dropAllFaults: CasePass = function* (c) {
  if (c.ops.some((o) => o.faults)) yield withOps(c, c.ops.map((o) => setFaults(o, [])));
};

/** The kind a fault is named by in signatures: OPERAND_BUSY, or the site (ALLOC). */
const kindOf = (f: FaultSpec): string => (isSiteFault(f) ? f.site : faultKindShort(f.status));

/** Every fault of one kind at once (a signature names kinds: this is what drops a kind from it). */
export const dropFaultKind: CasePass = function* (c) {
  const kinds = [...new Set(c.ops.flatMap((o) => (o.faults ?? []).map(kindOf)))].sort();
  if (kinds.length < 2) return; // one kind: dropAllFaults tried that
  for (const k of kinds) yield withOps(c, c.ops.map((o) => setFaults(o, (o.faults ?? []).filter((f) => kindOf(f) !== k))));
};

/**
 * The case with only the ops at `keep` (ascending indices). A concurrent case also gets its switches
 * moved back by the steps the removed ops ran before them (`stepOps` of the run), so the interleaving of
 * the ops that stay is kept; that variant comes first, then the one with the switches as they were.
 */
function* keepOps(c: Case, keep: readonly number[], stepOps: readonly number[] | undefined): Generator<Case> {
  const ops = keep.map((i) => c.ops[i]);
  if (c.actors && Array.isArray(c.schedule) && stepOps) {
    const kept = new Set(keep);
    const shifted = shiftSwitches(c.schedule, stepOps, kept);
    if (stableSwitches(shifted) !== stableSwitches(c.schedule)) yield { ...c, ops, schedule: shifted };
  }
  yield withOps(c, ops);
}

const stableSwitches = (s: readonly Switch[]): string => s.map((x) => `${x.step}:${x.to}`).join(',');

/** Each switch at step k moved to k minus the steps before k that ran a removed op; switches that meet keep the last. */
export function shiftSwitches(switches: readonly Switch[], stepOps: readonly number[], kept: ReadonlySet<number>): Switch[] {
  const out: Switch[] = [];
  let removed = 0;
  let k = 0;
  for (const sw of switches) {
    for (; k < sw.step && k < stepOps.length; k++) if (!kept.has(stepOps[k])) removed++;
    const step = sw.step - removed;
    if (out.length && out[out.length - 1].step === step) out.pop();
    out.push({ step, to: sw.to });
  }
  return out;
}

/** ddmin: remove chunks of ops, halving the chunk size down to two (removeOps does single ops). */
export const removeChunks: CasePass = function* (c, { memo, result }) {
  for (const keep of chunkRemovals(c.ops.map((_, i) => i), memo, 2)) yield* keepOps(c, keep, result.stepOps);
};

/** Each single op, from the last. */
export const removeOps: CasePass = function* (c, { result }) {
  for (let i = c.ops.length - 1; i >= 0 && c.ops.length > 1; i--) yield* keepOps(c, c.ops.flatMap((_, j) => (j === i ? [] : [j])), result.stepOps);
};

/**
 * Weaker forms of a fault: an earlier call, a status of a lower class (vocab/faults.ts), the first status
 * of its own class (any hard error is TDX_BUG_ON alike, so one name for them all), one call instead of a storm.
 */
export function weakerFaults(f: FaultSpec): FaultSpec[] {
  const out: FaultSpec[] = [];
  if (f.nth > 1) out.push({ ...f, nth: 1 }, { ...f, nth: f.nth - 1 });
  if (!isSiteFault(f)) {
    for (const status of weakerStatuses(f.leaf, f.status)) out.push({ ...f, status });
    const canon = canonicalStatus(f.leaf, f.status);
    if (canon !== f.status) out.push({ ...f, status: canon });
    if (f.every) {
      const { every: _, ...one } = f;
      out.push(one);
    }
  }
  return out;
}

/** Each fault removed, then weakened, from the last op. */
export const simplifyFaults: CasePass = function* (c) {
  for (let i = c.ops.length - 1; i >= 0; i--) {
    const fs = c.ops[i].faults ?? [];
    for (let k = fs.length - 1; k >= 0; k--) {
      yield replaceOp(c, i, setFaults(c.ops[i], fs.filter((_, j) => j !== k)));
      for (const w of weakerFaults(fs[k])) yield replaceOp(c, i, setFaults(c.ops[i], fs.map((f, j) => (j === k ? w : f))));
    }
  }
};

/**
 * Simpler variants of one op, most aggressive first, field by field as the op table describes them: a
 * range shrinks to its first page, its first half and its last page; an enum goes to its simplest value
 * (a level to 4K); an optional token is dropped.
 */
export function simplerOps(op: Op): Op[] {
  const out: Op[] = [];
  const o = op as unknown as Record<string, unknown>;
  const variant = (change: Record<string, unknown>, drop?: string): void => {
    const v: Record<string, unknown> = { ...o, ...change };
    if (drop) delete v[drop];
    out.push(v as unknown as Op);
  };
  for (const f of OPS[op.op].fields) {
    switch (f.kind) {
      case 'range': {
        const start = o.start as number;
        const end = o.end as number;
        const len = end - start;
        if (len > 1) {
          variant({ end: start + 1 });
          if (len >> 1 > 1) variant({ end: start + (len >> 1) });
          variant({ start: end - 1 });
        }
        break;
      }
      case 'enum':
        if (f.default !== undefined) {
          if (o[f.name] !== undefined) variant({}, f.name); // back to the default
        } else if (f.simplest !== undefined && o[f.name] !== f.simplest) variant({ [f.name]: f.simplest });
        break;
      case 'token':
        if (f.optional !== undefined && o[f.name] !== undefined) variant({}, f.name);
        break;
      case 'gfn':
      case 'count':
        break;
    }
  }
  return out;
}

/** Gfns simpler than `g` (gfnCost): 0, its 2M boundary, half-way to it, the page before. */
export function smallerGfns(g: number, ptrs: number): number[] {
  const base = g - (g % ptrs);
  const out: number[] = [];
  for (const x of [0, base, base + ((g % ptrs) >> 1), g - 1]) if (x >= 0 && gfnCost(x, ptrs) < gfnCost(g, ptrs) && !out.includes(x)) out.push(x);
  return out;
}

/**
 * Arguments moved toward small values and 2M boundaries (the design's ptrs): a gfn or a range's start
 * (keeping its length) to 0, to its 2M boundary, half-way there, one page down; a count toward its minimum.
 */
export function smallerArgs(op: Op, d: Design): Op[] {
  const out: Op[] = [];
  const o = op as unknown as Record<string, unknown>;
  for (const f of OPS[op.op].fields) {
    switch (f.kind) {
      case 'gfn':
        for (const g of smallerGfns(o.gfn as number, d.ptrs)) out.push({ ...o, gfn: g } as unknown as Op);
        break;
      case 'range': {
        const len = (o.end as number) - (o.start as number);
        for (const s of smallerGfns(o.start as number, d.ptrs)) out.push({ ...o, start: s, end: s + len } as unknown as Op);
        break;
      }
      case 'count': {
        const v = o[f.name] as number;
        for (const x of [f.min, f.min + ((v - f.min) >> 1), v - 1]) if (x < v && x >= f.min && !out.some((p) => (p as unknown as Record<string, unknown>)[f.name] === x)) out.push({ ...o, [f.name]: x } as unknown as Op);
        break;
      }
      case 'enum':
      case 'token':
        break;
    }
  }
  return out;
}

/** Each op's simpler forms, then its arguments moved toward small values, from the last op. */
export const shrinkArgs: CasePass = function* (c) {
  for (let i = c.ops.length - 1; i >= 0; i--) {
    for (const s of simplerOps(c.ops[i])) yield replaceOp(c, i, s);
    for (const s of smallerArgs(c.ops[i], c.design)) yield replaceOp(c, i, s);
  }
};

/** Shift a gfn-like field (gfn, range) of every op down by `delta` pages; null if one would go below 0. */
function shiftOps(ops: readonly Op[], delta: number): Op[] | null {
  const out: Op[] = [];
  for (const op of ops) {
    const o = { ...op } as unknown as Record<string, unknown>;
    for (const f of OPS[op.op].fields) {
      if (f.kind === 'gfn') o.gfn = (o.gfn as number) - delta;
      else if (f.kind === 'range') {
        o.start = (o.start as number) - delta;
        o.end = (o.end as number) - delta;
      }
    }
    if ((o.gfn as number) < 0 || (o.start as number) < 0) return null;
    out.push(o as unknown as Op);
  }
  return out;
}

/**
 * The whole case moved down by whole 2M ranges, so that ops that meet on one page still meet (a single
 * op's gfn cannot move alone without parting from the others): to the first range, then one range down.
 */
export const shiftCase: CasePass = function* (c) {
  const P = c.design.ptrs;
  let lowest = Infinity;
  for (const op of c.ops) {
    const o = op as unknown as Record<string, number>;
    for (const f of OPS[op.op].fields) if (f.kind === 'gfn') lowest = Math.min(lowest, o.gfn);
    else if (f.kind === 'range') lowest = Math.min(lowest, o.start);
  }
  if (!Number.isFinite(lowest)) return;
  const top = lowest - (lowest % P);
  for (const delta of [top, P]) {
    if (delta <= 0 || delta > top) continue;
    const ops = shiftOps(c.ops, delta);
    if (ops) yield withOps(c, ops);
  }
};

/**
 * Design settings toward the campaign defaults (CAMPAIGN_DEFAULTS: layout, deployment and design choices),
 * one at a time, then each guard switched back on; combinations resolveDesign refuses are skipped.
 * ptrs and regions stay: they size the GPA space the ops' gfns live in.
 */
export function simplerDesigns(d: Design): Design[] {
  const out: Design[] = [];
  const tryDesign = (raw: Design): void => {
    try {
      out.push(resolveDesign(raw, 'design'));
    } catch (e) {
      if (!(e instanceof DesignError)) throw e;
    }
  };
  for (const k of DESIGN_KEYS) {
    if (k === 'guardsOff' || FIXED_SETTINGS.includes(k) || d[k] === CAMPAIGN_DEFAULTS[k]) continue;
    tryDesign({ ...d, guardsOff: [...d.guardsOff], [k]: CAMPAIGN_DEFAULTS[k] });
  }
  for (const g of d.guardsOff) tryDesign({ ...d, guardsOff: d.guardsOff.filter((x) => x !== g) });
  return out;
}

export const simplifyDesign: CasePass = function* (c) {
  for (const design of simplerDesigns(c.design)) yield { ...c, design };
};

/** The passes in syzkaller's order: cheap, big cuts first; then single ops; then faults, arguments and the design. */
export const CASE_PASSES: readonly CasePass[] = [cutTail, dropAllFaults, dropFaultKind, removeChunks, removeOps, simplifyFaults, shiftCase, shrinkArgs, simplifyDesign];
