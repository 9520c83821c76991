// tdxfuzz fuzz: run a campaign on a worker pool; save unique minimised failures and new coverage.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CAMPAIGN_DEFAULTS, type Design, parseGuardList } from '../model/config.js';
import { guardInfo } from '../model/guards.js';
import { type CampaignSummary, type FailureEvent, runCampaign } from '../fuzz/coordinator.js';
import { defaultDesignSpace, describeDesignSpace, type DesignSpace } from '../fuzz/designSpace.js';
import { ADAPTIVE_MAX, ADAPTIVE_MIN, ADAPTIVE_START, ADAPTIVE_WINDOW, describeMutation, EPOCH, formatShare, type MutationSettings, mutationOf } from '../fuzz/pool.js';
import { campaignConcurrency, type ConcurrencySettings, DEFAULT_CONCURRENCY, describeConcurrency, SCHEDULE_MIXES, type ScheduleMix } from '../fuzz/concurrency.js';
import { campaignLayout, type CampaignIdentity, type CampaignProgress, readCampaignState, type Shard } from '../fuzz/campaignState.js';
import { onDisk } from '../fuzz/envError.js';
import { GENERATOR_VERSION } from '../fuzz/generate.js';
import { codeFingerprint, SEED_CACHE_FILE } from '../fuzz/seedCache.js';
import { formatCount, formatElapsed, formatWorkers } from '../fuzz/progress.js';
import {
  checkDirOption,
  EXIT_ENVIRONMENT,
  EXIT_FOUND,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_TERMINATED,
  loadCampaignConfig,
  loadDesignSpace,
  parseCases,
  parseDuration,
  parseGuardOption,
  parseSeed,
  parseShardOption,
  parseWorkers,
  UsageError,
  WORKERS_PER_CPU_MAX,
} from './common.js';
import { displayPath, formatDesign, formatFailureDesign, formatGuardsOff, shellQuote } from './format.js';

interface FuzzOptions {
  workers: number;
  seed: number;
  cases?: number;
  duration?: number;
  out: string;
  resume?: boolean;
  corpus?: string;
  crashes?: string;
  /** The committed regression corpus: read only, false for --no-regression-corpus. */
  regressionCorpus: string | false;
  shard?: Shard;
  guardOff?: string[];
  config?: string;
  /** A file, false for --no-design-space, undefined for the default deployment space. */
  designSpace?: string | false;
  json?: boolean;
  progress: boolean;
  failOn?: string;
  /** Share of cases with several actors (0..1). */
  concurrency: number;
  schedule: ScheduleMix;
  /** Share of cases mutated from the corpus (0..1), or auto (adaptive). */
  mutate: number | 'auto';
  /** false for --no-seed-cache. */
  seedCache: boolean;
}

