// npm run bench [-- --quick] [-- --baseline REV|none] [-- --only a,c,h]: how well and how fast tdxfuzz
// finds the design's bugs on this machine. The Markdown and JSON begin with the machine (cores, CPU, memory,
// Node, load) and the commit (HEAD, clean or dirty).
//   (a) the peer comparison, as a user meets it: every BUG-n with its guard off, `tdxfuzz fuzz` and the
//       fast-check baseline (fc.commands + fc.modelRun, bench/fastcheck-main.ts) each run as a whole
//       process, timed from the spawn to the first minimised failure on disk (tdxfuzz) or the shrunk
//       counterexample on screen (fast-check), alternating over several seeds (peer.ts, peerSection.ts);
//       per bug: medians and spread, the saved case (ops against the spec's shortest sequence, whether its
//       signature names the spec's invariant, damage or structural detection); and the share of BUG-n on
//       which tdxfuzz's median is below fast-check's;
//   (b) the default design: cases and ops in a fixed budget, failures expected zero;
//   (c) throughput in this process (speed.ts): the oracle's share, 1 and 2 workers, per-task overhead
//       measured directly (empty tasks through a piscina pool; batches of 1 against 256), pool start;
//       every figure repeated, comparisons interleaved and their ratios taken pair by pair;
//   (e) memory: peak RSS over a long campaign and whether it grows;
//   (f) the fast-check baseline on the default campaign design (every guard on): failures expected zero;
//   (g) the six concurrency bugs (concurrency.ts), PCT and random schedules side by side;
//   (h) one-actor throughput against an older commit (default e739cb7) checked out in a temporary folder,
//       both CLIs run as processes, interleaved and repeated (baselineSection.ts); --baseline none skips it,
//       and --quick skips it unless --baseline names a commit.
// Every timing is repeated and shown as median (min-max). Figures are printed as Markdown and written to
// bench/results/<timestamp>.{json,md}; nothing here passes or fails on time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CAMPAIGN_DEFAULTS, type Design } from '../src/model/config.js';
import { packageRoot } from '../src/fuzz/coordinator.js';
import { defaultDesignSpace } from '../src/fuzz/designSpace.js';
import { detectionOf as detectionOfSig } from './bugs.js';
import { fastCheckHunt } from './fastcheck.js';
import { concurrencyBugs, type ConcurrencyRow, concurrencyTable } from './concurrency.js';
import { commitInfo, describeMachine, machineInfo } from './machine.js';
import { peerMarkdown, peerSection, peerSummary, type PeerRow } from './peerSection.js';
import { campaign, type Speed, speedMarkdown, speedSection } from './speed.js';
import { type Baseline, baselineMarkdown, baselineSection } from './baselineSection.js';
import { fmt, median } from './stats.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const optionValue = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
// (h) builds and runs another commit: on by default in the full bench, only on request with --quick (it adds about 2 minutes)
const baselineRev = optionValue('--baseline') ?? (quick ? 'none' : 'e739cb7');
const only = optionValue('--only')?.split(',').map((s) => s.trim());
const want = (section: string): boolean => !only || only.includes(section);

const P = quick
  ? { peerSeeds: 1, peerCapMs: 10_000, budgetMs: 5_000, reps: 3, oracleCases: 1_000, workerCases: 3_000, emptyTasks: 2_000, batchCases: 1_000, memoryMs: 8_000, ceilingMs: 2_000, fcDefaultSeeds: 1, fcDefaultMs: 3_000, concSeeds: 1, concCases: 3_000, baselineCases: 2_000, baselineReps: 3 }
  : { peerSeeds: 5, peerCapMs: 60_000, budgetMs: 60_000, reps: 5, oracleCases: 10_000, workerCases: 60_000, emptyTasks: 10_000, batchCases: 10_000, memoryMs: 600_000, ceilingMs: 5_000, fcDefaultSeeds: 5, fcDefaultMs: 60_000, concSeeds: 5, concCases: 20_000, baselineCases: 20_000, baselineReps: 5 };
const design: Design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };
const root = packageRoot();

