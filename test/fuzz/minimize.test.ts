// minimizeCase: a generated failing case shrinks to a few ops with the same core signature, the result
// is deterministic, and ops and faults that have nothing to do with the failure go.
import { describe, expect, it } from 'vitest';
import { type Case, caseId, faultsOf, type Op, parseCase } from '../../src/fuzz/case.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { minimizeCase, simplerOps } from '../../src/fuzz/minimize.js';
import { runCase } from '../../src/fuzz/run.js';
import { coreSignature } from '../../src/fuzz/signature.js';
import { resolveDesign } from '../../src/model/config.js';
import { designCost } from '../../src/fuzz/minimize/cost.js';

const SEED = Number(process.env.TDXFUZZ_TEST_SEED ?? 20260106);

function firstFailing(guard: string, seed: number, pred: (c: Case) => boolean = () => true): Case {
  const d = resolveDesign({ ptrs: 16, guardsOff: [guard] });
  for (let i = 0; i < 2000; i++) {
    const c = generateCase(d, seed, i);
    if (runCase(c).verdict === 'fail' && pred(c)) return c;
  }
  throw new Error(`no failing ${guard} case for seed ${seed}`);
}

describe(`minimizeCase (seed ${SEED})`, () => {
  it('shrinks a generated G1 failure to <= 6 ops keeping its core signature', () => {
    // a case with some length so that there is something to remove
    // (one whose failure is the conversion's own damage after its INV-1, not a VMM's conversion for a MapGPA)
    const c = firstFailing('G1', SEED, (x) => {
      const r = runCase(x);
      return x.ops.length >= 8 && coreSignature(r.signature!) === 'INV-18@convert' && r.failure!.after?.inv === 'INV-1';
    });
    const orig = runCase(c);
    const m = minimizeCase(c);
    expect(m.case.ops.length).toBeLessThanOrEqual(6);
    expect(m.case.ops.length).toBeLessThan(c.ops.length);
    expect(m.result.verdict).toBe('fail');
    expect(coreSignature(m.result.signature!)).toBe(coreSignature(orig.signature!));
    // damage first: the folio split under a 2M mapping (INV-1, structural) goes on to lose a neighbour's
    // accepted data (INV-18, the damage BUG-1 does), which is the failure
    expect(coreSignature(m.result.signature!)).toBe('INV-18@convert');
    expect(m.result.failure!.after?.inv).toBe('INV-1');
    expect(m.attempts).toBeGreaterThan(0);
    // the minimised case reproduces on its own
    const again = runCase(m.case);
    expect(again.signature).toBe(m.result.signature);
    // the design only moves toward the campaign defaults (here it already is: G1 is needed)
    expect(m.case.design.guardsOff).toEqual(['G1']);
    expect(designCost(m.case.design)).toBeLessThanOrEqual(designCost(c.design));
  });

  it('is deterministic: two runs give identical cases', () => {
    for (const seed of [SEED, SEED + 1]) {
      const c = firstFailing('G1', seed);
      const a = minimizeCase(c);
      const b = minimizeCase(c);
      expect(b.case).toEqual(a.case);
      expect(caseId(b.case)).toBe(caseId(a.case));
      expect(b.attempts).toBe(a.attempts);
      expect(b.result.traceHash).toBe(a.result.traceHash);
    }
  });

  it('drops irrelevant ops and faults from a padded G2 failure', () => {
    const core: Op[] = [
      { op: 'accept', gfn: 10, level: '2M' },
      { op: 'convert', start: 1, end: 2, to: 'shared' },
    ];
    const busy = (leaf: string, nth = 1) => ({ leaf, nth, status: 'TDX_OPERAND_BUSY' });
    const padded = parseCase({
      format: 'tdxfuzz-case',
      version: 1,
      design: { ptrs: 16, guardsOff: ['G2'] },
      ops: [
        { op: 'touch', gfn: 20, write: 5, faults: [busy('TDH.MEM.PAGE.AUG')] },
        { op: 'accept', gfn: 17, level: '4K', faults: [busy('TDH.MEM.PAGE.DEMOTE'), busy('TDG.MEM.PAGE.ACCEPT')] },
        { ...core[0], faults: [busy('TDH.MEM.PAGE.AUG')] },
        { op: 'convert', start: 30, end: 31, to: 'shared', faults: [busy('TDH.MEM.RANGE.BLOCK')] },
        { op: 'touch', gfn: 30 },
        { ...core[1], faults: [busy('TDH.MEM.TRACK')] },
        { op: 'touch', gfn: 5 },
        { op: 'punch', start: 16, end: 32 },
      ],
    });
    const orig = runCase(padded);
    expect(orig.signature).toBe('INV-18@convert+OPERAND_BUSY');
    const m = minimizeCase(padded);
    expect(m.result.signature).toBe('INV-18@convert');
    expect(faultsOf(m.case)).toBe(0);
    // arguments shrink too: the accept moves to the 2M boundary, the conversion to the first page
    expect(m.case.ops).toEqual([
      { op: 'accept', gfn: 0, level: '2M' },
      { op: 'convert', start: 0, end: 1, to: 'shared' },
    ]);
    expect(m.reliability).toEqual({ ok: 3, runs: 3 });
    expect(m.case.provenance?.note).toBe('reliability 3/3');
  });

  it('leaves a passing case alone', () => {
    const c = parseCase({ format: 'tdxfuzz-case', version: 1, design: { ptrs: 16 }, ops: [{ op: 'touch', gfn: 0 }] });
    const m = minimizeCase(c);
    expect(m.case).toBe(c);
    expect(m.attempts).toBe(0);
    expect(m.result.verdict).toBe('pass');
  });

  it('keeps a fault the failure needs (G15 off: the BUSY is the bug trigger)', () => {
    const c = parseCase({
      format: 'tdxfuzz-case',
      version: 1,
      design: { ptrs: 16, guardsOff: ['G15'] },
      ops: [
        { op: 'touch', gfn: 3, write: 1 },
        { op: 'touch', gfn: 0 },
        { op: 'accept', gfn: 0, level: '2M' },
        { op: 'convert', start: 0, end: 16, to: 'shared', faults: [{ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 1, status: 'TDX_OPERAND_BUSY' }] },
        { op: 'touch', gfn: 20 },
      ],
    });
    const m = minimizeCase(c);
    expect(m.result.signature).toBe('INV-17@convert+OPERAND_BUSY'); // BUG-15: a benign BUSY kills the VM
    expect(faultsOf(m.case)).toBe(1);
    expect(m.case.ops.length).toBeLessThanOrEqual(2);
  });
});

