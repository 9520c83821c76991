// The campaign status on stderr, in the spirit of AFL++'s status screen: on a terminal a screen of a few
// lines that fits 80 columns (cli-progress redraws it; messages go above it, never over it); otherwise a
// plain line every few seconds (CI logs); nothing with --json or --no-progress. It only displays; it
// decides nothing.
import cliProgress from 'cli-progress';
import type { Shard } from './campaignState.js';

/** Per-worker health: one character per live worker (r running cases, m minimising, . idle, ! stalled). */
export interface WorkerHealth {
  states: string;
  alive: number;
  restarted: number;
}

export interface ProgressSnapshot {
  seed: number;
  shard: Shard | null;
  /** Cases run by the campaign (every run of it). */
  cases: number;
  /** Cases this run will reach (--cases, in this shard's cases), if bounded by count. */
  totalCases?: number;
  /** This run's length (--duration), if bounded by time. */
  durationMs?: number;
  ops: number;
  /** Recent rates (over the last few seconds). */
  casesPerSec: number;
  opsPerSec: number;
  /** Failing cases before deduplication. */
  failures: number;
  /** Unique failures the campaign saved (new) and found again from earlier campaigns (known). */
  uniqueFailures: number;
  knownFailures: number;
  minimizing: number;
  /** Distinct coverage features and case files in the working corpus. */
  coverage: number;
  corpusSize: number;
  corpusAdded: number;
  /** Cases with findings that are not failures, and how many kinds. */
  findings: number;
  findingKinds: number;
  sinceNewCoverageMs: number;
  /** null: no new failure in this run yet. */
  sinceNewFailureMs: number | null;
  elapsedMs: number;
  workers: number;
  health: WorkerHealth;
  /** Resident memory of the process, bytes. */
  rss: number;
  /** Dispatch has stopped (time up or interrupted); in-flight work is finishing. */
  stopping: boolean;
}

export type ProgressMode = 'bar' | 'lines' | 'none';

/** --json and --no-progress silence it; a non-terminal stderr gets plain periodic lines. */
export function chooseProgressMode(o: { progress: boolean; json: boolean; isTTY: boolean }): ProgressMode {
  if (o.json || !o.progress) return 'none';
  return o.isTTY ? 'bar' : 'lines';
}

export interface ProgressView {
  update(s: ProgressSnapshot): void;
  /** A message (warning, "interrupted") printed above the status, never over it. */
  log(message: string): void;
  stop(): void;
}

/**
 * Every line of statusLines fits this many columns: one less than an 80-column terminal, whose last
 * column cli-progress leaves free (a line that fills it would wrap on some terminals).
 */
export const SCREEN_COLUMNS = 79;

/** 1234 -> "1.2k", 3456789 -> "3.5M"; at most 6 characters below 1e15. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1000) return String(Math.round(n) === 1000 ? '1.0k' : Math.round(n));
  const units = ['k', 'M', 'G', 'T'];
  let v = n / 1000;
  let u = 0;
  while (v >= 999.5 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`;
}

/** 1 -> "1 worker", 2 -> "2 workers". */
export function formatWorkers(n: number): string {
  return `${n} worker${n === 1 ? '' : 's'}`;
}

/** 860 -> "0.9s", 75_000 -> "1m15s", 5_400_000 -> "1h30m00s", 4 days -> "4d00h00m", 400 days -> "400d00h". */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  const mm = String(m).padStart(2, '0');
  if (d >= 100) return `${d}d${String(h).padStart(2, '0')}h`;
  if (d > 0) return `${d}d${String(h).padStart(2, '0')}h${mm}m`;
  return h > 0 ? `${h}h${mm}m${ss}s` : `${m}m${ss}s`;
}

