// tdxfuzz cmin: reduce one or more corpora to the fewest cases that keep their coverage, into a new folder.
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { campaignLayout } from '../fuzz/campaignState.js';
import { type Case, CaseError, caseId, loadCase } from '../fuzz/case.js';
import { coverCorpus } from '../fuzz/cmin.js';
import { runCase } from '../fuzz/run.js';
import { CorpusStore, listCaseFiles } from '../fuzz/store.js';
import { EXIT_OK, UsageError } from './common.js';

interface CminOptions {
  output: string;
  json?: boolean;
}

/** A campaign folder means its corpus/; any other folder (or file) is read as it is. */
function corpusFiles(path: string): string[] {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`${path}: no such file or directory`);
  const inner = campaignLayout(path).corpus;
  if (st.isDirectory() && existsSync(inner) && existsSync(campaignLayout(path).state)) return listCaseFiles(inner);
  return listCaseFiles(path);
}

function cmin(inputs: string[], o: CminOptions): void {
  const outSt = statSync(o.output, { throwIfNoEntry: false });
  if (outSt && !outSt.isDirectory()) throw new UsageError(`-o ${o.output}: not a directory`);
  if (inputs.some((d) => outSt && statSync(d, { throwIfNoEntry: false })?.ino === outSt.ino)) throw new UsageError(`-o ${o.output}: is one of the inputs; write to a new folder`);
  const files = inputs.flatMap(corpusFiles);
  const byId = new Map<string, Case>();
  const skipped: string[] = [];
  for (const f of files) {
    try {
      const c = loadCase(f);
      if (!byId.has(caseId(c))) byId.set(caseId(c), c);
    } catch (e) {
      if (!(e instanceof CaseError)) throw e;
      skipped.push(e.message);
    }
  }
  const union = new Set<number>();
  const entries = [...byId].map(([id, c]) => {
    const features = runCase(c, { failOnPerf: false }).features;
    for (const x of features) union.add(x);
    return { id, ops: c.ops.length, features };
  });
  const keep = coverCorpus(entries);
  const store = new CorpusStore(o.output);
  let written = 0;
  for (const id of keep) {
    const c = byId.get(id)!;
    if (store.save(c, c.expect ?? { verdict: 'pass' }) === 'new') written++;
  }
  for (const m of skipped) process.stderr.write(`tdxfuzz: warning: skipped: ${m}\n`);
  const summary = { inputFiles: files.length, distinctCases: byId.size, kept: keep.length, written, features: union.size, skipped: skipped.length, output: o.output };
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stdout.write(
      `cmin: ${files.length} files, ${byId.size} distinct cases, ${union.size} features -> ${keep.length} cases keep them all (${written} new in ${o.output})\n`,
    );
  }
  process.exitCode = EXIT_OK;
}

export function registerCmin(program: Command): void {
  program
    .command('cmin')
    .summary('reduce corpora to the fewest cases that keep their coverage')
    .description(
      [
        'Union the corpora given (folders of case files; a campaign folder means its corpus/) and write to -o DIR the ' +
          'fewest cases, as afl-cmin does, that together reach every model-coverage feature the inputs reach: for each ' +
          'feature the smallest case (fewest operations) reaching it, then cases the others make redundant are dropped. ' +
          'Equal cases count once; each keeps the verdict it records. Files already in DIR are kept and never overwritten. ' +
          '(tdxfuzz merge unions whole campaign folders, crashes and findings too, keeping a corpus case when it adds ' +
          'coverage in smallest-first order; cmin only reduces corpora, to a smaller set.)',
        'Exit code: 0, or 2 if an input does not exist or the output is one of the inputs. Case files that do not load are skipped with a warning.',
      ].join('\n\n'),
    )
    .argument('<dirs...>', 'corpus folders or campaign folders')
    .requiredOption('-o, --output <dir>', 'the folder to write the reduced corpus to')
    .option('--json', 'print the counts as JSON')
    .action((dirs: string[], o: CminOptions) => cmin(dirs, o));
}