const DEFAULT_DURATION = '30s';
export const DEFAULT_OUT = 'tdxfuzz-out';

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
export function guardWarnings(design: Design, space: DesignSpace | null, concurrency: ConcurrencySettings | null = DEFAULT_CONCURRENCY): string[] {
  const out: string[] = [];
  for (const id of design.guardsOff) {
    const g = guardInfo(id);
    if (!g) continue;
    if (!g.reach.live) {
      out.push(`warning: guard ${g.id} is off, but no generated case can reach the code it guards (${g.reach.reason}); the campaign runs and cannot find ${g.bug}`);
      continue;
    }
    if (g.needsActors && !(concurrency && concurrency.share > 0)) {
      out.push(`warning: guard ${g.id} is off, but ${g.bug} is a race between actors and this campaign runs one actor per case (--concurrency 0); it cannot make the race happen`);
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

/**
 * First Ctrl-C (or SIGTERM): stop dispatching and finish what is in flight. Second: quit now. A signal
 * within DUPLICATE_MS of the first is the same Ctrl-C delivered twice (under `npx` or `npm run`, the
 * terminal signals the whole process group and npm forwards the signal to its child as well), not a
 * second press.
 */
const DUPLICATE_MS = 500;
function onInterrupt(abort: (signal: NodeJS.Signals) => void): () => void {
  let first = -1;
  const handler = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (first < 0) {
      first = now;
      abort(signal);
      return;
    }
    if (now - first < DUPLICATE_MS) return;
    if (process.stderr.isTTY) process.stderr.write('\x1b[?25h'); // the status screen hides the cursor
    process.stderr.write('\ntdxfuzz: quit without waiting; files already saved are complete (resume with --resume)\n');
    process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

interface Places {
  out: string;
  crashes: string;
  corpus: string;
  findings: string;
  stats: string;
  state: string;
}

/** The seed cache in the campaign folder unless --no-seed-cache; kept only when running from the bundle (it names the code). */
function seedCacheOf(o: FuzzOptions, where: Places): { file: string; fingerprint: () => string | null } | null {
  return o.seedCache ? { file: join(where.out, SEED_CACHE_FILE), fingerprint: () => codeFingerprint() } : null;
}

function printHuman(s: CampaignSummary, where: Places): void {
  const out: string[] = [];
  const stop = s.interrupted ? ' (interrupted; every failure found so far was minimised and saved)' : '';
  const shard = s.shard ? `, shard ${s.shard.index}/${s.shard.count}` : '';
  out.push(`tdxfuzz fuzz: seed ${s.seed}${shard}, ${formatWorkers(s.workers)}, design ${formatDesign(s.design)}, guards off: ${formatGuardsOff(s.design)}`);
  out.push(`design space: ${describeDesignSpace(s.designSpace)}`);
  out.push(`concurrency: ${describeConcurrency(s.concurrency)}${s.concurrency ? `; TDX_OPERAND_BUSY from contention (not injected): ${s.busyUninjected}` : ''}`);
  out.push(`mutation: ${describeMutation(s.mutation, s.mutated)}${s.mutation?.adaptive && s.mutationShare !== null ? `; share now ${formatShare(s.mutationShare)}` : ''}`);
  out.push(
    `ran ${s.cases} cases (${s.ops} ops) in ${formatElapsed(s.elapsedMs)}: ${formatCount(s.casesPerSec)} cases/s, ${formatCount(s.opsPerSec)} ops/s${stop}`,
  );
  if (s.resumed) out.push(`resumed: the campaign has run ${s.campaignCases} cases in all`);
  out.push(`campaign folder: ${displayPath(where.out)} (next case ${s.nextIndex})`);
  out.push(`corpus: ${s.corpusAdded} new cases in ${displayPath(where.corpus)} (coverage ${s.coverage} features, seeded from ${s.corpusSeeded} files${s.corpusSeededFromCache > 0 ? `, ${s.corpusSeededFromCache} of them from the seed cache` : ''})`);
  out.push(
    `failures: ${s.failingCases} failing cases: ${s.uniqueFailures.length} new unique, ${s.knownFailures.length} already in ${displayPath(where.crashes)}, ${s.duplicates} duplicates`,
  );
  for (const u of s.uniqueFailures) {
    const f = shellQuote(displayPath(u.file));
    out.push('', `  NEW  ${u.signature}  [${u.detection}]  (${u.ops} ops, case ${u.caseIndex})  ${displayPath(u.file)}`);
    out.push(`       design:  ${formatFailureDesign(u.design)}`);
    out.push(`       explain: tdxfuzz show ${f}`, `       replay:  tdxfuzz replay ${f}`);
  }
  for (const k of s.knownFailures) out.push(`  known ${k.signature}  [${k.detection}]  ${displayPath(k.file)}  (design: ${formatFailureDesign(k.design)})`);
  if (s.findings.length > 0) {
    out.push('', `findings that are not failures (cases over the whole campaign; one example each):`);
    for (const f of s.findings) out.push(`  ${f.kind.padEnd(22)} ${String(f.cases).padStart(7)} cases  ${f.file ? displayPath(f.file) : '(no example saved)'}`);
  } else out.push('findings that are not failures: none');
  for (const l of s.lostCases) out.push(`  LOST cases ${l.index}.. (${l.count}): a worker died twice running them: ${l.error}`);
  if (s.workerRestarts > 0) out.push(`workers replaced after dying: ${s.workerRestarts}`);
  if (s.uniqueFailures.length > 0) out.push('', `list all saved failures with: tdxfuzz triage ${shellQuote(displayPath(where.crashes))}`);
  if (s.interrupted || s.environmentError) out.push(`continue this campaign with: tdxfuzz fuzz --out ${shellQuote(displayPath(where.out))} --resume`);
  process.stdout.write(out.join('\n') + '\n');
}

/** The line announcing a failure as the campaign commits it, so the user sees it long before the summary. */
export function failureLine(e: FailureEvent): string {
  const at = `at ${formatElapsed(e.elapsedMs)}`;
  if (e.kind === 'first') return `tdxfuzz: first failure: case ${e.caseIndex} fails ${e.signature} (${at}); minimising it`;
  const u = e.failure;
  return `tdxfuzz: NEW ${u.signature} [${u.detection}] (${u.ops} ops, case ${u.caseIndex}) saved to ${displayPath(u.file)} (${at})`;
}

/** --mutate names the campaign's mutation: auto, or the same fixed share (from whichever epoch the campaign started mutating). */
function sameMutation(a: MutationSettings | null, b: MutationSettings | null): boolean {
  if (!a || !b) return a === b;
  return (a.adaptive ?? false) === (b.adaptive ?? false) && (a.adaptive === true || a.share === b.share);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Planned {
  identity: CampaignIdentity;
  cases?: number;
  durationMs?: number;
  resume?: CampaignProgress;
}

/**
 * --resume: the campaign folder's identity (seed, design, design space, shard, --fail-on), checked against
 * any of those options given again: they may only repeat it.
 */
function planResume(o: FuzzOptions, where: Places, given: (k: string) => boolean): Planned {
  const state = readCampaignState(where.state);
  if (!state) throw new UsageError(`--resume: ${where.out} holds no campaign to resume (no campaign.json); start one with tdxfuzz fuzz --out ${where.out}`);
  const id = state.identity;
  if (id.generatorVersion !== GENERATOR_VERSION) {
    throw new UsageError(`${where.state}: identity.generatorVersion: the campaign was generated by generator v${id.generatorVersion}, this tdxfuzz has v${GENERATOR_VERSION}; its cases would differ, start a new campaign`);
  }
  if (given('seed') && o.seed !== id.seed) throw new UsageError(`--seed ${o.seed}: the campaign in ${where.out} has seed ${id.seed} (drop --seed to resume it)`);
  if (given('shard') && !sameJson(o.shard, id.shard)) throw new UsageError(`--shard: the campaign in ${where.out} is ${id.shard ? `shard ${id.shard.index}/${id.shard.count}` : 'not sharded'}`);
  if ((given('concurrency') || given('schedule')) && !sameJson(o.concurrency > 0 ? { share: o.concurrency, schedule: o.schedule } : null, id.concurrency ?? null)) {
    throw new UsageError(`--concurrency/--schedule: the campaign in ${where.out} runs ${describeConcurrency(id.concurrency ?? null)}`);
  }
  if (given('mutate') && !sameMutation(mutationOf(o.mutate), id.mutation ?? null)) {
    throw new UsageError(`--mutate: the campaign in ${where.out} runs ${describeMutation(id.mutation ?? null)}`);
  }
  if (given('failOn') && (o.failOn === 'perf') !== id.failOnPerf) throw new UsageError(`--fail-on: the campaign in ${where.out} was started ${id.failOnPerf ? 'with' : 'without'} --fail-on perf`);
  if (given('config') || given('guardOff') || given('designSpace')) {
    const { design, pinned } = campaignDesign(o);
    if (!sameJson(design, id.design)) throw new UsageError(`--config/--guard-off: the design differs from the one of the campaign in ${where.out} (drop them to resume it)`);
    if (given('designSpace') && !sameJson(campaignSpace(o, design, pinned), id.designSpace)) throw new UsageError(`--design-space: differs from the design space of the campaign in ${where.out}`);
  }
  const p = state.progress;
  const cases = o.cases ?? (o.duration === undefined ? state.plan.cases : undefined);
  const durationMs =
    cases !== undefined ? undefined : (o.duration ?? (state.plan.durationMs !== undefined ? Math.max(0, state.plan.durationMs - p.elapsedMs) : parseDuration(DEFAULT_DURATION)));
  return { identity: id, cases, durationMs, resume: p };
}

async function fuzz(o: FuzzOptions, given: (k: string) => boolean): Promise<void> {
  checkDirOption('--out', o.out);
  const layout = campaignLayout(o.out);
  const where: Places = { ...layout, out: o.out, crashes: o.crashes ?? layout.crashes, corpus: o.corpus ?? layout.corpus };
  if (o.crashes !== undefined) checkDirOption('--crashes', o.crashes);
  if (o.corpus !== undefined) checkDirOption('--corpus', o.corpus);
  let plan: Planned;
  if (o.resume) plan = planResume(o, where, given);
  else {
    const { design, pinned } = campaignDesign(o);
    const space = campaignSpace(o, design, pinned);
    const { settings: concurrency, note } = campaignConcurrency(given('concurrency'), o.concurrency, o.schedule, design.guardsOff);
    if (note) process.stderr.write(`tdxfuzz: ${note}\n`);
    for (const w of guardWarnings(design, space, concurrency)) process.stderr.write(`tdxfuzz: ${w}\n`);
    const identity: CampaignIdentity = { seed: o.seed, design, designSpace: space, shard: o.shard ?? null, failOnPerf: o.failOn === 'perf', generatorVersion: GENERATOR_VERSION, concurrency, mutation: mutationOf(o.mutate) };
    plan = { identity, cases: o.cases, durationMs: o.cases === undefined ? (o.duration ?? parseDuration(DEFAULT_DURATION)) : undefined };
    if (existsSync(layout.state) && !o.json) {
      process.stderr.write(`tdxfuzz: ${o.out} held a campaign: starting a new one there (its crashes and corpus are kept and count as known; --resume would have continued it)\n`);
    }
    onDisk(o.out, () => mkdirSync(o.out, { recursive: true }));
    onDisk(layout.stats, () => rmSync(layout.stats, { force: true }));
  }
  const cpus = availableParallelism();
  if (o.workers > cpus) process.stderr.write(`tdxfuzz: warning: --workers ${o.workers} is more than the ${cpus} CPUs: extra workers add memory, not speed\n`);
  const id = plan.identity;
  const readOnly = o.regressionCorpus === false || resolve(o.regressionCorpus) === resolve(where.corpus) ? [] : [o.regressionCorpus];
  const showProgress = o.progress && !o.json;
  if (showProgress) {
    const shard = id.shard ? `, shard ${id.shard.index}/${id.shard.count}` : '';
    process.stderr.write(`tdxfuzz fuzz: seed ${id.seed}${shard}, ${formatWorkers(o.workers)}, design ${formatDesign(id.design)}, guards off: ${formatGuardsOff(id.design)}\n`);
    process.stderr.write(`concurrency: ${describeConcurrency(id.concurrency ?? null)}\n`);
    process.stderr.write(`mutation: ${describeMutation(id.mutation ?? null)}\n`);
    process.stderr.write(`design space: ${describeDesignSpace(id.designSpace)}; campaign folder: ${where.out}${plan.resume ? ` (resumed at case ${plan.resume.next})` : ''}\n`);
  }
  const ac = new AbortController();
  let signal: NodeJS.Signals | null = null;
  const release = onInterrupt(
    (sig) => {
      signal = sig;
      ac.abort(`tdxfuzz: ${sig === 'SIGINT' ? 'interrupted' : 'terminated'}; finishing the batches in flight and minimising the failures found (press Ctrl-C again to quit now)`);
    },
  );
  let summary: CampaignSummary;
  try {
    summary = await runCampaign({
      design: id.design,
      space: id.designSpace,
      concurrency: id.concurrency ?? null,
      mutation: id.mutation ?? null,
      seed: id.seed,
      shard: id.shard,
      failOnPerf: id.failOnPerf,
      workers: o.workers,
      cases: plan.cases,
      durationMs: plan.durationMs,
      crashesDir: where.crashes,
      corpusDir: where.corpus,
      findingsDir: where.findings,
      readOnlyCorpora: readOnly,
      stateFile: where.state,
      statsFile: where.stats,
      seedCache: seedCacheOf(o, where),
      resume: plan.resume,
      progress: o.progress,
      json: o.json,
      signal: ac.signal,
      // stdout stays one JSON object with --json; otherwise stderr tells of failures as they are found
      onFailure: o.json ? undefined : (e, log) => log(failureLine(e)),
    });
  } finally {
    release();
  }
  if (o.json) {
    process.stdout.write(JSON.stringify({ ...summary, out: where.out, corpusDir: where.corpus, crashesDir: where.crashes, findingsDir: where.findings, statsFile: where.stats }) + '\n');
  } else printHuman(summary, where);
  if (summary.environmentError) {
    process.stderr.write(`tdxfuzz: error: ${summary.environmentError}; the campaign stopped, and what the summary lists was saved\n`);
    process.exitCode = EXIT_ENVIRONMENT;
  } else if (summary.interrupted) process.exitCode = signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
  else process.exitCode = summary.uniqueFailures.length > 0 ? EXIT_FOUND : EXIT_OK;
}
/** --mutate: a share from 0 to 1, or auto. */
function parseMutate(v: string): number | 'auto' {
  if (v.trim() === 'auto') return 'auto';
  try {
    return parseShare(v);
  } catch {
    throw new InvalidArgumentError('must be auto or a number from 0 to 1, e.g. 0.5');
  }
}

/** --concurrency: a share from 0 to 1. */
function parseShare(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a number from 0 to 1, e.g. 0.5');
  return n;
}

export function registerFuzz(program: Command): void {
  const cpus = availableParallelism();
  const cmd = program
    .command('fuzz')
    .summary('run a fuzzing campaign on all cores')
    .description(
      [
        'Generate cases from (seed, index), run them on a pool of worker threads, minimise every new failure and ' +
          `save everything in the campaign folder --out (default ${DEFAULT_OUT}/, git-ignored): crashes/ (one minimised case per unique failure signature), ` +
          'corpus/ (cases that reached new model coverage), findings/ (one example case per kind of finding that is not a failure: accepted risks, ' +
          'known design findings, performance findings), stats.jsonl (a stats record every 5 s: tdxfuzz plot DIR draws it) and campaign.json ' +
          '(seed, design, design space, shard and the next case: what --resume continues from). ' +
          'The committed regression corpus (--regression-corpus, default ./corpus) is only read: its coverage is not added again. ' +
          'With --cases N the saved files are the same for any number of --workers, and the same after any number of interruptions and --resume.',
        `Without --cases or --duration the campaign runs for ${DEFAULT_DURATION}. ` +
          'A status screen goes to stderr (a plain line every 5 s when stderr is not a terminal). ' +
          'Unless --json, stderr also tells of the first failing case as soon as it is found and of each new unique failure as soon as its minimised case is saved, with or without --no-progress. ' +
          'Ctrl-C stops dispatching and finishes the work in flight, so nothing found is lost; a second Ctrl-C (half a second later or more) quits at once.',
        'Resume: --resume continues the campaign in --out at its next case, with its seed, design, design space and shard, as if it had never ' +
          'stopped; --cases N then runs up to case N, --duration T for T more, and neither continues the campaign\'s own plan (its cases, or what is left of its duration).',
        'Shards: --shard i/n runs the cases i, i+n, i+2n, ... so that n machines run disjoint parts of one campaign; --shard auto takes i from ' +
          'JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) and n from TDXFUZZ_SHARDS (or auto/n); tdxfuzz merge unions their folders. See docs/scale-out.md.',
        'Design space: by default each case varies the deployment settings of the v3 design (vmMemoryAttributes, backing, ' +
          'dpamt, nonBlockingResize, tdxHugePage, enhancedDemoteInterruptibility; splitPolicy with 1G backing under CONTIGUITY), drawn from (seed, case index); ' +
          'about half the cases keep the campaign design, and a setting your --config file names is never varied. ' +
          '--design-space FILE samples the settings the file names instead, e.g. {"refcountPolicy": ["NONE", {"value": "HOLD_ON_ZAP_FAILURE", "weight": 2}]}; ' +
          '--no-design-space runs the campaign design only. A failure found on another design names the settings that differ.',
        'Concurrency: --concurrency S deals the ops of a share S of the cases to several actors (one to four vCPUs, the userspace ioctl thread, the host mm) ' +
          'that run step by step under a schedule, PCT (Burckhardt et al., ASPLOS 2010) or random switches (--schedule); locks have owners, and a vCPU ' +
          'inside the guest makes the TDX module answer TDX_OPERAND_BUSY. Saved failures record the switches the run made. Off by default for now: concurrent ' +
          'cases run at about half the speed of one-actor cases, and long campaigns on the correct design have turned up a false alarm (a model or ' +
          'oracle gap) about once in every few hundred thousand concurrent cases, each fixed since; the last 30-minute campaign, 3.4 million cases, found none.',
        'Mutation: from case 512 on, a share of the cases is made by mutating corpus cases (ops inserted, deleted, duplicated, spliced from a second ' +
          'parent; arguments moved to 2M boundaries, memslot edges, one-page ranges, the other level; faults inserted, moved, weakened, removed; ' +
          'schedules perturbed); the rest, and the first 512 cases, are generated afresh, so the campaign starts at once. With --mutate auto (the default) ' +
          `the share starts at ${formatShare(ADAPTIVE_START)} and each epoch of ${EPOCH} cases moves between ${formatShare(ADAPTIVE_MIN)} and ${formatShare(ADAPTIVE_MAX)} toward the kind of case, mutated or generated, that brought more ` +
          `new coverage per case in the last ${ADAPTIVE_WINDOW} epochs committed (a two-armed bandit: generation wins early, mutation once the easy coverage is taken); ` +
          '--mutate S fixes it at S. Parents are drawn by the coverage they brought and how recent they are, from the corpus ' +
          'as it stood one epoch of 512 cases earlier, so --cases N gives the same files with any --workers, and --resume the same files as an ' +
          'unbroken campaign (campaign.json lists the pool and the record the share follows). --mutate 0 generates every case; a campaign run again in the same folder mutates ' +
          'the corpus the first one grew, so it is a new search, not a repeat.',
        'Exit code: 0 if nothing new failed, 1 if new unique failures were saved, 2 for a bad option or file (nothing written), ' +
          '4 if the file system refused (read-only, full or unreadable folder, symbolic link loop: the summary lists what was saved), ' +
          '130 if stopped by Ctrl-C (143: SIGTERM) after saving what it found.',
      ].join('\n\n'),
    )
    .addOption(
      new Option('-w, --workers <n>', `worker threads, at most ${WORKERS_PER_CPU_MAX} x the CPUs (more than the CPUs warns)`).argParser(parseWorkers).default(cpus, `${cpus}, the number of CPUs`),
    )
    .addOption(new Option('-s, --seed <s>', 'campaign seed (integer 0..4294967295); case i is generated from (seed, i)').argParser(parseSeed).default(1))
    .addOption(new Option('-n, --cases <n>', 'run the cases with index below N (this shard\'s share of them), then stop').argParser(parseCases).conflicts('duration'))
    .addOption(
      new Option('-d, --duration <time>', `stop dispatching after this long: 500ms, 30s, 10m, 8h, 1h30m (default: ${DEFAULT_DURATION} unless --cases)`).argParser(
        parseDuration,
      ),
    )
    .addOption(new Option('-o, --out <dir>', `campaign folder: crashes/, corpus/, findings/, stats.jsonl, campaign.json, ${SEED_CACHE_FILE}`).default(DEFAULT_OUT))
    .addOption(new Option('--resume', 'continue the campaign in --out from its next case (see above)'))
    .addOption(new Option('--shard <i/n>', 'run only cases i, i+n, i+2n, ...; "auto": i from JOB_COMPLETION_INDEX, n from TDXFUZZ_SHARDS or auto/n').argParser(parseShardOption))
    .addOption(new Option('--corpus <dir>', 'working corpus instead of OUT/corpus: read at start, new-coverage cases saved here'))
    .addOption(new Option('--crashes <dir>', 'crash folder instead of OUT/crashes: unique minimised failures, one file per signature'))
    .addOption(new Option('--regression-corpus <dir>', 'committed corpus, only read: its coverage and cases are not saved again (skipped if missing)').default('corpus'))
    .addOption(new Option('--no-regression-corpus', 'do not read a regression corpus'))
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
      new Option('--concurrency <share>', 'share of cases (0 to 1) whose ops are dealt to several actors (vCPUs, an ioctl thread, the host mm) and interleaved step by step, e.g. 0.5; 0: one actor')
        .argParser(parseShare)
        .default(DEFAULT_CONCURRENCY.share),
    )
    .addOption(
      new Option('--schedule <policy>', 'how concurrent cases interleave: pct (priorities with change points), random (random switches), or mix (half each)')
        .choices(SCHEDULE_MIXES as string[])
        .default(DEFAULT_CONCURRENCY.schedule),
    )
    .addOption(
      new Option(
        '--mutate <share>',
        `share of cases from case 512 on made by mutating corpus cases once the corpus has any; the rest are generated. auto: the share follows the new coverage each kind of case brought lately (${formatShare(ADAPTIVE_MIN)} to ${formatShare(ADAPTIVE_MAX)}, ${formatShare(ADAPTIVE_START)} at first); 0 to 1: a fixed share; 0: generate every case`,
      )
        .argParser(parseMutate)
        .default('auto'),
    )
    .addOption(
      new Option('--fail-on <class>', 'also count performance findings as failures: a 2M range mapped 4K where the design should map it 2M (PERF-2M), folios not merged back (INV-33)').choices(['perf']),
    )
    .addOption(
      new Option(
        '--no-seed-cache',
        `run every corpus case at the start, instead of taking the verdict and coverage this build of tdxfuzz recorded for it in OUT/${SEED_CACHE_FILE} (the file is then neither read nor written)`,
      ),
    )
    .addOption(new Option('--json', 'print the final summary as one JSON object on stdout, and no status screen'))
    .addOption(new Option('--no-progress', 'no status on stderr (by default: a status screen on a terminal, else a plain line every 5 s)'));
  cmd.action((o: FuzzOptions) => fuzz(o, (k) => cmd.getOptionValueSource(k) === 'cli'));
}
