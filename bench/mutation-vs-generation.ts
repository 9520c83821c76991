// Issue 12's benchmark, runnable alone (node dist/bench/mutation-vs-generation.js [--seconds S] [--seeds N]
// [--workers W]): pure generation (--mutate 0) against coverage-guided mutation (--mutate 0.5) on the
// default design and a few BUG-n designs, each campaign the CLI's (default design space, fresh corpus, the
// committed regression corpus read only), for the same wall time and seeds. Reported: coverage (distinct features) reached,
// median and range over the seeds, cases run, and time to the first failure on the BUG-n designs; the
// coverage over time (median of the seeds at each half second, a line per mode) is plotted with vega-lite
// to bench/results/mutation-vs-generation.svg, the table written next to it (.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../src/model/config.js';
import { runCampaign } from '../src/fuzz/coordinator.js';
import { defaultDesignSpace } from '../src/fuzz/designSpace.js';
import { renderSvg } from '../src/fuzz/plot.js';
import { packageRoot } from '../src/fuzz/coordinator.js';

const TARGETS: { name: string; design: Record<string, unknown> }[] = [
  { name: 'default design', design: {} },
  { name: 'BUG-2 (G2 off)', design: { guardsOff: ['G2'] } },
  { name: 'BUG-6 (G6 off)', design: { guardsOff: ['G6'] } },
  { name: 'BUG-19 (G19 off)', design: { guardsOff: ['G19'] } },
];
const MODES = [
  { mode: 'generation', share: 0 },
  { mode: 'mutation 0.5', share: 0.5 },
] as const;
const GRID_MS = 500;

interface Run {
  target: string;
  mode: string;
  seed: number;
  coverage: number;
  cases: number;
  mutated: number;
  corpus: number;
  firstFailureMs: number | null;
  /** Coverage at each GRID_MS step. */
  curve: number[];
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function one(target: (typeof TARGETS)[number], share: number, mode: string, seed: number, ms: number, workers: number): Promise<Run> {
  const design: Design = resolveDesign(target.design, 'design', CAMPAIGN_DEFAULTS);
  const root = mkdtempSync(join(tmpdir(), 'tdxfuzz-mvg-'));
  const curve: number[] = [];
  try {
    const s = await runCampaign({
      design,
      space: defaultDesignSpace(design),
      seed,
      workers,
      durationMs: ms,
      crashesDir: join(root, 'crashes'),
      corpusDir: join(root, 'corpus'),
      mutation: share > 0 ? { share } : null,
      readOnlyCorpora: [join(packageRoot(), 'corpus')], // as the CLI: the committed regression corpus seeds coverage and the pool
      warn: () => {},
      onProgress: (p) => {
        const k = Math.floor(p.elapsedMs / GRID_MS);
        while (curve.length <= k) curve.push(p.coverage);
        curve[k] = p.coverage;
      },
    });
    return { target: target.name, mode, seed, coverage: s.coverage, cases: s.cases, mutated: s.mutated, corpus: s.corpusAdded, firstFailureMs: s.firstFailure?.elapsedMs ?? null, curve };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

async function main(): Promise<void> {
  const seconds = arg('--seconds', 10);
  const seeds = arg('--seeds', 3);
  const workers = arg('--workers', 1);
  const runs: Run[] = [];
  for (const t of TARGETS) {
    for (let seed = 1; seed <= seeds; seed++) {
      for (const m of MODES) {
        const r = await one(t, m.share, m.mode, seed, seconds * 1000, workers);
        runs.push(r);
        process.stderr.write(`${t.name}, ${m.mode}, seed ${seed}: coverage ${r.coverage}, ${r.cases} cases (${r.mutated} mutated), first failure ${r.firstFailureMs === null ? '-' : `${(r.firstFailureMs / 1000).toFixed(2)} s`}\n`);
      }
    }
  }
  const lines = [
    `# Coverage-guided mutation against pure generation (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Command: \`node dist/bench/mutation-vs-generation.js --seconds ${seconds} --seeds ${seeds} --workers ${workers}\`; seeds 1..${seeds}; each campaign ` +
      `${seconds} s with ${workers} worker(s), default design space, fresh corpus, the committed corpus/ read only as the CLI does (it is the mutation pool ` +
      'until the campaign adds to it, from case 1024 on). Coverage: distinct coverage features at the end. Figures are median [min-max] over the seeds. ' +
      'The machine was shared with other jobs: cases/s (and so everything per second) is noisy.',
    '',
    '| target | mode | coverage | cases | mutated | corpus added | first failure (s) | seeds failing |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const range = (xs: number[], f = (x: number) => String(Math.round(x))): string => (xs.length ? `${f(median(xs))} [${f(Math.min(...xs))}-${f(Math.max(...xs))}]` : '-');
  for (const t of TARGETS) {
    for (const m of MODES) {
      const rs = runs.filter((r) => r.target === t.name && r.mode === m.mode);
      const ff = rs.flatMap((r) => (r.firstFailureMs === null ? [] : [r.firstFailureMs / 1000]));
      lines.push(
        `| ${t.name} | ${m.mode} | ${range(rs.map((r) => r.coverage))} | ${range(rs.map((r) => r.cases))} | ${range(rs.map((r) => r.mutated))} | ${range(rs.map((r) => r.corpus))} | ${t.name.startsWith('BUG') ? range(ff, (x) => x.toFixed(2)) : 'n/a'} | ${t.name.startsWith('BUG') ? `${ff.length}/${rs.length}` : 'n/a'} |`,
      );
    }
  }
  const rows: { seconds: number; coverage: number; mode: string; target: string }[] = [];
  for (const t of TARGETS) {
    for (const m of MODES) {
      const rs = runs.filter((r) => r.target === t.name && r.mode === m.mode);
      const n = Math.min(...rs.map((r) => r.curve.length));
      for (let k = 0; k < n; k++) rows.push({ seconds: (k * GRID_MS) / 1000, coverage: median(rs.map((r) => r.curve[k])), mode: m.mode, target: t.name });
    }
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `coverage over time, median of ${seeds} seeds: generation vs coverage-guided mutation`, anchor: 'start' },
    data: { values: rows },
    vconcat: TARGETS.map((t) => ({
      title: t.name,
      width: 560,
      height: 120,
      transform: [{ filter: { field: 'target', equal: t.name } }],
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'seconds', type: 'quantitative', title: 'run time (s)' },
        y: { field: 'coverage', type: 'quantitative', title: 'features', scale: { zero: false } },
        color: { field: 'mode', type: 'nominal', title: null },
      },
    })),
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
  const dir = join(packageRoot(), 'bench', 'results');
  writeFileSync(join(dir, 'mutation-vs-generation.svg'), await renderSvg(spec));
  writeFileSync(join(dir, 'mutation-vs-generation.md'), lines.join('\n') + '\n\n![coverage over time](mutation-vs-generation.svg)\n');
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
