#!/usr/bin/env node
// tdxfuzz command line: parse, call, print (architecture.md "Command line"). User errors are one line on
// stderr with exit code 2 and no stack trace; only a bug in tdxfuzz prints a stack (exit code 3).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../fuzz/coordinator.js';
import { asEnvironmentError } from '../fuzz/envError.js';
import { EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_USAGE, userErrorMessage } from './common.js';
import { registerFuzz } from './fuzz.js';
import { registerInvariants } from './invariants.js';
import { registerMinimize } from './minimize.js';
import { registerMerge } from './merge.js';
import { registerCmin } from './cmin.js';
import { registerPlot } from './plot.js';
import { registerPromote } from './promote.js';
import { registerReplay } from './replay.js';
import { registerShow } from './show.js';
import { registerTriage } from './triage.js';

const EPILOGUE = `
Exit codes:
  0  done: nothing new failed (fuzz), every verdict as recorded (replay)
  1  fuzz saved new unique failures, or replay saw a verdict change
  2  usage error or bad input (bad option value, unreadable or malformed case
     or config file): one message names the file and field; nothing is written
  3  internal error, a bug in tdxfuzz (the stack trace is printed)
  4  the environment refused: a read-only, full or unreadable folder, a
     symbolic link loop (one message names the path and the cause; a campaign
     prints the summary of what it saved before)
  130  a campaign stopped by Ctrl-C, after saving what it found (143: SIGTERM);
     continue it with: tdxfuzz fuzz --resume

Examples:
  tdxfuzz fuzz --duration 8h                  overnight campaign on every core
  tdxfuzz fuzz --cases 100000 --guard-off G2  look for BUG-2 (guard G2 off)
  tdxfuzz triage                              list unique failures in ./tdxfuzz-out
  tdxfuzz show tdxfuzz-out/crashes/INV-1_convert.json  explain one (triage lists it)
  tdxfuzz replay corpus/                      CI: every case gives its verdict
  tdxfuzz invariants                          what the oracle checks, and where each rule comes from
  tdxfuzz fuzz --resume                       continue the campaign in ./tdxfuzz-out
  tdxfuzz fuzz --shard 0/4 --out shard-0      this machine's quarter of a campaign
  tdxfuzz merge shard-* -o merged             union the shards' folders
  tdxfuzz plot                                stats over time as ./tdxfuzz-out/stats.svg

Run "tdxfuzz <command> --help" for the options of a command.`;

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function buildProgram(): Command {
  const program = new Command('tdxfuzz')
    .description(
      'Fuzz a model of the Linux KVM + Intel TDX + guest_memfd memory-management design (TDX huge pages, ' +
        'in-place private/shared conversion, S-EPT splitting, Dynamic PAMT, teardown) against an independent ' +
        'oracle, with injected SEAMCALL errors. Failing cases are minimised, deduplicated and saved.',
    )
    .version(packageVersion(), '-V, --version', 'print the tdxfuzz version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EPILOGUE);
  registerFuzz(program);
  registerReplay(program);
  registerMinimize(program);
  registerShow(program);
  registerTriage(program);
  registerInvariants(program);
  registerMerge(program);
  registerCmin(program);
  registerPlot(program);
  registerPromote(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  // `tdxfuzz replay corpus | head`: the reader went away. Stop as a killed-by-SIGPIPE process would
  // (128 + 13), without a stack trace and without an exit code that reads as a verdict.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(141);
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed the message (or the help) already.
      process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const env = asEnvironmentError(e);
    if (env) {
      process.stderr.write(`tdxfuzz: error: ${env.message}\n`);
      process.exitCode = EXIT_ENVIRONMENT;
      return;
    }
    const message = userErrorMessage(e);
    if (message !== null) {
      process.stderr.write(`tdxfuzz: error: ${message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    process.stderr.write(`tdxfuzz: internal error (a bug in tdxfuzz; please report it with the command line):\n${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}

await main(process.argv);
