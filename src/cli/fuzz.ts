// tdxfuzz fuzz: run a campaign on a worker pool; save unique minimised failures and new coverage.
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { CAMPAIGN_DEFAULTS, type Design, parseGuardList } from '../model/config.js';
import { guardInfo } from '../model/guards.js';
import { type CampaignSummary, runCampaign } from '../fuzz/coordinator.js';
import { defaultDesignSpace, describeDesignSpace, type DesignSpace } from '../fuzz/designSpace.js';
import { formatCount, formatElapsed, formatWorkers } from '../fuzz/progress.js';
import { checkDirOption, EXIT_FOUND, EXIT_OK, loadCampaignConfig, loadDesignSpace, parseCases, parseDuration, parseGuardOption, parseSeed, parseWorkers } from './common.js';
import { displayPath, formatDesign, formatFailureDesign, formatGuardsOff, shellQuote } from './format.js';

interface FuzzOptions {
  workers: number;
  seed: number;
  cases?: number;
  duration?: number;
  corpus: string;
  crashes: string;
  guardOff?: string[];
  config?: string;
  /** A file, false for --no-design-space, undefined for the default deployment space. */
  designSpace?: string | false;
  json?: boolean;
  progress: boolean;
  failOn?: string;
}

const DEFAULT_DURATION = '30s';

/** The campaign design and the settings the --config file names (pinned: never varied). */
function campaignDesign(o: FuzzOptions): { design: Design; pinned: Set<string> } {
  const { design: base, pinned } = o.config ? loadCampaignConfig(o.config) : { design: { ...CAMPAIGN_DEFAULTS, guardsOff: [] }, pinned: new Set<string>() };
  if (!o.guardOff?.length) return { design: base, pinned };
  return { design: { ...base, guardsOff: parseGuardList([...base.guardsOff, ...o.guardOff], '--guard-off') }, pinned };
}

function campaignSpace(o: FuzzOptions, design: Design, pinned: ReadonlySet<string>): DesignSpace | null {
  if (o.designSpace === false) return null;
  if (typeof o.designSpace === 'string') return loadDesignSpace(o.designSpace, design, pinned);
  return defaultDesignSpace(design, pinned);
}

/**
 * Warnings about guards switched off to no effect: one no generated case can reach yet (the campaign still
 * runs, but cannot find its BUG-n), or one whose bug needs a setting the campaign never uses.
 */
export function guardWarnings(design: Design, space: DesignSpace | null): string[] {
  const out: string[] = [];
  for (const id of design.guardsOff) {
    const g = guardInfo(id);
    if (!g) continue;
    if (!g.reach.live) {
      out.push(`warning: guard ${g.id} is off, but no generated case can reach the code it guards (${g.reach.reason}); the campaign runs and cannot find ${g.bug}`);
      continue;
    }
    const n = g.needs;
    if (!n || design[n.key] === n.value) continue;
    const axis = space?.axes.find((a) => a.key === n.key);
    if (!axis?.values.includes(n.value)) {
      out.push(`warning: guard ${g.id} is off, but ${g.bug} needs ${n.key}: ${String(n.value)}, which this campaign never uses (set it with --config or sample it with --design-space)`);
    }
  }
  return out;
}

