// tdxfuzz merge: union the campaign folders of several machines (shards) or runs into one: crashes
// deduplicated by signature (the smallest reproducer kept), corpora deduplicated by case id and then by
// coverage (a case is kept only if it reaches a feature the cases kept before it do not, smallest first,
// as afl-cmin does), one example per finding kind.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { campaignLayout } from '../fuzz/campaignState.js';
import { type Case, CaseError, caseId, loadCase, serializeCase } from '../fuzz/case.js';
import { runCase } from '../fuzz/run.js';
import { CorpusStore, CrashStore, listCaseFiles, writeFileAtomic } from '../fuzz/store.js';
import { EXIT_OK, UsageError } from './common.js';

interface MergeOptions {
  output: string;
}

interface Loaded {
  file: string;
  c: Case;
}

/** The crash, corpus and findings files of one input: a campaign folder, or a plain folder of cases (split by verdict). */
function inputParts(dir: string): { crashes: string[]; corpus: string[]; findings: string[] } {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: not a directory`);
  const l = campaignLayout(dir);
  const list = (d: string): string[] => (existsSync(d) ? listCaseFiles(d) : []);
  if ([l.crashes, l.corpus, l.findings].some((d) => existsSync(d))) return { crashes: list(l.crashes), corpus: list(l.corpus), findings: list(l.findings) };
  return { crashes: list(dir), corpus: [], findings: [] };
}

function loadAll(files: string[], skipped: string[]): Loaded[] {
  const out: Loaded[] = [];
  for (const file of files) {
    try {
      out.push({ file, c: loadCase(file) });
    } catch (e) {
      if (!(e instanceof CaseError)) throw e;
      skipped.push(e.message);
    }
  }
  return out;
}

function merge(dirs: string[], o: MergeOptions): void {
  const outL = campaignLayout(o.output);
  if (dirs.some((d) => statSync(d, { throwIfNoEntry: false }) && statSync(o.output, { throwIfNoEntry: false }) && statSync(d).ino === statSync(o.output).ino)) {
    throw new UsageError(`-o ${o.output}: is one of the inputs; merge into a new folder`);
  }
  const parts = dirs.map(inputParts);
  const skipped: string[] = [];

  // Crashes: one per signature, the reproducer with the fewest ops (the first input's on a tie).
  const crashes = loadAll(parts.flatMap((p) => p.crashes), skipped).filter((x) => x.c.expect?.verdict === 'fail' && x.c.expect.signature);
  const best = new Map<string, Loaded>();
  for (const x of crashes) {
    const sig = x.c.expect!.signature!;
    const cur = best.get(sig);
    if (!cur || x.c.ops.length < cur.c.ops.length) best.set(sig, x);
  }
  const store = new CrashStore(outL.crashes);
  let crashNew = 0;
  for (const [sig, x] of [...best].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (store.save(x.c, sig) === 'new') crashNew++;

  // Corpus: unique case ids, then only cases that add coverage, smallest first.
  const corpusIn = loadAll(parts.flatMap((p) => p.corpus), skipped);
  const byId = new Map<string, Loaded>();
  for (const x of corpusIn) if (!byId.has(caseId(x.c))) byId.set(caseId(x.c), x);
  const ordered = [...byId.entries()].sort(([ia, a], [ib, b]) => a.c.ops.length - b.c.ops.length || (ia < ib ? -1 : ia > ib ? 1 : 0));
  const features = new Set<number>();
  const corpus = new CorpusStore(outL.corpus);
  for (const f of corpus.list()) for (const id of runCase(loadCase(f)).features) features.add(id);
  let kept = 0;
  for (const [, x] of ordered) {
    const fs = runCase(x.c).features;
    if (!fs.some((id) => !features.has(id))) continue;
    for (const id of fs) features.add(id);
    if (corpus.save(x.c, x.c.expect ?? { verdict: 'pass' }) === 'new') kept++;
  }

  // Findings: one example per kind (the file name), the first input's.
  let findings = 0;
  const seenKinds = new Set<string>(existsSync(outL.findings) ? readdirSync(outL.findings) : []);
  for (const x of loadAll(parts.flatMap((p) => p.findings), skipped)) {
    const name = x.file.slice(x.file.lastIndexOf('/') + 1);
    if (seenKinds.has(name)) continue;
    seenKinds.add(name);
    writeFileAtomic(join(outL.findings, name), serializeCase(x.c));
    findings++;
  }

  for (const m of skipped) process.stderr.write(`tdxfuzz: warning: skipped: ${m}\n`);
  process.stdout.write(
    [
      `merged ${dirs.length} folders into ${o.output}:`,
      `  crashes:  ${crashes.length} files, ${best.size} unique signatures, ${crashNew} new in ${outL.crashes}`,
      `  corpus:   ${corpusIn.length} files, ${byId.size} distinct cases, ${kept} kept for coverage (${features.size} features) in ${outL.corpus}`,
      `  findings: ${findings} kinds in ${outL.findings}`,
    ].join('\n') + '\n',
  );
  process.exitCode = EXIT_OK;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .summary('union the campaign folders of several shards or machines')
    .description(
      [
        'Merge campaign folders (or plain folders of crash cases) into one: crashes/ keeps one case per failure signature ' +
          '(the one with the fewest operations), corpus/ keeps each distinct case (by case id) that reaches coverage the ' +
          'cases kept before it do not (smallest first), findings/ one example per kind. Files already in the output are kept and ' +
          'count as known; nothing is overwritten. The merged folder has no campaign.json: it is for triage and replay, not for --resume.',
        'Exit code: 0, or 2 if an input is not a folder or the output is one of the inputs. Case files that do not load are skipped with a warning.',
      ].join('\n\n'),
    )
    .argument('<dirs...>', 'campaign folders (the --out of each shard) or folders of case files')
    .requiredOption('-o, --output <dir>', 'the merged campaign folder')
    .action((dirs: string[], o: MergeOptions) => merge(dirs, o));
}
