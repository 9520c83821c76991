// tdxfuzz invariants / tdxfuzz guards: what the oracle checks and what the design guards are, with the
// seed line or kernel fact each comes from.
import type { Command } from 'commander';
import { GUARDS } from '../model/guards.js';
import { invariantsInOrder } from '../oracle/invariants.js';

function printInvariants(json: boolean): void {
  const INVARIANTS = invariantsInOrder();
  if (json) {
    process.stdout.write(JSON.stringify(INVARIANTS, null, 2) + '\n');
    return;
  }
  const w = Math.max(...INVARIANTS.map((i) => i.id.length));
  const k = Math.max(...INVARIANTS.map((i) => i.kind.length));
  const lines = INVARIANTS.map((i) => `${i.id.padEnd(w)}  ${i.kind.padEnd(k)}  ${i.meaning}  [${i.source}]`);
  lines.push(
    '',
    'Kinds: always = after every atomic step (on the 2M ranges it touched); quiescent and per-op = after each',
    'operation; liveness = watchdogs; perf = performance findings, failures only with --fail-on perf.',
    'A failing case is named <id>@<op kind>[+<injected fault kinds>], e.g. INV-1@convert.',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

function printGuards(json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(GUARDS, null, 2) + '\n');
    return;
  }
  const lines = GUARDS.map((g) => `${g.id.padEnd(4)}  ${g.bug.padEnd(6)}  ${g.summary}`);
  lines.push('', 'Switch a guard off with fuzz --guard-off G1,G5 (or "guardsOff" in a --config file) to get the known-bug variant.');
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerInvariants(program: Command): void {
  program
    .command('invariants')
    .summary('list the invariants the oracle checks')
    .description('List every invariant and check of the oracle: id, when it is checked, what it means, and the seed line or kernel fact it comes from.')
    .option('--json', 'print them as JSON')
    .action((o: { json?: boolean }) => printInvariants(!!o.json));
  program
    .command('guards')
    .summary('list the design guards G1..G23')
    .description('List the design guards of model-spec.md section 6 with the known-bug scenario each one prevents.')
    .option('--json', 'print them as JSON')
    .action((o: { json?: boolean }) => printGuards(!!o.json));
}
