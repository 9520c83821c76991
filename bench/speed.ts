// Section (c) of npm run bench: throughput in this process, every figure repeated, the arms of each
// comparison interleaved (stats.ts), ratios taken pair by pair:
//   - runCase in the main thread with and without the oracle over the same cases: the oracle's share;
//   - campaigns on 1 and on 2 workers: cases/s, ops/s, steady cases/s (pool start left out), the 2-vs-1
//     speed-up and parallel efficiency from the steady rates;
//   - per-task overhead, directly: empty tasks through a piscina pool (overhead.ts), and campaigns of the
//     same cases in batches of 1 against batches of 256 (the coordinator's own bookkeeping included);
//   - pool start: a campaign of one case on 2 workers;
//   - the machine's ceiling for 2 workers: the same single-thread work in two processes at once against one
//     alone (ceiling.ts), which the campaign's speed-up is read against.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Design } from '../src/model/config.js';
import { runCampaign, type CampaignOptions, type CampaignSummary } from '../src/fuzz/coordinator.js';
import { generateCase } from '../src/fuzz/generate.js';
import { runCase } from '../src/fuzz/run.js';
import { alone, together } from './ceiling.js';
import { poolOverhead } from './overhead.js';
import { interleaved, ratios, showSpread, type Spread, spread } from './stats.js';

export interface SpeedParams {
  reps: number;
  oracleCases: number;
  workerCases: number;
  emptyTasks: number;
  batchCases: number;
  /** Root of the built tree (dist/bench/ceiling-main.js), and how long each ceiling process times its work. */
  root: string;
  ceilingMs: number;
}

export interface Speed {
  params: SpeedParams;
  oracle: { cases: number; ops: number; msWith: Spread; msWithout: Spread; share: Spread; opsPerSecWith: Spread };
  workers: { cases: number; casesPerSec1: Spread; casesPerSec2: Spread; steadyCasesPerSec1: Spread; steadyCasesPerSec2: Spread; opsPerSec1: Spread; opsPerSec2: Spread; speedup: Spread; efficiency: Spread };
  overhead: { tasks: number; queuedUs: Spread; roundTripUs: Spread; cases: number; batch1Ms: Spread; batch256Ms: Spread; perTaskUs: Spread };
  poolStartMs: Spread;
  /** ops/s of the single-thread work alone and in two processes at once (summed), and their ratio per pair. */
  ceiling: { ms: number; alone: Spread; together: Spread; speedup: Spread };
}