/** First Ctrl-C (or SIGTERM): stop dispatching and finish what is in flight. Second: quit now. */
function onInterrupt(abort: () => void): () => void {
  let seen = 0;
  const handler = (): void => {
    if (++seen === 1) {
      abort();
      process.stderr.write('\ntdxfuzz: interrupted; finishing the batches in flight and minimising the failures found (press Ctrl-C again to quit now)\n');
      return;
    }
    if (process.stderr.isTTY) process.stderr.write('\x1b[?25h'); // the progress bar hides the cursor
    process.stderr.write('tdxfuzz: quit without waiting; files already saved are complete\n');
    process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

function printHuman(s: CampaignSummary, o: FuzzOptions): void {
  const out: string[] = [];
  const stop = s.interrupted ? ' (interrupted; every failure found so far was minimised and saved)' : '';
  out.push(`tdxfuzz fuzz: seed ${s.seed}, ${formatWorkers(s.workers)}, design ${formatDesign(s.design)}, guards off: ${formatGuardsOff(s.design)}`);
  out.push(`design space: ${describeDesignSpace(s.designSpace)}`);
  out.push(
    `ran ${s.cases} cases (${s.ops} ops) in ${formatElapsed(s.elapsedMs)}: ${formatCount(s.casesPerSec)} cases/s, ${formatCount(s.opsPerSec)} ops/s${stop}`,
  );
  out.push(`corpus: ${s.corpusAdded} new cases in ${o.corpus} (coverage seeded from ${s.corpusSeeded} files)`);
  out.push(
    `failures: ${s.failingCases} failing cases: ${s.uniqueFailures.length} new unique, ${s.knownFailures.length} already in ${o.crashes}, ${s.duplicates} duplicates`,
  );
  for (const u of s.uniqueFailures) {
    const f = shellQuote(displayPath(u.file));
    out.push('', `  NEW  ${u.signature}  (${u.ops} ops, case ${u.caseIndex})  ${displayPath(u.file)}`);
    out.push(`       design:  ${formatFailureDesign(u.design)}`);
    out.push(`       explain: tdxfuzz show ${f}`, `       replay:  tdxfuzz replay ${f}`);
  }
  for (const k of s.knownFailures) out.push(`  known ${k.signature}  ${displayPath(k.file)}  (design: ${formatFailureDesign(k.design)})`);
  if (s.uniqueFailures.length > 0) out.push('', `list all saved failures with: tdxfuzz triage ${shellQuote(o.crashes)}`);
  process.stdout.write(out.join('\n') + '\n');
}

async function fuzz(o: FuzzOptions): Promise<void> {
  const { design, pinned } = campaignDesign(o);
  const space = campaignSpace(o, design, pinned);
  checkDirOption('--corpus', o.corpus);
  checkDirOption('--crashes', o.crashes);
  for (const w of guardWarnings(design, space)) process.stderr.write(`tdxfuzz: ${w}\n`);
  const durationMs = o.cases === undefined ? (o.duration ?? parseDuration(DEFAULT_DURATION)) : undefined;
  const ac = new AbortController();
  const release = onInterrupt(() => ac.abort());
  let summary: CampaignSummary;
  try {
    summary = await runCampaign({
      design,
      space,
      seed: o.seed,
      workers: o.workers,
      cases: o.cases,
      durationMs,
      crashesDir: o.crashes,
      corpusDir: o.corpus,
      progress: o.progress,
      json: o.json,
      signal: ac.signal,
      failOnPerf: o.failOn === 'perf',
    });
  } finally {
    release();
  }
  if (o.json) process.stdout.write(JSON.stringify({ ...summary, corpusDir: o.corpus, crashesDir: o.crashes }) + '\n');
  else printHuman(summary, o);
  process.exitCode = summary.uniqueFailures.length > 0 ? EXIT_FOUND : EXIT_OK;
}

export function registerFuzz(program: Command): void {
  const cpus = availableParallelism();
  program
    .command('fuzz')
    .summary('run a fuzzing campaign on all cores')
    .description(
      [
        'Generate cases from (seed, index), run them on a pool of worker threads, minimise every new failure and ' +
          'save one case per unique failure signature in --crashes; save the cases that reach new model coverage in --corpus. ' +
          'With --cases N the saved files are the same for any number of --workers.',
        `Without --cases or --duration the campaign runs for ${DEFAULT_DURATION}. ` +
          'A status line goes to stderr (a plain line every 5 s when stderr is not a terminal). ' +
          'Ctrl-C stops dispatching and finishes the work in flight, so nothing found is lost; a second Ctrl-C quits at once.',
        'Design space: by default each case varies the deployment settings of the v3 design (vmMemoryAttributes, backing, ' +
          'dpamt, nonBlockingResize, tdxHugePage, enhancedDemoteInterruptibility; splitPolicy with 1G backing under CONTIGUITY), drawn from (seed, case index); ' +
          'about half the cases keep the campaign design, and a setting your --config file names is never varied. ' +
          '--design-space FILE samples the settings the file names instead, e.g. {"refcountPolicy": ["NONE", {"value": "HOLD_ON_ZAP_FAILURE", "weight": 2}]}; ' +
          '--no-design-space runs the campaign design only. A failure found on another design names the settings that differ.',
        'Exit code: 0 if nothing new failed, 1 if new unique failures were saved, 2 for a bad option or file (nothing written).',
      ].join('\n\n'),
    )
    .addOption(new Option('-w, --workers <n>', 'worker threads').argParser(parseWorkers).default(cpus, `${cpus}, the number of CPUs`))
    .addOption(new Option('-s, --seed <s>', 'campaign seed (integer 0..4294967295); case i is generated from (seed, i)').argParser(parseSeed).default(1))
    .addOption(new Option('-n, --cases <n>', 'run exactly N cases (indices 0..N-1), then stop').argParser(parseCases).conflicts('duration'))
    .addOption(
      new Option('-d, --duration <time>', `stop dispatching after this long: 500ms, 30s, 10m, 8h, 1h30m (default: ${DEFAULT_DURATION} unless --cases)`).argParser(
        parseDuration,
      ),
    )
    .addOption(new Option('--corpus <dir>', 'corpus directory: read at start (its coverage is not re-added), new-coverage cases saved here').default('corpus'))
    .addOption(new Option('--crashes <dir>', 'where unique minimised failures are saved, one file per signature').default('crashes'))
    .addOption(
      new Option('-g, --guard-off <ids>', 'comma-separated design guards to switch off (e.g. G1,G15), turning the model into known-bug variants BUG-n').argParser(
        parseGuardOption,
      ),
    )
    .addOption(new Option('-c, --config <file>', 'JSON object of design settings (as in a case file\'s "design"; keys left out take the campaign defaults: the v3 design with ptrs 16); --guard-off adds to its guardsOff'))
    .addOption(
      new Option(
        '--design-space <file>',
        'JSON object from design setting to the values to sample per case (each a value or {"value": v, "weight": w}), instead of the default deployment settings',
      ),
    )
    .addOption(new Option('--no-design-space', 'run every case on the campaign design (no per-case deployment settings)'))
    .addOption(
      new Option('--fail-on <class>', 'also count performance findings as failures: a 2M range mapped 4K where the design should map it 2M (PERF-2M), folios not merged back (INV-33)').choices(['perf']),
    )
    .addOption(new Option('--json', 'print the final summary as one JSON object on stdout, and no status line'))
    .addOption(new Option('--no-progress', 'no status line on stderr (by default: a live bar on a terminal, else a plain line every 5 s)'))
    .action((o: FuzzOptions) => fuzz(o));
}
