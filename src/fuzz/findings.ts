// Findings that do not fail a case (RunResult.notes and .perf): accepted risks named by the design
// (seed 002, INV-20), known design findings (BUG-19) and performance findings (INV-33, PERF-2M). A
// campaign counts them per kind and keeps one example case of each under findings/.
import type { RunResult } from './result.js';

/** "ACCEPTED-RISK INV-25: ..." -> "ACCEPTED-RISK INV-25"; "KNOWN-DESIGN BUG-19 (...)" -> "KNOWN-DESIGN BUG-19". */
const NOTE_KIND = /^(ACCEPTED-RISK|KNOWN-DESIGN) ([A-Z]+-\d+)/;
/** "INV-33: ..." / "PERF-2M: ..." (oracle perf findings). */
const PERF_KIND = /^([A-Z]+-[0-9A-Z]+):/;

/** The finding kinds of one case with the first text of each, in the order the case reported them. */
export function findingKinds(r: Pick<RunResult, 'notes' | 'perf'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of r.notes) {
    const m = NOTE_KIND.exec(n);
    if (m && !out.has(`${m[1]} ${m[2]}`)) out.set(`${m[1]} ${m[2]}`, n);
  }
  for (const p of r.perf) {
    const m = PERF_KIND.exec(p);
    const kind = `PERF ${m ? m[1] : 'other'}`;
    if (!out.has(kind)) out.set(kind, p);
  }
  return out;
}

/** File stem of a kind's example: "ACCEPTED-RISK INV-25" -> "ACCEPTED-RISK_INV-25". */
export function findingFileStem(kind: string): string {
  return kind.replace(/[^A-Za-z0-9_.-]+/g, '_');
}
