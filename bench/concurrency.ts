// Section (g) of npm run bench, also runnable alone (node dist/bench/concurrency.js [--quick]): the six
// concurrency bugs of issue 10 (BUG-4, 7, 9, 15, 20, 21), each hunted with its guard off by campaigns whose
// every case runs several actors, with PCT schedules and with random switches side by side, over several
// seeds. Reported per bug and policy: seeds that found it, cases and time to the first failure (median and
// range), the signature of the first minimised failure and whether it was detected by observable damage
// or by a structural check (the invariant's `detection`), the ops and switches of the minimised case, and
// the TDX_OPERAND_BUSY answers contention produced. Beside the first finding of any kind, each campaign goes
// on to the first finding by DAMAGE (issue 10: "found by the damage the spec names, not by a flag"), and the
// table gives its seeds, cases and time, signature, and the ops and switches of its minimised case.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../src/model/config.js';
import { loadCase } from '../src/fuzz/case.js';
import type { ScheduleMix } from '../src/fuzz/concurrency.js';
import { runCampaign } from '../src/fuzz/coordinator.js';
import { detectionOf } from './bugs.js';
import { mmm } from './stats.js';

export const CONCURRENCY_BUGS: readonly { bug: string; guard: string; spec: string }[] = [
  { bug: 'BUG-4', guard: 'G4', spec: 'INV-15/16, INV-12 or TDX_BUG_ON' },
  { bug: 'BUG-7', guard: 'G7', spec: 'INV-13 (underflow: damage), INV-23' },
  { bug: 'BUG-9', guard: 'G9', spec: 'INV-8, INV-9, INV-10 (damage)' },
  { bug: 'BUG-15', guard: 'G15', spec: 'INV-17 (the VM dies: damage)' },
  { bug: 'BUG-20', guard: 'G20', spec: 'INV-1/2/25' },
  { bug: 'BUG-21', guard: 'G21', spec: 'INV-19, INV-20; VM-BUGGED (kernel-facts.md 2.7)' },
];

/** The first finding by damage of a bug's campaigns. */
export interface DamageFinding {
  found: number;
  cases: number[];
  ms: number[];
  signature: string;
  ops: number;
  switches: number;
}

export interface ConcurrencyRow {
  bug: string;
  spec: string;
  schedule: ScheduleMix;
  found: number;
  seeds: number;
  cases: number[];
  ms: number[];
  signature: string;
  detection: string;
  ops: number;
  switches: number;
  busy: number;
  damage: DamageFinding;
}

/** Hunt each bug with each policy over `seeds` seeds, each campaign capped at `capCases` cases on `workers` workers. */
export async function concurrencyBugs(seeds: number, capCases: number, workers: number, log: (s: string) => void): Promise<ConcurrencyRow[]> {
  const rows: ConcurrencyRow[] = [];
  for (const b of CONCURRENCY_BUGS) {
    for (const schedule of ['pct', 'random'] as const) {
      const design: Design = resolveDesign({ guardsOff: [b.guard] }, 'design', CAMPAIGN_DEFAULTS);
      const damage: DamageFinding = { found: 0, cases: [], ms: [], signature: '-', ops: NaN, switches: NaN };
      const row: ConcurrencyRow = { bug: b.bug, spec: b.spec, schedule, found: 0, seeds, cases: [], ms: [], signature: '-', detection: '-', ops: NaN, switches: NaN, busy: 0, damage };
      for (let seed = 1; seed <= seeds; seed++) {
        const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-bench-conc-'));
        try {
          const s = await runCampaign({
            design, seed, workers, cases: capCases, concurrency: { share: 1, schedule }, stopAfterDamage: true,
            crashesDir: join(dir, 'crashes'), corpusDir: join(dir, 'corpus'), warn: () => {},
          });
          row.busy += s.busyUninjected;
          if (!s.firstFailure) continue;
          row.found++;
          row.cases.push(s.firstFailure.caseIndex + 1);
          row.ms.push(s.firstFailure.elapsedMs);
          const u = s.uniqueFailures.find((x) => x.caseIndex === s.firstFailure!.caseIndex) ?? s.uniqueFailures[0];
          if (u && row.signature === '-') {
            row.signature = u.signature;
            row.detection = detectionOf(u.signature);
            const c = loadCase(u.file);
            row.ops = c.ops.length;
            row.switches = Array.isArray(c.schedule) ? c.schedule.length : 0;
          }
          if (!s.firstDamage) continue;
          damage.found++;
          damage.cases.push(s.firstDamage.caseIndex + 1);
          damage.ms.push(s.firstDamage.elapsedMs);
          // the minimised case of the first damage: the unique failure its raw signature minimised to
          const d = s.uniqueFailures.find((x) => x.caseIndex === s.firstDamage!.caseIndex) ?? s.uniqueFailures.find((x) => x.alternates.includes(s.firstDamage!.signature) || x.signature === s.firstDamage!.signature);
          if (d && damage.signature === '-' && detectionOf(d.signature) === 'damage') {
            damage.signature = d.signature;
            const c = loadCase(d.file);
            damage.ops = c.ops.length;
            damage.switches = Array.isArray(c.schedule) ? c.schedule.length : 0;
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      log(`${b.bug} ${schedule}: found on ${row.found}/${seeds} seeds, by damage on ${damage.found}/${seeds}`);
      rows.push(row);
    }
  }
  return rows;
}

export function concurrencyTable(rows: readonly ConcurrencyRow[], capCases: number, workers: number): string[] {
  const out = [
    `Each campaign: the campaign defaults with the guard off, every case with several actors (--concurrency 1), at most ${capCases} cases on ${workers} workers, stopped at the first failure that names damage (a structural finding before it does not stop it).`,
    '',
    'First finding of any kind:',
    '',
    '| bug | schedule | found | cases to first failure | ms to first failure | first signature | detected by | minimised ops | switches | BUSY from contention | spec names |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const n = (x: number): string => (Number.isNaN(x) ? '-' : String(x));
  for (const r of rows) {
    out.push(`| ${r.bug} | ${r.schedule} | ${r.found}/${r.seeds} | ${mmm(r.cases)} | ${mmm(r.ms)} | ${r.signature} | ${r.detection} | ${n(r.ops)} | ${n(r.switches)} | ${r.busy} | ${r.spec} |`);
  }
  out.push('', 'First finding by damage:', '', '| bug | schedule | found | cases to first damage | ms to first damage | first damage signature (minimised) | minimised ops | switches |', '|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const d = r.damage;
    out.push(`| ${r.bug} | ${r.schedule} | ${d.found}/${r.seeds} | ${mmm(d.cases)} | ${mmm(d.ms)} | ${d.signature} | ${n(d.ops)} | ${n(d.switches)} |`);
  }
  return out;
}

// Standalone: node dist/bench/concurrency.js [--quick]
if (process.argv[1] && /bench[/\\]concurrency\.js$/.test(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  const seeds = quick ? 2 : 5;
  const cap = quick ? 3000 : 20_000;
  const rows = await concurrencyBugs(seeds, cap, 2, (s) => process.stderr.write(`bench: ${s}\n`));
  process.stdout.write(concurrencyTable(rows, cap, 2).join('\n') + '\n');
}
