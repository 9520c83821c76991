// Survivors whose class follows from where they sit, by rules a reader can check on the source line. The
// rest a person classifies in bench/mutation/reviewed.json (equivalent, unreachable, oracle gap), each with why.
import { existsSync, readFileSync } from 'node:fs';

export type SurvivorClass = 'E' | 'U' | 'G';

export interface AutoClass {
  cls: SurvivorClass;
  why: string;
}

/** What the report knows of a surviving mutant. */
export interface SurvivorView {
  mutatorName: string;
  replacement?: string;
  noCoverage: boolean;
  /** The mutated source text. */
  orig: string;
  /** The whole source line the mutant starts on. */
  line: string;
}

const GUARD_ID = /^(['"])G\d+b?\1$/;
const GUARD_CALL = /^(!?)sys\.guard\((['"])G\d+b?\2\)$/;

export function autoClassify(s: SurvivorView): AutoClass | null {
  if (s.noCoverage) return { cls: 'U', why: 'no case of the campaign reaches this code' };
  const lit = s.mutatorName === 'StringLiteral';
  if (lit && new RegExp(`\\byield\\s+${escape(s.orig)}`).test(s.line)) {
    return { cls: 'E', why: 'a step label: it names a yield point for show and the scheduler; no check reads it' };
  }
  if (lit && /(Lock|Unlock|lock|unlock)(Shared)?\(sys, /.test(s.line) && s.line.includes(`sys, ${s.orig}`)) {
    return { cls: 'E', why: "a lock event's path name: it only appears in messages" };
  }
  if (lit && GUARD_ID.test(s.orig)) return { cls: 'E', why: "a guard id: guard('') is on, as every guard is in the default campaign" };
  const g = GUARD_CALL.exec(s.orig);
  if (g && s.mutatorName === 'ConditionalExpression' && s.replacement === (g[1] ? 'false' : 'true')) {
    return { cls: 'E', why: 'every guard is on in the default campaign, so the test already has this value' };
  }
  return null;
}

/** A survivor a person classified: where Stryker put it, what it changed, the class and why. */
export interface Reviewed {
  /** File under src/model, line and column of the mutant, e.g. "gmem/punch.ts:39:11". */
  where: string;
  mutator: string;
  /** The mutated source text on one line, as the report prints it (whitespace collapsed). */
  original: string;
  replacement: string;
  cls: SurvivorClass;
  why: string;
}

/** Where the reviewed classes live (read by report.ts). */
export const REVIEWED_FILE = 'bench/mutation/reviewed.json';

export function readReviewed(file = REVIEWED_FILE): Reviewed[] {
  if (!existsSync(file)) return [];
  const r = JSON.parse(readFileSync(file, 'utf8')) as { survivors?: Reviewed[] };
  return r.survivors ?? [];
}

/**
 * The reviewed entry of a survivor: same place, mutator, replacement and source text; undefined when none. An
 * entry applies only while the source text at its place is the one reviewed: once the code moves or changes,
 * the survivor shows unclassified again.
 */
export function reviewedEntry(reviewed: readonly Reviewed[], where: string, s: SurvivorView): Reviewed | undefined {
  // two mutants may start at one place with one mutator and replacement (an expression and its first operand)
  return reviewed.find((r) => r.where === where && r.mutator === s.mutatorName && r.replacement === (s.replacement ?? '') && r.original === s.orig);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