const started = performance.now();
function log(s: string): void {
  process.stderr.write(`bench [${((performance.now() - started) / 1000).toFixed(0)} s]: ${s}\n`); // where the time goes
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

interface Results {
  peer?: PeerRow[];
  budget?: Awaited<ReturnType<typeof budgetSection>>;
  speed?: Speed;
  memory?: Awaited<ReturnType<typeof memorySection>>;
  fastCheckDefault?: ReturnType<typeof fastCheckDefaultSection>;
  concurrency?: ConcurrencyRow[];
  baseline?: Baseline;
}

function markdown(r: Results, header: string): string {
  const L: string[] = [];
  L.push(`# tdxfuzz benchmark${quick ? ' (--quick)' : ''}`, '');
  L.push(`${new Date().toISOString()}. ${header}`, '');
  L.push(`Campaign design: v3 defaults, ptrs ${design.ptrs}. Timings: median (min-max) over repetitions or seeds.${only ? ` Sections run: ${only.join(', ')}.` : ''}`, '');
  if (r.peer) {
    L.push(`## (a) Time to the first minimised failure: tdxfuzz against fast-check, whole processes`, '');
    L.push(...peerMarkdown(r.peer, P.peerSeeds, P.peerCapMs));
    const detected = (d: string): string[] => r.peer!.filter((x) => { const f = x.tdxfuzz.filter((y) => y.found); return f.length > 0 && f.every((y) => detectionOfSig(y.signature) === d); }).map((x) => x.bug);
    L.push('', `tdxfuzz found only by observable damage: ${detected('damage').join(', ') || 'none'}. Only by a structural check: ${detected('structural').join(', ') || 'none'}. Performance findings: ${detected('performance').join(', ') || 'none'}.`);
  }
  if (r.budget) {
    const b = r.budget;
    L.push('', '## (b) Default design in a fixed budget', '');
    L.push(`${b.cases} cases, ${b.ops} ops in ${b.seconds} s on 2 workers (one run: a count of failures, not a timing), deployment settings varied per case (the default design space); failing cases: ${b.failingCases}${b.unique.length ? ' (' + b.unique.join(', ') + ')' : ''} (expected 0).`);
  }
  if (r.speed) L.push('', '## (c) Throughput in this process', '', ...speedMarkdown(r.speed));
  if (r.baseline) L.push('', `## (h) One-actor throughput against commit ${r.baseline.params.rev}`, '', ...baselineMarkdown(r.baseline));
  if (r.memory) {
    const m = r.memory;
    L.push('', '## (e) Memory', '');
    L.push(`${m.seconds} s campaign on 2 workers, ${m.cases} cases: peak RSS ${fmt(m.peakRssMb)} MB; first fifth ${fmt(m.earlyRssMb)} MB, last fifth ${fmt(m.lateRssMb)} MB (${m.growthPct >= 0 ? '+' : ''}${fmt(m.growthPct, 1)}%).`);
  }
  if (r.fastCheckDefault) {
    const f = r.fastCheckDefault;
    L.push('', `## (f) fast-check baseline on the default campaign design, every guard on: ${f.seeds} seed(s) x ${f.secondsPerSeed} s`, '');
    L.push('| seed | seconds | runs | failure (expected none) | shrunk ops |', '|---:|---:|---:|---|---:|');
    for (const x of f.runs) L.push(`| ${x.seed} | ${fmt(x.seconds, 1)} | ${x.runs} | ${x.found ? x.signature : 'none'} | ${x.found ? x.shrunkOps : '-'} |`);
    L.push('', `Failures: ${f.failures} of ${f.seeds} seeds.`);
  }
  if (r.concurrency) L.push('', `## (g) Concurrency bugs: PCT against random schedules, ${P.concSeeds} seed(s)`, '', ...concurrencyTable(r.concurrency, P.concCases, 2));
  return L.join('\n') + '\n';
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const commit = commitInfo(root);
  const header = describeMachine(machine, commit);
  log(header);
  const r: Results = {};
  if (want('a')) r.peer = await peerSection(root, P.peerSeeds, P.peerCapMs, log);
  if (want('b')) r.budget = await budgetSection();
  if (want('c')) r.speed = await speedSection(design, { reps: P.reps, oracleCases: P.oracleCases, workerCases: P.workerCases, emptyTasks: P.emptyTasks, batchCases: P.batchCases, root, ceilingMs: P.ceilingMs }, log);
  if (want('h') && baselineRev !== 'none') {
    const preload = fileURLToPath(new URL('./cpu-preload.js', import.meta.url));
    r.baseline = await baselineSection(root, preload, { rev: baselineRev, cases: P.baselineCases, reps: P.baselineReps }, log);
  }
  if (want('e')) r.memory = await memorySection();
  if (want('f')) r.fastCheckDefault = fastCheckDefaultSection();
  if (want('g')) r.concurrency = await concurrencyBugs(P.concSeeds, P.concCases, 2, log);
  const md = markdown(r, header);
  process.stdout.write(md);
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, new Date().toISOString().replace(/[:.]/g, '-'));
  const peer = r.peer ? { rows: r.peer, summary: peerSummary(r.peer) } : undefined;
  writeFileSync(`${stem}.json`, JSON.stringify({ quick, machine, commit, params: P, sections: only ?? 'all', design, peer, budget: r.budget, speed: r.speed, baseline: r.baseline, memory: r.memory, fastCheckDefault: r.fastCheckDefault, concurrency: r.concurrency }, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(`\nwritten to ${stem}.json and .md\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
