// The typed-array arena (src/model/arena.ts): carved arrays start zeroed, never overlap, and large ones get
// a buffer of their own, so the model sees the same arrays as with `new Int32Array(n)`.
import { describe, expect, it } from 'vitest';
import { i16, i32, u8 } from '../../src/model/arena.js';

describe('arena', () => {
  it('hands out zeroed arrays that do not overlap, across buffer boundaries', () => {
    const arrays: (Uint8Array | Int16Array | Int32Array)[] = [];
    for (let k = 0; k < 3000; k++) {
      const n = 1 + (k * 37) % 300;
      const a = k % 3 === 0 ? u8(n) : k % 3 === 1 ? i16(n) : i32(n);
      expect(a.length).toBe(n);
      expect(a.every((x) => x === 0)).toBe(true);
      a.fill(k % 100 + 1);
      arrays.push(a);
    }
    arrays.forEach((a, k) => expect(a.every((x) => x === k % 100 + 1), `array ${k}`).toBe(true));
  });

  it('gives large arrays a buffer of their own, and empty arrays work', () => {
    const big = i32(100_000);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(400_000);
    expect(u8(0).length).toBe(0);
  });
});
