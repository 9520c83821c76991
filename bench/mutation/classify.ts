// Survivors whose class follows from where they sit, by rules a reader can check on the source line. The
// rest stay for a person to classify (equivalent, unreachable, oracle gap).
export type SurvivorClass = 'E' | 'U';

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
  if (lit && /(Lock|Unlock|lock|unlock)\(sys, /.test(s.line) && s.line.includes(`sys, ${s.orig}`)) {
    return { cls: 'E', why: "a lock event's path name: it only appears in messages" };
  }
  if (lit && GUARD_ID.test(s.orig)) return { cls: 'E', why: "a guard id: guard('') is on, as every guard is in the default campaign" };
  const g = GUARD_CALL.exec(s.orig);
  if (g && s.mutatorName === 'ConditionalExpression' && s.replacement === (g[1] ? 'false' : 'true')) {
    return { cls: 'E', why: 'every guard is on in the default campaign, so the test already has this value' };
  }
  return null;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
