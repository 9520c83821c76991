// Section (a) of npm run bench: every BUG-n hunted by both tools as whole processes (bench/peer.ts), the
// two interleaved seed by seed (tdxfuzz then fast-check, the same seed), and the share of bugs on which
// tdxfuzz's median time to a minimised failure is below fast-check's median time to a shrunk one.
import { BUGS, type BugTarget, detectionOf, namesBugInv } from './bugs.js';
import { checkParameters, MAX_COMMANDS } from './fastcheck.js';
import { type ProcessRun, tdxfuzzArgs, timeFastCheck, timeTdxfuzz } from './peer.js';
import { fmt, median, mmm } from './stats.js';
import { GUARDS } from '../src/model/guards.js';

const RACE_GUARDS = GUARDS.filter((g) => g.needsActors).map((g) => g.id).join(', ');
const RACE_BUGS = [...new Set(GUARDS.filter((g) => g.needsActors).map((g) => g.bug))].join(', ');

export interface PeerRow {
  bug: string;
  inv: string;
  specOps: number;
  notMeasurable?: string;
  tdxfuzz: ProcessRun[];
  fastCheck: ProcessRun[];
}

/** Median time with a run that found nothing counted as never (it only lost): Infinity when half or more found nothing. */
export function censoredMedian(runs: readonly ProcessRun[]): number {
  return median(runs.map((r) => (r.found ? r.ms : Infinity)));
}

export async function peerSection(root: string, seeds: number, capMs: number, log: (s: string) => void): Promise<PeerRow[]> {
  const rows: PeerRow[] = [];
  for (const b of BUGS) {
    const row: PeerRow = { bug: b.bug, inv: b.alsoInv ? `${b.inv} or ${b.alsoInv}` : b.inv, specOps: b.specOps, tdxfuzz: [], fastCheck: [] };
    rows.push(row);
    if (b.notMeasurable) {
      row.notMeasurable = b.notMeasurable;
      continue;
    }
    for (let seed = 1; seed <= seeds; seed++) {
      const t = await timeTdxfuzz(root, b, seed, capMs);
      const f = await timeFastCheck(root, b, seed, capMs);
      row.tdxfuzz.push(t);
      row.fastCheck.push(f);
      const show = (r: ProcessRun): string => (r.found ? `${fmt(r.ms)} ms ${r.signature}` : `nothing${r.error ? ' (' + r.error + ')' : ''}`);
      log(`(a) ${b.bug} seed ${seed}: tdxfuzz ${show(t)}; fast-check ${show(f)}`);
    }
  }
  return rows;
}

/** "structural", or "damage 3, structural 2" when seeds disagree. */
function detectionCell(sigs: readonly (string | null)[]): string {
  const ds = sigs.filter((s): s is string => !!s).map(detectionOf);
  if (ds.length === 0) return '-';
  const counts = new Map<string, number>();
  for (const d of ds) counts.set(d, (counts.get(d) ?? 0) + 1);
  return counts.size === 1 ? ds[0] : [...counts].sort().map(([d, n]) => `${d} ${n}`).join(', ');
}

function namesCell(b: BugTarget | undefined, runs: readonly ProcessRun[]): string {
  const found = runs.filter((r) => r.found);
  if (!b || !found.length) return '-';
  const n = found.filter((r) => namesBugInv(b, r.signature)).length;
  return n === found.length ? 'yes' : `${n}/${found.length}`;
}

export function peerSummary(rows: readonly PeerRow[]): { measurable: number; tdxfuzzFaster: number; share: number; bugsFaster: string[] } {
  const m = rows.filter((r) => !r.notMeasurable);
  const faster = m.filter((r) => censoredMedian(r.tdxfuzz) < censoredMedian(r.fastCheck));
  return { measurable: m.length, tdxfuzzFaster: faster.length, share: m.length ? faster.length / m.length : NaN, bugsFaster: faster.map((r) => r.bug) };
}

