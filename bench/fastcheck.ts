// The peer baseline of the benchmark: the same model driven the way a developer would with fast-check's
// model-based testing (fc.commands + fc.modelRun), single-threaded, with fast-check's own shrinking. Its
// arbitraries are built from the op vocabulary (src/model/vocab) that the generator reads too: the same
// workload layouts, the same ops with the same weights in each phase (a build, the runnable TD, after
// destroy), the same favoured field values, and faults aimed at the same leaves and sites in the same
// status classes with the same weights. So the comparison is about search and shrinking, not vocabulary.
// What fc.commands cannot express is left out: the generator's locality (an op reusing the previous op's
// gfn) and its running data token (fast-check draws each token on its own).
import fc from 'fast-check';
import type { Design } from '../src/model/config.js';
import type { FaultSite, FaultSpec } from '../src/model/faults.js';
import type { Op, OpKind } from '../src/model/ops.js';
import {
  alignedPick, classesOf, FAULT_RATE, type FieldSpec, gfnPick, isInterval, kindsIn, LAYOUT, NTH_PICK, OPS,
  type Phase, type Pick, SITE_NTH_PICK, type Space, spaceOf,
} from '../src/model/vocab/index.js';
import { SHAPE } from '../src/fuzz/generate.js';
import { CASE_FORMAT, CASE_VERSION, type Case } from '../src/fuzz/case.js';
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
  /** The shrunk counterexample as a case, up to its failing op (to save, replay and show). */
  counterexample?: Case;
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

/** fast-check weights are integers: the vocabulary's weights to thousandths. */
const weight = (w: number): number => Math.max(1, Math.round(w * 1000));

/** A weighted choice of the vocabulary as an arbitrary (fast-check shrinks towards the first choice). */
function pickArb<T>(p: Pick<T>): fc.Arbitrary<T | number> {
  return fc.oneof(...p.filter(([, w]) => w > 0).map(([v, w]) => ({ weight: weight(w), arbitrary: isInterval(v) ? fc.integer(v) : fc.constant(v as T) })));
}

function weightedArb<T>(xs: readonly (readonly [fc.Arbitrary<T>, number])[]): fc.Arbitrary<T> {
  return fc.oneof(...xs.filter(([, w]) => w > 0).map(([arbitrary, w]) => ({ weight: weight(w), arbitrary })));
}

/** One field's values: the generator's favoured values and weights (vocab/fields.ts). */
function fieldArb(f: FieldSpec, s: Space): fc.Arbitrary<Record<string, unknown>> {
  switch (f.kind) {
    case 'gfn':
      return pickArb(gfnPick(s)).map((gfn) => ({ gfn }));
    case 'range': {
      const shapes = f.shapes.map((sh) => {
        const start = sh.start === 'local' ? gfnPick(s) : sh.start === 'local-aligned' ? alignedPick(s) : sh.start(s);
        return [fc.tuple(pickArb(start), pickArb(sh.lengths(s))).map(([a, len]) => ({ start: a, end: Math.min(s.G, a + len) })), sh.weight] as const;
      });
      const range = weightedArb(shapes);
      if (f.empty === undefined) return range;
      return weightedArb([[range, 1 - f.empty], [pickArb(gfnPick(s)).map((a) => ({ start: a, end: a })), f.empty]]);
    }
    case 'enum':
      // the default is written by leaving the field out, as the generator writes it (generate.ts): the model
      // reads a missing alias as "the one the guest believes", and a literal 'believed' as a shared access
      return weightedArb(f.values.map((v, i) => [fc.constant(v === f.default ? {} : { [f.name]: v }), f.weights[i]] as const));
    case 'token': {
      const v = fc.integer({ min: 1, max: Math.min(1_000_000, f.max(s.G)) }).map((x) => ({ [f.name]: x }));
      return f.optional === undefined ? v : weightedArb([[fc.constant({}), 1 - f.optional], [v, f.optional]]);
    }
    case 'count':
      return pickArb(f.pick(s)).map((x) => ({ [f.name]: x }));
  }
}

