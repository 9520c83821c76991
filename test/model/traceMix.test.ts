// Hot paths mix an event's text into the trace hash piece by piece instead of building it (Trace.text/dec/hex,
// mixOp, mixOutcome; fnvStr/fnvNum for coverage ids): each must hash exactly as the text it stands for.
import { describe, expect, it } from 'vitest';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { fnv1a32, fnv1a64Hex, FNV32_START, fnvEnd, fnvNum, fnvStr } from '../../src/fuzz/hash.js';
import { runCase } from '../../src/fuzz/run.js';
import { CAMPAIGN_DEFAULTS } from '../../src/model/config.js';
import { describeOp, mixOp } from '../../src/model/ops.js';
import { describeOutcome, mixOutcome, type OpOutcome } from '../../src/model/outcome.js';
import { Trace } from '../../src/model/trace.js';

const NUMBERS = [0, 1, 9, 10, 15, 16, 255, 4096, 123456789, 2 ** 32, 2 ** 53 - 1, -1, -17, -0, 0.5, NaN, Infinity, 1e21];

function hashOf(f: (t: Trace) => void): number {
  const t = new Trace(false);
  f(t);
  return t.h;
}

describe('streamed trace text', () => {
  it('dec and hex hash as `${n}` and `0x${n.toString(16)}`', () => {
    for (const n of NUMBERS) {
      expect(hashOf((t) => t.text('a ').dec(n).text(';')), String(n)).toBe(hashOf((t) => t.event(`a ${n};`)));
      expect(hashOf((t) => t.hex(n)), String(n)).toBe(hashOf((t) => t.event(`0x${n.toString(16)}`)));
    }
  });

  it('mixOp and mixOutcome hash as describeOp and describeOutcome, for the ops and outcomes of generated cases', () => {
    const design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };
    const space = defaultDesignSpace(design);
    const outcomes: OpOutcome[] = [
      { kind: 'hostRead', ret: 0, value: 7 },
      { kind: 'hostRead', ret: -14 },
      { kind: 'touch', result: 'written', value: 3 },
      { kind: 'touch', result: 'exit', errno: -14 },
      { kind: 'accept', result: 'fallback-4k', accepted: 3, already: 1 },
      { kind: 'mapGpa', result: 'error', status: 'TDX_OPERAND_BUSY', at: 16 },
    ];
    let ops = 0;
    for (let i = 0; i < 200; i++) {
      const c = campaignCase(design, space, 1, i, null);
      for (const op of c.ops) {
        ops++;
        expect(hashOf((t) => mixOp(t, op)), describeOp(op)).toBe(hashOf((t) => t.event(describeOp(op))));
      }
    }
    expect(ops).toBeGreaterThan(1000);
    for (const o of outcomes) expect(hashOf((t) => mixOutcome(t, o)), describeOutcome(o)).toBe(hashOf((t) => t.event(describeOutcome(o))));
  });

  it('keeping lines does not change the trace hash of generated cases', () => {
    const design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };
    const space = defaultDesignSpace(design);
    for (let i = 0; i < 60; i++) {
      const c = campaignCase(design, space, 1, i, null);
      expect(runCase(c, { trace: true }).traceHash, `case ${i}`).toBe(runCase(c).traceHash);
    }
  });
});

describe('streamed coverage ids', () => {
  it('fnvStr/fnvNum hash as fnv1a32 of the text', () => {
    for (const n of NUMBERS) expect(fnvEnd(fnvNum(fnvStr(FNV32_START, 'c:'), n)), String(n)).toBe(fnv1a32(`c:${n}`));
    expect(fnvEnd(fnvNum(fnvStr(FNV32_START, 't:touch:'), 7 * 2 ** 32 + 0xc0000b0a))).toBe(fnv1a32(`t:touch:${7 * 2 ** 32 + 0xc0000b0a}`));
  });
});

describe('fnv1a64Hex', () => {
  /** The BigInt definition it replaced. */
  function reference(s: string): string {
    let h = 0xcbf29ce484222325n;
    for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
    return h.toString(16).padStart(16, '0');
  }

  it('matches 64-bit FNV-1a on BigInts', () => {
    const texts = ['', 'a', 'foobar', '{"format":"tdxfuzz-case"}', 'é😀\u0000\uffff'];
    let x = 12345;
    for (let k = 0; k < 300; k++) {
      let t = '';
      for (let j = 0; j < k % 97; j++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        t += String.fromCharCode(x % 3 === 0 ? x >>> 16 : 32 + (x % 95));
      }
      texts.push(t);
    }
    for (const t of texts) expect(fnv1a64Hex(t), JSON.stringify(t)).toBe(reference(t));
  });
});
