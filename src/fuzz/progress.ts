// The campaign status line on stderr: a cli-progress bar on a terminal, a plain line every few seconds
// otherwise (CI logs), nothing with --json or --no-progress. It only displays; it decides nothing.
import cliProgress from 'cli-progress';

export interface ProgressSnapshot {
  cases: number;
  /** Cases the campaign will run (--cases), if bounded by count. */
  totalCases?: number;
  /** Campaign length (--duration), if bounded by time. */
  durationMs?: number;
  ops: number;
  /** Recent rates (over the last few seconds). */
  casesPerSec: number;
  opsPerSec: number;
  /** Failing cases before deduplication. */
  failures: number;
  uniqueFailures: number;
  corpusAdded: number;
  elapsedMs: number;
  workers: number;
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
  stop(): void;
}

/** 1234 -> "1.2k", 3456789 -> "3.5M". */
export function formatCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** 1 -> "1 worker", 2 -> "2 workers". */
export function formatWorkers(n: number): string {
  return `${n} worker${n === 1 ? '' : 's'}`;
}

/** 850 -> "0.9s", 75_000 -> "1m15s", 5_400_000 -> "1h30m00s". */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${ss}s` : `${m}m${ss}s`;
}

function statusText(s: ProgressSnapshot): string {
  return [
    `${formatCount(s.casesPerSec)} cases/s`,
    `${formatCount(s.opsPerSec)} ops/s`,
    `${s.uniqueFailures} unique failures (${s.failures} failing cases)`,
    `corpus +${s.corpusAdded}`,
    formatWorkers(s.workers),
  ].join(' | ') + (s.stopping ? ' | stopping: finishing work in flight' : '');
}

function barView(stream: NodeJS.WritableStream, first: ProgressSnapshot): ProgressView {
  const bounded = first.totalCases !== undefined || first.durationMs !== undefined;
  const head =
    first.totalCases !== undefined
      ? '{bar} {value}/{total} cases | {since}'
      : first.durationMs !== undefined
        ? '{bar} {since} of {limit} | {cases} cases'
        : '{since} | {cases} cases';
  const bar = new cliProgress.SingleBar(
    { format: `${head} | {status}`, stream, hideCursor: true, barsize: 24, fps: 4, clearOnComplete: false, linewrap: false },
    cliProgress.Presets.shades_classic,
  );
  // Payload names avoid cli-progress's own placeholders ({duration}, {eta}, {value}, ...).
  const payload = (s: ProgressSnapshot) => ({
    since: formatElapsed(s.elapsedMs),
    limit: formatElapsed(s.durationMs ?? 0),
    cases: formatCount(s.cases),
    status: statusText(s),
  });
  const value = (s: ProgressSnapshot): number =>
    s.totalCases !== undefined ? s.cases : s.durationMs !== undefined ? Math.min(s.elapsedMs, s.durationMs) : 0;
  const total = first.totalCases ?? first.durationMs ?? 1;
  bar.start(bounded ? total : 1, value(first), payload(first));
  return {
    update: (s) => bar.update(value(s), payload(s)),
    stop: () => bar.stop(),
  };
}

function linesView(stream: NodeJS.WritableStream, everyMs: number): ProgressView {
  let last = -Infinity;
  return {
    update(s) {
      if (s.elapsedMs - last < everyMs) return;
      last = s.elapsedMs;
      const of = s.totalCases !== undefined ? `/${s.totalCases}` : '';
      const left = s.durationMs !== undefined ? ` of ${formatElapsed(s.durationMs)}` : '';
      stream.write(`[tdxfuzz ${formatElapsed(s.elapsedMs)}${left}] ${s.cases}${of} cases | ${statusText(s)}\n`);
    },
    stop() {},
  };
}

export function createProgressView(mode: ProgressMode, first: ProgressSnapshot, stream: NodeJS.WritableStream = process.stderr): ProgressView {
  switch (mode) {
    case 'bar':
      return barView(stream, first);
    case 'lines':
      return linesView(stream, 5000);
    case 'none':
      return { update() {}, stop() {} };
  }
}
