// Shared helpers for model tests: build a case, run it with a trace, and drive a System op by op without
// the oracle (Rig) so a test can read model state between ops.
import { expect } from 'vitest';
import { type Case, type Op, parseCase } from '../../src/fuzz/case.js';
import type { RunOptions } from '../../src/fuzz/run.js';
import { runCase } from '../../src/fuzz/run.js';
import type { RunResult } from '../../src/fuzz/result.js';
import { resolveDesign } from '../../src/model/config.js';
import type { FaultSpec } from '../../src/model/faults.js';
import { Guest } from '../../src/model/guest/guest.js';
import type { Leaf } from '../../src/model/tdx/leaf.js';
import { applyOp } from '../../src/model/ops.js';
import type { OpOutcome } from '../../src/model/outcome.js';
import { type Path, System } from '../../src/model/system.js';

/** Entries per table in these tests: a 2M range is P gfns. */
export const P = 16;

export function mkCase(design: Record<string, unknown>, ops: unknown[]): Case {
  return parseCase({ format: 'tdxfuzz-case', version: 1, design: { ptrs: P, ...design }, ops });
}

export function run(design: Record<string, unknown>, ops: unknown[], opts: RunOptions = {}): RunResult {
  return runCase(mkCase(design, ops), opts);
}

/** runCase with the trace kept; opLines(i) is the text of op i's lines. */
export function traced(design: Record<string, unknown>, ops: unknown[], opts: RunOptions = {}): { r: RunResult; opLines: (i: number) => string[]; all: string[] } {
  const r = runCase(mkCase(design, ops), { ...opts, trace: true });
  expect(r.trace).toBeDefined();
  const t = r.trace!;
  return { r, opLines: (i) => t.filter((l) => l.op === i).map((l) => l.text), all: t.map((l) => l.text) };
}

export function count(lines: string[], needle: string): number {
  return lines.filter((l) => l.includes(needle)).length;
}

/** Each needle appears in a line strictly after the previous needle's line. */
export function expectInOrder(lines: string[], needles: string[]): void {
  let from = 0;
  for (const n of needles) {
    const k = lines.findIndex((l, i) => i >= from && l.includes(n));
    expect(k, `"${n}" after line ${from} in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
    from = k + 1;
  }
}

export function drive<T>(p: Path<T>): T {
  for (let n = 0; n < 1_000_000; n++) {
    const r = p.next();
    if (r.done) return r.value;
  }
  throw new Error('path did not finish');
}

/** A System and its guest, run op by op without the oracle. */
export class Rig {
  readonly sys: System;
  readonly guest: Guest;
  private i = 0;
  constructor(design: Record<string, unknown> = {}, keepTrace = false) {
    this.sys = new System(resolveDesign({ ptrs: P, ...design }), keepTrace);
    this.guest = new Guest(this.sys.gfns);
  }
  /** Arm the op's faults and return its path (to drive by hand). */
  start(op: Op): Path<OpOutcome> {
    this.sys.inj.arm(this.i++, op.faults);
    this.sys.counters.reset();
    return applyOp(this.sys, this.guest, op);
  }
  run(op: Op): OpOutcome {
    return drive(this.start(op));
  }
  runAll(ops: Op[]): OpOutcome[] {
    return ops.map((o) => this.run(o));
  }
}

export const touch = (gfn: number, write?: number): Op => (write === undefined ? { op: 'touch', gfn } : { op: 'touch', gfn, write });
export const accept = (gfn: number, level: '4K' | '2M'): Op => ({ op: 'accept', gfn, level });
export const convert = (start: number, end: number, to: 'shared' | 'private'): Op => ({ op: 'convert', start, end, to });
export const punch = (start: number, end: number): Op => ({ op: 'punch', start, end });
export const initMem = (start: number, end: number, data: number): Op => ({ op: 'initMemRegion', start, end, data });
export const finalize: Op = { op: 'finalize' };
export const destroy: Op = { op: 'destroy' };
/** An inline fault: the nth call of `leaf` in the op returns TDX_OPERAND_BUSY. */
export const BUSY = (leaf: Leaf, nth: number) => ({ leaf, nth, status: 'TDX_OPERAND_BUSY' as const });
export const hostOp = (op: 'hostMap' | 'hostUnmap' | 'pin' | 'unpin' | 'memoryFailure', gfn: number): Op => ({ op, gfn });
export const hostAlloc = (pages: number): Op => ({ op: 'hostAlloc', pages });
export const prefault = (start: number, end: number): Op => ({ op: 'prefault', start, end });
export const deleteSlot: Op = { op: 'deleteSlot' };
/** The op with faults attached. */
export const withFaults = (op: Op, ...faults: FaultSpec[]): Op => ({ ...op, faults } as Op);
export const hex = (n: number): string => `0x${n.toString(16)}`;
