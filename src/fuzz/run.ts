// runCase: the one executor (architecture principle 1). Builds a fresh system for the case, runs each op
// step by step under the oracle, and returns the verdict, signature, trace hash and coverage.
import { u8 } from '../model/arena.js';
import { describeState } from '../model/describe.js';
import { Guest, resumeGuestCode } from '../model/guest/guest.js';
import { applyOp, describeOp, mixOp } from '../model/ops.js';
import { isIoctl, mixOutcome, type OpOutcome } from '../model/outcome.js';
import { System } from '../model/system.js';
import { faultKind } from '../oracle/faultClass.js';
import { clauseText, detectionOf } from '../oracle/invariants.js';
import { Oracle, type Violation, WATCHDOG } from '../oracle/oracle.js';
import type { Design } from '../model/config.js';
import type { Case, Op } from './case.js';
import { fnv1a32, FNV32_START, fnvEnd, fnvNum, fnvStr } from './hash.js';
import type { Failure, RunResult } from './result.js';
import { signatureOf } from './signature.js';
import { type OpCtx } from '../oracle/oracle.js';
import { OpCounters } from '../model/system.js';
import type { OpArm } from '../model/faults.js';
import { type ActorKind, isGuestCode } from '../model/vocab/index.js';
import { schedulerFor, type Switch } from './schedule.js';

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
  /**
   * Tests of the harness only: when an op of this kind ends in a case with several actors, its actor keeps
   * mmu_lock for write for good, as a path that forgot to release it would, to check the deadlock finding.
   */
  selfTestHoldMmuLockAfter?: string;
  /** Record the op each step of a scheduled run ran (RunResult.stepOps): the minimiser asks for it, campaigns do not. */
  recordStepOps?: boolean;
}

/** Signature id of an exception thrown by the model or the oracle while a case runs (architecture principle 13). */
export const HARNESS_EXCEPTION = 'HARNESS-EXCEPTION';

/** Mix an outcome's coverage key (`kind:ret`, or `kind:result` with the errno of an exit) into FNV state h. */
function mixOutcomeKey(h: number, o: OpOutcome): number {
  h = fnvStr(fnvStr(h, o.kind), ':');
  if (isIoctl(o)) return fnvNum(h, o.ret);
  h = fnvStr(h, o.result);
  return o.result === 'exit' ? fnvNum(h, o.errno) : h;
}

/** Feature id of `${tag}:${a}:${b}>${c}` (a state transition), hashed without building the text. */
function transition(tag: string, a: string, b: number, c: number): number {
  return fnvEnd(fnvNum(fnvStr(fnvNum(fnvStr(fnvStr(fnvStr(FNV32_START, tag), a), ':'), b), '>'), c));
}

