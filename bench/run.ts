// npm run bench [-- --quick]: how well and how fast tdxfuzz finds the design's bugs on this machine.
//   (a) every BUG-n with its guard off: time and cases to the first failure on 2 workers over several
//       campaign seeds, minimised length against the spec's shortest sequence, and whether the signature
//       names the invariant the spec names;
//   (b) the default design: cases and ops in a fixed budget, failures expected zero;
//   (c) throughput: cases/s and ops/s with 1 and 2 workers in one run, parallel efficiency, per-task
//       overhead, and the oracle's share of the time;
//   (d) the peer baseline: fast-check fc.commands + fc.modelRun on the same model and bugs;
//   (e) memory: peak RSS over a long campaign and whether it grows;
//   (f) the fast-check baseline on the default campaign design (every guard on): failures expected zero;
//   (g) the six concurrency bugs (bench/concurrency.ts), every case with several actors, PCT and random
//       schedules side by side.
// Each BUG-n found is also reported as detected by observable damage or by a structural check (a flag, a
// lock, a call in the wrong state), from the `detection` of the invariant that named it (src/oracle/invariants.ts).
// Figures are printed as Markdown and written to bench/results/<timestamp>.{json,md}; nothing here passes
// or fails on time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAMPAIGN_DEFAULTS, type Design } from '../src/model/config.js';
import { packageRoot, runCampaign, type CampaignOptions, type CampaignSummary } from '../src/fuzz/coordinator.js';
import { generateCase } from '../src/fuzz/generate.js';
import { runCase } from '../src/fuzz/run.js';
import { defaultDesignSpace } from '../src/fuzz/designSpace.js';
import { BUGS, bugDesign, detectionOf, namesBugInv } from './bugs.js';
import { fastCheckHunt } from './fastcheck.js';
import { concurrencyBugs, type ConcurrencyRow, concurrencyTable } from './concurrency.js';

const quick = process.argv.includes('--quick');
const P = quick
  ? { seeds: 1, bugCapMs: 8_000, fcCapMs: 3_000, budgetMs: 5_000, throughputCases: 20_000, overheadCases: 4_000, oracleCases: 3_000, memoryMs: 8_000, fcDefaultSeeds: 1, fcDefaultMs: 3_000, concCases: 3_000 }
  : { seeds: 5, bugCapMs: 60_000, fcCapMs: 60_000, budgetMs: 60_000, throughputCases: 200_000, overheadCases: 20_000, oracleCases: 20_000, memoryMs: 600_000, fcDefaultSeeds: 5, fcDefaultMs: 60_000, concCases: 20_000 };
const design: Design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };

