// What runCase returns. Kept in its own file so the coordinator, CLI and stores depend on the shape only.
import type { TraceLine } from '../model/trace.js';
import type { Switch } from './schedule.js';
import type { Detection } from '../oracle/invariants.js';

export interface Failure {
  /** Invariant or check id: INV-n, a REF-* reference check, VM-BUGGED, or a liveness watchdog. */
  inv: string;
  /** Index of the operation during which it fired. */
  opIndex: number;
  /** Kind of that operation (touch, accept, convert, punch). */
  opKind: string;
  /** Label of the atomic step after which it fired ("end of op" for per-op checks). */
  step: string;
  /** One-line explanation for a kernel developer. */
  message: string;
  /** Kinds of the injected faults that took effect in the case, e.g. "TDX_OPERAND_BUSY@TDH.MEM.RANGE.BLOCK". */
  faultKinds: string[];
  /** How the failure shows its bug (src/oracle/invariants.ts): damage, structural or performance. */
  detection?: Detection;
  /** The clause of the invariant that fired, when it has several. */
  clause?: string;
  /** A damage failure after an earlier structural violation of the case: that violation. */
  after?: { inv: string; opIndex: number; opKind: string; step: string; message: string; clause?: string };
  /** The model or oracle threw after the structural failure (the case could not go on). */
  exception?: string;
}

export interface RunResult {
  verdict: 'pass' | 'fail';
  /** Stable failure signature (see signature.ts); null when the case passes. */
  signature: string | null;
  failure: Failure | null;
  /** 8 hex digits; identical for the same case on any machine and any worker count. */
  traceHash: string;
  /** Operations executed (a failing case stops at the failing op). */
  opsRun: number;
  /** Atomic model steps executed. */
  steps: number;
  /** Model-coverage feature ids reached (sorted, unique). */
  features: Uint32Array;
  /** Findings that are reported but do not fail the case (accepted risks, expected-by-design events). */
  notes: string[];
  /** Performance findings ("INV-33: ...", "PERF-2M: ..."); they fail the case only with failOnPerf. */
  perf: string[];
  /** TDX_OPERAND_BUSY answers that no fault injected: contention between actors (model-spec.md 3.1). */
  busyUninjected: number;
  /** Distinct structural checks that fired ("INV-n", or "INV-n#k" for clause k); the first is the failure unless damage followed. */
  structuralHits?: string[];
  /** Several actors: the switch points the run made (save these, not the policy, to replay it step for step). */
  schedule?: Switch[];
  /** Several actors, with RunOptions.recordStepOps: the op each step ran (step k ran op stepOps[k]); the minimiser shifts switches by it when it removes ops. */
  stepOps?: number[];
  /** Step-by-step trace, only when requested. */
  trace?: TraceLine[];
  /** Picture of mirror, S-EPT, folios and attributes where the case stopped, only with the trace. */
  state?: string[];
}
