import { describe, expect, it } from 'vitest';
import { InOrder } from '../../src/fuzz/reorder.js';

describe('InOrder', () => {
  it('commits results in sequence order whatever order they arrive in', () => {
    const seen: string[] = [];
    const q = new InOrder<string>((x, seq) => seen.push(`${seq}:${x}`));
    q.put(2, 'c');
    q.put(1, 'b');
    expect(seen).toEqual([]);
    expect(q.waiting).toBe(2);
    q.put(0, 'a');
    q.put(3, 'd');
    expect(seen).toEqual(['0:a', '1:b', '2:c', '3:d']);
    expect(q.committed).toBe(4);
    expect(q.waiting).toBe(0);
  });

  it('refuses a result handed in twice', () => {
    const q = new InOrder<number>(() => {});
    q.put(0, 0);
    expect(() => q.put(0, 0)).toThrow(/twice/);
  });
});
