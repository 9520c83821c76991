// tdxfuzz replay: run saved cases and check each gives the verdict it records (CI's regression gate).
import type { Command } from 'commander';
import { type Case, loadCase } from '../fuzz/case.js';
import type { RunResult } from '../fuzz/result.js';
import { runCase } from '../fuzz/run.js';
import { isPerfSignature } from '../fuzz/signature.js';
import { EXIT_FOUND, EXIT_OK, expandCasePaths } from './common.js';
import { formatExpect, matchesExpect } from './format.js';

interface ReplayOptions {
  json?: boolean;
}

interface Replayed {
  file: string;
  ok: boolean;
  expected: { verdict: 'pass' | 'fail'; signature: string | null };
  got: { verdict: 'pass' | 'fail'; signature: string | null; traceHash: string };
  /** For an unexpected failure: where and why. */
  detail: string | null;
}

function replayOne(file: string, c: Case): Replayed {
  const r: RunResult = runCase(c, { failOnPerf: isPerfSignature(c.expect?.signature) });
  const f = r.failure;
  return {
    file,
    ok: matchesExpect(r, c.expect),
    expected: { verdict: c.expect?.verdict ?? 'pass', signature: c.expect?.signature ?? null },
    got: { verdict: r.verdict, signature: r.signature, traceHash: r.traceHash },
    detail: f ? `${f.inv} at op #${f.opIndex} (${f.opKind}), ${f.step}: ${f.message}` : null,
  };
}

function replay(paths: string[], o: ReplayOptions): void {
  const files = expandCasePaths(paths);
  // Every file is validated before any runs, so a bad file is reported at once (exit 2).
  const cases = files.map((f) => ({ file: f, c: loadCase(f) }));
  const results: Replayed[] = [];
  for (const { file, c } of cases) {
    const x = replayOne(file, c);
    results.push(x);
    if (o.json) continue;
    if (x.ok) process.stdout.write(`ok   ${file}  ${formatExpect(c.expect)}\n`);
    else {
      const got = x.got.verdict === 'fail' ? `fail ${x.got.signature}` : 'pass';
      process.stdout.write(`FAIL ${file}  expected ${formatExpect(c.expect)} got ${got}\n`);
      if (x.detail && x.got.verdict === 'fail') process.stdout.write(`     ${x.detail}\n`);
    }
  }
  const failed = results.filter((x) => !x.ok).length;
  const passed = results.length - failed;
  if (o.json) process.stdout.write(JSON.stringify({ passed, failed, results }) + '\n');
  else process.stdout.write(`${passed} passed, ${failed} failed${files.length === 0 ? ' (no case files found)' : ''}\n`);
  process.exitCode = failed > 0 ? EXIT_FOUND : EXIT_OK;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .summary('re-run saved cases; every case must give the verdict it records')
    .description(
      [
        'Run each case file (a directory means every *.json below it, recursively, in sorted order) and compare ' +
          'its verdict and failure signature with the file\'s "expect" (a file without "expect" must pass). ' +
          'Prints one line per case, then "N passed, N failed".',
        'Exit code: 0 if every verdict is as recorded, 1 if any changed, 2 if a path or file is unreadable or malformed (then nothing is run).',
      ].join('\n\n'),
    )
    .argument('<paths...>', 'case files and/or directories of case files')
    .option('--json', 'print one JSON object {passed, failed, results} instead of lines')
    .action((paths: string[], o: ReplayOptions) => replay(paths, o));
}
