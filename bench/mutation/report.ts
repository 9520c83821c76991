// Reads Stryker's JSON report (mutation-testing-report-schema) of a `npm run mutation` run and writes
// bench/results/mutation-<date>.md: the campaign's mutation score overall and per folder of src/model,
// the counts by status, which checks did the killing and how early, and every survivor with an empty
// column for the lead to classify it (equivalent, unreachable, oracle gap).
// With --unit it reports the unit-test run (stryker.unit.config.mjs) instead, which is not part of the
// score; the campaign report marks each survivor that a unit test kills (so it is not equivalent).
// Usage: node dist/bench/mutation/report.js [--unit] [--note TEXT]... [stryker-json] [out.md]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type AutoClass, autoClassify, type Reviewed, readReviewed, reviewedEntry } from './classify.js';
import { MUTATION_CASES, MUTATION_SEED, MUTATION_TOTAL, STRYKER_JSON, UNIT_STRYKER_JSON } from './settings.js';

type Status = 'Killed' | 'Survived' | 'NoCoverage' | 'CompileError' | 'RuntimeError' | 'Timeout' | 'Ignored' | 'Pending';
interface Pos { line: number; column: number }
interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: Status;
  statusReason?: string;
  location: { start: Pos; end: Pos };
}
export interface StrykerReport {
  files: Record<string, { source: string; mutants: Mutant[] }>;
  config?: { mutate?: string[] };
  framework?: { name?: string; version?: string };
}

/** Counts for one row of the score table. */
export interface Tally {
  total: number;
  /** Killed because the campaign's oracle reported a violation (campaign.ts "killed-by: violation"). */
  violation: number;
  /** Killed because the model threw (campaign.ts "killed-by: exception"): the campaign fails, the oracle did not judge. */
  exception: number;
  /** Killed with a status reason this script does not recognise (e.g. a result reused from an older format). */
  otherKill: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  /** CompileError + RuntimeError: invalid mutants, left out of the score as Stryker does. */
  error: number;
  ignored: number;
  pending: number;
  /** Survivors the rules of classify.ts show equivalent (they stay in Stryker's score, not in the adjusted one). */
  equivalent: number;
  /** Kills (violation or exception) by a concurrent case (index >= MUTATION_CASES): no one-actor case killed them. */
  concurrentKill: number;
}

const emptyTally = (): Tally => ({ total: 0, violation: 0, exception: 0, otherKill: 0, timeout: 0, survived: 0, noCoverage: 0, error: 0, ignored: 0, pending: 0, equivalent: 0, concurrentKill: 0 });

/** Detected (killed + timeout) over valid (all but invalid and ignored), Stryker's definition of the score. */
export function score(t: Tally): number {
  const valid = t.total - t.error - t.ignored - t.pending;
  return valid ? (100 * (t.violation + t.exception + t.otherKill + t.timeout)) / valid : NaN;
}

/** Detected over the valid mutants less the survivors shown equivalent: the issue's "non-equivalent mutants". */
export function adjustedScore(t: Tally): number {
  const valid = t.total - t.error - t.ignored - t.pending - t.equivalent;
  return valid ? (100 * (t.violation + t.exception + t.otherKill + t.timeout)) / valid : NaN;
}

/** The same, counting only kills by an oracle verdict (timeouts and exceptions are not the oracle's). */
export function oracleScore(t: Tally): number {
  const valid = t.total - t.error - t.ignored - t.pending;
  return valid ? (100 * t.violation) / valid : NaN;
}

function add(t: Tally, m: Mutant): void {
  t.total++;
  switch (m.status) {
    case 'Killed': {
      const r = m.statusReason ?? '';
      if (r.includes('killed-by: violation')) t.violation++;
      else if (r.includes('killed-by: exception')) t.exception++;
      else t.otherKill++;
      const c = killCaseOf(r);
      if (c !== null && c >= MUTATION_CASES) t.concurrentKill++;
      break;
    }
    case 'Timeout': t.timeout++; break;
    case 'Survived': t.survived++; break;
    case 'NoCoverage': t.noCoverage++; break;
    case 'CompileError': case 'RuntimeError': t.error++; break;
    case 'Ignored': t.ignored++; break;
    default: t.pending++;
  }
}

/** The index of the case that killed a mutant, from its status reason (check.ts), or null. */
function killCaseOf(reason: string): number | null {
  const c = /in case (\d+) of seed/.exec(reason);
  return c ? Number(c[1]) : null;
}

/** The one-actor score: as score(), without the kills only a concurrent case made (the campaign before them). */
export function oneActorScore(t: Tally): number {
  const valid = t.total - t.error - t.ignored - t.pending - t.equivalent;
  return valid ? (100 * (t.violation + t.exception + t.otherKill + t.timeout - t.concurrentKill)) / valid : NaN;
}

