// Minimisation of a failing case (anchors.md 3.3, in syzkaller's spirit): the engine (minimize/engine.ts)
// reduces under a predicate with the case passes (minimize/passes.ts); this file supplies the predicate
// that runs the case, and replays the result to record how reliably it fails.
// The predicate keeps the failure: same invariant and op kind, and no fault kind the original did not
// have or could not be weakened to.
import { isSiteFault } from '../model/faults.js';
import { weakerStatuses } from '../model/vocab/index.js';
import type { Case } from './case.js';
import { canonicalStatus, simpler } from './minimize/cost.js';
import { type Pass, reduce, stableJson } from './minimize/engine.js';
import { CASE_PASSES, type FailureAt } from './minimize/passes.js';
import { SCHEDULE_PASSES } from './minimize/schedule.js';
import type { RunResult } from './result.js';
import { type RunOptions, runCase } from './run.js';
import { coreSignature, faultKindShort, isPerfSignature, signatureFaultKinds } from './signature.js';

export { simplerOps, smallerArgs, simplerDesigns, weakerFaults } from './minimize/passes.js';

/**
 * The default step budget of one minimisation: the slowest candidates measured (a concurrent INV-10 case whose
 * oracle linearizes 15 overlapping ops) take about 70 us a step, so about 2 minutes at worst; ordinary cases
 * reach their 3000 attempts long before.
 */
export const MAX_STEPS = 2_000_000;

export interface MinimizeOptions {
  /** Most candidate runs to try (default 3000); when spent, the simplest case found so far is the result. */
  maxAttempts?: number;
  /**
   * Most model steps the candidate runs may take in all (default MAX_STEPS): a case whose candidates spin up to
   * a watchdog costs far more per run than the attempt count says. Steps, not time, so the result is the same
   * on any machine.
   */
  maxSteps?: number;
  /** Times the result is replayed to measure its reliability (default 3). */
  replays?: number;
  /** Run candidates with performance findings failing (as the campaign that found the case did). */
  failOnPerf?: boolean;
  /** Tests of the harness only (RunOptions.selfTestThrowIn): the candidates run with the same hook. */
  selfTestThrowIn?: string;
  /** Passes to run instead of the default ones (CASE_PASSES), e.g. with schedule passes added. */
  passes?: readonly Pass<Case, FailureAt>[];
}

export interface MinimizeResult {
  /** The signature of the case before minimisation (null if it passed). */
  originalSignature: string | null;
  /** The minimised case; its provenance note records the reliability ("reliability 3/3"). */
  case: Case;
  result: RunResult;
  attempts: number;
  /** Replays of the result that gave its signature again, out of `runs`. */
  reliability: { ok: number; runs: number };
  /** The attempt budget ran out before a fixed point: the case is the simplest found so far. */
  exhausted: boolean;
}

/** Fault kinds a candidate may show: the original's, and what its faults weaken to (weakerFaults). */
function allowedKinds(c: Case, sig: string): Set<string> {
  const out = new Set(signatureFaultKinds(sig));
  for (const op of c.ops) {
    for (const f of op.faults ?? []) {
      if (isSiteFault(f)) continue;
      for (const s of [...weakerStatuses(f.leaf, f.status), canonicalStatus(f.leaf, f.status)]) {
        out.add(faultKindShort(s));
        for (const w of weakerStatuses(f.leaf, s)) out.add(faultKindShort(w));
      }
    }
  }
  return out;
}

/** "reliability k/N" in the provenance note (the case format has no field of its own for it yet). */
export function withReliability(c: Case, ok: number, runs: number): Case {
  const mark = `reliability ${ok}/${runs}`;
  const note = (c.provenance?.note ?? '').replace(/(^|; )reliability \d+\/\d+/, '').replace(/^; /, '');
  return { ...c, provenance: { ...c.provenance, note: note ? `${note}; ${mark}` : mark } };
}

/** The k/N a case's provenance note records, if any. */
export function reliabilityOf(c: Case): { ok: number; runs: number } | null {
  const m = /reliability (\d+)\/(\d+)/.exec(c.provenance?.note ?? '');
  return m ? { ok: Number(m[1]), runs: Number(m[2]) } : null;
}

export function minimizeCase(c: Case, opts: MinimizeOptions = {}): MinimizeResult {
  const failOnPerf = opts.failOnPerf ?? isPerfSignature(c.expect?.signature);
  const run: RunOptions = { failOnPerf, selfTestThrowIn: opts.selfTestThrowIn, recordStepOps: true };
  const first0 = runCase(c, run);
  // a schedule policy becomes the switches the run made, which the schedule passes then shrink
  if (c.actors && c.schedule && !Array.isArray(c.schedule) && first0.schedule) c = { ...c, schedule: first0.schedule };
  const first = first0;
  if (first.verdict !== 'fail' || !first.signature) return { originalSignature: first.signature, case: c, result: first, attempts: 0, reliability: { ok: 0, runs: 0 }, exhausted: false };
  const core = coreSignature(first.signature);
  const kinds = allowedKinds(c, first.signature);
  let steps = 0;
  const keeps = (c2: Case): RunResult | null => {
    const r = runCase(c2, run);
    steps += r.steps;
    const ok = r.verdict === 'fail' && r.signature !== null && coreSignature(r.signature) === core && signatureFaultKinds(r.signature).every((k) => kinds.has(k));
    return ok ? r : null;
  };
  // the cache key is the whole case minus what does not change its run (expect, provenance): new fields count
  const key = (x: Case): string => stableJson({ ...x, expect: undefined, provenance: undefined });
  const red = reduce<Case, RunResult>(c, first, keeps, opts.passes ?? (c.actors ? [...SCHEDULE_PASSES, ...CASE_PASSES] : CASE_PASSES), { maxAttempts: opts.maxAttempts ?? 3000, key, better: simpler, spent: () => steps >= (opts.maxSteps ?? MAX_STEPS) });
  const runs = opts.replays ?? 3;
  let ok = 0;
  for (let i = 0; i < runs; i++) if (runCase(red.value, run).signature === red.result.signature) ok++;
  return { originalSignature: first.signature, case: withReliability(red.value, ok, runs), result: red.result, attempts: red.attempts, reliability: { ok, runs }, exhausted: red.exhausted };
}
