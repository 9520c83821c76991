// tdxfuzz promote: copy a case (a crash, usually) into the regression corpus with the verdict it gives
// now as its `expect`, so `npm test` keeps checking it (README "How to triage a crash", step 5).
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { type Expect, loadCase, serializeCase } from '../fuzz/case.js';
import { runCase } from '../fuzz/run.js';
import { isPerfSignature } from '../fuzz/signature.js';
import { writeFileAtomic } from '../fuzz/store.js';
import { EXIT_OK, UsageError } from './common.js';
import { formatExpect } from './format.js';

interface PromoteOptions {
  to: string;
  name?: string;
}

function promote(file: string, o: PromoteOptions): void {
  const c = loadCase(file);
  const r = runCase(c, { failOnPerf: isPerfSignature(c.expect?.signature) });
  const expect: Expect = r.verdict === 'fail' ? { verdict: 'fail', signature: r.signature! } : { verdict: 'pass' };
  const name = o.name ?? basename(file);
  if (!name.endsWith('.json') || name.includes('/')) throw new UsageError(`--name ${name}: must be a file name ending in .json`);
  const dest = join(o.to, name);
  if (existsSync(dest)) throw new UsageError(`${dest}: already exists (a regression case is never overwritten; choose another --name)`);
  writeFileAtomic(dest, serializeCase({ ...c, expect }));
  const was = c.expect ? formatExpect(c.expect) : 'none';
  process.stdout.write(`${dest}: expect ${formatExpect(expect)}${was !== formatExpect(expect) ? ` (the file recorded: ${was})` : ''}\n`);
  process.exitCode = EXIT_OK;
}

export function registerPromote(program: Command): void {
  program
    .command('promote')
    .summary('copy a case into the regression corpus with the verdict it gives now')
    .description(
      [
        'Run CASE and copy it to corpus/regression/ (or --to DIR) with the verdict and signature it gives now as its "expect": ' +
          'after a fix, a crash promoted this way must pass, and `npm test` (which replays corpus/) keeps checking it. ' +
          'An existing file is never overwritten.',
        'Exit code: 0, or 2 if CASE is unreadable or malformed or the destination exists.',
      ].join('\n\n'),
    )
    .argument('<case>', 'case file, e.g. tdxfuzz-out/crashes/INV-1_convert.json')
    .option('--to <dir>', 'regression corpus folder', join('corpus', 'regression'))
    .option('--name <file>', 'file name in it (default: the name of CASE)')
    .action((file: string, o: PromoteOptions) => promote(file, o));
}