/** Faults for one op, as the generator draws them (vocab/faults.ts); none after destroy. */
function faultsArb(kind: OpKind, d: Design, phase: Phase): fc.Arbitrary<FaultSpec[] | undefined> {
  const desc = OPS[kind];
  const leaves = desc.leaves.filter(([l]) => classesOf(l, d).length > 0);
  const none = fc.constant(undefined);
  if (phase === 'DEAD' || (!leaves.length && !desc.sites.length)) return none;
  const seam = weightedArb(leaves.map(([leaf, w]) => [fc.constant(leaf), w] as const)).chain((leaf) =>
    fc.tuple(pickArb(NTH_PICK), weightedArb(classesOf(leaf, d).map((c) => [fc.constant(c), c.weight] as const))).chain(([nth, c]) =>
      fc.tuple(fc.constantFrom(...c.statuses), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })).map(([status, r1, r2]): FaultSpec[] => {
        const f: FaultSpec = c.storm !== undefined && r1 < c.storm ? { leaf, nth, status, every: true } : { leaf, nth, status };
        return c.cls === 'busy' && r2 < FAULT_RATE.busyAfterKick ? [f, { leaf, nth: nth + 1, status }] : [f];
      }),
    ),
  );
  const seams = fc.tuple(seam, weightedArb([[fc.constant(false), 1 - FAULT_RATE.second], [fc.constant(true), FAULT_RATE.second]]), seam).map(([a, two, b]) => {
    if (!two) return a;
    return [...a, ...b.filter((f) => !a.some((g) => !('site' in g) && !('site' in f) && g.leaf === f.leaf && g.nth === f.nth))];
  });
  const site = desc.sites.length
    ? fc.tuple(pickArb(desc.sites), pickArb(SITE_NTH_PICK)).map(([site, nth]): FaultSpec[] => [{ site: site as FaultSite, nth }])
    : null;
  const some: fc.Arbitrary<FaultSpec[]> = site && leaves.length ? weightedArb([[site, FAULT_RATE.site], [seams, 1 - FAULT_RATE.site]]) : site ?? seams;
  const rate = desc.faultRate ?? FAULT_RATE.op;
  return weightedArb<FaultSpec[] | undefined>([[none, 1 - rate], [some, rate]]);
}

function opArb(kind: OpKind, s: Space, phase: Phase): fc.Arbitrary<Op> {
  const fields = OPS[kind].fields.map((f) => fieldArb(f, s));
  return fc.tuple(fc.tuple(...fields), faultsArb(kind, s.design, phase)).map(([vals, faults]) => {
    const o: Record<string, unknown> = { op: kind };
    for (const v of vals) Object.assign(o, v);
    if (faults) o.faults = faults;
    return o as unknown as Op;
  });
}

type Cmds = Iterable<fc.Command<object, CaseRunner>>;

/** Commands of one phase, drawn with the phase's weights; `except` are the ops that end the phase. */
function phaseCommands(s: Space, phase: Phase, except: readonly OpKind[], max: number): fc.Arbitrary<Cmds> {
  const mix = weightedArb(kindsIn(phase).filter(([k]) => !except.includes(k)).map(([k, w]) => [opArb(k, s, phase), w] as const));
  return fc.commands([mix.map((op) => new OpCommand(op))], { maxCommands: max });
}

const one = (s: Space, kind: OpKind, phase: Phase): fc.Arbitrary<Cmds> => opArb(kind, s, phase).map((op) => [new OpCommand(op)]);
const nothing: fc.Arbitrary<Cmds> = fc.constant([]);

/** fc.commands' maxCommands per phase: the generator's longest case (3 + SHAPE.long ops) for the runnable TD. */
export const MAX_COMMANDS = { build: 6, runnable: 3 + SHAPE.long, afterDestroy: SHAPE.afterDestroyMax };

/** The fc.check parameters of a hunt: runs without a count limit until the time cap, which is no failure. */
export function checkParameters(seed: number, timeLimitMs: number): fc.Parameters<[[Partial<Design>, Cmds]]> {
  return { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false };
}

/**
 * A case as the generator lays it out: a build (an initial region, ops drawn with the build's weights, then
 * finalize, destroy, or neither, in the proportion of their weights), the runnable TD, a teardown with
 * the generator's chance, and a few ops after it.
 */
