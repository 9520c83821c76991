// runCase: the one executor (architecture principle 1). Builds a fresh system for the case, runs each op
// step by step under the oracle, and returns the verdict, signature, trace hash and coverage.
import { describeState } from '../model/describe.js';
import { Guest } from '../model/guest/guest.js';
import { applyOp, describeOp } from '../model/ops.js';
import { describeOutcome, isIoctl, type OpOutcome } from '../model/outcome.js';
import { System } from '../model/system.js';
import { faultKind } from '../oracle/faultClass.js';
import { Oracle, type Violation, WATCHDOG } from '../oracle/oracle.js';
import type { Design } from '../model/config.js';
import type { Case, Op } from './case.js';
import { fnv1a32 } from './hash.js';
import type { Failure, RunResult } from './result.js';
import { signatureOf } from './signature.js';

export interface RunOptions {
  /** Keep the step-by-step trace lines (for `show`). */
  trace?: boolean;
  /** A performance finding fails the case (--fail-on perf). */
  failOnPerf?: boolean;
  /** Run without the oracle (benchmarks measure its share of the time); only the step watchdog remains. */
  noOracle?: boolean;
  /**
   * Tests of the harness only: throw an exception at the first step of every op of this kind, as a bug in
   * the model would, to check that it becomes a saved HARNESS-EXCEPTION finding.
   */
  selfTestThrowIn?: string;
}

/** Signature id of an exception thrown by the model or the oracle while a case runs (architecture principle 13). */
export const HARNESS_EXCEPTION = 'HARNESS-EXCEPTION';

function outcomeKey(o: OpOutcome): string {
  if (isIoctl(o)) return `${o.kind}:${o.ret}`;
  return `${o.kind}:${o.result}${o.result === 'exit' ? o.errno : ''}`;
}

/**
 * Runs a design's ops one at a time under the oracle. runCase drives it over a case's ops; the benchmark's
 * fast-check baseline drives it command by command, so both exercise the same executor.
 */
export class CaseRunner {
  readonly sys: System;
  private readonly guest: Guest;
  private readonly oracle: Oracle | null;
  private readonly features = new Set<number>();
  private readonly regionState: Uint8Array;
  private steps = 0;
  private opsRun = 0;
  failure: Failure | null = null;

  constructor(design: Design, private readonly opts: RunOptions = {}) {
    this.sys = new System(design, !!opts.trace);
    this.guest = new Guest(this.sys.gfns);
    this.oracle = opts.noOracle ? null : new Oracle(this.sys);
    this.regionState = new Uint8Array(this.sys.regions);
  }

  private fail(v: Violation, i: number, op: Op, step: string): Failure {
    const sys = this.sys;
    sys.trace.op = i;
    sys.trace.event(`VIOLATION ${v.inv}: ${v.message}`);
    return { inv: v.inv, opIndex: i, opKind: op.op, step, message: v.message, faultKinds: [...new Set(sys.inj.fired.map(faultKind))] };
  }

  /** Ops run so far (the index the next op gets). */
  get opCount(): number {
    return this.opsRun;
  }

  /**
   * Run op number i; returns the failure it caused, or null. Call no more ops after a failure. An
   * exception inside the model or the oracle is a failure of its own (HARNESS-EXCEPTION@op), so a
   * campaign saves and minimises its case and goes on.
   */
  runOp(op: Op, i: number): Failure | null {
    this.opsRun++;
    this.label = 'start';
    try {
      return this.runOpSteps(op, i);
    } catch (e) {
      const first = (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0];
      return (this.failure = this.fail({ inv: HARNESS_EXCEPTION, message: `exception in the model or oracle: ${first}` }, i, op, this.label));
    }
  }

  private label = 'start';

  private runOpSteps(op: Op, i: number): Failure | null {
    const { sys, oracle, opts, features } = this;
    sys.trace.op = i;
    sys.trace.event(`op ${i}: ${describeOp(op)}`);
    const firedBefore = sys.inj.fired.length;
    sys.inj.arm(i, op.faults);
    sys.counters.reset();
    oracle?.beginOp(op);
    const path = applyOp(sys, this.guest, op);
    let opSteps = 0;
    let outcome: OpOutcome | null = null;
    let label = 'start';
    for (;;) {
      const res = path.next();
      if (res.done) {
        outcome = res.value;
        break;
      }
      label = this.label = res.value;
      this.steps++;
      if (opts.selfTestThrowIn === op.op) throw new Error(`self-test exception in ${op.op} at ${label}`);
      const v = oracle ? oracle.liveness() ?? oracle.afterStep() : null;
      if (v) return (this.failure = this.fail(v, i, op, label));
      if (++opSteps > WATCHDOG.stepsPerOp) {
        return (this.failure = this.fail({ inv: 'WATCHDOG', message: `${op.op} still running after ${WATCHDOG.stepsPerOp} steps` }, i, op, label));
      }
    }
    sys.trace.event(`  -> ${describeOutcome(outcome)}`);
    const v = oracle ? oracle.afterStep() ?? oracle.endOp(outcome) : null;
    if (v) this.failure = this.fail(v, i, op, 'end of op');
    else if (opts.failOnPerf && oracle?.perf.length) this.failure = this.fail(oracle.perf[0], i, op, 'end of op');
    // coverage: op outcomes, fired faults, S-EPT state of each range with its folio order and inhibit bit
    features.add(fnv1a32(`o:${outcomeKey(outcome)}`));
    for (let k = firedBefore; k < sys.inj.fired.length; k++) features.add(fnv1a32(`f:${faultKind(sys.inj.fired[k])}`));
    for (let r = 0; r < sys.regions; r++) {
      const st = sys.tdx.sept.e2m[r] * 4 + (sys.gmem.orderAt(r * sys.ptrs) > 0 ? 2 : 0) + sys.kvm.lpage.guestInhibit[r];
      if (st !== this.regionState[r]) features.add(fnv1a32(`s:${op.op}:${this.regionState[r]}>${st}`));
      this.regionState[r] = st;
    }
    return this.failure;
  }

  result(): RunResult {
    const { sys, oracle, features, failure } = this;
    for (const call of sys.trace.calls) features.add(fnv1a32(`c:${call}`));
    const signature = failure ? signatureOf(failure) : null;
    if (signature) features.add(fnv1a32(`x:${signature}`));
    const result: RunResult = {
      verdict: failure ? 'fail' : 'pass',
      signature,
      failure,
      traceHash: (sys.trace.h >>> 0).toString(16).padStart(8, '0'),
      opsRun: this.opsRun,
      steps: this.steps,
      features: Uint32Array.from([...features].sort((a, b) => a - b)),
      notes: oracle?.notes ?? [],
      perf: oracle?.perf.map((p) => `${p.inv}: ${p.message}`) ?? [],
    };
    if (this.opts.trace && sys.trace.lines) {
      result.trace = sys.trace.lines;
      result.state = describeState(sys);
    }
    return result;
  }
}

export function runCase(c: Case, opts: RunOptions = {}): RunResult {
  const runner = new CaseRunner(c.design, opts);
  for (let i = 0; i < c.ops.length && !runner.failure; i++) runner.runOp(c.ops[i], i);
  return runner.result();
}
