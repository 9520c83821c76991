// Section (h) of npm run bench: one-actor throughput of this tree against an older commit (issue 14: at
// least 2x e739cb7), side by side in one run. Per repetition, interleaved (the order flips every time):
//   this tree, default campaign:  fuzz --cases N --workers 1 --json (design space, --mutate auto, oracle on)
//   the commit, default campaign: the same command of that commit (generated cases, campaign design only)
//   this tree, the commit's work: + --no-design-space --mutate 0 (generated cases on the campaign design)
// and each of them again with --cases 1, so the start (pool, reading and seeding the committed corpus)
// can be taken out: steady ops/s = (ops_N - ops_1) / (elapsed_N - elapsed_1), pair by pair. Ratios are
// taken per repetition; every figure is a median (min-max).
import { currentTree, type FuzzRun, fuzzOnce, prepareCommit } from './throughput.js';
import { fmt, interleaved, ratios, showSpread, type Spread, spread } from './stats.js';

export interface BaselineParams {
  rev: string;
  cases: number;
  reps: number;
}

interface ArmFigures {
  label: string;
  command: string;
  opsPerSec: Spread;
  opsPerCpuSec: Spread;
  steadyOpsPerSec: Spread;
  startMs: Spread;
  opsPerCase: number;
}

export type Baseline =
  | { params: BaselineParams; skipped: string }
  | { params: BaselineParams; sha: string; arms: ArmFigures[]; ratios: { label: string; opsPerSec: Spread; opsPerCpuSec: Spread; steadyOpsPerSec: Spread }[] };

const SAME_WORK = ['--no-design-space', '--mutate', '0'];

export async function baselineSection(root: string, preload: string, p: BaselineParams, log: (s: string) => void): Promise<Baseline> {
  const prepared = prepareCommit(root, p.rev, log);
  if ('error' in prepared) {
    log(`(h) skipped: ${prepared.error}`);
    return { params: p, skipped: prepared.error };
  }
  try {
    const cur = currentTree(root);
    const base = prepared.tree;
    const arms = {
      current: () => fuzzOnce(cur, preload, p.cases, []),
      base: () => fuzzOnce(base, preload, p.cases, []),
      currentSame: () => fuzzOnce(cur, preload, p.cases, SAME_WORK),
      current1: () => fuzzOnce(cur, preload, 1, []),
      base1: () => fuzzOnce(base, preload, 1, []),
      currentSame1: () => fuzzOnce(cur, preload, 1, SAME_WORK),
    };
    const r = await interleaved(p.reps, arms, (rep, arm) => log(`(h) repetition ${rep + 1}/${p.reps}: ${arm}`));
    const steady = (n: FuzzRun[], one: FuzzRun[]): number[] => n.map((x, i) => ((x.ops - one[i].ops) / (x.elapsedMs - one[i].elapsedMs)) * 1000);
    const figures = (label: string, command: string, n: FuzzRun[], one: FuzzRun[]): ArmFigures => ({
      label, command,
      opsPerSec: spread(n.map((x) => x.opsPerSec)), opsPerCpuSec: spread(n.map((x) => x.opsPerCpuSec)),
      steadyOpsPerSec: spread(steady(n, one)), startMs: spread(one.map((x) => x.elapsedMs)), opsPerCase: n[0].ops / n[0].cases,
    });
    const short = prepared.sha.slice(0, 7);
    const cmd = `fuzz --cases ${p.cases} --workers 1 --json`;
    const a = [
      figures('this tree, default campaign', cmd, r.current, r.current1),
      figures(`${short}, default campaign`, `${cmd} --corpus TMP/corpus --crashes TMP/crashes (its committed corpus copied in)`, r.base, r.base1),
      figures(`this tree, ${short}'s work`, `${cmd} ${SAME_WORK.join(' ')}`, r.currentSame, r.currentSame1),
    ];
    const ratio = (label: string, x: FuzzRun[], x1: FuzzRun[]) => ({
      label,
      opsPerSec: spread(ratios(x.map((v) => v.opsPerSec), r.base.map((v) => v.opsPerSec))),
      opsPerCpuSec: spread(ratios(x.map((v) => v.opsPerCpuSec), r.base.map((v) => v.opsPerCpuSec))),
      steadyOpsPerSec: spread(ratios(steady(x, x1), steady(r.base, r.base1))),
    });
    return {
      params: p, sha: prepared.sha, arms: a,
      ratios: [ratio(`this tree, default campaign / ${short}`, r.current, r.current1), ratio(`this tree, ${short}'s work / ${short}`, r.currentSame, r.currentSame1)],
    };
  } finally {
    prepared.cleanUp();
  }
}

export function baselineMarkdown(b: Baseline): string[] {
  if ('skipped' in b) return [`Skipped: ${b.skipped}.`];
  const L = [
    `Commit ${b.sha} checked out with git archive into a temporary folder, this tree's node_modules linked in, built with its own \`npm run build\`; each tree's CLI (its package.json's bin: this tree's bundle, the old commit's tsc output) run as its own process from its own root with ${b.params.cases} cases on 1 worker (ops/s of 1 worker: ops/s per core), ${b.params.reps} repetitions, the arms interleaved. ops/s: the campaign summary's (its elapsed time: pool start, reading the committed corpus, the cases); ops per CPU-s: over the whole process's CPU time (every thread); steady ops/s: the same run minus a run of --cases 1 of the same tree in the same repetition.`,
    '',
    '| run | command | ops/case | ops/s | ops per CPU-s | steady ops/s | start (1 case) ms |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...b.arms.map((a) => `| ${a.label} | \`${a.command}\` | ${fmt(a.opsPerCase, 1)} | ${showSpread(a.opsPerSec)} | ${showSpread(a.opsPerCpuSec)} | ${showSpread(a.steadyOpsPerSec)} | ${showSpread(a.startMs)} |`),
    '',
    '| ratio (per repetition) | ops/s | ops per CPU-s | steady ops/s |',
    '|---|---:|---:|---:|',
    ...b.ratios.map((x) => `| ${x.label} | ${showSpread(x.opsPerSec, 2)}x | ${showSpread(x.opsPerCpuSec, 2)}x | ${showSpread(x.steadyOpsPerSec, 2)}x |`),
  ];
  return L;
}