function caseCommands(s: Space): fc.Arbitrary<Cmds> {
  const parts: fc.Arbitrary<Cmds>[] = [];
  const build = s.design.startPhase === 'BUILD';
  const w = (k: OpKind, p: Phase): number => OPS[k].phases[p] ?? 0;
  if (build) {
    parts.push(one(s, 'initMemRegion', 'BUILD'), phaseCommands(s, 'BUILD', ['finalize', 'destroy'], MAX_COMMANDS.build));
    parts.push(weightedArb([[one(s, 'finalize', 'BUILD'), w('finalize', 'BUILD')], [one(s, 'destroy', 'BUILD'), w('destroy', 'BUILD')], [nothing, 0.7]]));
  }
  parts.push(phaseCommands(s, 'RUNNABLE', ['destroy'], MAX_COMMANDS.runnable));
  parts.push(weightedArb([[one(s, 'destroy', 'RUNNABLE'), SHAPE.teardown], [nothing, 1 - SHAPE.teardown]]));
  parts.push(weightedArb([[phaseCommands(s, 'DEAD', [], MAX_COMMANDS.afterDestroy), SHAPE.afterDestroy], [nothing, 1 - SHAPE.afterDestroy]]));
  return fc.tuple(...parts).map((xs) => xs.flatMap((x) => [...x]));
}

/**
 * The workload layout the generator varies (vocab/layout.ts), drawn on the campaign design one setting after
 * the other as the generator draws it: each choice's values depend on the layout so far (the second
 * memslot's base only once there are two memslots, and after the first's).
 */
function layoutArb(d: Design, from = 0): fc.Arbitrary<Design> {
  if (from === LAYOUT.length) return fc.constant(d);
  const c = LAYOUT[from];
  const vs = c.values(d);
  const pick = d[c.setting] !== c.from || !vs.length ? fc.constant(d[c.setting]) : weightedArb([[fc.constant(c.from), 1 - c.chance], [fc.constantFrom(...vs), c.chance]]);
  return pick.chain((v) => layoutArb({ ...d, [c.setting]: v }, from + 1));
}

function arbitraries(d: Design): fc.Arbitrary<[Partial<Design>, Cmds]> {
  return layoutArb(d).chain((l) => fc.tuple(fc.constant(l as Partial<Design>), caseCommands(spaceOf(l))));
}

/** Hunt for any failure of `design` with fast-check, within `timeLimitMs`. */
export function fastCheckHunt(design: Design, seed: number, timeLimitMs: number, failOnPerf: boolean): BaselineResult {
  const arb = arbitraries(design);
  const t0 = performance.now();
  let runs = 0;
  let firstAt = -1;
  let firstRuns = -1;
  let firstSig: string | null = null;
  const prop = fc.property(arb, ([l, cmds]) => {
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
  const details = fc.check(prop, checkParameters(seed, timeLimitMs));
  const msTotal = performance.now() - t0;
  if (!details.failed || !details.counterexample) return { found: false, signature: null, runsToFailure: runs, msToFailure: NaN, shrunkOps: NaN, msTotal };
  const [[l, cmds]] = details.counterexample;
  // Count the ops of the shrunk counterexample up to the failing one by replaying it.
  const runner = new CaseRunner({ ...design, ...l }, { failOnPerf });
  let shrunkOps = 0;
  const ops: Op[] = [];
  for (const w of cmds as Iterable<OpCommand | { cmd: OpCommand }>) {
    const c = 'cmd' in w ? w.cmd : w; // fast-check hands back its CommandWrapper
    shrunkOps++;
    ops.push(c.op);
    if (runner.runOp(c.op, shrunkOps - 1)) break;
  }
  const counterexample: Case = { format: CASE_FORMAT, version: CASE_VERSION, design: { ...design, ...l }, ops, provenance: { tool: 'fast-check baseline', campaignSeed: seed } };
  return { found: true, signature: firstSig, runsToFailure: firstRuns, msToFailure: firstAt, shrunkOps, msTotal, counterexample };
}
