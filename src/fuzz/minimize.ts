// Minimisation (anchors.md 3.3): syzkaller-style pass order over ops and faults, repeated to a fixed
// point under an attempt budget, with a cache of cases already tried. The predicate keeps the failure:
// same invariant, same op kind, and no fault kind the original did not have.
import { type FaultSpec, isSiteFault } from '../model/faults.js';
import { OPS, weakerStatuses } from '../model/vocab/index.js';
import { type Case, caseId, type Op } from './case.js';
import type { RunResult } from './result.js';
import { type RunOptions, runCase } from './run.js';
import { coreSignature, isPerfSignature, signatureFaultKinds } from './signature.js';

export interface MinimizeOptions {
  /** Most candidate runs to try (default 3000). */
  maxAttempts?: number;
  /** Run candidates with performance findings failing (as the campaign that found the case did). */
  failOnPerf?: boolean;
  /** Tests of the harness only (RunOptions.selfTestThrowIn): the candidates run with the same hook. */
  selfTestThrowIn?: string;
}

export interface MinimizeResult {
  case: Case;
  result: RunResult;
  attempts: number;
}

type Pred = (c: Case) => RunResult | null;

function makePredicate(sig: string, budget: { left: number; attempts: number }, run: RunOptions): Pred {
  const core = coreSignature(sig);
  const kinds = new Set(signatureFaultKinds(sig));
  const seen = new Map<string, RunResult | null>();
  return (c) => {
    const id = caseId(c);
    if (seen.has(id)) return seen.get(id)!;
    if (budget.left <= 0) return null;
    budget.left--;
    budget.attempts++;
    const r = runCase(c, run);
    const keep = r.verdict === 'fail' && r.signature !== null && coreSignature(r.signature) === core && signatureFaultKinds(r.signature).every((k) => kinds.has(k));
    seen.set(id, keep ? r : null);
    return keep ? r : null;
  };
}

const withOps = (c: Case, ops: Op[]): Case => ({ ...c, ops });

function setFaults(op: Op, faults: FaultSpec[]): Op {
  const o = { ...op } as Op;
  if (faults.length) o.faults = faults;
  else delete o.faults;
  return o;
}

/**
 * Simpler variants of one op, most aggressive first, field by field as the op table describes them: a
 * range shrinks to its first page, its first half and its last page; an enum goes to its simplest value;
 * an optional token is dropped.
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

/** Weaker variants of a fault: an earlier call, or a status of a class it outranks (vocab/faults.ts). */
function weakerFaults(f: FaultSpec): FaultSpec[] {
  const out: FaultSpec[] = [];
  if (f.nth > 1) out.push({ ...f, nth: 1 }, { ...f, nth: f.nth - 1 });
  if (!isSiteFault(f)) for (const status of weakerStatuses(f.leaf, f.status)) out.push({ ...f, status });
  return out;
}

export function minimizeCase(c: Case, opts: MinimizeOptions = {}): MinimizeResult {
  const budget = { left: opts.maxAttempts ?? 3000, attempts: 0 };
  const failOnPerf = opts.failOnPerf ?? isPerfSignature(c.expect?.signature);
  const run: RunOptions = { failOnPerf, selfTestThrowIn: opts.selfTestThrowIn };
  const first = runCase(c, run);
  if (first.verdict !== 'fail' || !first.signature) return { case: c, result: first, attempts: 0 };
  const pred = makePredicate(first.signature, budget, run);
  let cur = c;
  let res = first;
  const accept = (cand: Case): boolean => {
    const r = pred(cand);
    if (!r) return false;
    cur = cand;
    res = r;
    return true;
  };

  // 1. Everything after the failing op is unnecessary.
  if (res.failure && res.failure.opIndex + 1 < cur.ops.length) accept(withOps(cur, cur.ops.slice(0, res.failure.opIndex + 1)));
  let progress = true;
  while (progress && budget.left > 0) {
    progress = false;
    // 2. All faults at once.
    if (cur.ops.some((o) => o.faults)) progress = accept(withOps(cur, cur.ops.map((o) => setFaults(o, [])))) || progress;
    // 3. ddmin-style chunks of ops, halving the chunk size.
    for (let chunk = cur.ops.length >> 1; chunk >= 1; chunk >>= 1) {
      for (let start = cur.ops.length - chunk; start >= 0; start -= chunk) {
        if (cur.ops.length <= 1) break;
        const ops = [...cur.ops.slice(0, start), ...cur.ops.slice(start + chunk)];
        if (ops.length && accept(withOps(cur, ops))) progress = true;
      }
    }
    // 4. Each fault, then weaker forms of the ones that stay.
    for (let i = cur.ops.length - 1; i >= 0; i--) {
      const fs = cur.ops[i].faults ?? [];
      for (let k = fs.length - 1; k >= 0; k--) {
        const rest = fs.filter((_, j) => j !== k);
        const ops = cur.ops.slice();
        ops[i] = setFaults(ops[i], rest);
        if (accept(withOps(cur, ops))) {
          progress = true;
          continue;
        }
        for (const w of weakerFaults(fs[k])) {
          const ops2 = cur.ops.slice();
          ops2[i] = setFaults(ops2[i], fs.map((f, j) => (j === k ? w : f)));
          if (accept(withOps(cur, ops2))) {
            progress = true;
            break;
          }
        }
      }
    }
    // 5. Simpler arguments for each op.
    for (let i = cur.ops.length - 1; i >= 0; i--) {
      for (const s of simplerOps(cur.ops[i])) {
        const ops = cur.ops.slice();
        ops[i] = s;
        if (accept(withOps(cur, ops))) {
          progress = true;
          break;
        }
      }
    }
  }
  return { case: cur, result: res, attempts: budget.attempts };
}