export function peerMarkdown(rows: readonly PeerRow[], seeds: number, capMs: number): string[] {
  const L: string[] = [];
  const example = BUGS.find((b) => !b.notMeasurable)!;
  L.push(`Both tools as whole processes, as a user runs them, over ${seeds} seed(s), each run's search capped at ${capMs / 1000} s (tdxfuzz --duration, fast-check interruptAfterTimeLimit; a failure met before the cap is still minimised or shrunk, and tdxfuzz is killed at the cap + 10 s); the two alternate seed by seed.`);
  L.push(`- tdxfuzz: \`node dist/bundle/main.js ${tdxfuzzArgs(example, 1, 'TMP', capMs, null).join(' ')}\` (plus \`--config\` with the settings a bug needs, \`--fail-on perf\` for a performance bug), run from the repository root (so the regression corpus seeds coverage and mutation) with every other option at its default: the default design space, adaptive mutation (--mutate auto), one actor per case, except that a guard whose bug is a race between actors (${RACE_GUARDS}) makes the CLI run half the cases with several actors. Timed from the spawn until the first case file appears in TMP/crashes (the first failure, minimised and saved), then killed.`);
  L.push(`- fast-check: \`node dist/bench/fastcheck-main.js BUG-n --seed S --cap-ms ${capMs} --json\` (bench/fastcheck.ts): \`fc.check(fc.property(layout, commands), ${JSON.stringify(checkParameters(0, capMs)).replace('"seed":0', '"seed":S')})\` (numRuns ${Number.MAX_SAFE_INTEGER}: no limit but the time) with fast-check's own shrinking, one thread; a property run draws a workload layout as the generator does, then \`fc.commands\` per phase, other settings at fast-check's defaults (build: initMemRegion, then maxCommands ${MAX_COMMANDS.build}, then finalize, destroy or neither; runnable TD: maxCommands ${MAX_COMMANDS.runnable}; destroy with the generator's chance; after destroy: maxCommands ${MAX_COMMANDS.afterDestroy}) of one \`fc.Command\` per op kind with the generator's weights, fields and faults (src/model/vocab), and runs them with \`fc.modelRun\` on a fresh CaseRunner (the model with the oracle on), on the bug's design only (no design space, no mutation), with one actor: \`fc.commands\` runs commands one after another, so a race between actors (${RACE_BUGS}) is out of its reach unless one actor shows it too. Timed from the spawn until the shrunk counterexample is printed.`);
  L.push('- Times in ms: median (min-max) over the seeds that found a failure; "tdxfuzz faster" compares the medians over all seeds with a run that found nothing counted as never.', '');
  L.push('| bug | spec invariant | tdxfuzz found | ms to minimised failure on disk | detected by | cases to it | minimised ops (spec) | names it | fast-check found | ms to shrunk counterexample on screen | detected by | runs to failure | shrunk ops | names it | tdxfuzz faster |');
  L.push('|---|---|---|---:|---|---:|---:|---|---|---:|---|---:|---:|---|---|');
  for (const r of rows) {
    if (r.notMeasurable) {
      L.push(`| ${r.bug} | ${r.inv} | not measurable: ${r.notMeasurable} | | | | | | | | | | | | |`);
      continue;
    }
    const b = BUGS.find((x) => x.bug === r.bug);
    const t = r.tdxfuzz.filter((x) => x.found);
    const f = r.fastCheck.filter((x) => x.found);
    const tm = censoredMedian(r.tdxfuzz);
    const fm = censoredMedian(r.fastCheck);
    const faster = tm < fm ? 'yes' : tm === fm ? 'tie' : 'no';
    L.push(
      `| ${r.bug} | ${r.inv} | ${t.length}/${r.tdxfuzz.length} | ${mmm(t.map((x) => x.ms))} | ${detectionCell(t.map((x) => x.signature))} | ${mmm(t.map((x) => x.tries))} | ${mmm(t.map((x) => x.ops))} (${r.specOps}) | ${namesCell(b, r.tdxfuzz)} | ${f.length}/${r.fastCheck.length} | ${mmm(f.map((x) => x.ms))} | ${detectionCell(f.map((x) => x.signature))} | ${mmm(f.map((x) => x.tries))} | ${mmm(f.map((x) => x.ops))} | ${namesCell(b, r.fastCheck)} | ${faster} |`,
    );
  }
  const s = peerSummary(rows);
  L.push('', `tdxfuzz's median is below fast-check's on ${s.tdxfuzzFaster} of ${s.measurable} measurable BUG-n (${fmt(s.share * 100)}%)${s.bugsFaster.length ? ': ' + s.bugsFaster.join(', ') : ''}.`);
  const errors = rows.flatMap((r) => [...r.tdxfuzz, ...r.fastCheck].filter((x) => x.error).map((x) => `${r.bug}: ${x.error}`));
  if (errors.length) L.push('', 'Runs with an error (a run that saved nothing counts as found nothing):', '', ...errors.map((e) => `- ${e}`));
  return L;
}
