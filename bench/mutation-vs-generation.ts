// Issue 12's benchmark, runnable alone (node dist/bench/mutation-vs-generation.js [--cases N] [--seeds N]
// [--workers W] [--shares 0,0.5,auto]): pure generation (--mutate 0) against coverage-guided mutation
// (--mutate auto, the CLI's default, or a fixed share) on the
// default design and a few BUG-n designs, each campaign the CLI's (default design space, fresh corpus, the
// committed regression corpus read only), for the same number of cases and seeds. The budget is counted in
// cases, not seconds: with --cases a campaign is deterministic, so the coverage curve and the case that
// first fails do not depend on the load of the machine (a shared 2-core box makes cases/s swing 10x);
// the wall time and cases/s are reported beside them. Reported: coverage (distinct features) reached,
// median and range over the seeds, and the first failing case on the BUG-n designs; the coverage over the
// campaign (median of the seeds every GRID cases, a line per mode) is plotted with vega-lite to
// bench/results/mutation-vs-generation.svg, the table written next to it (.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../src/model/config.js';
import { runCampaign } from '../src/fuzz/coordinator.js';
import { defaultDesignSpace } from '../src/fuzz/designSpace.js';
import { mutationOf } from '../src/fuzz/pool.js';
import { campaignConcurrency, DEFAULT_CONCURRENCY } from '../src/fuzz/concurrency.js';
import { BUGS } from './bugs.js';
import { renderSvg } from '../src/fuzz/plot.js';
import { packageRoot } from '../src/fuzz/coordinator.js';
import { median } from './stats.js';

interface Target {
  name: string;
  design: Record<string, unknown>;
  /** A performance bug: its campaigns fail on performance findings (as `fuzz --fail-on perf`). */
  perf?: boolean;
}

const TARGETS: Target[] = [
  { name: 'default design', design: {} },
  { name: 'BUG-2 (G2 off)', design: { guardsOff: ['G2'] } },
  { name: 'BUG-6 (G6 off)', design: { guardsOff: ['G6'] } },
  { name: 'BUG-19 (G19 off)', design: { guardsOff: ['G19'] } },
];

/** --all-bugs: every BUG-n of bench/bugs.ts with its design, each campaign stopping at its first failing case. */
const ALL_BUGS = process.argv.includes('--all-bugs');
/** --shares 0,0.5,auto: the modes compared, 0 being pure generation, auto the CLI's default (an adaptive share). */
function modes(): { mode: string; share: number | 'auto' }[] {
  const i = process.argv.indexOf('--shares');
  const shares = i >= 0 ? process.argv[i + 1].split(',').map((x) => (x === 'auto' ? 'auto' : Number(x))) : [0, 'auto' as const];
  return shares.map((share) => ({ mode: share === 'auto' ? 'mutation auto' : share > 0 ? `mutation ${share}` : 'generation', share }));
}
const MODES = modes();
/** --targets 0,2: which of TARGETS to run (default all). */
function targets(): Target[] {
  if (ALL_BUGS) return BUGS.filter((b) => !b.notMeasurable).map((b) => ({ name: `${b.bug} (${b.design.guardsOff!.join(',')} off)`, design: b.design, perf: b.perf }));
  const i = process.argv.indexOf('--targets');
  return i >= 0 ? process.argv[i + 1].split(',').map((k) => TARGETS[Number(k)]) : TARGETS;
}
const GRID = 250;

