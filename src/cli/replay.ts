// tdxfuzz replay: run saved cases and check each gives the verdict it records (CI's regression gate).
// A file that does not load is an error of its own and the others still run; --junit writes a JUnit XML
// report with one test case per file for CI systems.
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import type { Builder } from 'junit-report-builder';
import { type Case, CaseError, loadCase } from '../fuzz/case.js';
import type { RunResult } from '../fuzz/result.js';
import { runCase } from '../fuzz/run.js';
import { isPerfSignature } from '../fuzz/signature.js';
import { writeFileAtomic } from '../fuzz/store.js';
import { EXIT_FOUND, EXIT_OK, EXIT_USAGE, expandCasePaths, UsageError } from './common.js';
import { formatExpect, matchesExpect } from './format.js';

interface ReplayOptions {
  json?: boolean;
  junit?: string;
  allowEmpty?: boolean;
}

interface Replayed {
  file: string;
  ok: boolean;
  /** The file did not load (malformed, unreadable): it did not run. */
  error: string | null;
  expected: { verdict: 'pass' | 'fail'; signature: string | null } | null;
  got: { verdict: 'pass' | 'fail'; signature: string | null; traceHash: string } | null;
  /** For an unexpected failure: where and why. */
  detail: string | null;
  ms: number;
}

function replayOne(file: string, c: Case): Replayed {
  const t0 = performance.now();
  const r: RunResult = runCase(c, { failOnPerf: isPerfSignature(c.expect?.signature) });
  const f = r.failure;
  return {
    file,
    ok: matchesExpect(r, c.expect),
    error: null,
    expected: { verdict: c.expect?.verdict ?? 'pass', signature: c.expect?.signature ?? null },
    got: { verdict: r.verdict, signature: r.signature, traceHash: r.traceHash },
    detail: f ? `${f.inv} at op #${f.opIndex} (${f.opKind}), ${f.step}: ${f.message}` : null,
    ms: performance.now() - t0,
  };
}

function load(file: string): { c: Case } | { error: string } {
  try {
    return { c: loadCase(file) };
  } catch (e) {
    if (e instanceof CaseError) return { error: e.message };
    throw e;
  }
}

/** The JUnit XML report: one test suite, one test case per file (class = its folder), failures and errors apart. */
async function junitXml(results: readonly Replayed[]): Promise<string> {
  // loaded only for --junit (it slows every command's start); CommonJS: its module.exports is the builder its typings call the default export
  const junit = (await import('junit-report-builder')).default as unknown as Builder;
  const b = junit.newBuilder();
  const suite = b.testSuite().name('tdxfuzz replay');
  for (const x of results) {
    const t = suite.testCase().className(relative('.', dirname(x.file)) || '.').name(x.file).time(x.ms / 1000);
    if (x.error !== null) t.error(x.error, 'MalformedCase');
    else if (!x.ok) {
      const got = x.got!.verdict === 'fail' ? `fail ${x.got!.signature}` : 'pass';
      t.failure(`expected ${x.expected!.verdict}${x.expected!.signature ? ` ${x.expected!.signature}` : ''}, got ${got}${x.detail ? `: ${x.detail}` : ''}`, 'VerdictChanged');
    } else t.standardOutput(`${x.got!.verdict}${x.got!.signature ? ` ${x.got!.signature}` : ''} (trace hash ${x.got!.traceHash})`);
  }
  return b.build();
}

async function replay(paths: string[], o: ReplayOptions): Promise<void> {
  const files = expandCasePaths(paths);
  if (files.length === 0 && !o.allowEmpty) throw new UsageError(`${paths.join(' ')}: no case files found (*.json); pass --allow-empty if that is expected`);
  const results: Replayed[] = [];
  for (const file of files) {
    const l = load(file);
    const x: Replayed = 'error' in l ? { file, ok: false, error: l.error, expected: null, got: null, detail: null, ms: 0 } : replayOne(file, l.c);
    results.push(x);
    if (x.error !== null) process.stderr.write(`tdxfuzz: error: ${x.error}\n`);
    if (o.json) continue;
    if (x.error !== null) process.stdout.write(`ERR  ${file}  ${x.error}\n`);
    else if (x.ok) process.stdout.write(`ok   ${file}  ${formatExpect((l as { c: Case }).c.expect)}\n`);
    else {
      const got = x.got!.verdict === 'fail' ? `fail ${x.got!.signature}` : 'pass';
      process.stdout.write(`FAIL ${file}  expected ${formatExpect((l as { c: Case }).c.expect)} got ${got}\n`);
      if (x.detail && x.got!.verdict === 'fail') process.stdout.write(`     ${x.detail}\n`);
    }
  }
  const errors = results.filter((x) => x.error !== null).length;
  const failed = results.filter((x) => !x.ok).length - errors;
  const passed = results.length - failed - errors;
  if (o.junit) writeFileAtomic(o.junit, await junitXml(results));
  if (o.json) process.stdout.write(JSON.stringify({ passed, failed, errors, results }) + '\n');
  else process.stdout.write(`${passed} passed, ${failed} failed${errors ? `, ${errors} errors (files that did not load)` : ''}${files.length === 0 ? ' (no case files found)' : ''}\n`);
  process.exitCode = errors > 0 ? EXIT_USAGE : failed > 0 ? EXIT_FOUND : EXIT_OK;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .summary('re-run saved cases; every case must give the verdict it records')
    .description(
      [
        'Run each case file (a directory means every *.json below it, recursively, in sorted order) and compare ' +
          'its verdict and failure signature with the file\'s "expect" (a file without "expect" must pass). ' +
          'Prints one line per case (ok, FAIL, or ERR for a file that does not load; the others still run), then "N passed, N failed". ' +
          '--junit FILE also writes a JUnit XML report, one test case per file (a changed verdict is a failure, a file that does not load an error).',
        'Exit code: 0 if every verdict is as recorded, 1 if any changed, 2 if a file did not load (reported, the others ran), ' +
          'if a path is unreadable, or if no case file was found (unless --allow-empty).',
      ].join('\n\n'),
    )
    .argument('<paths...>', 'case files and/or directories of case files')
    .option('--json', 'print one JSON object {passed, failed, errors, results} instead of lines')
    .option('--junit <file>', 'also write a JUnit XML report to FILE')
    .option('--allow-empty', 'no case file found is not an error')
    .action((paths: string[], o: ReplayOptions) => replay(paths, o));
}
