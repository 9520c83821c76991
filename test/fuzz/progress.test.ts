// The status screen fits 80 columns for any values, shows what an overnight run needs, and messages are
// printed above it, never over it.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressView, formatCount, formatElapsed, type ProgressSnapshot, SCREEN_COLUMNS, statusLine, statusLines } from '../../src/fuzz/progress.js';

const typical: ProgressSnapshot = {
  seed: 1,
  shard: null,
  cases: 123_456,
  durationMs: 8 * 3600_000,
  ops: 1_234_567,
  casesPerSec: 812,
  opsPerSec: 7400,
  failures: 2204,
  uniqueFailures: 3,
  knownFailures: 2,
  minimizing: 1,
  coverage: 412,
  corpusSize: 190,
  corpusAdded: 12,
  findings: 61,
  findingKinds: 3,
  sinceNewCoverageMs: 62_000,
  sinceNewFailureMs: 603_000,
  elapsedMs: 3723_000,
  workers: 2,
  health: { states: 'rm', alive: 2, restarted: 0 },
  rss: 512 * 1024 ** 2,
  stopping: false,
};

const HUGE = 9.99e14;
const extremes: ProgressSnapshot[] = [
  typical,
  { ...typical, durationMs: undefined, totalCases: HUGE },
  { ...typical, durationMs: undefined },
  { ...typical, stopping: true, sinceNewFailureMs: null },
  {
    ...typical,
    seed: 4294967295,
    shard: { index: 999_999, count: 1_000_000 },
    cases: HUGE,
    ops: HUGE,
    casesPerSec: HUGE,
    opsPerSec: HUGE,
    failures: HUGE,
    uniqueFailures: HUGE,
    knownFailures: HUGE,
    minimizing: HUGE,
    coverage: HUGE,
    corpusSize: HUGE,
    corpusAdded: HUGE,
    findings: HUGE,
    findingKinds: HUGE,
    sinceNewCoverageMs: 99 * 365 * 86400_000,
    sinceNewFailureMs: 99 * 365 * 86400_000,
    elapsedMs: 99 * 365 * 86400_000,
    durationMs: 99 * 365 * 86400_000,
    workers: 1024,
    health: { states: 'r!m.'.repeat(256), alive: 1024, restarted: 99999 },
    rss: 64 * 1024 ** 4,
  },
  { ...typical, workers: 24, health: { states: 'r'.repeat(24), alive: 24, restarted: 1 }, stopping: true },
];

describe('status screen', () => {
  it.each(extremes.map((s, i) => [i, s] as const))('never exceeds 80 columns, nor the 79 an 80-column terminal shows without wrapping (values %i)', (_i, s) => {
    for (const line of statusLines(s)) expect(line.length, line).toBeLessThanOrEqual(SCREEN_COLUMNS);
  });

  it('shows elapsed time, cases and rate, coverage and corpus, new and known failures, times since the last new ones, minimisations, workers and memory', () => {
    const text = statusLines(typical).join('\n');
    for (const want of [
      'seed 1',
      'elapsed 1h02m03s of 8h00m00s',
      'cases  123k, 812/s',
      '412 features, corpus 190 (+12)',
      'new cov 1m02s ago',
      '3 new, 2 known (2.2k cases)',
      'new fail 10m03s ago',
      '1 in progress',
      'findings 3 kinds, 61 cases',
      '2/2 [rm] 0 restarted',
      'rss 512 MB',
      '12%',
    ]) expect(text).toContain(want);
    expect(statusLines({ ...typical, shard: { index: 1, count: 4 } })[0]).toContain('shard 1/4');
  });

  it('counts and times stay short', () => {
    expect([999, 1000, 12_345, 999_499, 999_500, 1.5e9, 9.99e14].map(formatCount)).toEqual(['999', '1.0k', '12k', '999k', '1.0M', '1.5G', '999T']);
    expect([860, 75_000, 5_400_000, 4 * 86400_000].map(formatElapsed)).toEqual(['0.9s', '1m15s', '1h30m00s', '4d00h00m']);
    expect(formatElapsed(400 * 86400_000)).toBe('400d00h');
  });

  it('the plain line for logs has the same facts', () => {
    const l = statusLine(typical);
    for (const want of ['123k cases', '812/s', 'cov 412 corpus 190', 'failures 3 new 2 known (2204 cases)', 'minimising 1', 'workers 2/2', 'rss 512 MB']) expect(l).toContain(want);
  });

  it('on a terminal, a message is drawn above the screen and the screen is not drawn over the text that follows it', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 40, cursorTo() {}, moveCursor() {}, clearLine() {}, clearScreenDown() {} });
    let out = '';
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const view = createProgressView('bar', typical, stream as unknown as NodeJS.WritableStream);
    view.update({ ...typical, cases: 200_000 });
    view.log('tdxfuzz: interrupted; finishing the batches in flight');
    view.stop();
    stream.write('SUMMARY\n');
    await new Promise((r) => setImmediate(r));
    const plain = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    const msg = plain.indexOf('tdxfuzz: interrupted; finishing the batches in flight\n');
    expect(msg).toBeGreaterThanOrEqual(0);
    expect(plain.lastIndexOf('200k')).toBeGreaterThan(msg); // the screen is redrawn below the message
    expect(plain.endsWith('\nSUMMARY\n')).toBe(true); // the summary starts on a line of its own, after the screen
  });
});