/** 512 MiB -> "512 MB". */
export function formatBytes(n: number): string {
  if (n < 1024 ** 3) return `${Math.round(n / 1024 ** 2)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

/** `left` and `right` on one line of `width` columns (right-aligned when they fit). */
function row(left: string, right: string, width = SCREEN_COLUMNS): string {
  const gap = width - left.length - right.length;
  return right === '' ? left : left + ' '.repeat(Math.max(2, gap)) + right;
}

/** Per-worker characters, or counts of each state when there are too many workers for one line. */
function healthText(h: WorkerHealth): string {
  if (h.states.length <= 24) return `[${h.states}]`;
  const n = (c: string): number => h.states.split(c).length - 1;
  return `r${n('r')} m${n('m')} .${n('.')} !${n('!')}`;
}

function ago(ms: number | null): string {
  return ms === null ? 'none yet' : `${formatElapsed(ms)} ago`;
}

/** Progress through a bounded run, 0..1, or null when it runs until stopped. */
function fraction(s: ProgressSnapshot): number | null {
  if (s.totalCases !== undefined) return s.totalCases === 0 ? 1 : Math.min(1, s.cases / s.totalCases);
  if (s.durationMs !== undefined) return Math.min(1, s.elapsedMs / s.durationMs);
  return null;
}

/** The status screen's lines; none is longer than SCREEN_COLUMNS (test/fuzz/progress.test.ts renders extremes). */
export function statusLines(s: ProgressSnapshot): string[] {
  const f = fraction(s);
  const shard = s.shard ? `  shard ${s.shard.index}/${s.shard.count}` : '';
  const limit = s.durationMs !== undefined ? ` of ${formatElapsed(s.durationMs)}` : '';
  const barWidth = 40;
  const last = s.stopping
    ? 'stopping: finishing the work in flight'
    : f === null
      ? `runs until Ctrl-C`
      : `${'#'.repeat(Math.round(f * barWidth)).padEnd(barWidth, '-')} ${String(Math.floor(f * 100)).padStart(3)}%` +
        (s.totalCases !== undefined ? ` of ${formatCount(s.totalCases)} cases` : '');
  return [
    row(` tdxfuzz  seed ${s.seed}${shard}`, `elapsed ${formatElapsed(s.elapsedMs)}${limit}`),
    row(`    cases  ${formatCount(s.cases)}, ${formatCount(s.casesPerSec)}/s`, `ops ${formatCount(s.ops)}, ${formatCount(s.opsPerSec)}/s`),
    row(` coverage  ${formatCount(s.coverage)} features, corpus ${formatCount(s.corpusSize)} (+${formatCount(s.corpusAdded)})`, `new cov ${ago(s.sinceNewCoverageMs)}`),
    row(
      ` failures  ${formatCount(s.uniqueFailures)} new, ${formatCount(s.knownFailures)} known (${formatCount(s.failures)} cases)`,
      `new fail ${ago(s.sinceNewFailureMs)}`,
    ),
    row(`   minim.  ${formatCount(s.minimizing)} in progress`, `findings ${formatCount(s.findingKinds)} kinds, ${formatCount(s.findings)} cases`),
    row(`  workers  ${s.health.alive}/${s.workers} ${healthText(s.health)} ${formatCount(s.health.restarted)} restarted`, `rss ${formatBytes(s.rss)}`),
    ` progress  ${last}`,
  ];
}

/** The one line written every few seconds when stderr is not a terminal. */
export function statusLine(s: ProgressSnapshot): string {
  const f = fraction(s);
  const left = s.durationMs !== undefined ? ` of ${formatElapsed(s.durationMs)}` : '';
  const of = s.totalCases !== undefined ? `/${formatCount(s.totalCases)}` : '';
  return (
    `[tdxfuzz ${formatElapsed(s.elapsedMs)}${left}${f === null ? '' : ` ${Math.floor(f * 100)}%`}] ${formatCount(s.cases)}${of} cases | ${formatCount(s.casesPerSec)}/s` +
    ` | cov ${s.coverage} corpus ${s.corpusSize} | failures ${s.uniqueFailures} new ${s.knownFailures} known (${s.failures} cases) | minimising ${s.minimizing}` +
    ` | findings ${s.findings} | workers ${s.health.alive}/${s.workers} ${s.health.restarted} restarted | rss ${formatBytes(s.rss)}` +
    (s.stopping ? ' | stopping: finishing work in flight' : '')
  );
}

function screenView(stream: NodeJS.WritableStream, first: ProgressSnapshot): ProgressView {
  const multi = new cliProgress.MultiBar(
    // gracefulExit off: the campaign handles Ctrl-C itself and stops the screen before its summary
    { format: '{line}', stream, hideCursor: true, fps: 4, clearOnComplete: false, linewrap: false, gracefulExit: false },
    cliProgress.Presets.shades_classic,
  );
  const lines = statusLines(first);
  const bars = lines.map((line) => multi.create(1, 0, { line }));
  const update = (s: ProgressSnapshot): void => {
    const now = statusLines(s);
    while (bars.length < now.length) bars.push(multi.create(1, 0, { line: '' }));
    bars.forEach((b, i) => b.update(0, { line: now[i] ?? '' }));
  };
  return {
    update,
    log: (m) => multi.log(m.endsWith('\n') ? m : m + '\n'),
    stop: () => {
      multi.update(); // flush messages still waiting to be drawn
      multi.stop();
    },
  };
}

function linesView(stream: NodeJS.WritableStream, everyMs: number): ProgressView {
  let last = -Infinity;
  return {
    update(s) {
      if (s.elapsedMs - last < everyMs) return;
      last = s.elapsedMs;
      stream.write(statusLine(s) + '\n');
    },
    log: (m) => stream.write(m.endsWith('\n') ? m : m + '\n'),
    stop() {},
  };
}

export function createProgressView(mode: ProgressMode, first: ProgressSnapshot, stream: NodeJS.WritableStream = process.stderr): ProgressView {
  switch (mode) {
    case 'bar':
      return screenView(stream, first);
    case 'lines':
      return linesView(stream, 5000);
    case 'none':
      return { update() {}, log: (m) => stream.write(m.endsWith('\n') ? m : m + '\n'), stop() {} };
  }
}