/** The folder of src/model a file belongs to: "tdx/", "kvm/", ... or "(top level)". */
export function folderOf(file: string): string {
  const rel = file.replace(/\\/g, '/').replace(/^.*?src\/model\//, '');
  const slash = rel.indexOf('/');
  return slash < 0 ? '(top level)' : `${rel.slice(0, slash)}/`;
}

/** The source text a mutant replaced, on one line. */
function original(source: string, loc: Mutant['location']): string {
  const lines = source.split('\n');
  const out: string[] = [];
  for (let l = loc.start.line; l <= loc.end.line; l++) {
    const text = lines[l - 1] ?? '';
    const from = l === loc.start.line ? loc.start.column - 1 : 0;
    const to = l === loc.end.line ? loc.end.column - 1 : text.length;
    out.push(text.slice(from, to));
  }
  return out.join(' ').replace(/\s+/g, ' ').trim();
}

const clip = (s: string, n = 70): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const cell = (s: string): string => `\`${clip(s).replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
const pct = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)}%` : '-');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

export interface ReportOptions {
  /** 'unit': the run of stryker.unit.config.mjs (unit tests), not the campaign. */
  kind?: 'campaign' | 'unit';
  /** The unit-test run's report, to mark campaign survivors that a unit test kills. */
  unit?: StrykerReport;
  /** Lines added under the header (e.g. incremental reuse). */
  notes?: string[];
  /** Survivors classified by a person (bench/mutation/reviewed.json); an entry whose source text moved is not used. */
  reviewed?: readonly Reviewed[];
}

const mutantKey = (file: string, m: Mutant): string => `${file}:${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement ?? ''}`;

export interface ReportSummary {
  kind: 'campaign' | 'unit';
  overall: Tally;
  folders: Map<string, Tally>;
  markdown: string;
}

