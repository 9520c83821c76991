import { describe, expect, test } from 'vitest';
import { interleaved, median, ratios, spread } from '../../bench/stats.js';
import { censoredMedian, peerSummary, type PeerRow } from '../../bench/peerSection.js';
import type { ProcessRun } from '../../bench/peer.js';

describe('bench statistics', () => {
  test('spread gives the median and the range of every value', () => {
    expect(spread([5, 1, 3])).toEqual({ n: 3, median: 3, min: 1, max: 5, values: [5, 1, 3] });
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(spread([]).n).toBe(0);
  });

  test('interleaved runs the arms alternately, flipping the order every repetition', async () => {
    const order: string[] = [];
    const r = await interleaved(3, { a: () => (order.push('a'), 1), b: async () => (order.push('b'), 2) });
    expect(order).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    expect(r).toEqual({ a: [1, 1, 1], b: [2, 2, 2] });
    expect(ratios([2, 6], [1, 3])).toEqual([2, 2]);
  });
});

describe('peer comparison', () => {
  const run = (ms: number, found = true): ProcessRun => ({ found, ms, signature: found ? 'INV-1@convert' : null, ops: 2, tries: 1 });
  const row = (bug: string, t: ProcessRun[], f: ProcessRun[]): PeerRow => ({ bug, inv: 'INV-1', specOps: 3, tdxfuzz: t, fastCheck: f });

  test('a run that found nothing counts as never in the median', () => {
    expect(censoredMedian([run(100), run(60_000, false), run(300)])).toBe(300);
    expect(censoredMedian([run(100), run(60_000, false), run(60_000, false)])).toBe(Infinity);
  });

  test('the share counts bugs whose tdxfuzz median is strictly lower, unmeasurable bugs left out', () => {
    const rows = [
      row('BUG-1', [run(100), run(200)], [run(300), run(400)]),
      row('BUG-2', [run(500)], [run(400)]),
      row('BUG-3', [run(1, false)], [run(1, false)]), // neither found it: a tie, not a win
      { ...row('BUG-20', [], []), notMeasurable: 'needs concurrency' },
    ];
    expect(peerSummary(rows)).toEqual({ measurable: 3, tdxfuzzFaster: 1, share: 1 / 3, bugsFaster: ['BUG-1'] });
  });
});
