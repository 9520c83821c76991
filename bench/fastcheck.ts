// The peer baseline of the benchmark: the same model driven the way a developer would with fast-check's
// model-based testing (fc.commands + fc.modelRun), single-threaded, with fast-check's own shrinking. The
// commands are the same operations, faults and workload layouts tdxfuzz generates, so the comparison is
// about search and shrinking, not vocabulary.
import fc from 'fast-check';
import type { Design } from '../src/model/config.js';
import { FAULT_SITES, type FaultSpec } from '../src/model/faults.js';
import type { Leaf } from '../src/model/tdx/leaf.js';
import type { StatusName } from '../src/model/tdx/status.js';
import type { Op } from '../src/model/ops.js';
import { CaseRunner } from '../src/fuzz/run.js';
import { signatureOf } from '../src/fuzz/signature.js';

export interface BaselineResult {
  found: boolean;
  /** Signature of the first failure fast-check met. */
  signature: string | null;
  /** Property runs up to and including the first failing one. */
  runsToFailure: number;
  msToFailure: number;
  /** Ops in the shrunk counterexample, up to the failing one. */
  shrunkOps: number;
  msTotal: number;
}

/** A failure raised inside a command, carrying its signature. */
class Violation extends Error {
  constructor(readonly signature: string) {
    super(signature);
  }
}

class OpCommand implements fc.Command<object, CaseRunner> {
  constructor(readonly op: Op) {}
  check(): boolean {
    return true;
  }
  run(_m: object, r: CaseRunner): void {
    const f = r.runOp(this.op, r.opCount);
    if (f) throw new Violation(signatureOf(f));
  }
  toString(): string {
    return JSON.stringify(this.op);
  }
}

function arbitraries(d: Design): { layout: fc.Arbitrary<Partial<Design>>; commands: fc.Arbitrary<Iterable<fc.Command<object, CaseRunner>>> } {
  const P = d.ptrs;
  const G = P * d.regions;
  const gfn = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0, 1, P - 1, P, P + 1, P >> 1, G - 1) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: G - 1 }) },
  );
  const leaves: Leaf[] = [
    'TDH.MEM.PAGE.AUG', 'TDH.MEM.SEPT.ADD', 'TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.DEMOTE',
    'TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD', 'TDG.MEM.PAGE.ACCEPT', 'TDH.PHYMEM.PAGE.RECLAIM',
  ];
  const statuses: StatusName[] = ['TDX_OPERAND_BUSY', 'TDX_OPERAND_BUSY', 'TDX_OPERAND_BUSY', 'TDX_SW_ERROR'];
  const seamFault: fc.Arbitrary<FaultSpec> = fc
    .tuple(fc.constantFrom(...leaves), fc.integer({ min: 1, max: 3 }), fc.constantFrom(...statuses))
    .map(([leaf, nth, status]) => ({ leaf, nth, status }));
  const storm = fc.constant({ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE', every: true } as FaultSpec);
  const siteFault = fc.record({ site: fc.constantFrom(...FAULT_SITES), nth: fc.integer({ min: 1, max: 2 }) }) as fc.Arbitrary<FaultSpec>;
  const faults = fc.option(fc.array(fc.oneof(seamFault, seamFault, siteFault, storm), { minLength: 1, maxLength: 2 }), { freq: 5, nil: undefined });
  const len = fc.constantFrom(1, 2, P >> 1, P, P + 1);
  const range = fc.tuple(gfn, len).map(([s, l]) => ({ start: s, end: Math.min(G, s + l) }));
  const withFaults = (a: fc.Arbitrary<Op>): fc.Arbitrary<fc.Command<object, CaseRunner>> =>
    fc.tuple(a, faults).map(([op, f]) => new OpCommand(f ? ({ ...op, faults: f } as Op) : op));
  const ops: fc.Arbitrary<Op>[] = [
    fc.record({ op: fc.constant('touch' as const), gfn, write: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }) }).map((o) => (o.write === undefined ? { op: 'touch' as const, gfn: o.gfn } : o)),
    fc.record({ op: fc.constant('accept' as const), gfn, level: fc.constantFrom('4K' as const, '2M' as const) }),
    fc.tuple(range, fc.constantFrom('shared' as const, 'private' as const)).map(([r, to]) => ({ op: 'convert' as const, ...r, to })),
    range.map((r) => ({ op: 'punch' as const, ...r })),
    range.map((r) => ({ op: 'initMemRegion' as const, ...r, data: 1 })),
    range.map((r) => ({ op: 'prefault' as const, ...r })),
    fc.constantFrom({ op: 'finalize' as const }, { op: 'destroy' as const }, { op: 'deleteSlot' as const }, { op: 'hostAlloc' as const, pages: 4 }),
    fc.tuple(fc.constantFrom('hostMap' as const, 'hostUnmap' as const, 'pin' as const, 'unpin' as const, 'memoryFailure' as const), gfn).map(([op, g]) => ({ op, gfn: g })),
  ];
  const commands = fc.commands(ops.map(withFaults), { maxCommands: 30 });
  // The workload layout the generator varies: the memslot and the start phase.
  const layout = fc.record({
    slotBaseGfn: fc.constantFrom(0, 0, 0, 0, 0, 0, P >> 1, 1, P),
    gmemOffset: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, P >> 1, 1, P),
    uaddrOffset: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 1, P >> 1),
    startPhase: fc.constantFrom('RUNNABLE' as const, 'RUNNABLE' as const, 'RUNNABLE' as const, 'RUNNABLE' as const, 'RUNNABLE' as const, 'BUILD' as const),
  });
  return { layout, commands };
}

/** Hunt for any failure of `design` with fast-check, within `timeLimitMs`. */
export function fastCheckHunt(design: Design, seed: number, timeLimitMs: number, failOnPerf: boolean): BaselineResult {
  const { layout, commands } = arbitraries(design);
  const t0 = performance.now();
  let runs = 0;
  let firstAt = -1;
  let firstRuns = -1;
  let firstSig: string | null = null;
  const prop = fc.property(layout, commands, (l, cmds) => {
    runs++;
    const runner = new CaseRunner({ ...design, ...l }, { failOnPerf });
    try {
      fc.modelRun(() => ({ model: {}, real: runner }), cmds);
    } catch (e) {
      if (firstAt < 0 && e instanceof Violation) {
        firstAt = performance.now() - t0;
        firstRuns = runs;
        firstSig = e.signature;
      }
      throw e;
    }
  });
  const details = fc.check(prop, { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false });
  const msTotal = performance.now() - t0;
  if (!details.failed || !details.counterexample) return { found: false, signature: null, runsToFailure: runs, msToFailure: NaN, shrunkOps: NaN, msTotal };
  const [l, cmds] = details.counterexample;
  // Count the ops of the shrunk counterexample up to the failing one by replaying it.
  const runner = new CaseRunner({ ...design, ...l }, { failOnPerf });
  let shrunkOps = 0;
  for (const w of cmds as Iterable<OpCommand | { cmd: OpCommand }>) {
    const c = 'cmd' in w ? w.cmd : w; // fast-check hands back its CommandWrapper
    shrunkOps++;
    if (runner.runOp(c.op, shrunkOps - 1)) break;
  }
  return { found: true, signature: firstSig, runsToFailure: firstRuns, msToFailure: firstAt, shrunkOps, msTotal };
}