/** Builds the Markdown report from a parsed Stryker JSON report. */
export function buildReport(r: StrykerReport, when: Date, o: ReportOptions = {}): ReportSummary {
  const kind = o.kind ?? 'campaign';
  const unitStatus = new Map<string, Status>();
  for (const [file, f] of Object.entries(o.unit?.files ?? {})) for (const m of f.mutants) unitStatus.set(mutantKey(file, m), m.status);
  const overall = emptyTally();
  const folders = new Map<string, Tally>();
  const files = new Map<string, Tally>();
  const survivors: { file: string; m: Mutant; orig: string; auto: AutoClass | null }[] = [];
  const killCase: number[] = [];
  const used = new Set<Reviewed>();
  const byCheck = new Map<string, number>();
  const exceptions = new Map<string, number>();
  for (const [file, f] of Object.entries(r.files).sort(([a], [b]) => a.localeCompare(b))) {
    const folder = folderOf(file);
    if (!folders.has(folder)) folders.set(folder, emptyTally());
    const ft = emptyTally();
    files.set(file, ft);
    for (const m of f.mutants) {
      add(overall, m);
      add(folders.get(folder)!, m);
      add(ft, m);
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        const orig = original(f.source, m.location);
        const view = { mutatorName: m.mutatorName, replacement: m.replacement, noCoverage: m.status === 'NoCoverage', orig, line: f.source.split('\n')[m.location.start.line - 1] ?? '' };
        const entry = reviewedEntry(o.reviewed ?? [], `${file.replace(/^src\/model\//, '')}:${m.location.start.line}:${m.location.start.column}`, view);
        if (entry) used.add(entry);
        const auto = autoClassify(view) ?? (entry ? { cls: entry.cls, why: `(reviewed) ${entry.why}` } : null);
        survivors.push({ file, m, orig, auto });
        if (auto?.cls === 'E') for (const t of [overall, folders.get(folder)!, ft]) t.equivalent++;
      }
      if (m.status === 'Killed') {
        const r = m.statusReason ?? '';
        const c = killCaseOf(r);
        if (c !== null) killCase.push(c);
        const v = /killed-by: violation (\S+)/.exec(r);
        if (v) byCheck.set(v[1], (byCheck.get(v[1]) ?? 0) + 1);
        const e = /killed-by: exception in case \d+ of seed \d+: (\w+)/.exec(r);
        if (e) exceptions.set(e[1], (exceptions.get(e[1]) ?? 0) + 1);
      }
    }
  }
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'bench/mutation']) ? ' (with uncommitted changes in src or bench/mutation)' : '';
  const L: string[] = [];
  L.push(kind === 'unit' ? `# Mutants of src/model killed by the unit tests, ${when.toISOString().slice(0, 10)}` : `# Mutation score of the oracle, ${when.toISOString().slice(0, 10)}`, '');
  L.push(`Commit ${head}${dirty}; ${r.framework?.name ?? 'Stryker'} ${r.framework?.version ?? '?'}; mutated: ${(r.config?.mutate ?? []).map((p) => `\`${p}\``).join(', ')}.`);
  if (kind === 'unit') L.push('A mutant is killed when a unit test of test/model or test/oracle fails (`npm run mutation -- --unit`, stryker.unit.config.mjs). This is not the oracle\'s score: the unit tests assert what the model should do, the campaign asks the oracle.');
  else L.push(`A mutant is killed when the fixed campaign (CAMPAIGN_DEFAULTS with the default design space of deployments and performance findings failing, as \`tdxfuzz fuzz --fail-on perf\`; seed ${MUTATION_SEED}, cases 0..${MUTATION_CASES - 1} with one actor, then cases ${MUTATION_CASES}..${MUTATION_TOTAL - 1} dealt to several actors as \`--concurrency 1\` deals them; \`bench/mutation/campaign.spec.ts\` runs them in chunks, each mutant on the chunks that reach it) fails a case: an oracle violation or an exception from the model. Score = (killed + timeout) / (all - compile/runtime errors - ignored), as Stryker counts it (ignored: trace text, see bench/mutation/ignore-presentation.mjs); the oracle score counts only kills by an oracle verdict (not exceptions from the model, not timeouts). Unit tests are not part of this score.`);
  for (const n of o.notes ?? []) L.push('', n.replace(/\s+/g, ' ').trim());
  L.push('', '## Score', '');
  const row = (name: string, t: Tally): string =>
    `| ${name} | ${t.total} | ${t.violation} | ${t.exception + t.otherKill} | ${t.timeout} | ${t.survived} | ${t.noCoverage} | ${t.error} | ${t.ignored} | ${pct(score(t))} | ${pct(oracleScore(t))} | ${t.equivalent} | ${pct(adjustedScore(t))} | ${t.concurrentKill} | ${pct(oneActorScore(t))} |`;
  const header = ['| | mutants | killed: violation | killed: exception | timeout | survived | no coverage | compile/runtime error | ignored | score | oracle score | equivalent (rules, reviewed) | score without them | killed only by a concurrent case | one-actor score without them |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'];
  L.push(...header);
  for (const [name, t] of [...folders].sort(([a], [b]) => a.localeCompare(b))) L.push(row(`src/model/${name === '(top level)' ? '*.ts' : name}`, t));
  L.push(row('**all**', overall));
  L.push('', '<details><summary>Per file</summary>', '', ...header);
  for (const [file, t] of files) L.push(row(file.replace(/^src\/model\//, ''), t));
  L.push('', '</details>');
  if (kind === 'campaign' && o.unit) {
    const killedByUnit = survivors.filter(({ file, m }) => unitStatus.get(mutantKey(file, m)) === 'Killed').length;
    L.push('', `${killedByUnit} of the ${survivors.length} survivors are killed by a unit test (column "unit"): they change the model's behaviour, so they are not equivalent.`);
  }
  L.push('', '## What killed', '');
  if (killCase.length) {
    const s = [...killCase].sort((a, b) => a - b);
    const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    const late = s.filter((i) => i >= MUTATION_CASES / 2 && i < MUTATION_CASES).length;
    const conc = s.filter((i) => i >= MUTATION_CASES).length;
    L.push(`Index of the killing case (of ${MUTATION_TOTAL}): median ${q(0.5)}, 90th percentile ${q(0.9)}, 99th ${q(0.99)}, max ${s[s.length - 1]}; ${late} kill(s) came from the second half of the one-actor cases (a measure of what more cases would add), ${conc} from the concurrent cases (${MUTATION_CASES} on; a mutant runs on them only when no one-actor case killed it).`, '');
  }
  L.push('| check | mutants killed first by it |', '|---|--:|');
  for (const [k, n] of [...byCheck].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) L.push(`| ${k} | ${n} |`);
  for (const [k, n] of [...exceptions].sort((a, b) => b[1] - a[1])) L.push(`| exception: ${k} | ${n} |`);
  L.push('', `## Survivors (${survivors.length})`, '');
  L.push('Class: **E** equivalent (no behaviour changes), **U** unreachable by the campaign (the design or generator never gets there), **G** oracle gap (wrong behaviour the oracle does not see). Classes come from the rules of bench/mutation/classify.ts (step labels, lock path names, guard ids and guard tests on the all-guards-on campaign, no coverage) or, marked "(reviewed)", from a person\'s reading in bench/mutation/reviewed.json (kept only while the source text at that place is unchanged); empty = not yet classified.', '');
  const byClass = (c: string | null): number => survivors.filter((x) => (x.auto?.cls ?? null) === c).length;
  const unused = (o.reviewed ?? []).length - used.size;
  L.push(`Of the ${survivors.length}: ${byClass('E')} equivalent, ${byClass('U')} unreachable, ${byClass('G')} oracle gaps, ${byClass(null)} not yet classified.${unused ? ` ${unused} of the ${(o.reviewed ?? []).length} reviewed entries match no survivor: killed since they were reviewed, or their code moved.` : ''}`, '');
  const withUnit = kind === 'campaign' && !!o.unit;
  L.push(`| # | where | mutator | original | replacement |${withUnit ? ' unit |' : ''} class | why |`, `|--:|---|---|---|---|${withUnit ? '---|' : ''}---|---|`);
  survivors.forEach(({ file, m, orig, auto }, k) => {
    const where = `${file.replace(/^src\/model\//, '')}:${m.location.start.line}:${m.location.start.column}`;
    const unit = withUnit ? ` ${unitStatus.get(mutantKey(file, m)) ?? '-'} |` : '';
    const cls = auto ? ` ${auto.cls} | ${auto.why.replace(/\|/g, "\\|")} |` : ' | |';
    L.push(`| ${k + 1} | ${where} | ${m.mutatorName}${m.status === 'NoCoverage' ? ' (no coverage)' : ''} | ${cell(orig)} | ${cell(m.replacement ?? '')} |${unit}${cls}`);
  });
  return { kind, overall, folders, markdown: `${L.join('\n')}\n` };
}

function readReport(json: string): StrykerReport {
  let r: StrykerReport;
  try {
    r = JSON.parse(readFileSync(json, 'utf8')) as StrykerReport;
  } catch (e) {
    process.stderr.write(`bench/mutation/report: cannot read ${json}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  if (!r || typeof r.files !== 'object' || r.files === null) {
    process.stderr.write(`bench/mutation/report: ${json}: field "files" missing (not a mutation-testing-report-schema report)\n`);
    process.exit(2);
  }
  return r;
}

/**
 * Writes the report for a Stryker JSON file (default: the campaign's, or the unit run's with kind 'unit');
 * a campaign report also reads the unit run's JSON when there is one. Returns the summary and the path.
 */
export function writeReport(kind: 'campaign' | 'unit' = 'campaign', json?: string, out?: string, notes: string[] = []): ReportSummary & { path: string } {
  const r = readReport(json ?? (kind === 'unit' ? UNIT_STRYKER_JSON : STRYKER_JSON));
  const unit = kind === 'campaign' && existsSync(UNIT_STRYKER_JSON) ? readReport(UNIT_STRYKER_JSON) : undefined;
  const when = new Date();
  const path = out ?? `bench/results/mutation-${kind === 'unit' ? 'unit-' : ''}${when.toISOString().slice(0, 10)}.md`;
  const s = buildReport(r, when, { kind, unit, notes, reviewed: kind === 'campaign' ? readReviewed() : [] });
  writeFileSync(path, s.markdown);
  return { ...s, path };
}

/** One line for the console. */
export function scoreLine(s: ReportSummary): string {
  const t = s.overall;
  if (s.kind === 'unit') return `unit tests kill ${pct(score(t))} of the mutants (${t.total - t.survived - t.noCoverage - t.error - t.ignored - t.pending} of ${t.total - t.error - t.ignored - t.pending}); not part of the oracle's score`;
  const per = [...s.folders].sort(([a], [b]) => a.localeCompare(b)).map(([f, x]) => `${f} ${pct(score(x))}`).join(', ');
  return `mutation score ${pct(score(t))}, ${pct(adjustedScore(t))} without the ${t.equivalent} survivors shown equivalent (${t.violation + t.exception + t.otherKill + t.timeout} of ${t.total - t.error - t.ignored - t.pending} detected: ${t.violation} by a violation, ${t.exception + t.otherKill} by an exception, ${t.timeout} timeouts; ${t.survived + t.noCoverage} survived); oracle score ${pct(oracleScore(t))}; ${t.concurrentKill} killed only by a concurrent case (one-actor score without equivalents ${pct(oneActorScore(t))}); per folder: ${per}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: node dist/bench/mutation/report.js [--unit] [--note TEXT]... [stryker-json (default ${STRYKER_JSON}, with --unit ${UNIT_STRYKER_JSON})] [out.md (default bench/results/mutation[-unit]-<date>.md)]\n`);
    process.exit(0);
  }
  const notes: string[] = [];
  const rest: string[] = [];
  let unit = false;
  for (let k = 0; k < args.length; k++) {
    if (args[k] === '--unit') unit = true;
    else if (args[k] === '--note' && args[k + 1] !== undefined) notes.push(args[++k]);
    else rest.push(args[k]);
  }
  const s = writeReport(unit ? 'unit' : 'campaign', rest[0], rest[1], notes);
  process.stdout.write(`${scoreLine(s)}\nreport: ${s.path}\n`);
}
