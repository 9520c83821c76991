// Human-readable text for cases, designs and verdicts, shared by show, replay, triage and fuzz.
import { relative, isAbsolute } from 'node:path';
import { DEFAULT_DESIGN, DESIGN_KEYS, type Design } from '../model/config.js';
import { guardInfo } from '../model/guards.js';
import { type FaultSpec, isSiteFault } from '../model/faults.js';
import type { Expect, Op } from '../fuzz/case.js';
import { describeOp } from '../model/ops.js';
import type { RunResult } from '../fuzz/result.js';


/** One op as the model's traces name it, e.g. "convert([0x0, 0x1) -> shared)". */
export const formatOp = (o: Op): string => describeOp(o);

export function formatFault(f: FaultSpec): string {
  if (isSiteFault(f)) return `fault: visit ${f.nth} of site ${f.site} fails`;
  return `fault: call ${f.nth} of ${f.leaf} returns ${f.status}`;
}

/** Settings that differ from the v3 defaults, e.g. "ptrs=16"; "v3 defaults" when none do. */
export function formatDesign(d: Design): string {
  const diffs: string[] = [];
  for (const k of DESIGN_KEYS) {
    if (k === 'guardsOff') continue;
    if (d[k] !== DEFAULT_DESIGN[k]) diffs.push(`${k}=${String(d[k])}`);
  }
  return diffs.length ? `v3 defaults except ${diffs.join(' ')}` : 'v3 defaults';
}

/** A failure's design against its campaign's: "campaign design", or the settings that differ. */
export function formatFailureDesign(diff: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(diff).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(' ') : 'campaign design';
}

/** "G2, G15", or "none". */
export function formatGuardsOff(d: Design): string {
  return d.guardsOff.length ? d.guardsOff.join(', ') : 'none';
}

/** One line per guard switched off: "G2 (BUG-2: what the guard does)". */
export function describeGuardsOff(d: Design): string[] {
  return d.guardsOff.map((g) => {
    const info = guardInfo(g);
    return info ? `${g} (${info.bug}: ${info.summary})` : g;
  });
}

export function formatExpect(e: Expect | undefined): string {
  const x = e ?? { verdict: 'pass' };
  return x.verdict === 'fail' ? `fail ${x.signature}` : 'pass';
}

export function formatVerdict(r: RunResult): string {
  return r.verdict === 'fail' ? `fail ${r.signature}` : 'pass';
}

/** Does the result give the verdict (and for a failure, the signature) the case records? */
export function matchesExpect(r: RunResult, e: Expect | undefined): boolean {
  const x = e ?? { verdict: 'pass' };
  return r.verdict === x.verdict && (r.verdict === 'pass' || r.signature === x.signature);
}

/** A path for printing: relative to the current directory when it is below it. */
export function displayPath(p: string): string {
  if (!isAbsolute(p)) return p;
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/** Shell-quote a path for a command the user can paste. */
export function shellQuote(p: string): string {
  return /^[A-Za-z0-9_./~+@=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}
