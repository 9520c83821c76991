// tdxfuzz triage: the unique failures saved by campaigns, one row per finding. A finding is one
// invariant and op (the core of a signature); the crash files that differ only in fault kinds are its
// alternates. With the campaign's campaign.json, each finding has its hit count and first and last seen.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readCampaignState, type RawHits, type Seen } from '../fuzz/campaignState.js';
import { faultsOf } from '../fuzz/case.js';
import { coreSignature } from '../fuzz/signature.js';
import { CrashStore } from '../fuzz/store.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from './common.js';
import { shellQuote } from './format.js';
import { DEFAULT_OUT } from './fuzz.js';

interface TriageOptions {
  json?: boolean;
}

export interface Finding {
  /** The finding's signature: the one its campaign saved first, or its smallest case's. */
  signature: string;
  /** Failing cases that led to it (0 without a campaign.json: a merged or copied crash folder). */
  hits: number;
  first: Seen | null;
  last: Seen | null;
  /** Its smallest saved case: fewest ops, then fewest faults. */
  smallest: { file: string; ops: number; faults: number; signature: string };
  /** Other signatures linked to it: saved cases differing only in fault kinds, raw signatures that minimised to it. */
  alternates: string[];
}

/** Findings of a crash folder, with the hits a campaign recorded (rawHits, uniqueFailures of its campaign.json). */
export function findingsOf(crashDir: string, stateFile: string | null): { findings: Finding[]; errors: string[] } {
  const state = stateFile ? readCampaignState(stateFile) : null;
  const errors: string[] = [];
  const groups = new Map<string, Finding>();
  const primary = new Map<string, string>();
  for (const u of state?.progress.uniqueFailures ?? []) if (!primary.has(coreSignature(u.signature))) primary.set(coreSignature(u.signature), u.signature);
  const alt = (f: Finding, sig: string): void => {
    if (sig !== f.signature && !f.alternates.includes(sig)) f.alternates.push(sig);
  };
  for (const e of new CrashStore(crashDir).list()) {
    if (e.error) {
      errors.push(e.error.message);
      continue;
    }
    const sig = e.case.expect?.signature ?? '(no signature recorded)';
    const core = coreSignature(sig);
    const mine = { file: e.file, ops: e.case.ops.length, faults: faultsOf(e.case), signature: sig };
    let f = groups.get(core);
    if (!f) {
      f = { signature: primary.get(core) ?? sig, hits: 0, first: null, last: null, smallest: mine, alternates: [] };
      groups.set(core, f);
    } else if (mine.ops < f.smallest.ops || (mine.ops === f.smallest.ops && mine.faults < f.smallest.faults)) f.smallest = mine;
    if (!primary.has(core) && sig !== f.signature && mine === f.smallest) {
      alt(f, f.signature);
      f.signature = sig;
    }
    alt(f, sig);
  }
  for (const u of state?.progress.uniqueFailures ?? []) for (const a of u.alternates ?? []) {
    const f = groups.get(coreSignature(u.signature));
    if (f) alt(f, a);
  }
  for (const h of state?.progress.rawHits ?? ([] as RawHits[])) {
    const f = groups.get(coreSignature(h.minimised ?? h.signature));
    if (!f) continue;
    f.hits += h.cases;
    if (!f.first || h.first.caseIndex < f.first.caseIndex) f.first = h.first;
    if (!f.last || h.last.caseIndex > f.last.caseIndex) f.last = h.last;
    alt(f, h.signature);
  }
  const findings = [...groups.values()].sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  for (const f of findings) f.alternates.sort();
  return { findings, errors };
}

const seen = (s: Seen | null): string => (s ? `#${s.caseIndex} ${new Date(s.time).toISOString().slice(0, 19).replace('T', ' ')}` : '-');

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : i === 1 || i === 4 || i === 5 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd()).join('\n');
}

function triage(given: string, o: TriageOptions): void {
  // a campaign folder means its crashes/ (and its campaign.json for hits)
  const inner = join(given, 'crashes');
  let dir = given;
  let stateFile: string | null = null;
  try {
    if (statSync(inner).isDirectory()) {
      dir = inner;
      if (statSync(join(given, 'campaign.json'), { throwIfNoEntry: false })?.isFile()) stateFile = join(given, 'campaign.json');
    }
  } catch {
    /* not a campaign folder: a crash folder itself */
  }
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) throw new UsageError(`${dir}: no such directory (a campaign creates it when it saves its first failure)`);
  if (!st.isDirectory()) throw new UsageError(`${dir}: not a directory (triage reads a crashes/ directory; use \`tdxfuzz show ${dir}\` for one case)`);
  const { findings, errors } = findingsOf(dir, stateFile);
  for (const m of errors) process.stderr.write(`tdxfuzz: error: ${m}\n`);
  if (o.json) process.stdout.write(JSON.stringify(findings) + '\n');
  else if (findings.length === 0) process.stdout.write(`no failures in ${dir}\n`);
  else {
    const rows = [['SIGNATURE', 'HITS', 'FIRST SEEN', 'LAST SEEN', 'OPS', 'FAULTS', 'SMALLEST CASE']];
    for (const f of findings) {
      rows.push([f.signature, stateFile ? String(f.hits) : '-', seen(f.first), seen(f.last), String(f.smallest.ops), String(f.smallest.faults), f.smallest.file]);
    }
    const lines = table(rows).split('\n');
    const out = [lines[0]];
    findings.forEach((f, i) => {
      out.push(lines[i + 1]);
      if (f.alternates.length) out.push(`  also seen as: ${f.alternates.join(', ')}`);
    });
    process.stdout.write(out.join('\n') + '\n');
    process.stdout.write(`\n${findings.length} unique failures in ${dir}${stateFile ? '' : ' (no campaign.json: hit counts unknown)'}; explain one with: tdxfuzz show ${shellQuote(findings[0].smallest.file)}\n`);
  }
  process.exitCode = errors.length > 0 ? EXIT_USAGE : EXIT_OK;
}

export function registerTriage(program: Command): void {
  program
    .command('triage')
    .summary('list the unique failures saved by campaigns, with hit counts')
    .description(
      [
        'Print one row per unique failure in DIR: its signature (invariant @ op + the fault kinds its minimised case needs), ' +
          'how many failing cases led to it, the case index and time it was first and last seen, and its smallest saved case ' +
          '(operations, faults, file). Saved cases with the same invariant and op that differ only in fault kinds, and the raw ' +
          'signatures of the unminimised cases, are listed under it as "also seen as". Hit counts come from the campaign folder\'s ' +
          'campaign.json; a plain crash folder shows "-". Then "tdxfuzz show FILE" explains one and "tdxfuzz replay FILE" re-checks it.',
        'Exit code: 0, or 2 if DIR does not exist or holds a malformed case file (reported on stderr).',
      ].join('\n\n'),
    )
    .argument('[dir]', 'campaign folder (its crashes/ and campaign.json) or crash folder', DEFAULT_OUT)
    .option('--json', 'print the findings as one JSON array (signature, hits, first, last, smallest, alternates)')
    .action((dir: string, o: TriageOptions) => triage(dir, o));
}
