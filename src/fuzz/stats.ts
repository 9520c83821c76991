// The campaign's stats over time (AFL++'s plot_data): DIR/stats.jsonl, one JSON object per line,
// appended every few seconds and at the end. Each line is written with one append, so a reader sees
// whole lines; a reader skips a last line cut short by a crash of the machine.
import { appendFileSync, readFileSync } from 'node:fs';
import { onDisk } from './envError.js';

export interface StatsRecord {
  /** Wall-clock time of the sample (ms since 1970), for the reader only. */
  time: number;
  /** Campaign run time, summed over every run of a resumed campaign. */
  elapsedMs: number;
  /** Cases run (every run of the campaign). */
  cases: number;
  /** Cases per second over the last few seconds. */
  casesPerSec: number;
  /** Distinct coverage features known (including those seeded from the corpora). */
  coverage: number;
  /** Case files in the working corpus. */
  corpus: number;
  /** Unique failures saved by this campaign (new) and found again from an earlier campaign (known). */
  uniqueNew: number;
  uniqueKnown: number;
  /** Failing cases before deduplication. */
  failingCases: number;
  /** TDX_OPERAND_BUSY answers that no fault injected (contention between actors), every run of the campaign. */
  busyUninjected?: number;
  /** Minimisations in progress. */
  minimizing: number;
  /** Resident memory of the process (every worker thread), in bytes. */
  rss: number;
  /** Which run of the campaign (1 = first, 2 = first resume, ...). */
  run: number;
}

export function appendStats(file: string, r: StatsRecord): void {
  onDisk(file, () => appendFileSync(file, JSON.stringify(r) + '\n'));
}

/** The records of a stats file; lines that do not parse (a cut last line) are counted in `skipped`. */
export function readStats(file: string): { records: StatsRecord[]; skipped: number } {
  const text = onDisk(file, () => readFileSync(file, 'utf8'));
  const records: StatsRecord[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as StatsRecord;
      if (typeof r === 'object' && r !== null && Number.isFinite(r.elapsedMs)) records.push(r);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}
