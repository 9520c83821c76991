// How simple a case is, as a tuple compared in order: fewer ops, then fewer faults, then weaker faults,
// then a design closer to the campaign defaults, then smaller arguments. The minimiser accepts a candidate
// only when it is strictly simpler, so reduction always ends and "simpler" means one thing everywhere.
import { CAMPAIGN_DEFAULTS, type Design, DESIGN_KEYS } from '../../model/config.js';
import { isSiteFault } from '../../model/faults.js';
import { classOf, HARD_ERRORS, LEAF_VOCAB, OPS, STATUS_CLASSES } from '../../model/vocab/index.js';
import type { Leaf } from '../../model/tdx/leaf.js';
import type { StatusName } from '../../model/tdx/status.js';
import type { Case, Op } from '../case.js';

/** Design settings the minimiser never changes: they size the GPA space every op's gfns live in. */
export const FIXED_SETTINGS: readonly string[] = ['ptrs', 'regions'];

/** Distance of a gfn from the simplest gfns: 0, then 2M boundaries (ptrs entries per table). */
export function gfnCost(g: number, ptrs: number): number {
  return (g % ptrs) + Math.floor(g / ptrs);
}

/** Settings that differ from the campaign defaults (CAMPAIGN_DEFAULTS), plus each guard switched off. */
export function designCost(d: Design): number {
  let n = d.guardsOff.length;
  for (const k of DESIGN_KEYS) if (k !== 'guardsOff' && !FIXED_SETTINGS.includes(k) && d[k] !== CAMPAIGN_DEFAULTS[k]) n++;
  return n;
}

/** Size of an op's arguments, read from the op table's field kinds. */
export function argCost(op: Op, d: Design): number {
  const o = op as unknown as Record<string, number | string | undefined>;
  const G = d.ptrs * d.regions;
  let n = 0;
  for (const f of OPS[op.op].fields) {
    switch (f.kind) {
      case 'gfn':
        n += gfnCost(o.gfn as number, d.ptrs);
        break;
      case 'range': // a shorter range beats any start; then a start nearer 0 or a 2M boundary
        n += ((o.end as number) - (o.start as number)) * (G + 1) + gfnCost(o.start as number, d.ptrs);
        break;
      case 'enum':
        if (f.simplest !== undefined && o[f.name] !== f.simplest) n++;
        break;
      case 'token':
        if (f.optional !== undefined && o[f.name] !== undefined) n++;
        break;
      case 'count':
        n += (o[f.name] as number) - f.min;
        break;
    }
  }
  return n;
}

/** The first status listed for the class `st` belongs to on `leaf` (vocab/faults.ts): one name per class. */
export function canonicalStatus(leaf: Leaf, st: StatusName): StatusName {
  const cls = classOf(leaf, st);
  const entry = LEAF_VOCAB[leaf].classes.find((e) => e.cls === cls);
  return entry?.statuses[0] ?? (cls === 'hard' ? HARD_ERRORS[0] : st);
}

export function caseCost(c: Case): number[] {
  let faults = 0;
  let strength = 0;
  let position = 0;
  let args = 0;
  for (const op of c.ops) {
    args += argCost(op, c.design);
    for (const f of op.faults ?? []) {
      faults++;
      position += f.nth - 1;
      if (!isSiteFault(f)) {
        strength += STATUS_CLASSES.indexOf(classOf(f.leaf, f.status)) + 1;
        if (canonicalStatus(f.leaf, f.status) !== f.status) position++;
        if (f.every) position++;
      }
    }
  }
  // a concurrent case: fewer actors, then fewer and earlier schedule switches, count as simpler
  const actors = c.actors?.length ?? 0;
  const sw = c.actors && Array.isArray(c.schedule) ? c.schedule : [];
  const swSteps = sw.reduce((n, s) => n + s.step, 0);
  return [c.ops.length, faults, actors, sw.length, strength, designCost(c.design), position, args, swSteps];
}

/** Is `a` strictly simpler than `b`? */
export function simpler(a: Case, b: Case): boolean {
  const x = caseCost(a);
  const y = caseCost(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}
