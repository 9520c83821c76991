// The known-bug scenarios the benchmark hunts (model-spec.md section 6): for each, the campaign design
// (campaign defaults, the guard off, and whatever setting the scenario needs), the invariant the spec
// names, and the length of the spec's shortest sequence.
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../src/model/config.js';
import { INVARIANTS } from '../src/oracle/invariants.js';
import { signatureDetection } from '../src/fuzz/signature.js';

export interface BugTarget {
  bug: string;
  /** Settings on top of the campaign defaults, guard included. */
  design: Partial<Design>;
  /** The invariant model-spec.md names. */
  inv: string;
  /** Another check that names the same bug (a variant of the same BUG-n failing at a later step). */
  alsoInv?: string;
  /** Ops in the spec's shortest sequence (its "Seq:"). */
  specOps: number;
  /** A performance finding: hunted with --fail-on perf. */
  perf?: boolean;
  /** Why it cannot be measured here, if it cannot. */
  notMeasurable?: string;
}

export const BUGS: readonly BugTarget[] = [
  { bug: 'BUG-1', design: { guardsOff: ['G1'] }, inv: 'INV-1', specOps: 3 },
  { bug: 'BUG-2', design: { guardsOff: ['G2'] }, inv: 'INV-18', specOps: 5 },
  { bug: 'BUG-3', design: { enhancedDemoteInterruptibility: false, guardsOff: ['G3'] }, inv: 'INV-30', specOps: 2 },
  { bug: 'BUG-4', design: { guardsOff: ['G4'] }, inv: 'INV-12', specOps: 3 },
  // a zap that fails at REMOVE leaves the page in the S-EPT (INV-20); one that fails later, at WBINVD, frees it
  // with the TD key's cache lines (INV-22): the same unguarded window, whichever the fuzzer meets first
  { bug: 'BUG-5', design: { guardsOff: ['G5'] }, inv: 'INV-20', alsoInv: 'INV-22', specOps: 3 },
  { bug: 'BUG-6', design: { guardsOff: ['G6'] }, inv: 'INV-6', specOps: 5 },
  { bug: 'BUG-7', design: { guardsOff: ['G7'] }, inv: 'INV-13', specOps: 2 },
  { bug: 'BUG-8', design: { guardsOff: ['G8'] }, inv: 'INV-10', specOps: 2 },
  { bug: 'BUG-8b', design: { guardsOff: ['G8b'] }, inv: 'PERF-2M', specOps: 2, perf: true },
  { bug: 'BUG-9', design: { guardsOff: ['G9'] }, inv: 'INV-8', specOps: 3 },
  { bug: 'BUG-10', design: { guardsOff: ['G10'] }, inv: 'INV-4', specOps: 1 },
  { bug: 'BUG-11', design: { slotDeleteZapsTables: true, guardsOff: ['G11'] }, inv: 'INV-7', specOps: 3 },
  { bug: 'BUG-12', design: { guardsOff: ['G12'] }, inv: 'INV-22', specOps: 3 },
  { bug: 'BUG-13', design: { guardsOff: ['G13'] }, inv: 'INV-27', specOps: 2 },
  { bug: 'BUG-14', design: { guardsOff: ['G14'] }, inv: 'INV-24', specOps: 2 },
  { bug: 'BUG-15', design: { guardsOff: ['G15'] }, inv: 'INV-17', specOps: 2 },
  { bug: 'BUG-16', design: { vmMemoryAttributes: true, guardsOff: ['G16'] }, inv: 'INV-2', specOps: 2 },
  { bug: 'BUG-17', design: { guardsOff: ['G17'] }, inv: 'INV-3', specOps: 1 },
  { bug: 'BUG-17b', design: { guardsOff: ['G17b'] }, inv: 'PERF-2M', specOps: 1, perf: true },
  { bug: 'BUG-18', design: { guardsOff: ['G18'] }, inv: 'INV-33', specOps: 3, perf: true },
  { bug: 'BUG-19', design: { guardsOff: ['G19'] }, inv: 'INV-31', specOps: 3 },
  // a fault racing an invalidation: tdxfuzz runs half the cases with several actors for a race guard; the fast-check
  // baseline has one actor, so it can only miss it
  { bug: 'BUG-20', design: { guardsOff: ['G20'] }, inv: 'INV-2', specOps: 2 },
  { bug: 'BUG-21', design: { guardsOff: ['G21'] }, inv: 'INV-19', specOps: 2 },
  // two variants: non-convertible RAM reaches AUG (TDX-PFN); a pfn with no struct page oopses first (003:L446)
  { bug: 'BUG-22', design: { guardsOff: ['G22'] }, inv: 'TDX-PFN', alsoInv: 'HOST-OOPS', specOps: 1 },
  { bug: 'BUG-23', design: { guardsOff: ['G23'] }, inv: 'INV-26', specOps: 3 },
];

export function bugDesign(b: BugTarget): Design {
  return resolveDesign(b.design, 'design', CAMPAIGN_DEFAULTS);
}

/** Does a failure signature name the bug's invariant (or its variant's)? */
export function namesBugInv(b: BugTarget, signature: string | null | undefined): boolean {
  const check = signature?.split('@')[0];
  return check === b.inv || (b.alsoInv !== undefined && check === b.alsoInv);
}

/** How the check a signature names shows a bug: damage, structural or performance (the invariant table's `detection`). */
export function detectionOf(signature: string | null | undefined): string {
  const check = signature?.split('@')[0].split(':')[0];
  if (!signature || !INVARIANTS.some((i) => i.id === check)) return 'unknown';
  return signatureDetection(signature); // a clause tag (INV-13:damage) wins over the invariant's class
}