/** Feature id of `${tag}${a}:${b}` for a string b. */
function pair(tag: string, a: string, b: string): number {
  return fnvEnd(fnvStr(fnvStr(fnvStr(fnvStr(FNV32_START, tag), a), ':'), b));
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
  /** S-EPT 4K entry states and lpage flags at the end of the previous op, for transition features. */
  private readonly e4kState: Uint8Array;
  private readonly lpageState: Uint8Array;
  /** (leaf, status) pairs of the trace already attributed to an op. */
  private callsSeen = 0;
  private steps = 0;
  private opsRun = 0;
  failure: Failure | null = null;

  constructor(design: Design, private readonly opts: RunOptions = {}, vcpus = 1) {
    this.sys = new System(design, !!opts.trace, vcpus);
    this.guest = new Guest(this.sys.gfns);
    this.oracle = opts.noOracle ? null : new Oracle(this.sys);
    this.regionState = u8(this.sys.regions);
    this.e4kState = u8(this.sys.tdx.sept.e4k.length);
    this.e4kState.set(this.sys.tdx.sept.e4k);
    this.lpageState = u8(this.sys.regions);
    for (let r = 0; r < this.sys.regions; r++) this.lpageState[r] = this.lpageFlags(r);
  }

  /** lpage_info of a 2M range as three bits: disallowed (count > 0), mixed, GUEST_INHIBIT. */
  private lpageFlags(r: number): number {
    const l = this.sys.kvm.lpage;
    return (l.disallowCount[r] > 0 ? 1 : 0) | (l.mixed[r] ? 2 : 0) | (l.guestInhibit[r] ? 4 : 0);
  }

  /** The first structural violation of the case: its failure unless damage follows (see judge). */
  private structural: Failure | null = null;
  /** Every distinct structural check that fired (inv, and clause index when it has several). */
  private readonly structuralHits = new Set<string>();

  private fail(v: Violation, i: number, op: Op, step: string): Failure {
    const sys = this.sys;
    sys.trace.op = i;
    const detection = detectionOf(v);
    sys.trace.event(`VIOLATION ${v.inv}: ${v.message}`);
    const f: Failure = { inv: v.inv, opIndex: i, opKind: op.op, step, message: v.message, faultKinds: [...new Set(sys.inj.fired.map(faultKind))], detection };
    const clause = clauseText(v);
    if (clause) f.clause = clause;
    if (this.structural && detection !== 'structural') f.after = { inv: this.structural.inv, opIndex: this.structural.opIndex, opKind: this.structural.opKind, step: this.structural.step, message: this.structural.message, ...(this.structural.clause ? { clause: this.structural.clause } : {}) };
    return f;
  }

  /**
   * Damage first: a structural violation (a rule broken before any damage) is recorded, the first one kept,
   * and the case goes on to see whether the damage the spec names follows; any other violation ends the
   * case as its failure. With no damage by the end, the first structural violation is the failure (result()).
   * Returns true when the case ends.
   */
  private judge(v: Violation | null, i: number, op: Op, step: string): boolean {
    if (!v) return false;
    if (v.supersedes) this.judge(v.supersedes, i, op, step); // the structural violation the same check found
    if (detectionOf(v) === 'structural') {
      this.structuralHits.add(v.clause === undefined ? v.inv : `${v.inv}#${v.clause}`);
      this.structural ??= this.fail(v, i, op, step);
      return false;
    }
    this.failure = this.fail(v, i, op, step);
    return true;
  }

  /** The case's failure so far: its damage, else its first structural violation. */
  get verdictSoFar(): Failure | null {
    return this.failure ?? this.structural;
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
      this.exception(e, i, op);
      return this.failure;
    }
  }

  /**
   * An exception inside the model or the oracle ends the case. After a structural violation the failure is
   * that violation: a path that broke a rule leaves state the model's paths need not expect, so the
   * exception is most likely its consequence, and the structural hit is the stable, minimisable finding
   * (the exception is named in the trace and in `exception`). Otherwise it is a HARNESS-EXCEPTION.
   */
  private exception(e: unknown, i: number, op: Op): void {
    const first = (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0];
    if (this.structural) {
      this.sys.trace.event(`EXCEPTION after ${this.structural.inv}: ${first}`);
      this.failure = { ...this.structural, exception: first };
      return;
    }
    this.failure = this.fail({ inv: HARNESS_EXCEPTION, message: `exception in the model or oracle: ${first}` }, i, op, this.label);
  }

  private label = 'start';

  /** An exception inside a scheduled run: the same HARNESS-EXCEPTION failure as runOp makes. */
  harnessException(e: unknown, c: Case): void {
    const i = Math.max(0, this.sys.trace.op);
    this.exception(e, i, c.ops[i] ?? c.ops[0]);
  }

  private runOpSteps(op: Op, i: number): Failure | null {
    const { sys, oracle, opts } = this;
    sys.trace.op = i;
    mixOp(sys.trace.text('op ').dec(i).text(': '), op);
    sys.trace.endEvent();
    const firedBefore = sys.inj.fired.length;
    sys.inj.armAlone(i, op.faults);
    sys.counters.reset();
    oracle?.beginOp(op, i);
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
      if (oracle && (this.judge(oracle.liveness(), i, op, label) || this.judge(oracle.afterStep(), i, op, label))) return this.failure;
      if (++opSteps > WATCHDOG.stepsPerOp) {
        return (this.failure = this.fail({ inv: 'WATCHDOG', message: `${op.op} still running after ${WATCHDOG.stepsPerOp} steps` }, i, op, label));
      }
    }
    return this.finishOp(op, i, outcome, firedBefore, true, label);
  }

  /** The op's outcome: end-of-op checks (quiescent: no other actor inside an op) and coverage. */
  private finishOp(op: Op, i: number, outcome: OpOutcome, firedBefore: number, quiescent: boolean, lastLabel: string): Failure | null {
    const { sys, oracle, opts, features } = this;
    sys.trace.op = i;
    mixOutcome(sys.trace.text('  -> '), outcome);
    sys.trace.endEvent();
    const ended = oracle ? this.judge(oracle.afterStep(), i, op, 'end of op') || this.judge(oracle.endOp(outcome, quiescent), i, op, 'end of op') : false;
    if (!ended && !this.structural && opts.failOnPerf && oracle?.perf.length) this.failure = this.fail(oracle.perf[0], i, op, 'end of op');
    // coverage: op outcomes, fired faults, S-EPT state of each range with its folio order and inhibit bit
    // feature ids are FNV-1a of texts like `o:${kind}:${ret}`, mixed piece by piece (no text is built)
    features.add(fnvEnd(mixOutcomeKey(fnvStr(FNV32_START, 'o:'), outcome)));
    // the error path: which -E (or guest exit) came back, and the step the op last yielded at
    if (isIoctl(outcome) ? outcome.ret !== 0 : outcome.result === 'exit') features.add(fnvEnd(fnvStr(fnvStr(mixOutcomeKey(fnvStr(FNV32_START, 'e:'), outcome), ':'), lastLabel)));
    for (let k = firedBefore; k < sys.inj.fired.length; k++) {
      const f = sys.inj.fired[k];
      if (f.opIndex !== i) continue;
      const kind = faultKind(f);
      features.add(fnv1a32(`f:${kind}`));
      features.add(fnv1a32(`F:${op.op}:${kind}#${f.nth}`)); // the fault that fired, in which op and on which call
    }
    // (op kind, SEAMCALL leaf, status): pairs the case meets for the first time, credited to the op that ends
    if (sys.trace.calls.size > this.callsSeen) {
      let k = 0;
      for (const call of sys.trace.calls) if (k++ >= this.callsSeen) features.add(fnvEnd(fnvNum(fnvStr(fnvStr(fnvStr(FNV32_START, 't:'), op.op), ':'), call)));
      this.callsSeen = sys.trace.calls.size;
    }
    const sept = sys.tdx.sept;
    const { regionState, lpageState, e4kState } = this;
    for (let r = 0; r < sys.regions; r++) {
      const st = sept.e2m[r] * 4 + (sys.gmem.orderAt(r * sys.ptrs) > 0 ? 2 : 0) + sys.kvm.lpage.guestInhibit[r];
      if (st !== regionState[r]) features.add(transition('s:', op.op, regionState[r], st));
      regionState[r] = st;
      // lpage flag transitions of the 2M range
      const l = this.lpageFlags(r);
      if (l !== lpageState[r]) features.add(transition('l:', op.op, lpageState[r], l));
      lpageState[r] = l;
    }
    // S-EPT 4K entry state transitions (the 2M level's are in the region state above)
    const e4k = sept.e4k;
    for (let g = 0; g < e4k.length; g++) {
      if (e4k[g] === e4kState[g]) continue;
      features.add(transition('4:', op.op, e4kState[g], e4k[g]));
      e4kState[g] = e4k[g];
    }
    return this.failure;
  }

  /** Recorded switch points of a scheduled run (see runScheduled). */
  private switches: Switch[] | null = null;
  /** The op index each step of a scheduled run ran. */
  private stepOps: number[] | null = null;

  /**
   * Run a case with several actors: each actor issues its ops in case order; before every step the
   * schedule picks the actor that runs it. An actor whose last step was a wait (a lock held by another
   * actor, vCPU entry held off) is blocked: it runs only when the schedule names it or nothing else can run.
   * Every actor blocked with no progress is a deadlock; steps without any op ending past the bound, a livelock.
   */
  runScheduled(c: Case): void {
    const { sys, oracle, opts } = this;
    const kinds: ActorKind[] = c.actors!;
    let vcpu = 0;
    const actors = kinds.map((kind, a): Actor => ({
      ops: c.ops.flatMap((o, i) => ((o.actor ?? 0) === a ? [i] : [])),
      next: 0,
      path: null,
      opIndex: -1,
      vcpu: kind === 'vcpu' ? vcpu++ : 0,
      counters: new OpCounters(),
      arm: null,
      ctx: null,
      blocked: false,
      opSteps: 0,
      firedBefore: 0,
      lastStep: -1,
      lastLabel: 'start',
    }));
    const sched = schedulerFor(actors.length, c.schedule);
    const switches: Switch[] = (this.switches = []);
    const stepOps: number[] | null = (this.stepOps = opts.recordStepOps ? [] : null);
    let prev = 0;
    let step = 0;
    let sinceProgress = 0;
    let stalled = new Set<number>();
    for (;;) {
      const unfinished: number[] = [];
      const runnable: number[] = [];
      actors.forEach((x, a) => {
        if (!x.path && x.next >= x.ops.length) return;
        unfinished.push(a);
        if (!x.blocked) runnable.push(a);
      });
      if (unfinished.length === 0) return;
      // everything blocked: let each blocked actor look again, in turn; when every one of them is waiting
      // (not retrying) and none got further, nothing can wake them: a deadlock
      let pool = runnable;
      if (!runnable.length) {
        // in turn after the actor that ran last, so a retrying actor cannot starve a waiting one
        const probe = unfinished.find((a) => a > prev && !stalled.has(a)) ?? unfinished.find((a) => !stalled.has(a));
        if (probe === undefined) {
          const at = actors[unfinished[0]];
          this.failure = this.fail({ inv: 'DEADLOCK', message: `every actor is blocked: ${unfinished.map((a) => `actor ${a} (${kinds[a]}) in #${actors[a].opIndex} ${c.ops[actors[a].opIndex].op}`).join(', ')}` }, at.opIndex, c.ops[at.opIndex], 'deadlock');
          return;
        }
        pool = [probe];
      }
      const a = sched.pick(step, prev, pool);
      if (a !== prev) {
        switches.push({ step, to: a });
        prev = a;
      }
      const x = actors[a];
      sys.otherUsers = unfinished.length - 1;
      sys.actor = a;
      sys.trace.actor = a;
      sys.counters = x.counters;
      oracle?.atStep(step);
      step++;
      this.steps++;
      if (!x.path) {
        const i = x.ops[x.next++];
        const op = c.ops[i];
        this.opsRun++;
        x.opIndex = i;
        x.opSteps = 0;
        x.lastStep = -1;
        x.lastLabel = 'start';
        sys.trace.op = i;
        sys.trace.event(`op ${i}: ${describeOp(op)}${kinds.length > 1 ? ` [actor ${a} ${kinds[a]}]` : ''}`);
        x.firedBefore = sys.inj.fired.length;
        x.arm = sys.inj.arm(i, op.faults);
        x.counters.reset();
        x.ctx = oracle ? oracle.beginOp(op, i) : null;
        x.path = applyOp(sys, this.guest, op, x.vcpu);
      } else {
        sys.inj.select(x.arm!);
        if (x.ctx) oracle!.select(x.ctx);
        sys.trace.op = x.opIndex;
      }
      stepOps?.push(x.opIndex);
      const op = c.ops[x.opIndex];
      this.label = 'start';
      const hashBefore = sys.trace.h;
      const srcuReadersBefore = sys.kvm.srcuReaders.length;
      const res = x.path.next();
      if (res.done) {
        x.path = null;
        // a last step after an unlock (or another plain step) that only returned (nothing hashed: no event,
        // SEAMCALL or state the trace records) does not make the op end later in real time: it ended at its
        // previous step. After a wait or a retry the last step did the work it waited for, so it counts (the
        // label says so: a released lock may have made the actor runnable again meanwhile).
        const waited = x.lastLabel.endsWith(':wait') || x.lastLabel.endsWith(':retry');
        if (sys.trace.h === hashBefore && x.lastStep >= 0 && !waited) oracle?.atStep(x.lastStep);
        x.blocked = false;
        sinceProgress = 0;
        stalled = new Set();
        if (opts.selfTestHoldMmuLockAfter === op.op) sys.kvm.mmuLock.writer = a;
        const quiescent = actors.every((y) => !y.path);
        if (this.finishOp(op, x.opIndex, res.value, x.firedBefore, quiescent, x.lastLabel)) return;
        // a vCPU with more guest code to run stays in the guest meanwhile (it holds its TD epoch, MOD-track)
        if (kinds[a] === 'vcpu' && kinds.length > 1 && x.next < x.ops.length && isGuestCode(c.ops[x.ops[x.next]])) resumeGuestCode(sys, x.vcpu);
        continue;
      }
      x.lastStep = step - 1;
      const label = (this.label = x.lastLabel = res.value);
      // a wait cannot end before another actor acts; a retry can, but lets the others run first
      x.blocked = label.endsWith(':wait') || label.endsWith(':retry');
      if (x.blocked) {
        // a waiting actor that looked again in vain is stalled; any other step may have freed something
        if (!runnable.length && label.endsWith(':wait')) stalled.add(a);
        else stalled = new Set();
        this.features.add(pair('k:', op.op, label)); // lock contention between actors
      } else stalled = new Set();
      // a released lock lets the actors spinning on it contend again, and the actors that retry (a vCPU
      // re-entering the guest) try again: they become runnable, so the schedule may run one of them before
      // the releaser takes the lock back (the window BUG-7's splitter opens when it drops mmu_lock)
      if (label === 'mmu_unlock:write' || label === 'mmu_unlock:read' || label === 'filemap_invalidate_unlock') {
        for (const y of actors) if (y !== x && y.blocked && (y.lastLabel === 'mmu_lock:wait' || y.lastLabel === 'filemap_invalidate_lock:wait' || y.lastLabel.endsWith(':retry'))) y.blocked = false;
      }
      // a vCPU that left its kvm->srcu read-side section may end the grace period a memslot deletion waits
      // for (synchronize_srcu): the waiter looks again, or vCPUs spinning on the invalid slot starve it
      if (sys.kvm.srcuReaders.length < srcuReadersBefore) {
        for (const y of actors) if (y !== x && y.blocked && y.lastLabel === 'synchronize_srcu:wait') y.blocked = false;
      }
      if (opts.selfTestThrowIn === op.op) throw new Error(`self-test exception in ${op.op} at ${label}`);
      if (oracle && (this.judge(oracle.liveness(), x.opIndex, op, label) || this.judge(oracle.afterStep(), x.opIndex, op, label))) return;
      if (++x.opSteps > WATCHDOG.stepsPerOp) {
        this.failure = this.fail({ inv: 'WATCHDOG', message: `${op.op} still running after ${WATCHDOG.stepsPerOp} steps` }, x.opIndex, op, label);
        return;
      }
      if (++sinceProgress > WATCHDOG.stepsPerOp) {
        this.failure = this.fail({ inv: 'LIVELOCK', message: `no op of any actor ended in ${WATCHDOG.stepsPerOp} steps` }, x.opIndex, op, label);
        return;
      }
    }
  }

  result(): RunResult {
    // no damage by the end: the first structural violation is the failure, as when it ended the case
    if (!this.failure && this.structural) this.failure = this.structural;
    const { sys, oracle, features, failure } = this;
    for (const call of sys.trace.calls) features.add(fnvEnd(fnvNum(fnvStr(FNV32_START, 'c:'), call)));
    const signature = failure ? signatureOf(failure) : null;
    if (signature) features.add(fnv1a32(`x:${signature}`));
    const sorted = new Uint32Array(features.size);
    let n = 0;
    for (const f of features) sorted[n++] = f;
    sorted.sort(); // a typed array sorts numerically
    const result: RunResult = {
      verdict: failure ? 'fail' : 'pass',
      signature,
      failure,
      traceHash: (sys.trace.h >>> 0).toString(16).padStart(8, '0'),
      opsRun: this.opsRun,
      steps: this.steps,
      features: sorted,
      notes: oracle?.notes ?? [],
      perf: oracle?.perf.map((p) => `${p.inv}: ${p.message}`) ?? [],
      busyUninjected: sys.tdx.contentionBusy,
    };
    if (this.structuralHits.size) result.structuralHits = [...this.structuralHits].sort();
    if (this.switches) result.schedule = this.switches;
    if (this.stepOps) result.stepOps = this.stepOps;
    if (this.opts.trace && sys.trace.lines) {
      result.trace = sys.trace.lines;
      result.state = describeState(sys);
    }
    return result;
  }
}

/** The state of one actor of a scheduled run. */
interface Actor {
  /** Indices of the case's ops this actor issues, in order, and the next to start. */
  ops: number[];
  next: number;
  path: ReturnType<typeof applyOp> | null;
  opIndex: number;
  vcpu: number;
  counters: OpCounters;
  arm: OpArm | null;
  ctx: OpCtx | null;
  blocked: boolean;
  opSteps: number;
  firedBefore: number;
  /** Global step of the op's last yield (-1 before its first). */
  lastStep: number;
  /** The label of the op's last yield (where an error path returned from). */
  lastLabel: string;
}

export function runCase(c: Case, opts: RunOptions = {}): RunResult {
  if (c.actors) {
    const runner = new CaseRunner(c.design, opts, Math.max(1, c.actors.filter((a) => a === 'vcpu').length));
    try {
      runner.runScheduled(c);
    } catch (e) {
      runner.harnessException(e, c);
    }
    return runner.result();
  }
  const runner = new CaseRunner(c.design, opts);
  for (let i = 0; i < c.ops.length && !runner.failure; i++) runner.runOp(c.ops[i], i);
  return runner.result();
}
