// tdxfuzz invariants / tdxfuzz guards: what the oracle checks and what the design guards are, with the
// seed line or kernel fact each comes from, and an honest mark on every check or guard that no generated
// case can reach yet (the tables in src/oracle/invariants.ts and src/model/guards.ts say which and why).
import type { Command } from 'commander';
import { GUARDS, type GuardInfo } from '../model/guards.js';
import { clausesOf, type InvariantInfo, invariantsInOrder } from '../oracle/invariants.js';

/** "live", "partly unreachable" (some clauses) or "unreachable" (every clause). */
export type Reachability = 'live' | 'partly unreachable' | 'unreachable';

export function invariantReach(i: InvariantInfo): Reachability {
  const dead = clausesOf(i).filter((c) => !c.reach.live).length;
  return dead === 0 ? 'live' : dead === clausesOf(i).length ? 'unreachable' : 'partly unreachable';
}

/** The JSON form of an invariant: its table entry with every clause spelled out and its reachability. */
export function invariantJson(i: InvariantInfo) {
  return {
    id: i.id,
    kind: i.kind,
    detection: i.detection,
    meaning: i.meaning,
    source: i.source,
    reach: invariantReach(i),
    clauses: clausesOf(i).map((c) => (c.reach.live ? { text: c.text, live: true } : { text: c.text, live: false, reason: c.reach.reason })),
  };
}

export function guardJson(g: GuardInfo) {
  return {
    id: g.id,
    bug: g.bug,
    summary: g.summary,
    modelled: g.modelled,
    live: g.reach.live,
    ...(g.reach.live ? {} : { reason: g.reach.reason }),
    ...(g.needs ? { needs: { [g.needs.key]: g.needs.value } } : {}),
    ...(g.needsActors ? { needsActors: true } : {}),
  };
}

function printInvariants(json: boolean): void {
  const INVARIANTS = invariantsInOrder();
  if (json) {
    process.stdout.write(JSON.stringify(INVARIANTS.map(invariantJson), null, 2) + '\n');
    return;
  }
  const w = Math.max(...INVARIANTS.map((i) => i.id.length));
  const k = Math.max(...INVARIANTS.map((i) => i.kind.length));
  const d = Math.max(...INVARIANTS.map((i) => i.detection.length));
  const lines: string[] = [];
  for (const i of INVARIANTS) {
    const reach = invariantReach(i);
    const mark = reach === 'live' ? '' : `  (${reach.toUpperCase()})`;
    lines.push(`${i.id.padEnd(w)}  ${i.kind.padEnd(k)}  ${i.detection.padEnd(d)}  ${i.meaning}  [${i.source}]${mark}`);
    for (const c of clausesOf(i)) {
      if (!c.reach.live) lines.push(`${' '.repeat(w + 2)}unreachable clause: ${c.text}. Why: ${c.reach.reason}`);
    }
  }
  lines.push(
    '',
    'Kinds: always = after every atomic step (on the 2M ranges it touched) and on every range at the end of every',
    'operation; quiescent and per-op = after each operation; liveness = watchdogs; perf = performance findings,',
    'failures only with --fail-on perf. Lock discipline is judged from the lock events the lock primitives record.',
    'Detection: damage = the failure is something the guest, host or page pool can observe (lost data, a leak,',
    'a page used after free, a hang, a dead VM); structural = a rule that prevents damage was broken (a flag, a',
    'lock, a call in the wrong state or order) before any damage shows; performance = less huge mapping than due.',
    'UNREACHABLE marks a check (or clause) that no generated case can reach yet, with the reason; it still runs.',
    'A failing case is named <id>@<op kind>[+<injected fault kinds>], e.g. INV-1@convert.',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

function printGuards(json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(GUARDS.map(guardJson), null, 2) + '\n');
    return;
  }
  const lines: string[] = [];
  for (const g of GUARDS) {
    lines.push(`${g.id.padEnd(4)}  ${g.bug.padEnd(6)}  ${g.summary}${g.reach.live ? '' : '  (UNREACHABLE)'}`);
    if (!g.reach.live) lines.push(`${' '.repeat(14)}unreachable: ${g.reach.reason}; switching it off changes no generated case`);
    if (g.needs) lines.push(`${' '.repeat(14)}switching it off matters only with ${g.needs.key}: ${String(g.needs.value)}`);
    if (g.needsActors) lines.push(`${' '.repeat(14)}a race between actors: only cases with several actors reach it (a campaign with it off runs them unless --concurrency 0)`);
  }
  lines.push(
    '',
    'Switch a guard off with fuzz --guard-off G1,G5 (or "guardsOff" in a --config file) to get the known-bug variant.',
    'UNREACHABLE marks a guard whose code no generated case can reach yet: switching it off warns and finds nothing.',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerInvariants(program: Command): void {
  program
    .command('invariants')
    .summary('list the invariants the oracle checks')
    .description(
      'List every invariant and check of the oracle: id, when it is checked, whether a failure shows damage or a broken rule, what it means, ' +
        'the seed line or kernel fact it comes from, and each clause no generated case can reach yet, with the reason.',
    )
    .option('--json', 'print them as JSON (with "reach" and every clause\'s "live" and "reason")')
    .action((o: { json?: boolean }) => printInvariants(!!o.json));
  program
    .command('guards')
    .summary('list the design guards G1..G23')
    .description('List the design guards of model-spec.md section 6 with the known-bug scenario each one prevents, and each guard no generated case can reach yet, with the reason.')
    .option('--json', 'print them as JSON (with "live" and, when false, "reason")')
    .action((o: { json?: boolean }) => printGuards(!!o.json));
}