export async function campaign(o: Partial<CampaignOptions> & { design: Design; workers: number; seed: number }): Promise<CampaignSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-bench-'));
  try {
    return await runCampaign({ crashesDir: join(dir, 'crashes'), corpusDir: join(dir, 'corpus'), warn: () => {}, ...o });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A campaign of `cases` cases, with its steady rate: cases/s from the commit of the first tenth to the last
 * (coverageEvery's marks, at commit time), which leaves out the pool start and the workers' first batches.
 */
async function steadyCampaign(design: Design, workers: number, cases: number): Promise<{ summary: CampaignSummary; steadyCasesPerSec: number }> {
  const marks: [number, number][] = [];
  const summary = await campaign({ design, workers, seed: 1, cases, coverageEvery: { cases: Math.max(1, Math.floor(cases / 10)), record: (n) => marks.push([n, performance.now()]) } });
  const [c0, t0] = marks[0];
  const [c1, t1] = marks[marks.length - 1];
  return { summary, steadyCasesPerSec: ((c1 - c0) / (t1 - t0)) * 1000 };
}

function timeCases(cases: readonly ReturnType<typeof generateCase>[], noOracle: boolean): { ms: number; ops: number } {
  const t0 = performance.now();
  let ops = 0;
  for (const c of cases) ops += runCase(c, noOracle ? { noOracle: true } : {}).opsRun;
  return { ms: performance.now() - t0, ops };
}

export async function speedSection(design: Design, p: SpeedParams, log: (s: string) => void): Promise<Speed> {
  log(`(c) oracle share: ${p.oracleCases} cases in the main thread with and without the oracle, ${p.reps} times interleaved`);
  const cases = Array.from({ length: p.oracleCases }, (_, i) => generateCase(design, 1, i));
  timeCases(cases, false); // warm-up: timed cold, whichever ran first would also pay for compiling the model
  timeCases(cases, true);
  const o = await interleaved(p.reps, { with: () => timeCases(cases, false), without: () => timeCases(cases, true) });
  const msWith = o.with.map((x) => x.ms);
  const msWithout = o.without.map((x) => x.ms);
  const ops = o.with[0].ops;

  log(`(c) ${p.workerCases} cases on 1 and on 2 workers, ${p.reps} times interleaved`);
  const w = await interleaved(p.reps, { one: () => steadyCampaign(design, 1, p.workerCases), two: () => steadyCampaign(design, 2, p.workerCases) });
  const cps1 = w.one.map((x) => x.summary.casesPerSec);
  const cps2 = w.two.map((x) => x.summary.casesPerSec);
  const steady1 = w.one.map((x) => x.steadyCasesPerSec);
  const steady2 = w.two.map((x) => x.steadyCasesPerSec);
  const speedup = ratios(steady2, steady1);

  log(`(c) per-task overhead: ${p.emptyTasks} empty tasks through a piscina pool, ${p.reps} times`);
  const empty = await poolOverhead(p.reps, p.emptyTasks);
  log(`(c) per-task overhead: ${p.batchCases} cases on 1 worker in batches of 1 and of 256, ${p.reps} times interleaved`);
  const b = await interleaved(p.reps, {
    b1: () => campaign({ design, workers: 1, seed: 2, cases: p.batchCases, batchSize: 1 }),
    b256: () => campaign({ design, workers: 1, seed: 2, cases: p.batchCases, batchSize: 256 }),
  });
  const extraTasks = p.batchCases - Math.ceil(p.batchCases / 256);
  const perTask = b.b1.map((s, i) => ((s.elapsedMs - b.b256[i].elapsedMs) / extraTasks) * 1000);

  log(`(c) pool start: a campaign of one case on 2 workers, ${p.reps} times`);
  const start: number[] = [];
  for (let r = 0; r < p.reps; r++) start.push((await campaign({ design, workers: 2, seed: 2, cases: 1 })).elapsedMs);

  log(`(c) machine ceiling: ${p.oracleCases} cases of runCase for ${p.ceilingMs} ms in one process alone and in two at once, ${p.reps} times interleaved`);
  const ceil = await interleaved(p.reps, { alone: () => alone(p.root, design, p.oracleCases, p.ceilingMs), together: () => together(p.root, design, p.oracleCases, p.ceilingMs) });

  return {
    params: p,
    oracle: { cases: p.oracleCases, ops, msWith: spread(msWith), msWithout: spread(msWithout), share: spread(msWith.map((x, i) => 1 - msWithout[i] / x)), opsPerSecWith: spread(msWith.map((x) => (ops / x) * 1000)) },
    workers: {
      cases: p.workerCases, casesPerSec1: spread(cps1), casesPerSec2: spread(cps2), steadyCasesPerSec1: spread(steady1), steadyCasesPerSec2: spread(steady2),
      opsPerSec1: spread(w.one.map((x) => x.summary.opsPerSec)), opsPerSec2: spread(w.two.map((x) => x.summary.opsPerSec)),
      speedup: spread(speedup), efficiency: spread(speedup.map((x) => x / 2)),
    },
    overhead: {
      tasks: p.emptyTasks, queuedUs: spread(empty.map((x) => x.queuedUs)), roundTripUs: spread(empty.map((x) => x.roundTripUs)),
      cases: p.batchCases, batch1Ms: spread(b.b1.map((s) => s.elapsedMs)), batch256Ms: spread(b.b256.map((s) => s.elapsedMs)), perTaskUs: spread(perTask),
    },
    poolStartMs: spread(start),
    ceiling: { ms: p.ceilingMs, alone: spread(ceil.alone), together: spread(ceil.together), speedup: spread(ratios(ceil.together, ceil.alone)) },
  };
}

export function speedMarkdown(s: Speed): string[] {
  const pct = (x: Spread): Spread => ({ ...x, median: x.median * 100, min: x.min * 100, max: x.max * 100, values: x.values.map((v) => v * 100) });
  const r = s.params.reps;
  return [
    `Every figure: median (min-max, n = repetitions); the arms of a comparison ran interleaved (A B, B A, ...) in this process, and a ratio is taken per interleaved pair.`,
    '',
    '| what | cases | ms | cases/s | steady cases/s | ops/s |',
    '|---|---:|---:|---:|---:|---:|',
    `| runCase, main thread, with the oracle | ${s.oracle.cases} | ${showSpread(s.oracle.msWith)} | | | ${showSpread(s.oracle.opsPerSecWith)} |`,
    `| runCase, main thread, without the oracle | ${s.oracle.cases} | ${showSpread(s.oracle.msWithout)} | | | |`,
    `| campaign, 1 worker | ${s.workers.cases} | | ${showSpread(s.workers.casesPerSec1)} | ${showSpread(s.workers.steadyCasesPerSec1)} | ${showSpread(s.workers.opsPerSec1)} |`,
    `| campaign, 2 workers | ${s.workers.cases} | | ${showSpread(s.workers.casesPerSec2)} | ${showSpread(s.workers.steadyCasesPerSec2)} | ${showSpread(s.workers.opsPerSec2)} |`,
    '',
    'cases/s and ops/s: the campaign summary\'s (pool start included); steady cases/s: from the commit of the first tenth of the cases to the last.',
    '',
    `- Oracle share of a case's time (1 - without/with, per pair): ${showSpread(pct(s.oracle.share))} %.`,
    `- 2 workers vs 1 (steady cases/s, per pair): ${showSpread(s.workers.speedup, 2)}x; parallel efficiency ${showSpread(pct(s.workers.efficiency))} %.`,
    `- The machine's ceiling for 2 workers: runCase (oracle on, ${s.params.oracleCases} generated cases, warmed up, then ${s.ceiling.ms} ms timed) in two processes at once against one alone (per pair): ${showSpread(s.ceiling.speedup, 2)}x (alone ${showSpread(s.ceiling.alone)} ops/s; the two together ${showSpread(s.ceiling.together)} ops/s). Two workers that shared nothing would reach this speed-up here, not 2x.`,
    `- Per-task overhead of the pool, empty tasks (one thread, ${s.overhead.tasks} tasks per repetition, minus the same calls in-thread): ${showSpread(s.overhead.queuedUs, 1)} us queued all at once; ${showSpread(s.overhead.roundTripUs, 1)} us one at a time, each awaited.`,
    `- Per-task overhead of a campaign (1 worker, ${s.overhead.cases} cases in batches of 1 against batches of 256, per pair, over the ${s.overhead.cases - Math.ceil(s.overhead.cases / 256)} extra tasks): ${showSpread(s.overhead.perTaskUs, 1)} us (batches of 1: ${showSpread(s.overhead.batch1Ms)} ms; of 256: ${showSpread(s.overhead.batch256Ms)} ms).`,
    `- Pool start (a campaign of one case on 2 workers, in this warm process): ${showSpread(s.poolStartMs)} ms, n = ${r}.`,
  ];
}