// simplerOps reads the op table's field kinds (src/model/vocab): every range shrinks (initMemRegion and
// prefault too, not only convert and punch), enums go to their simplest value, optional tokens go.
describe('simplerOps follows the op table', () => {
  it('shrinks each field kind that has a simpler form, keeping the faults', () => {
    const f = [{ leaf: 'TDH.MEM.PAGE.ADD' as const, nth: 2, status: 'TDX_OPERAND_BUSY' as const }];
    expect(simplerOps({ op: 'initMemRegion', start: 4, end: 12, data: 7, faults: f })).toEqual([
      { op: 'initMemRegion', start: 4, end: 5, data: 7, faults: f },
      { op: 'initMemRegion', start: 4, end: 8, data: 7, faults: f },
      { op: 'initMemRegion', start: 11, end: 12, data: 7, faults: f },
    ]);
    expect(simplerOps({ op: 'prefault', start: 0, end: 2 })).toEqual([{ op: 'prefault', start: 0, end: 1 }, { op: 'prefault', start: 1, end: 2 }]);
    expect(simplerOps({ op: 'accept', gfn: 3, level: '2M' })).toEqual([{ op: 'accept', gfn: 3, level: '4K' }]);
    expect(simplerOps({ op: 'touch', gfn: 3, write: 9, faults: f })).toEqual([{ op: 'touch', gfn: 3, faults: f }]);
  });

  it('has nothing simpler for the simplest forms and for field kinds without one', () => {
    for (const op of [
      { op: 'accept', gfn: 3, level: '4K' },
      { op: 'touch', gfn: 3 },
      { op: 'convert', start: 3, end: 4, to: 'shared' },
      { op: 'convert', start: 3, end: 4, to: 'private' },
      { op: 'hostAlloc', pages: 16 },
      { op: 'pin', gfn: 2 },
      { op: 'finalize' },
    ] as Op[]) expect(simplerOps(op)).toEqual([]);
  });
});
