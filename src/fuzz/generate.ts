// Seeded case generation, derived from the op vocabulary (src/model/vocab): which ops a phase draws and
// how often, their fields' favoured values (2M boundaries, the first and last page of a range, memslot
// edges, one-page ranges), and faults aimed at the leaves and sites each op reaches, in every status class
// the design can meet. Case i of campaign S depends only on (S, i, generator version, design), never on
// worker count or order (architecture principle 3).
import seedrandom from 'seedrandom';
import type { Design } from '../model/config.js';
import type { FaultSite, FaultSpec, SeamcallFault } from '../model/faults.js';
import type { Op, OpKind } from '../model/ops.js';
import {
  classesOf, drawPick, FAULT_RATE, type FieldSpec, gfnPick, kindsIn, LAYOUT, NTH_PICK, OPS, type Phase,
  SITE_NTH_PICK, type Space, spaceOf,
} from '../model/vocab/index.js';
import { CASE_FORMAT, type Case } from './case.js';

export const GENERATOR_VERSION = 4;

export class Rng {
  private readonly next: () => number;
  constructor(seed: string) {
    this.next = seedrandom.alea(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** Pick by weight from [value, weight] pairs. */
  weighted<T>(xs: readonly (readonly [T, number])[]): T {
    // indexed loops: destructuring iteration was a tenth of generation's time
    let total = 0;
    for (let i = 0; i < xs.length; i++) total += xs[i][1];
    let x = this.next() * total;
    for (let i = 0; i < xs.length; i++) {
      x -= xs[i][1];
      if (x < 0) return xs[i][0];
    }
    return xs[xs.length - 1][0];
  }
}

/** How a generated case is laid out over the phases (the op table says what each phase draws). */
export const SHAPE = {
  /** Ops in a case: 3 + a uniform count below `short` (70% of cases) or `long`. */
  short: 10,
  long: 22,
  /** Chance an op reuses the previous op's gfn, so consecutive ops meet on the same page. */
  locality: 0.35,
  /** Chance a case that has not been torn down ends with destroy (teardown, seed 000). */
  teardown: 0.28,
  /** Chance ops follow a destroy, and how many at most. */
  afterDestroy: 0.35,
  afterDestroyMax: 2,
} as const;

/** The memslot layout and start phase of a case: userspace's choice, not the design's (vocab/layout.ts). */
function pickLayout(rng: Rng, d: Design): Design {
  const out = { ...d, guardsOff: [...d.guardsOff] };
  for (const c of LAYOUT) {
    const vs = c.values(out); // the layout so far: the second memslot's base comes after the first's
    if (d[c.setting] === c.from && vs.length && rng.chance(c.chance)) (out as unknown as Record<string, unknown>)[c.setting] = rng.pick(vs);
  }
  return out;
}

/** Draws one case's ops; keeps the gfn locality and the running data token. */
export class OpGen {
  private last: number;
  private token: number;
  constructor(private readonly rng: Rng, private readonly s: Space, index: number) {
    this.last = this.gfn();
    this.token = 1 + (index % 1000) * 1000;
  }

  private gfn(): number {
    return drawPick(this.rng, gfnPick(this.s));
  }

  op(kind: OpKind, phase: Phase): Op {
    const { rng, s } = this;
    const local = rng.chance(SHAPE.locality) ? this.last : this.gfn();
    const o: Record<string, unknown> = { op: kind };
    let len = 1;
    for (const f of OPS[kind].fields) len = this.field(f, o, local) ?? len;
    for (const f of OPS[kind].fields) {
      // a token after a range covers each page of it (initMemRegion's page i gets data + i)
      if (f.kind === 'token' && (f.optional === undefined || rng.chance(f.optional))) {
        o[f.name] = this.token;
        this.token += Math.max(1, len);
      }
    }
    this.last = (o.gfn as number | undefined) ?? (o.start as number | undefined) ?? local;
    if (this.last >= s.G) this.last = s.G - 1;
    const faults = genFaults(rng, kind, s.design, phase);
    if (faults) o.faults = faults;
    return o as unknown as Op;
  }

  /** Sets the field's value(s); returns a range's length. */
  private field(f: FieldSpec, o: Record<string, unknown>, local: number): number | undefined {
    const { rng, s } = this;
    switch (f.kind) {
      case 'gfn':
        o.gfn = local;
        return undefined;
      case 'range': {
        const shape = rng.weighted(weightedOnce(f, () => f.shapes.map((x) => [x, x.weight] as const)));
        const start = shape.start === 'local' ? local : shape.start === 'local-aligned' ? local - (local % s.P) : drawPick(rng, shape.start(s));
        const end = f.empty !== undefined && rng.chance(f.empty) ? start : Math.min(s.G, start + drawPick(rng, shape.lengths(s)));
        o.start = start;
        o.end = end;
        return end - start;
      }
      case 'enum': {
        const v = rng.weighted(weightedOnce(f, () => f.values.map((x, i) => [x, f.weights[i]] as const)));
        if (v !== f.default) o[f.name] = v; // the default is written by leaving the field out
        return undefined;
      }
      case 'token':
        return undefined; // after the other fields
      case 'count':
        o[f.name] = drawPick(rng, f.pick(s));
        return undefined;
    }
  }
}

/** A field's [value, weight] pairs, built once per field of the op table (they depend on the field alone). */
const WEIGHTED = new WeakMap<FieldSpec, readonly (readonly [unknown, number])[]>();
function weightedOnce<T>(f: FieldSpec, build: () => readonly (readonly [T, number])[]): readonly (readonly [T, number])[] {
  let w = WEIGHTED.get(f) as readonly (readonly [T, number])[] | undefined;
  if (!w) WEIGHTED.set(f, (w = build()));
  return w;
}

/**
 * Faults for one op: aimed at the leaves and sites the op table says it reaches, in a status class the
 * design can meet (vocab/faults.ts). A dead VM makes no SEAMCALL, so ops after destroy get none.
 */
export function genFaults(rng: Rng, kind: OpKind, d: Design, phase: Phase): FaultSpec[] | undefined {
  const desc = OPS[kind];
  if (phase === 'DEAD' || !rng.chance(desc.faultRate ?? FAULT_RATE.op)) return undefined;
  if (desc.sites.length && rng.chance(FAULT_RATE.site)) return [{ site: rng.weighted(desc.sites) as FaultSite, nth: drawPick(rng, SITE_NTH_PICK) }];
  const leaves = desc.leaves.filter(([l]) => classesOf(l, d).length > 0);
  if (!leaves.length) return undefined;
  const out: SeamcallFault[] = [];
  const n = rng.chance(FAULT_RATE.second) ? 2 : 1;
  for (let k = 0; k < n; k++) {
    const leaf = rng.weighted(leaves);
    const nth = drawPick(rng, NTH_PICK);
    const cls = rng.weighted(classesOf(leaf, d).map((c) => [c, c.weight] as const));
    const status = rng.pick(cls.statuses);
    if (out.some((f) => f.leaf === leaf && f.nth === nth)) continue;
    if (cls.storm !== undefined && rng.chance(cls.storm)) out.push({ leaf, nth, status, every: true });
    else out.push({ leaf, nth, status });
    // BUSY on the retry after the kick as well: the design says that retry must succeed (003:L238-240).
    if (cls.cls === 'busy' && rng.chance(FAULT_RATE.busyAfterKick) && !out.some((f) => f.leaf === leaf && f.nth === nth + 1)) {
      out.push({ leaf, nth: nth + 1, status });
    }
  }
  return out;
}

export function generateCase(campaignDesign: Design, campaignSeed: number, index: number): Case {
  const rng = new Rng(`tdxfuzz/${GENERATOR_VERSION}/${campaignSeed}/${index}`);
  const design = pickLayout(rng, campaignDesign);
  const gen = new OpGen(rng, spaceOf(design), index);
  const nOps = 3 + rng.int(rng.chance(0.7) ? SHAPE.short : SHAPE.long);
  const ops: Op[] = [];
  // The phase the case means each op for; an op that fails (a finalize hit by a fault) leaves the real
  // phase behind, which is one more way to issue ops out of place.
  let phase: Phase = design.startPhase;
  // A TD build starts with its initial pages (KVM_TDX_INIT_MEM_REGION).
  if (phase === 'BUILD') ops.push(gen.op('initMemRegion', phase));
  while (ops.length < nOps && phase !== 'DEAD') {
    const kind = rng.weighted(kindsIn(phase));
    ops.push(gen.op(kind, phase));
    if (kind === 'finalize') phase = 'RUNNABLE';
    if (kind === 'destroy') phase = 'DEAD';
  }
  if (phase !== 'DEAD' && rng.chance(SHAPE.teardown)) {
    ops.push(gen.op('destroy', phase));
    phase = 'DEAD';
  }
  if (phase === 'DEAD' && rng.chance(SHAPE.afterDestroy)) {
    for (let k = 1 + rng.int(SHAPE.afterDestroyMax); k > 0; k--) ops.push(gen.op(rng.weighted(kindsIn('DEAD')), 'DEAD'));
  }
  return {
    format: CASE_FORMAT,
    version: 1,
    design,
    ops,
    provenance: { campaignSeed, caseIndex: index, generatorVersion: GENERATOR_VERSION },
  };
}
