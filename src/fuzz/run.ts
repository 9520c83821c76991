// runCase: the one executor (architecture principle 1). Builds a fresh system for the case, runs each op
// step by step under the oracle, and returns the verdict, signature, trace hash and coverage.
import { describeState } from '../model/describe.js';
import { Guest } from '../model/guest/guest.js';
import { applyOp, describeOp } from '../model/ops.js';
import { describeOutcome, isIoctl, type OpOutcome } from '../model/outcome.js';
import { System } from '../model/system.js';
import { faultKind } from '../oracle/faultClass.js';
import { Oracle, type Violation, WATCHDOG } from '../oracle/oracle.js';
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
}

function outcomeKey(o: OpOutcome): string {
  if (isIoctl(o)) return `${o.kind}:${o.ret}`;
  return `${o.kind}:${o.result}${o.result === 'exit' ? o.errno : ''}`;
}

export function runCase(c: Case, opts: RunOptions = {}): RunResult {
  const sys = new System(c.design, !!opts.trace);
  const guest = new Guest(sys.gfns);
  const oracle = opts.noOracle ? null : new Oracle(sys);
  const features = new Set<number>();
  const regionState = new Uint8Array(sys.regions);
  let steps = 0;
  let failure: Failure | null = null;
  let opsRun = 0;

  const fail = (v: Violation, i: number, op: Op, step: string): Failure => {
    sys.trace.op = i;
    sys.trace.event(`VIOLATION ${v.inv}: ${v.message}`);
    return { inv: v.inv, opIndex: i, opKind: op.op, step, message: v.message, faultKinds: sys.inj.fired.map(faultKind) };
  };

  for (let i = 0; i < c.ops.length && !failure; i++) {
    const op = c.ops[i];
    opsRun++;
    sys.trace.op = i;
    sys.trace.event(`op ${i}: ${describeOp(op)}`);
    const firedBefore = sys.inj.fired.length;
    sys.inj.arm(i, op.faults);
    sys.counters.reset();
    oracle?.beginOp(op);
    const path = applyOp(sys, guest, op);
    let opSteps = 0;
    let outcome: OpOutcome | null = null;
    let label = 'start';
    for (;;) {
      const res = path.next();
      if (res.done) {
        outcome = res.value;
        break;
      }
      label = res.value;
      steps++;
      const v = oracle ? oracle.liveness() ?? oracle.afterStep() : null;
      if (v) {
        failure = fail(v, i, op, label);
        break;
      }
      if (++opSteps > WATCHDOG.stepsPerOp) {
        failure = fail({ inv: 'WATCHDOG', message: `${op.op} still running after ${WATCHDOG.stepsPerOp} steps` }, i, op, label);
        break;
      }
    }
    if (failure || !outcome) break;
    sys.trace.event(`  -> ${describeOutcome(outcome)}`);
    const v = oracle ? oracle.afterStep() ?? oracle.endOp(outcome) : null;
    if (v) failure = fail(v, i, op, 'end of op');
    else if (opts.failOnPerf && oracle?.perf.length) failure = fail(oracle.perf[0], i, op, 'end of op');
    // coverage: op outcomes, fired faults, S-EPT state of each range with its folio order and inhibit bit
    features.add(fnv1a32(`o:${outcomeKey(outcome)}`));
    for (let k = firedBefore; k < sys.inj.fired.length; k++) features.add(fnv1a32(`f:${faultKind(sys.inj.fired[k])}`));
    for (let r = 0; r < sys.regions; r++) {
      const st = sys.tdx.sept.e2m[r] * 4 + (sys.gmem.orderAt(r * sys.ptrs) > 0 ? 2 : 0) + sys.kvm.lpage.guestInhibit[r];
      if (st !== regionState[r]) features.add(fnv1a32(`s:${op.op}:${regionState[r]}>${st}`));
      regionState[r] = st;
    }
  }
  for (const call of sys.trace.calls) features.add(fnv1a32(`c:${call}`));
  const signature = failure ? signatureOf(failure) : null;
  if (signature) features.add(fnv1a32(`x:${signature}`));
  const result: RunResult = {
    verdict: failure ? 'fail' : 'pass',
    signature,
    failure,
    traceHash: (sys.trace.h >>> 0).toString(16).padStart(8, '0'),
    opsRun,
    steps,
    features: Uint32Array.from([...features].sort((a, b) => a - b)),
    notes: oracle?.notes ?? [],
    perf: oracle?.perf.map((p) => `${p.inv}: ${p.message}`) ?? [],
  };
  if (opts.trace && sys.trace.lines) {
    result.trace = sys.trace.lines;
    result.state = describeState(sys);
  }
  return result;
}