interface Run {
  target: string;
  mode: string;
  seed: number;
  coverage: number;
  cases: number;
  mutated: number;
  corpus: number;
  firstFailureMs: number | null;
  firstFailureCase: number | null;
  casesPerSec: number;
  /** The share of the last mutating epoch (where an adaptive share went); null: no mutation. */
  shareNow: number | null;
  /** Coverage after each GRID cases (index k: the first (k+1)*GRID cases committed). */
  curve: number[];
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function one(target: Target, share: number | 'auto', mode: string, seed: number, cases: number, workers: number): Promise<Run> {
  const design: Design = resolveDesign(target.design, 'design', CAMPAIGN_DEFAULTS);
  // as the CLI: a race guard off makes half the cases concurrent (campaignConcurrency)
  const concurrency = campaignConcurrency(false, DEFAULT_CONCURRENCY.share, DEFAULT_CONCURRENCY.schedule, design.guardsOff).settings;
  const root = mkdtempSync(join(tmpdir(), 'tdxfuzz-mvg-'));
  const curve: number[] = [];
  try {
    const s = await runCampaign({
      design,
      space: defaultDesignSpace(design),
      seed,
      workers,
      cases,
      statsEveryMs: 1e9,
      crashesDir: join(root, 'crashes'),
      corpusDir: join(root, 'corpus'),
      mutation: mutationOf(share),
      concurrency,
      failOnPerf: target.perf === true,
      ...(ALL_BUGS ? { stopAfterFailingCases: 1 } : {}),
      readOnlyCorpora: [join(packageRoot(), 'corpus')], // as the CLI: the committed regression corpus seeds coverage and the pool
      warn: () => {},
      coverageEvery: { cases: GRID, record: (n, coverage) => (curve[n / GRID - 1] = coverage) },
    });
    return {
      target: target.name, mode, seed, coverage: s.coverage, cases: s.cases, mutated: s.mutated, corpus: s.corpusAdded,
      firstFailureMs: s.firstFailure?.elapsedMs ?? null, firstFailureCase: s.firstFailure?.caseIndex ?? null, casesPerSec: s.casesPerSec, shareNow: s.mutationShare, curve,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cases = arg('--cases', 4000);
  const seeds = arg('--seeds', 3);
  const workers = arg('--workers', 1);
  const runs: Run[] = [];
  const chosen = targets();
  for (const t of chosen) {
    for (let seed = 1; seed <= seeds; seed++) {
      for (const m of MODES) {
        const r = await one(t, m.share, m.mode, seed, cases, workers);
        runs.push(r);
        process.stderr.write(`${t.name}, ${m.mode}, seed ${seed}: coverage ${r.coverage}, ${r.cases} cases (${r.mutated} mutated) at ${Math.round(r.casesPerSec)}/s${r.shareNow === null ? '' : `, share at the end ${r.shareNow}`}, first failure ${r.firstFailureCase === null ? '-' : `case ${r.firstFailureCase}`}\n`);
      }
    }
  }
  const lines = [
    `# Coverage-guided mutation against pure generation (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Command: \`node dist/bench/mutation-vs-generation.js ${process.argv.slice(2).join(" ")}\`; seeds 1..${seeds}; each campaign ` +
      `${cases} cases${ALL_BUGS ? ' at most, stopped at its first failing case (coverage and cases: at that point), the concurrency the CLI turns on for a race guard and --fail-on perf for a performance bug,' : ''} with ${workers} worker(s), default design space, fresh corpus, the committed corpus/ read only as the CLI does (it is the mutation pool ` +
      'from case 512 on, and what the campaign adds joins it from case 1024 on; the first 512 cases are generated in both modes). Coverage: distinct coverage features at the end. Figures are median [min-max] over the seeds. ' +
      'Coverage and first failing case are deterministic (the same with any load or worker count); cases/s is not: the machine was shared ' +
      'with other jobs, so compare the cases/s of the two modes only roughly.',
    '',
    '| target | mode | coverage | cases/s | mutated | corpus added | first failing case | seeds failing |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const range = (xs: number[], f = (x: number) => String(Math.round(x))): string => (xs.length ? `${f(median(xs))} [${f(Math.min(...xs))}-${f(Math.max(...xs))}]` : '-');
  for (const t of chosen) {
    for (const m of MODES) {
      const rs = runs.filter((r) => r.target === t.name && r.mode === m.mode);
      const ff = rs.flatMap((r) => (r.firstFailureCase === null ? [] : [r.firstFailureCase]));
      lines.push(
        `| ${t.name} | ${m.mode} | ${range(rs.map((r) => r.coverage))} | ${range(rs.map((r) => r.casesPerSec))} | ${range(rs.map((r) => r.mutated))} | ${range(rs.map((r) => r.corpus))} | ${t.name.startsWith('BUG') ? range(ff) : 'n/a'} | ${t.name.startsWith('BUG') ? `${ff.length}/${rs.length}` : 'n/a'} |`,
      );
    }
  }
  const rows: { cases: number; coverage: number; mode: string; target: string }[] = [];
  for (const t of chosen) {
    for (const m of MODES) {
      const rs = runs.filter((r) => r.target === t.name && r.mode === m.mode);
      const n = Math.min(...rs.map((r) => r.curve.length));
      for (let k = 0; k < n; k++) rows.push({ cases: (k + 1) * GRID, coverage: median(rs.map((r) => r.curve[k])), mode: m.mode, target: t.name });
    }
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `coverage over a campaign, median of ${seeds} seeds: generation vs coverage-guided mutation`, anchor: 'start' },
    data: { values: rows },
    vconcat: chosen.map((t) => ({
      title: t.name,
      width: 560,
      height: 120,
      transform: [{ filter: { field: 'target', equal: t.name } }],
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'cases', type: 'quantitative', title: 'cases run' },
        y: { field: 'coverage', type: 'quantitative', title: 'features', scale: { zero: false } },
        color: { field: 'mode', type: 'nominal', title: null },
      },
    })),
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
  const dir = join(packageRoot(), 'bench', 'results');
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'mutation-vs-generation';
  if (ALL_BUGS) {
    // the first failing case of each mode, median over the seeds (a seed that found nothing counts as never)
    const med = (t: Target, mode: string): number => median(runs.filter((r) => r.target === t.name && r.mode === mode).map((r) => r.firstFailureCase ?? Infinity));
    const [gen, ...muts] = MODES;
    for (const m of muts) {
      const notLater = chosen.filter((t) => med(t, m.mode) <= med(t, gen.mode));
      const sooner = chosen.filter((t) => med(t, m.mode) < med(t, gen.mode));
      const later = chosen.filter((t) => med(t, m.mode) > med(t, gen.mode)).map((t) => `${t.name.split(' ')[0]} (${med(t, m.mode)} vs ${med(t, gen.mode)})`);
      lines.push('', `${m.mode}: first failing case (median of ${seeds} seeds) no later than generation on ${notLater.length} of ${chosen.length} BUG-n, sooner on ${sooner.length}; later on ${later.length ? later.join(', ') : 'none'}.`);
    }
    writeFileSync(join(dir, `${out}.md`), lines.join('\n') + '\n');
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  writeFileSync(join(dir, `${out}.svg`), await renderSvg(spec));
  writeFileSync(join(dir, `${out}.json`), JSON.stringify(rows) + '\n');
  writeFileSync(join(dir, `${out}.md`), lines.join('\n') + `\n\n![coverage over the campaign](${out}.svg)\n`);
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
