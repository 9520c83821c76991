// tdxfuzz triage: the table of unique failures saved by campaigns.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { faultsOf } from '../fuzz/case.js';
import { CrashStore } from '../fuzz/store.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from './common.js';
import { shellQuote } from './format.js';
import { DEFAULT_OUT } from './fuzz.js';

interface Row {
  signature: string;
  ops: string;
  faults: string;
  file: string;
}

function table(rows: Row[]): string {
  const head: Row = { signature: 'SIGNATURE', ops: 'OPS', faults: 'FAULTS', file: 'FILE' };
  const all = [head, ...rows];
  const w = (k: keyof Row): number => Math.max(...all.map((r) => r[k].length));
  const ws = { signature: w('signature'), ops: w('ops'), faults: w('faults') };
  return all.map((r) => `${r.signature.padEnd(ws.signature)}  ${r.ops.padStart(ws.ops)}  ${r.faults.padStart(ws.faults)}  ${r.file}`).join('\n');
}

function triage(given: string): void {
  // a campaign folder means its crashes/
  const inner = join(given, 'crashes');
  let dir = given;
  try {
    if (statSync(inner).isDirectory()) dir = inner;
  } catch {
    /* not a campaign folder: a crash folder itself */
  }
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) throw new UsageError(`${dir}: no such directory (a campaign creates it when it saves its first failure)`);
  if (!st.isDirectory()) throw new UsageError(`${dir}: not a directory (triage reads a crashes/ directory; use \`tdxfuzz show ${dir}\` for one case)`);
  const entries = new CrashStore(dir).list();
  const rows: Row[] = [];
  let bad = 0;
  for (const e of entries) {
    if (e.error) {
      process.stderr.write(`tdxfuzz: error: ${e.error.message}\n`);
      bad++;
      continue;
    }
    rows.push({
      signature: e.case.expect?.signature ?? '(no signature recorded)',
      ops: String(e.case.ops.length),
      faults: String(faultsOf(e.case)),
      file: e.file,
    });
  }
  rows.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  if (rows.length === 0) process.stdout.write(`no failures in ${dir}\n`);
  else {
    process.stdout.write(table(rows) + '\n');
    process.stdout.write(`\n${rows.length} unique failures in ${dir}; explain one with: tdxfuzz show ${shellQuote(rows[0].file)}\n`);
  }
  process.exitCode = bad > 0 ? EXIT_USAGE : EXIT_OK;
}

export function registerTriage(program: Command): void {
  program
    .command('triage')
    .summary('list the unique failures saved by campaigns')
    .description(
      [
        'Print a table of the failures saved in DIR, one per signature: signature, operations and injected faults ' +
          'in the minimised case, file. Then "tdxfuzz show FILE" explains one and "tdxfuzz replay FILE" re-checks it.',
        'Exit code: 0, or 2 if DIR does not exist or holds a malformed case file (reported on stderr).',
      ].join('\n\n'),
    )
    .argument('[dir]', 'campaign folder (its crashes/) or crash folder', DEFAULT_OUT)
    .action((dir: string) => triage(dir));
}