function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`);
}

async function campaign(o: Partial<CampaignOptions> & { design: Design; workers: number; seed: number }): Promise<CampaignSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-bench-'));
  try {
    return await runCampaign({ crashesDir: join(dir, 'crashes'), corpusDir: join(dir, 'corpus'), warn: () => {}, ...o });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const mmm = (xs: number[], d = 0): string => (xs.length ? `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)})` : '-');

interface BugRow {
  bug: string;
  inv: string;
  specOps: number;
  found: number;
  seeds: number;
  ms: number[];
  cases: number[];
  minOps: number[];
  namesInv: boolean;
  /** Per seed that found it: the detection class of the check that named it (damage, structural, performance). */
  detections: string[];
  notMeasurable?: string;
  fc: { found: number; ms: number[]; runs: number[]; shrunk: number[]; namesInv: boolean; detections: string[] };
}

/** "structural", or "damage 3, structural 2" when seeds disagree. */
function detectionCell(ds: string[]): string {
  if (ds.length === 0) return '-';
  const counts = new Map<string, number>();
  for (const d of ds) counts.set(d, (counts.get(d) ?? 0) + 1);
  return counts.size === 1 ? ds[0] : [...counts].sort().map(([d, n]) => `${d} ${n}`).join(', ');
}

async function bugsSection(): Promise<BugRow[]> {
  const rows: BugRow[] = [];
  for (const b of BUGS) {
    const row: BugRow = { bug: b.bug, inv: b.alsoInv ? `${b.inv} or ${b.alsoInv}` : b.inv, specOps: b.specOps, found: 0, seeds: P.seeds, ms: [], cases: [], minOps: [], namesInv: true, detections: [], fc: { found: 0, ms: [], runs: [], shrunk: [], namesInv: true, detections: [] } };
    rows.push(row);
    if (b.notMeasurable) {
      row.notMeasurable = b.notMeasurable;
      continue;
    }
    const d = bugDesign(b);
    for (let seed = 1; seed <= P.seeds; seed++) {
      log(`(a) ${b.bug} seed ${seed}`);
      const s = await campaign({ design: d, workers: 2, seed, durationMs: P.bugCapMs, stopAfterFailingCases: 1, failOnPerf: !!b.perf });
      if (s.firstFailure) {
        row.found++;
        row.ms.push(s.firstFailure.elapsedMs);
        row.cases.push(s.firstFailure.caseIndex + 1);
        const u = s.uniqueFailures.find((x) => x.caseIndex === s.firstFailure!.caseIndex) ?? s.uniqueFailures[0];
        if (u) row.minOps.push(u.ops);
        const sig = u?.signature ?? s.firstFailure.signature;
        if (!namesBugInv(b, sig)) row.namesInv = false;
        row.detections.push(detectionOf(sig));
      }
      log(`(d) ${b.bug} seed ${seed} (fast-check)`);
      const f = fastCheckHunt(d, seed, P.fcCapMs, !!b.perf);
      if (f.found) {
        row.fc.found++;
        row.fc.ms.push(f.msToFailure);
        row.fc.runs.push(f.runsToFailure);
        row.fc.shrunk.push(f.shrunkOps);
        if (!namesBugInv(b, f.signature)) row.fc.namesInv = false;
        row.fc.detections.push(detectionOf(f.signature));
      }
    }
  }
  return rows;
}

async function throughputSection() {
  log('(c) single thread, with and without the oracle');
  const n = P.oracleCases;
  const cases = Array.from({ length: n }, (_, i) => generateCase(design, 1, i));
  // Warm both paths up first: timed cold, whichever ran first would also pay for JIT-compiling the model.
  for (const c of cases) runCase(c);
  for (const c of cases) runCase(c, { noOracle: true });
  let t0 = performance.now();
  let ops = 0;
  for (const c of cases) ops += runCase(c).opsRun;
  const withOracle = performance.now() - t0;
  t0 = performance.now();
  for (const c of cases) runCase(c, { noOracle: true });
  const without = performance.now() - t0;
  log('(c) 1 and 2 workers');
  const w1 = await campaign({ design, workers: 1, seed: 1, cases: P.throughputCases });
  const w2 = await campaign({ design, workers: 2, seed: 1, cases: P.throughputCases });
  log('(c) per-task overhead: batches of 1 against batches of 256, one worker');
  const b1 = await campaign({ design, workers: 1, seed: 2, cases: P.overheadCases, batchSize: 1 });
  const b256 = await campaign({ design, workers: 1, seed: 2, cases: P.overheadCases, batchSize: 256 });
  const extraTasks = P.overheadCases - Math.ceil(P.overheadCases / 256);
  log('(c) pool start: a campaign of one case');
  const one = await campaign({ design, workers: 2, seed: 2, cases: 1 });
  return {
    singleThread: { cases: n, ops, msWithOracle: withOracle, msWithoutOracle: without, casesPerSec: (n / withOracle) * 1000, oracleShare: 1 - without / withOracle },
    workers1: { cases: w1.cases, ops: w1.ops, seconds: w1.elapsedMs / 1000, casesPerSec: w1.casesPerSec, opsPerSec: w1.opsPerSec },
    workers2: { cases: w2.cases, ops: w2.ops, seconds: w2.elapsedMs / 1000, casesPerSec: w2.casesPerSec, opsPerSec: w2.opsPerSec },
    speedup: w2.casesPerSec / w1.casesPerSec,
    efficiency: w2.casesPerSec / w1.casesPerSec / 2,
    perTaskOverheadUs: ((b1.elapsedMs - b256.elapsedMs) / extraTasks) * 1000,
    poolStartMs: one.elapsedMs,
  };
}

async function budgetSection() {
  log('(b) default design, fixed budget (with the default design space, as tdxfuzz fuzz runs it)');
  const s = await campaign({ design, space: defaultDesignSpace(design), workers: 2, seed: 3, durationMs: P.budgetMs });
  return { seconds: P.budgetMs / 1000, cases: s.cases, ops: s.ops, failingCases: s.failingCases, unique: s.uniqueFailures.map((u) => `${u.signature}${Object.keys(u.design).length ? ' on ' + JSON.stringify(u.design) : ''}`) };
}

/** (f) The fast-check baseline on the default campaign design, every guard on: any failure is a false alarm or a bug. */
function fastCheckDefaultSection() {
  const runs: { seed: number; seconds: number; runs: number; found: boolean; signature: string | null; shrunkOps: number }[] = [];
  for (let seed = 1; seed <= P.fcDefaultSeeds; seed++) {
    log(`(f) fast-check on the default design, seed ${seed}, ${P.fcDefaultMs / 1000} s`);
    const r = fastCheckHunt({ ...CAMPAIGN_DEFAULTS, guardsOff: [] }, seed, P.fcDefaultMs, false);
    runs.push({ seed, seconds: r.msTotal / 1000, runs: r.runsToFailure, found: r.found, signature: r.signature, shrunkOps: r.shrunkOps });
  }
  return { secondsPerSeed: P.fcDefaultMs / 1000, seeds: runs.length, failures: runs.filter((r) => r.found).length, runs };
}

async function memorySection() {
  log(`(e) memory over a ${P.memoryMs / 1000} s campaign`);
  const samples: { t: number; rss: number }[] = [];
  const t0 = performance.now();
  const timer = setInterval(() => samples.push({ t: performance.now() - t0, rss: process.memoryUsage().rss }), quick ? 1000 : 10_000);
  const s = await campaign({ design, workers: 2, seed: 4, durationMs: P.memoryMs });
  clearInterval(timer);
  samples.push({ t: performance.now() - t0, rss: process.memoryUsage().rss });
  const mb = (b: number): number => b / 2 ** 20;
  const k = Math.max(1, Math.floor(samples.length / 5));
  const early = median(samples.slice(0, k).map((x) => x.rss));
  const late = median(samples.slice(-k).map((x) => x.rss));
  return { seconds: P.memoryMs / 1000, cases: s.cases, peakRssMb: mb(Math.max(...samples.map((x) => x.rss))), earlyRssMb: mb(early), lateRssMb: mb(late), growthPct: ((late - early) / early) * 100, samples: samples.length };
}

function markdown(
  rows: BugRow[],
  budget: Awaited<ReturnType<typeof budgetSection>>,
  tp: Awaited<ReturnType<typeof throughputSection>>,
  mem: Awaited<ReturnType<typeof memorySection>>,
  fcDefault: ReturnType<typeof fastCheckDefaultSection>,
  conc: ConcurrencyRow[],
): string {
  const L: string[] = [];
  L.push(`# tdxfuzz benchmark${quick ? ' (--quick)' : ''}`, '');
  L.push(`${new Date().toISOString()}; ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}); Node ${process.version}; campaign design: v3 defaults, ptrs ${design.ptrs}.`, '');
  L.push(`## (a) + (d) Bug-finding: tdxfuzz on 2 workers against fast-check fc.commands (1 thread), ${P.seeds} seed(s), ${P.bugCapMs / 1000} s / ${P.fcCapMs / 1000} s cap`, '');
  L.push('Medians with (min-max) over the seeds that found the bug.', '');
  L.push('"detected by": damage = the check that named the bug is one the guest, host or page pool can observe (lost data, a leak, a use-after-free, a hang); structural = a flag, lock-discipline or call-in-the-wrong-state check fired before any damage showed (see `tdxfuzz invariants`).', '');
  L.push('| bug | spec invariant | tdxfuzz found | detected by | time to failure ms | cases to failure | minimised ops (spec) | names it | fast-check found | detected by | time to failure ms | runs to failure | shrunk ops | names it |');
  L.push('|---|---|---|---|---:|---:|---:|---|---|---|---:|---:|---:|---|');
  for (const r of rows) {
    if (r.notMeasurable) {
      L.push(`| ${r.bug} | ${r.inv} | not measurable: ${r.notMeasurable} | | | | | | | | | | | |`);
      continue;
    }
    L.push(
      `| ${r.bug} | ${r.inv} | ${r.found}/${r.seeds} | ${detectionCell(r.detections)} | ${mmm(r.ms)} | ${mmm(r.cases)} | ${mmm(r.minOps)} (${r.specOps}) | ${r.found ? (r.namesInv ? 'yes' : 'NO') : '-'} | ${r.fc.found}/${r.seeds} | ${detectionCell(r.fc.detections)} | ${mmm(r.fc.ms)} | ${mmm(r.fc.runs)} | ${mmm(r.fc.shrunk)} | ${r.fc.found ? (r.fc.namesInv ? 'yes' : 'no') : '-'} |`,
    );
  }
  const byDetection = (d: string): string[] => rows.filter((r) => r.detections.length > 0 && r.detections.every((x) => x === d)).map((r) => r.bug);
  L.push('', `Found only by observable damage: ${byDetection('damage').join(', ') || 'none'}. Found only by a structural check: ${byDetection('structural').join(', ') || 'none'}. Performance findings: ${byDetection('performance').join(', ') || 'none'}.`);
  L.push('', '## (b) Default design in a fixed budget', '');
  L.push(`${budget.cases} cases, ${budget.ops} ops in ${budget.seconds} s on 2 workers, deployment settings varied per case (the default design space); failing cases: ${budget.failingCases}${budget.unique.length ? ' (' + budget.unique.join(', ') + ')' : ''} (expected 0).`);
  L.push('', '## (c) Throughput', '');
  L.push('| what | cases | seconds | cases/s | ops/s |', '|---|---:|---:|---:|---:|');
  L.push(`| runCase, main thread, with the oracle | ${tp.singleThread.cases} | ${fmt(tp.singleThread.msWithOracle / 1000, 2)} | ${fmt(tp.singleThread.casesPerSec)} | ${fmt((tp.singleThread.ops / tp.singleThread.msWithOracle) * 1000)} |`);
  L.push(`| campaign, 1 worker | ${tp.workers1.cases} | ${fmt(tp.workers1.seconds, 2)} | ${fmt(tp.workers1.casesPerSec)} | ${fmt(tp.workers1.opsPerSec)} |`);
  L.push(`| campaign, 2 workers | ${tp.workers2.cases} | ${fmt(tp.workers2.seconds, 2)} | ${fmt(tp.workers2.casesPerSec)} | ${fmt(tp.workers2.opsPerSec)} |`);
  L.push('');
  L.push(`2 workers vs 1: ${fmt(tp.speedup, 2)}x, parallel efficiency ${fmt(tp.efficiency * 100)}% (same run). Per-task overhead: ${fmt(tp.perTaskOverheadUs, 1)} us (one worker, batches of 1 vs 256). Starting the pool and running one case: ${fmt(tp.poolStartMs)} ms, which every tdxfuzz time-to-failure in (a) includes. Oracle share of a case's time: ${fmt(tp.singleThread.oracleShare * 100)}% (${fmt(tp.singleThread.msWithOracle)} ms with, ${fmt(tp.singleThread.msWithoutOracle)} ms without, ${tp.singleThread.cases} cases).`);
  L.push('', '## (e) Memory', '');
  L.push(`${mem.seconds} s campaign on 2 workers, ${mem.cases} cases: peak RSS ${fmt(mem.peakRssMb)} MB; first fifth ${fmt(mem.earlyRssMb)} MB, last fifth ${fmt(mem.lateRssMb)} MB (${mem.growthPct >= 0 ? '+' : ''}${fmt(mem.growthPct, 1)}%).`);
  L.push('', `## (f) fast-check baseline on the default campaign design, every guard on: ${fcDefault.seeds} seed(s) x ${fcDefault.secondsPerSeed} s`, '');
  L.push('| seed | seconds | runs | failure (expected none) | shrunk ops |', '|---:|---:|---:|---|---:|');
  for (const r of fcDefault.runs) L.push(`| ${r.seed} | ${fmt(r.seconds, 1)} | ${r.runs} | ${r.found ? r.signature : 'none'} | ${r.found ? r.shrunkOps : '-'} |`);
  L.push('', `Failures: ${fcDefault.failures} of ${fcDefault.seeds} seeds.`);
  L.push('', `## (g) Concurrency bugs: PCT against random schedules, ${P.seeds} seed(s)`, '');
  L.push(...concurrencyTable(conc, P.concCases, 2));
  return L.join('\n') + '\n';
}

async function main(): Promise<void> {
  const rows = await bugsSection();
  const budget = await budgetSection();
  const tp = await throughputSection();
  const mem = await memorySection();
  const fcDefault = fastCheckDefaultSection();
  const conc = await concurrencyBugs(P.seeds, P.concCases, 2, log);
  const md = markdown(rows, budget, tp, mem, fcDefault, conc);
  process.stdout.write(md);
  const outDir = join(packageRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, new Date().toISOString().replace(/[:.]/g, '-'));
  writeFileSync(`${stem}.json`, JSON.stringify({ quick, params: P, design, node: process.version, cores: availableParallelism(), bugs: rows, budget, throughput: tp, memory: mem, fastCheckDefault: fcDefault, concurrency: conc }, null, 2) + '\n');
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(`\nwritten to ${stem}.json and .md\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
