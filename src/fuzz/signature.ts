// Failure signatures (architecture principle 6): invariant id + operation kind + kinds of the injected
// faults that took effect. One bug is one signature however it was reached.
import type { Failure } from './result.js';
import { detectionOf } from '../oracle/invariants.js';

/** Short name of a status used in signatures: TDX_OPERAND_BUSY -> OPERAND_BUSY. */
export function faultKindShort(statusName: string): string {
  return statusName.replace(/^TDX_/, '');
}

export function signatureOf(f: Failure): string {
  const kinds = [...new Set(f.faultKinds.map((k) => faultKindShort(k.split('@')[0])))].sort();
  // a clause whose detection differs from its invariant's is a different finding: INV-13:damage (the split
  // cache underflowed) is not INV-13 (a splitter broke the locking rule that prevents it)
  const tag = f.detection && f.detection !== detectionOf({ inv: f.inv }) ? `:${f.detection}` : '';
  return `${f.inv}${tag}@${f.opKind}${kinds.length ? '+' + kinds.join('+') : ''}`;
}

/** The detection class a signature names: its tag (INV-13:damage@...), else its invariant's. */
export function signatureDetection(sig: string): 'damage' | 'structural' | 'performance' {
  const head = sig.split('@')[0];
  const colon = head.indexOf(':');
  return colon >= 0 ? (head.slice(colon + 1) as 'damage' | 'structural' | 'performance') : detectionOf({ inv: head });
}

/** The invariant-and-op part, which minimisation must keep. */
export function coreSignature(sig: string): string {
  const plus = sig.indexOf('+');
  return plus < 0 ? sig : sig.slice(0, plus);
}

/** Faults kinds named by a signature. */
export function signatureFaultKinds(sig: string): string[] {
  const plus = sig.indexOf('+');
  return plus < 0 ? [] : sig.slice(plus + 1).split('+');
}

/** A file-name-safe form of a signature. */
export function signatureFileStem(sig: string): string {
  return sig.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/** Performance findings (INV-33, PERF-2M) fail only when a campaign or replay asks for them (--fail-on perf). */
export function isPerfSignature(sig: string | undefined | null): boolean {
  return !!sig && (sig.startsWith('INV-33@') || sig.startsWith('PERF-2M@'));
}
