// The campaign coordinator: hands batches of case indices to a piscina pool, commits their results in
// index order (a reorder buffer), has every new failure minimised in the pool, saves unique failures to
// the crash store and new coverage to the corpus. Results depend only on (design, seed, cases): not on
// the worker count, the batch size or timing (architecture principle 3).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { FixedQueue, Piscina } from 'piscina';
import type { Design } from '../model/config.js';
import { CAMPAIGN_FORMAT, CAMPAIGN_VERSION, type CampaignProgress, type RawHits, emptyProgress, type FindingCount, type Shard, writeCampaignState } from './campaignState.js';
import { type Case, CaseError, caseId, type Expect, loadCase, serializeCase } from './case.js';
import { MINIMIZING, RUNNING, SharedCounters } from './counters.js';
import { asEnvironmentError, type EnvironmentError } from './envError.js';
import { findingFileStem } from './findings.js';
import { isMutated } from './mutate.js';
import { campaignCase, designDiff, type DesignSpace, type MutationSource, type SettingValue } from './designSpace.js';
import { ADAPTIVE_WINDOW, cumulativeOf, entriesNeeded, EPOCH, epochOf, type EpochYield, epochShare, type MutationSettings, mutatesIn, parentCost, type PoolEntry, poolWeights, snapshotBoundary, YIELDS_KEPT } from './pool.js';
import type { ConcurrencySettings } from './concurrency.js';
import { GENERATOR_VERSION } from './generate.js';
import { chooseProgressMode, createProgressView, type ProgressSnapshot, type ProgressView, type WorkerHealth } from './progress.js';
import { InOrder } from './reorder.js';
import { runCase } from './run.js';
import { coreSignature, signatureDetection } from './signature.js';
import type { Detection } from '../oracle/invariants.js';
import { globalIndex, localIndex, shardCases } from './shard.js';
import { appendStats, type StatsRecord } from './stats.js';
import { CorpusStore, CrashStore, listCaseFiles, writeFileAtomic } from './store.js';
import { SeedCache } from './seedCache.js';
import { type BatchReply, type BatchTask, createRunner, type EarlyFailure, type MinimizeReply, type MinimizeTask, type Runner, type SeedReply, type WorkerReply, type WorkerSettings, type WorkerTask } from './runner.js';
import { PriorityTaskQueue } from './taskQueue.js';

export interface CampaignOptions {
  design: Design;
  /**
   * The design space each case's settings are drawn from, deterministically from (seed, index)
   * (src/fuzz/designSpace.ts). Default: none, every case runs `design`; the CLI passes the default space.
   */
  space?: DesignSpace | null;
  /** Share of cases dealt to several actors, and their scheduling policies (concurrency.ts). Default: none. */
  concurrency?: ConcurrencySettings | null;
  /** Share of cases mutated from the corpus pool (pool.ts, mutate.ts). Default: none, every case is generated. */
  mutation?: MutationSettings | null;
  seed: number;
  workers: number;
  /** Run the cases with global indices below this (indices 0..cases-1, or this shard's share of them). */
  cases?: number;
  /** Stop dispatching after this long. Without `cases` or `durationMs` the campaign runs until aborted. */
  durationMs?: number;
  crashesDir: string;
  corpusDir: string;
  /** One example case per finding kind that is not a failure (findings.ts); none saved without it. */
  findingsDir?: string;
  /** Corpora only read: their coverage and case ids seed the campaign's (the committed regression corpus). */
  readOnlyCorpora?: string[];
  /** campaign.json: identity and progress, written at the start, every few seconds and at the end. */
  stateFile?: string;
  /** stats.jsonl: a stats record appended every `statsEveryMs` and at the end. */
  statsFile?: string;
  statsEveryMs?: number;
  /** Continue a campaign from this progress (read from its campaign.json): from its next case, with its history. */
  resume?: CampaignProgress;
  /** This machine's part of the case space (src/fuzz/shard.ts). */
  shard?: Shard | null;
  /** Cases per task, from the first. Default: adaptive, ramped up from 1 and aiming at a few milliseconds per task. Never changes results. */
  batchSize?: number;
  /** Show the status screen on stderr (a screen on a terminal, a line every 5 s otherwise). Default false. */
  progress?: boolean;
  /** Machine-readable output wanted: no status screen. */
  json?: boolean;
  /** Called with every status sample (about every 250 ms). */
  onProgress?: (s: ProgressSnapshot) => void;
  /** Abort: stop dispatching, finish batches and minimisations in flight, then return. A string reason is shown. */
  signal?: AbortSignal;
  /** Where warnings go (unreadable corpus files). Default: stderr, above the status screen. */
  warn?: (message: string) => void;
  /** Performance findings (INV-33, PERF-2M) fail cases (--fail-on perf). */
  failOnPerf?: boolean;
  /**
   * Benchmarks: called with the coverage after the first n, 2n, 3n, ... cases (shard-local count), exactly,
   * whatever the batch sizes, so a coverage curve over cases is deterministic.
   */
  coverageEvery?: { cases: number; record: (cases: number, coverage: number) => void };
  /** Stop dispatching once this many failing cases are committed (benchmarks: time to first failure). */
  stopAfterFailingCases?: number;
  /** Stop dispatching once a failing case whose signature names damage is committed (benchmarks: time to first damage). */
  stopAfterDamage?: boolean;
  /**
   * Told as failures commit (in index order): the first failing case, and each new unique failure once its
   * minimised case is saved; `log` prints above the status screen. The CLI announces them on stderr.
   */
  onFailure?: (e: FailureEvent, log: (message: string) => void) => void;
  /**
   * Run the first batches in the main thread until a worker thread has loaded its modules and the workers
   * have run the corpus cases (issue 14: the first cases wait neither for the pool nor for the corpus).
   * Default true; never changes results.
   */
  mainThreadStart?: boolean;
  /**
   * Keep what each corpus case gave when seeded in this file, for the code named by `fingerprint`
   * (seedCache.ts; asked for when the corpus is read, not before the first cases: hashing the bundle takes
   * about 5 ms; null: no cache), and take the results found there instead of running the cases again.
   * Never changes results.
   */
  seedCache?: { file: string; fingerprint: () => string | null } | null;
  /** Tests of the harness only: the main thread runs every batch starting below this shard-local index, workers up or not. */
  mainThreadUntil?: number;
  /** Tests of the harness only: told of every batch dispatched, and whether the main thread runs it. */
  onBatch?: (b: { start: number; count: number; mainThread: boolean }) => void;
  /** Tests of the harness only: told when the worker threads start, with the number of cases dispatched before. */
  onWorkersStart?: (casesBefore: number) => void;
  /** Tests of the harness only: told of every minimisation begun, whether the main thread runs it, and whether a worker thread was up. */
  onMinimize?: (m: { index: number; mainThread: boolean; workersUp: boolean }) => void;
  /** Tests of the harness only: an exception in every op of this kind; a worker that exits at this global index. */
  selfTest?: { throwIn?: string; exitAt?: number };
}

/** A failure event of a running campaign (CampaignOptions.onFailure). */
export type FailureEvent =
  | { kind: 'first'; caseIndex: number; signature: string; elapsedMs: number }
  | { kind: 'saved'; failure: UniqueFailure; elapsedMs: number };

export interface UniqueFailure {
  signature: string;
  /** How the failure shows its bug: damage the spec names, or a structural rule broken with no damage seen. */
  detection: Detection;
  file: string;
  /** Operations in the saved (minimised) case. */
  ops: number;
  caseIndex: number;
  /** The case's design settings that differ from the campaign design (layout left out); {} on the campaign design. */
  design: Record<string, SettingValue>;
  /**
   * Other signatures of the same finding: minimised signatures with the same invariant and op that differ
   * only in fault kinds (their cases are saved too), and the raw signatures of the cases that led to it.
   */
  alternates: string[];
}

export interface CampaignSummary {
  seed: number;
  workers: number;
  design: Design;
  /** The design space sampled, null when every case ran `design`. */
  designSpace: DesignSpace | null;
  /** Several actors per case, or null. */
  concurrency: ConcurrencySettings | null;
  /** TDX_OPERAND_BUSY answers no fault injected, over this run (contention between actors). */
  busyUninjected: number;
  shard: Shard | null;
  /** This run continued an earlier one (--resume). */
  resumed: boolean;
  /** Cases run by this run. */
  cases: number;
  /** Of those, cases mutated from the corpus pool. */
  mutated: number;
  /** The share of cases the newest mutating epoch mutates (with --mutate auto, where the share went); null before any. */
  mutationShare: number | null;
  /** Mutation settings, or null when every case was generated. */
  mutation: MutationSettings | null;
  /** Cases run by the campaign over all its runs. */
  campaignCases: number;
  /** The next global case index this campaign (shard) would run: where --resume starts. */
  nextIndex: number;
  ops: number;
  steps: number;
  elapsedMs: number;
  casesPerSec: number;
  opsPerSec: number;
  /** Failing cases before deduplication (this run). */
  failingCases: number;
  /** Failures new to the crash store, saved by this run. */
  uniqueFailures: UniqueFailure[];
  /** Signatures found again that the crash store already held (with the design of this campaign's case). */
  knownFailures: { signature: string; detection: Detection; file: string; design: Record<string, SettingValue> }[];
  /** Failing cases that reproduced a signature already counted. */
  duplicates: number;
  /** Cases saved to the corpus by this run. */
  corpusAdded: number;
  /** Corpus files that seeded the coverage set (working and read-only corpora). */
  corpusSeeded: number;
  /** Of those, the files whose results came from the seed cache instead of a run. */
  corpusSeededFromCache: number;
  /** Distinct coverage features at the end. */
  coverage: number;
  /** Findings that are not failures, per kind, over the whole campaign, with the example saved for each. */
  findings: FindingCount[];
  /** Batches whose worker died twice: their cases were not run. */
  lostCases: CampaignProgress['lostCases'];
  /** Workers that died and were replaced. */
  workerRestarts: number;
  /** Stopped early by an abort (Ctrl-C). */
  interrupted: boolean;
  /** The file system refused (read-only, full, unreadable): the campaign stopped; what it saved before is intact. */
  environmentError: string | null;
  /** The first failing case in index order and when it was committed, if any. */
  firstFailure: { caseIndex: number; signature: string; elapsedMs: number } | null;
  /** The first failing case whose (raw) signature names damage, and when it was committed, if any. */
  firstDamage: { caseIndex: number; signature: string; elapsedMs: number } | null;
}

/** The directory holding package.json, found from this module's location (works from dist/ and from src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function workerFile(): string {
  // the worker next to this module: dist/bundle/worker.js for the bundled command line (rolldown.config.mjs),
  // dist/src/fuzz/worker.js for tsc's output; the tests import the sources and take tsc's
  const sibling = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const file = join(packageRoot(), 'dist', 'src', 'fuzz', 'worker.js');
  if (!existsSync(file)) throw new Error(`compiled worker not found at ${file}; run \`npm run build\` first`);
  return file;
}

/** The main thread runs this many cases alone before the worker threads start and the corpus is read. */
const SEED_AFTER = 128;
/**
 * Work per task the batch sizer aims at (anchors.md 3.4: at least 1-10 ms per task keeps dispatch overhead
 * small). 20 ms: 60,000 cases ran about 7% faster on 1 and on 2 workers than with 5 ms (fewer messages and
 * wake-ups on a 2-core machine where this thread and the workers share the cores).
 */
const TARGET_TASK_MS = 20;
const MIN_BATCH = 8;
const MAX_BATCH = 4096;
const FIRST_BATCH = 64;
/** The first batch runs this many cases, each next one twice as many until the sizer's adaptive size (issue 14: a failure at case 5 needs no batch of 64 in cold code). */
const RAMP_FROM = 1;
const SAMPLE_MS = 250;
/** Rates on the status line are averaged over this many samples. */
const RATE_WINDOW = 20;

/** Picks the size of the next batch from the measured time per case; sizes never change results. */
class BatchSizer {
  private perCaseMs = -1;
  private ramp = RAMP_FROM;
  constructor(private readonly fixed: number | undefined, private readonly workers: number) {}

  observe(r: BatchReply): void {
    if (r.count === 0) return;
    const x = r.ms / r.count;
    this.perCaseMs = this.perCaseMs < 0 ? x : 0.7 * this.perCaseMs + 0.3 * x;
  }

  next(remaining: number): number {
    let n = this.fixed ?? (this.perCaseMs <= 0 ? FIRST_BATCH : Math.round(TARGET_TASK_MS / this.perCaseMs));
    n = Math.min(Math.max(n, MIN_BATCH), MAX_BATCH);
    // an adaptive size ramps up; a fixed one (tests, benchmarks) is kept from the first batch
    if (this.fixed === undefined) n = Math.min(n, this.ramp);
    this.ramp = Math.min(2 * this.ramp, MAX_BATCH);
    // Spread a bounded campaign's tail over all workers.
    if (this.fixed === undefined && Number.isFinite(remaining)) n = Math.min(n, Math.max(1, Math.ceil(remaining / (2 * this.workers))));
    return Math.max(1, Math.min(n, remaining));
  }
}

/** A one-shot wake-up for the dispatch loop; a notify before the wait is not lost. */
class Wakeup {
  private resolve: (() => void) | null = null;
  private pending = false;
  notify(): void {
    if (this.resolve) {
      const r = this.resolve;
      this.resolve = null;
      r();
    } else this.pending = true;
  }
  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((r) => (this.resolve = r));
  }
}

interface Seeded {
  features: Set<number>;
  /** The corpus cases read, in order, with the coverage each added: the mutation pool's first entries. */
  pool: PoolEntry[];
  /** The file each case id was read from. */
  files: Map<string, string>;
  ids: Set<string>;
  filesRead: number;
  /** Files in the working corpus at the start. */
  working: number;
}

/** A corpus file read at the start: its case, and once run (in any thread), its verdict and coverage. */
interface CorpusCase {
  file: string;
  case: Case;
  /** caseId(case), computed once. */
  id: string;
  /** May be a parent: it runs with the campaign's guards, and has one actor unless the campaign has several. */
  candidate: boolean;
  run?: { pass: boolean; features: ArrayLike<number> };
}

/**
 * Read the corpora (read-only ones first, then the working corpus), without running them yet. A parent must
 * run with the campaign's guards: a mutated child keeps its parent's design, so a regression case of a
 * known-bug variant (a guard off, passing unless performance findings fail) would turn a default campaign
 * into a hunt for that bug. For the same reason a campaign without --concurrency takes no parent with
 * several actors.
 */
function readCorpora(working: CorpusStore, readOnly: readonly string[], warn: (m: string) => void, guardsOff: readonly string[], actors: boolean): { cases: CorpusCase[]; working: number } {
  const cases: CorpusCase[] = [];
  let workingRead = 0;
  const read = (files: string[], isWorking: boolean): void => {
    for (const file of files) {
      try {
        const c = loadCase(file);
        const sameGuards = c.design.guardsOff.length === guardsOff.length && c.design.guardsOff.every((g) => guardsOff.includes(g));
        cases.push({ file, case: c, id: caseId(c), candidate: sameGuards && (actors || !c.actors) });
        if (isWorking) workingRead++;
      } catch (e) {
        if (!(e instanceof CaseError)) throw asEnvironmentError(e, file) ?? e;
        warn(`warning: corpus file skipped: ${e.message}`);
      }
    }
  };
  for (const dir of readOnly) if (existsSync(dir)) read(listCaseFiles(dir), false);
  read(working.list(), true);
  return { cases, working: workingRead };
}

/** How long a running worker may go without a heartbeat before the status screen calls it stalled. */
const STALL_MS = 10_000;
const STATS_EVERY_MS = 5000;

class Campaign {
  private readonly t0 = performance.now();
  private readonly crashes: CrashStore;
  private readonly corpus: CorpusStore;
  private readonly counters: SharedCounters;
  private readonly sizer: BatchSizer;
  private readonly wake = new Wakeup();
  /** Shard cases to run: local indices below this. */
  private readonly limit: number;
  private readonly deadline: number;
  /** The corpora's coverage, ids and parents, gathered in corpus order as their cases run; complete once seedingDone. */
  private readonly seeded: Seeded = { features: new Set(), pool: [], files: new Map(), ids: new Set(), filesRead: 0, working: 0 };
  private corpusCases: CorpusCase[] = [];
  private corpusRead = false;
  private seedCache: SeedCache | null = null;
  private seedingStarted = false;
  private seedsLeft = 0;
  /** Position of the last corpus case that may be a parent: once it and every case before it ran, the starting parents are known. */
  private lastCandidate = -1;
  private seedingDone = false;
  /** The pool snapshot of epochs 0 and 1 (the parents the run starts with) is known. */
  private startPoolKnown: boolean;
  private readonly shard: Shard | null;
  private readonly warn: (m: string) => void;
  /** The worker threads, started by startWorkers. */
  private pool: Piscina<WorkerTask, WorkerReply> | null = null;
  private settings!: WorkerSettings;
  /** The main thread's executor, for the first batches while no worker thread has loaded its modules. */
  private local: Runner | null = null;
  /** The pool's task queue, made with the pool. */
  private taskQueue: PriorityTaskQueue | null = null;
  /**
   * piscina, imported when the worker threads are due (loadPiscina): importing it takes about 25 ms, which
   * the main thread's first cases need not wait for.
   */
  private piscina: { Piscina: typeof Piscina; FixedQueue: typeof FixedQueue } | null = null;
  /** The import of piscina: under way, or failed (the campaign then ends with its error, without seeding). */
  private piscinaImport: 'none' | 'loading' | 'failed' = 'none';
  private view: ProgressView = { update() {}, log() {}, stop() {} };

  private nextIndex: number;
  private batchSeq = 0;
  private minimizeSeq = 0;
  private batchesInFlight = 0;
  /** Batches running in the main thread (one at most). */
  private localInFlight = 0;
  private minimizesInFlight = 0;
  private seedsInFlight = 0;
  /** Minimisations started on a batch's early report, by raw signature, until a failure with it is committed. */
  private readonly early = new Map<string, { index: number; run: Promise<MinimizeReply> }>();
  private earlyInFlight = 0;
  private stopping = false;
  private interrupted = false;
  private fatal: unknown = null;
  private envError: EnvironmentError | null = null;
  private workerRestarts = 0;
  /** Global index of each minimisation, by sequence number: those not committed yet are pending. */
  private readonly minimizeIndex: number[] = [];

  // Committed state: changes only in index order.
  private readonly p: CampaignProgress;
  private readonly before: { cases: number; ops: number; steps: number; busy: number; failingCases: number; corpusAdded: number; elapsedMs: number };
  private features = new Set<number>();
  private readonly rawSignatures: Set<string>;
  private readonly savedSignatures = new Set<string>();
  private readonly unique: UniqueFailure[] = [];
  private firstFailure: CampaignSummary['firstFailure'] = null;
  private firstDamage: CampaignSummary['firstDamage'] = null;
  private readonly known: CampaignSummary['knownFailures'] = [];
  private readonly findingSaved: Set<string>;
  private readonly rawHits = new Map<string, RawHits>();
  private lastNewCoverage: number;
  private lastNewFailure: number | null = null;
  /** Batches commit their failures in order at once, and their coverage in order once the corpus is seeded. */
  private readonly batches = new InOrder<BatchReply>((r) => {
    this.commitFailures(r);
    this.uncovered.push(r);
    this.commitCoverageReady();
  });
  private readonly uncovered: BatchReply[] = [];
  private readonly seeds = new InOrder<SeedReply>((r) => this.commitSeed(r));
  private readonly minimized = new InOrder<MinimizeReply>((r) => this.commitMinimize(r));
  /** The mutation pool: seeded corpus cases, then each case committed with new coverage, in index order. */
  private corpusPool: PoolEntry[];
  private readonly views = new Map<number, MutationSource>();
  private mutatedCases = 0;
  /** What mutated and generated cases brought, per epoch, for the last YIELDS_KEPT epochs committed (the adaptive share's record). */
  private readonly yields: EpochYield[];
  /** The share of the newest epoch whose snapshot was made (the summary shows where --mutate auto went). */
  private shareNow = { epoch: -1, share: 0 };
  /** The next case count coverageEvery reports at. */
  private nextMark = Infinity;

  constructor(private readonly o: CampaignOptions) {
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`workers must be a positive integer, got ${o.workers}`);
    this.shard = o.shard ?? null;
    this.crashes = new CrashStore(o.crashesDir);
    this.corpus = new CorpusStore(o.corpusDir);
    this.counters = new SharedCounters(undefined, Math.max(16, 2 * o.workers));
    this.sizer = new BatchSizer(o.batchSize, o.workers);
    this.limit = o.cases === undefined ? Number.MAX_SAFE_INTEGER : shardCases(this.shard, o.cases);
    this.deadline = o.durationMs === undefined ? Infinity : this.t0 + o.durationMs;
    this.warn = o.warn ?? ((m) => this.view.log(m));
    this.p = o.resume ? structuredClone(o.resume) : emptyProgress();
    this.p.runs++;
    this.before = { cases: this.p.cases, ops: this.p.ops, steps: this.p.steps, busy: this.p.busy ?? 0, failingCases: this.p.failingCases, corpusAdded: this.p.corpusAdded, elapsedMs: this.p.elapsedMs };
    this.nextIndex = this.p.next;
    this.rawSignatures = new Set(this.p.rawSignatures);
    this.p.rawHits ??= [];
    for (const h of this.p.rawHits) this.rawHits.set(h.signature, h);
    this.findingSaved = new Set(this.p.findings.filter((f) => f.file !== '').map((f) => f.kind));
    this.lastNewCoverage = this.t0;
    // the parents the run starts with: a resumed run's are in campaign.json; a new run's come from seeding
    this.corpusPool = this.p.pool ? this.resumePool(this.p.pool) : [];
    this.yields = this.p.yields ? structuredClone(this.p.yields) : [];
    this.startPoolKnown = !this.mutating || this.p.pool !== undefined;
    if (o.coverageEvery) this.nextMark = this.p.next + o.coverageEvery.cases;
  }

  /** Coverage for the status and stats: while the corpus seeds, what its cases run so far hold. */
  private get coverageSoFar(): number {
    return this.seedingDone ? this.features.size : this.seeded.features.size;
  }

  private get mutating(): boolean {
    return (this.o.mutation?.share ?? 0) > 0;
  }

  /** The pool the interrupted run had, from its files (a file gone since: the entry is left out, with a warning). */
  private resumePool(saved: NonNullable<CampaignProgress['pool']>): PoolEntry[] {
    const out: PoolEntry[] = [];
    for (const e of saved) {
      try {
        out.push({ case: loadCase(e.file), file: e.file, index: e.index, brought: e.brought });
      } catch (err) {
        if (!(err instanceof CaseError)) throw asEnvironmentError(err, e.file) ?? err;
        this.warn(`warning: mutation pool entry skipped (later cases differ from an unbroken campaign): ${err.message}`);
      }
    }
    return out;
  }

  /** Is epoch k's snapshot known (every case below its boundary committed; for epochs 0 and 1, the parents the run starts with)? */
  private snapshotKnown(epoch: number): boolean {
    return !mutatesIn(this.o.mutation, epoch) || (snapshotBoundary(epoch) <= this.p.next && (epoch >= 2 || this.startPoolKnown));
  }

  /**
   * The pool snapshot of an epoch, as campaignCase takes it; null when the campaign does not mutate.
   * `rebuild`: for a case an interrupted run left to minimise, which may be older than the share record kept.
   */
  private source(epoch: number, rebuild = false): MutationSource | null {
    if (!mutatesIn(this.o.mutation, epoch)) return null;
    let v = this.views.get(epoch);
    if (!v) {
      if (!this.snapshotKnown(epoch)) throw new Error(`internal: the pool snapshot of epoch ${epoch} is used before its boundary is committed`);
      // the entries added by cases below the boundary (the pool is in index order, the starting corpus first)
      const boundary = snapshotBoundary(epoch);
      const entries = this.corpusPool;
      let length = entries.length;
      while (length > 0 && entries[length - 1].index >= boundary) length--;
      const cumulative = cumulativeOf(poolWeights(entries.map((e) => ({ brought: e.brought, cost: parentCost(e.case) })), length));
      const m = this.o.mutation!;
      // an adaptive share is set by the epochs committed before this snapshot (up to epoch-2), like the parents;
      // the record kept reaches back far enough for every epoch whose cases are still dispatched or saved
      // (a failure left to minimise by an interrupted run may be older: it is rebuilt as best it can be, and
      // dropped by resumeMinimizations if it no longer fails, as with a pool that changed)
      const kept = this.yields[0]?.epoch ?? 0;
      if (m.adaptive && kept > 0 && epoch - 1 - ADAPTIVE_WINDOW < kept && !rebuild) throw new Error(`internal: the share of epoch ${epoch} needs yields from before epoch ${kept}, no longer kept`);
      v = { mutation: m.adaptive ? { ...m, share: epochShare(m, epoch, this.yields) } : m, view: { cumulative, entry: (pos) => entries[pos].case } };
      if (epoch >= this.shareNow.epoch) this.shareNow = { epoch, share: v.mutation.share };
      this.views.set(epoch, v);
      // views of epochs whose cases are all committed are not needed again (minimisations carry their case)
      for (const k of this.views.keys()) if ((k + 1) * EPOCH < this.p.next - EPOCH) this.views.delete(k);
    }
    return v;
  }

  /** Case `index` (global) of the campaign, as its batch ran it (`rebuild`: see source). */
  private caseAt(index: number, rebuild = false): Case {
    const o = this.o;
    return campaignCase(o.design, o.space, o.seed, index, o.concurrency, this.source(epochOf(localIndex(this.shard, index)), rebuild));
  }

  async run(): Promise<CampaignSummary> {
    const o = this.o;
    const settings: WorkerSettings = {
      design: o.design,
      space: o.space ?? null,
      concurrency: o.concurrency ?? null,
      campaignSeed: o.seed,
      countersBuffer: this.counters.buffer,
      mutation: o.mutation ?? null,
      failOnPerf: o.failOnPerf ?? false,
      allFeatures: !!o.seedCache,
      shard: this.shard,
      selfTestThrowIn: o.selfTest?.throwIn,
      selfTestExitAt: o.selfTest?.exitAt,
    };
    this.checkpoint(); // the folder names its campaign from the start, so even a killed campaign resumes
    this.settings = settings;
    // a worker that exits on purpose (selfTest.exitAt) must do so in a worker thread, never in this one
    if (o.mainThreadStart !== false && o.selfTest?.exitAt === undefined) {
      this.local = createRunner(settings, this.counters, -1, (m) => this.guarded(() => this.minimizeEarly(m, true)));
    }
    const onAbort = (): void => {
      this.interrupted = true;
      this.stopping = true;
      if (typeof o.signal?.reason === 'string') this.view.log(o.signal.reason);
      this.wake.notify();
    };
    this.view = this.startProgress();
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.loop();
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      this.view.stop();
      await this.pool?.destroy();
    }
    if (this.fatal !== null) throw this.fatal;
    this.saveSeedCache();
    this.checkpoint();
    this.appendStats();
    return this.summary();
  }

  /**
   * Start the worker threads. With a main thread that runs the first cases, not before it has run SEED_AFTER
   * of them (seedWhenDue): threads loading their modules beside it slow its cold first cases. On BUG-5,
   * BUG-15 and BUG-23 (3 seeds each, bench (a)'s command) the first minimised failure came 5-30% sooner than
   * with the threads started at once, and sooner than with one thread started at once; 128 cases did a little
   * better than 32, 64 or 256 (BUG-5/6/19/23).
   */
  private startWorkers(): Piscina<WorkerTask, WorkerReply> {
    if (this.pool) return this.pool;
    if (!this.piscina) throw new Error('internal error: the worker threads are wanted before piscina was loaded');
    this.o.onWorkersStart?.(this.nextIndex);
    this.taskQueue = new PriorityTaskQueue(this.piscina.FixedQueue);
    const pool = new this.piscina.Piscina<WorkerTask, WorkerReply>({
      filename: workerFile(),
      minThreads: this.o.workers,
      maxThreads: this.o.workers,
      idleTimeout: 60 * 60_000,
      workerData: this.settings,
      taskQueue: this.taskQueue,
    });
    pool.on('message', (m: EarlyFailure) => {
      if (m?.kind === 'early-failure') this.guarded(() => this.minimizeEarly(m));
    });
    this.pool = pool;
    return pool;
  }

  /**
   * Hand the corpus cases read (readCorpusCases) that the seed cache did not have to the pool (seed tasks,
   * after minimisations, before batches).
   * The campaign's coverage needs them all, the parents' snapshot of the first two epochs only the cases up
   * to the last candidate parent (a parent's coverage brought counts the cases before it). When every
   * candidate fails (a known-bug campaign: its regression cases fail), run here at once, there are no
   * starting parents and the campaign starts without waiting.
   */
  private startSeeding(): void {
    const o = this.o;
    if (!this.startPoolKnown) {
      let parent = false;
      for (const cc of this.corpusCases) {
        if (!cc.candidate) continue;
        if (!cc.run) {
          const r = runCase(cc.case, { failOnPerf: o.failOnPerf });
          cc.run = { pass: r.verdict === 'pass', features: r.features };
        }
        if (cc.run.pass) {
          parent = true;
          break;
        }
      }
      this.startPoolKnown = !parent;
    }
    this.seedsLeft = this.corpusCases.length;
    if (this.seedsLeft === 0) this.finishSeeding();
    this.corpusCases.forEach((cc, pos) => {
      if (cc.run) this.seeds.put(pos, { pos, pass: cc.run.pass, features: Uint32Array.from(cc.run.features) });
      else {
        this.seedsInFlight++;
        this.startWorkers().run({ kind: 'seed', pos, case: cc.case }).then(
          (r) => {
            this.seedsInFlight--;
            this.guarded(() => this.seeds.put(pos, r as SeedReply));
          },
          (e: unknown) => this.taskFailed(e, () => this.seedsInFlight--),
        );
      }
    });
  }

  /** A corpus case has run (in corpus order): coverage it holds is not added again; a passing candidate is a parent. */
  private commitSeed(r: SeedReply): void {
    const { file, case: c, candidate, id } = this.corpusCases[r.pos];
    this.seedCache?.put(id, !!this.o.failOnPerf, r);
    const s = this.seeded;
    s.ids.add(id);
    s.files.set(id, file);
    s.filesRead++;
    const before = s.features.size;
    for (let i = 0; i < r.features.length; i++) s.features.add(r.features[i]);
    if (r.pass && candidate) s.pool.push({ case: c, file, index: -1, brought: s.features.size - before });
    if (!this.startPoolKnown && r.pos >= this.lastCandidate) {
      if (!this.p.pool) this.corpusPool = [...s.pool];
      this.startPoolKnown = true;
      this.resumeMinimizations();
    }
    if (--this.seedsLeft === 0) this.finishSeeding();
  }

  /** Keep the corpus cases' results for the next campaign in this folder; a cache that cannot be written is only a warning. */
  private saveSeedCache(): void {
    if (!this.seedingDone) return;
    try {
      this.seedCache?.save();
    } catch (e) {
      this.warn(`warning: seed cache not saved: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Every corpus case has run: the campaign's coverage starts from theirs, and batches commit their coverage. */
  private finishSeeding(): void {
    this.corpusCases = [];
    this.seedingDone = true;
    for (const f of this.seeded.features) this.features.add(f);
    // a mutating campaign took its starting parents when the last candidate ran (or knew there are none)
    if (!this.p.pool && this.mutating && this.corpusPool.length !== this.seeded.pool.length) throw new Error('internal: the starting parents changed after the last candidate parent ran');
    if (!this.p.pool && !this.mutating) this.corpusPool = [...this.seeded.pool];
    if (!this.startPoolKnown) {
      this.startPoolKnown = true;
      this.resumeMinimizations();
    }
    this.commitCoverageReady();
  }

  private resumed = false;
  /** Failures found but not minimised when the previous run stopped, in the order they were found (once the starting parents are known). */
  private resumeMinimizations(): void {
    if (this.resumed) return;
    this.resumed = true;
    for (const index of this.p.pendingMinimize) {
      // a mutated case is rebuilt from the pool this run started with, which may not be the one it came
      // from: minimise it only if it still fails
      if (this.mutating) {
        const c = this.caseAt(index, true);
        if (runCase(c, { failOnPerf: this.o.failOnPerf }).verdict === 'pass') {
          this.warn(`warning: case ${index}, left to minimise by the previous run, is rebuilt differently from the resumed corpus and passes; it is dropped`);
          continue;
        }
        this.dispatchMinimize(index, c);
      } else this.dispatchMinimize(index);
    }
  }

  /** This thread runs batches, one at a time, until a worker thread has loaded its modules and the workers have run the corpus cases. */
  private get mainThreadRuns(): boolean {
    return this.local !== null && (this.counters.started() === 0 || !this.seedingDone || this.nextIndex < (this.o.mainThreadUntil ?? 0));
  }

  /** The pool takes batches once a worker is up, and while the corpus seeds only when no corpus case waits (a batch would queue behind them). */
  private get poolRuns(): boolean {
    if (this.pool === null || this.nextIndex < (this.o.mainThreadUntil ?? 0)) return false;
    return (this.local === null || this.counters.started() > 0) && (this.seedingDone || (this.taskQueue?.waiting('seed') ?? 0) === 0);
  }

  /**
   * Start the worker threads, then read and seed the corpus, once the first cases are under way (issue 14: a
   * failure among the first cases need wait neither for the threads nor for the corpus files): after the main
   * thread's first SEED_AFTER cases, at once without a main thread, or when no more batches are to come.
   * Cases of the first epoch need no parents.
   */
  private seedWhenDue(): void {
    if (this.seedingStarted) return;
    const due = this.local === null || this.nextIndex >= SEED_AFTER || this.stopping || this.nextIndex >= this.limit || !this.snapshotKnown(epochOf(this.nextIndex));
    if (!due) return;
    if (!this.corpusRead) this.readCorpusCases();
    // no worker threads for nothing: with no case left to run and every corpus case's result in the seed
    // cache (fuzz --cases 1, a Ctrl-C at once), the campaign ends in this thread
    const poolWanted = (!this.stopping && this.nextIndex < this.limit) || this.corpusCases.some((cc) => !cc.run);
    if (poolWanted && !this.loadPiscina()) return;
    this.seedingStarted = true;
    if (poolWanted) this.startWorkers();
    this.startSeeding();
    if (this.startPoolKnown) this.resumeMinimizations();
  }

  /** Read the corpora, and take what the seed cache holds for their cases. */
  private readCorpusCases(): void {
    const o = this.o;
    const warn = (m: string): void => (o.warn ?? ((x: string) => process.stderr.write(x + '\n')))(m);
    const read = readCorpora(this.corpus, o.readOnlyCorpora ?? [], warn, o.design.guardsOff, !!o.concurrency && o.concurrency.share > 0);
    this.corpusRead = true;
    this.corpusCases = read.cases;
    this.seeded.working = read.working;
    const fingerprint = o.seedCache?.fingerprint() ?? null;
    if (o.seedCache && fingerprint !== null) {
      const cache = (this.seedCache = new SeedCache(o.seedCache.file, fingerprint, warn));
      for (const cc of this.corpusCases) cc.run = cache.get(cc.id, !!o.failOnPerf);
    }
    this.corpusCases.forEach((cc, pos) => {
      if (cc.candidate) this.lastCandidate = pos;
    });
  }

  /** Import piscina once; true when it is loaded (the loop is woken when it is). */
  private loadPiscina(): boolean {
    if (this.piscina) return true;
    if (this.piscinaImport !== 'none') return false;
    this.piscinaImport = 'loading';
    import('piscina').then(
      (m) => {
        this.piscina = m;
        this.piscinaImport = 'none';
        this.wake.notify();
      },
      (e: unknown) => this.taskFailed(e, () => (this.piscinaImport = 'failed')),
    );
    return false;
  }

  private async loop(): Promise<void> {
    // Keep about workers^2 batches in flight (piscina's maxQueue advice), at least two per worker; one at
    // a time in the main thread, so it hands over to the workers as soon as they are free.
    const target = Math.max(2 * this.o.workers, this.o.workers * this.o.workers);
    for (;;) {
      if (!this.stopping && performance.now() >= this.deadline) this.stopping = true;
      this.seedWhenDue();
      while (this.mayDispatch()) {
        if (this.localInFlight === 0 && this.mainThreadRuns) this.dispatchBatch(true);
        else if (this.batchesInFlight - this.localInFlight < target && this.poolRuns) this.dispatchBatch(false);
        else break;
      }
      if (this.batchesInFlight + this.minimizesInFlight + this.seedsInFlight + this.earlyInFlight === 0 && this.piscinaImport !== 'loading') return;
      await this.wake.wait();
    }
  }

  /**
   * Cases below the corpus seeding's end may run before it (their failures commit at once, their coverage
   * waits for it), up to two epochs ahead of the coverage committed.
   */
  private mayDispatch(): boolean {
    if (this.stopping || this.nextIndex >= this.limit || !this.snapshotKnown(epochOf(this.nextIndex))) return false;
    return this.seedingDone || this.nextIndex < this.p.next + 2 * EPOCH;
  }

  /** A tdxfuzz bug ends the campaign (exit 3); the environment refusing ends it with a summary (exit 4). */
  private fail(e: unknown): void {
    const env = asEnvironmentError(e);
    if (env) this.envError ??= env;
    else this.fatal ??= e;
    this.stopping = true;
  }

  /** Run a task in this thread, after the current event-loop turn (replies and timers go first). */
  private runHere<R extends WorkerReply>(task: WorkerTask, before?: () => void, after?: (r: R) => R): Promise<R> {
    const local = this.local!;
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        try {
          before?.();
          const r = local.handle(task) as R;
          resolve(after ? after(r) : r);
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /**
   * A minimisation runs in this thread while no worker thread is up (it would wait for one), or when asked
   * (`here`); else in the pool, ahead of batches.
   */
  private runMinimize(task: MinimizeTask, here = false): Promise<MinimizeReply> {
    const workersUp = this.counters.started() > 0;
    const local = this.local !== null && (here || !workersUp);
    this.o.onMinimize?.({ index: task.index, mainThread: local, workersUp });
    return local ? this.runHere<MinimizeReply>(task) : (this.startWorkers().run(task) as Promise<MinimizeReply>);
  }

  private dispatchBatch(here: boolean): void {
    const start = this.nextIndex;
    let count = this.sizer.next(this.limit - start);
    if (this.mutating) count = Math.min(count, EPOCH - (start % EPOCH)); // a batch stays in one epoch
    this.nextIndex += count;
    const seq = this.batchSeq++;
    this.batchesInFlight++;
    const task: BatchTask = { kind: 'batch', start, count };
    const src = this.source(epochOf(start));
    if (src) {
      const need = new Set<number>();
      for (let k = start; k < start + count; k++) for (const pos of entriesNeeded(this.o.seed, globalIndex(this.shard, k), src.mutation, src.view.cumulative)) need.add(pos);
      task.pool = { cumulative: src.view.cumulative, entries: [...need].map((pos) => [pos, src.view.entry(pos)]), share: src.mutation.share };
    }
    this.o.onBatch?.({ start, count, mainThread: here });
    const done = (r: BatchReply): void => {
      this.batchesInFlight--;
      this.sizer.observe(r);
      this.guarded(() => this.batches.put(seq, r));
    };
    if (here) {
      // the batch may end at its first failure when nothing was dispatched after it: the next batch starts there
      const end = start + count;
      const cut = (r: BatchReply): BatchReply => {
        this.localInFlight--;
        if (r.count < count) this.nextIndex = r.start + r.count;
        return r;
      };
      this.localInFlight++;
      this.runHere<BatchReply>(task, () => (task.stopAtFailure = this.nextIndex === end), cut).then(done, (e: unknown) =>
        this.taskFailed(e, () => {
          this.batchesInFlight--;
          this.localInFlight--;
        }),
      );
      return;
    }
    // A worker that dies is replaced by piscina; its batch is run once more, and if it dies again its
    // cases are reported as lost (the same cases kill it every time: results stay deterministic).
    const pool = this.startWorkers();
    pool.run(task).then(
      (r) => done(r as BatchReply),
      (first: unknown) => {
        if (!isWorkerDeath(first)) return this.taskFailed(first, () => this.batchesInFlight--);
        this.workerRestarts++;
        pool.run(task).then(
          (r) => done(r as BatchReply),
          (second: unknown) => {
            if (!isWorkerDeath(second)) return this.taskFailed(second, () => this.batchesInFlight--);
            this.workerRestarts++;
            const error = errorLine(second);
            this.warn(`warning: a worker died twice running cases ${globalIndex(this.shard, start)}.. (${count} cases); they are reported as lost: ${error}`);
            done({ start, count: 0, ops: 0, steps: 0, busy: 0, mutated: 0, failures: [], findings: [], features: [], ms: 0, lost: { count, error } });
          },
        );
      },
    );
  }

  private taskFailed(e: unknown, settle: () => void): void {
    settle();
    this.guarded(() => this.fail(e));
  }

  private minimizeTask(index: number, c?: Case): MinimizeTask {
    return this.mutating ? { kind: 'minimize', index, case: c ?? this.caseAt(index) } : { kind: 'minimize', index };
  }

  /**
   * A batch's first failure, reported before the batch ends: start minimising it now, ahead of every batch
   * (the pool's queue puts minimisations first). Whether the campaign keeps it is decided when the failure
   * commits in index order (dispatchMinimize takes the minimisation begun here), so results do not change.
   */
  private minimizeEarly(f: EarlyFailure, foundHere = false): void {
    if (this.stopping || this.rawSignatures.has(f.signature) || this.early.has(f.signature)) return;
    this.earlyInFlight++;
    // The campaign's first failure, found by this thread, is minimised here even when a worker is up: this
    // thread's code is warm, a worker's is still cold and busy seeding the corpus. Saved 20-35% of the time
    // to the first minimised failure on BUG-5, BUG-15 and BUG-23 (bench (a)'s command, 5 runs per seed).
    const run = this.runMinimize(this.minimizeTask(f.index), foundHere && this.early.size === 0 && this.minimizeSeq === 0);
    run.then(
      () => undefined,
      () => undefined, // the commit takes it and handles its failure (or it was not needed)
    ).finally(() => {
      this.earlyInFlight--;
      this.wake.notify();
    });
    this.early.set(f.signature, { index: f.index, run });
  }

  /** Minimise the failing case `index` (or take the minimisation its batch's early report began). */
  private dispatchMinimize(index: number, c?: Case, begun?: Promise<MinimizeReply>): void {
    const seq = this.minimizeSeq++;
    this.minimizeIndex[seq] = index;
    this.minimizesInFlight++;
    (begun ?? this.runMinimize(this.minimizeTask(index, c))).then(
      (r) => {
        this.minimizesInFlight--;
        this.guarded(() => this.minimized.put(seq, r));
      },
      (e: unknown) => {
        this.minimizesInFlight--;
        if (isWorkerDeath(e)) this.workerRestarts++;
        // Keep the unminimised reproducer rather than lose the failure.
        this.guarded(() => {
          const c = this.caseAt(index);
          const r = runCase(c, { failOnPerf: this.o.failOnPerf });
          if (r.signature === null) throw e;
          this.warn(`warning: minimising case ${index} failed (${errorLine(e)}); saving it unminimised`);
          this.minimized.put(seq, { index, case: c, signature: r.signature, rawSignature: r.signature, originalOps: c.ops.length, attempts: 0 });
        });
      },
    );
  }

  /** Commit errors (a full disk, say) end the campaign like a worker error, after work in flight. */
  private guarded(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.fail(e);
    }
    this.wake.notify();
  }

  /** A batch's failures, in index order: counted, and each new raw signature minimised (needs no corpus). */
  private commitFailures(r: BatchReply): void {
    const p = this.p;
    const now = Date.now();
    for (const f of r.failures) {
      p.failingCases++;
      this.hit(f.signature, f.index, now);
      if (!this.firstFailure) {
        this.firstFailure = { caseIndex: f.index, signature: f.signature, elapsedMs: performance.now() - this.t0 };
        this.o.onFailure?.({ kind: 'first', ...this.firstFailure }, this.view.log);
      }
      if (this.o.stopAfterFailingCases !== undefined && p.failingCases - this.before.failingCases >= this.o.stopAfterFailingCases) this.stopping = true;
      if (signatureDetection(f.signature) === 'damage') {
        this.firstDamage ??= { caseIndex: f.index, signature: f.signature, elapsedMs: performance.now() - this.t0 };
        if (this.o.stopAfterDamage) this.stopping = true;
      }
      if (this.rawSignatures.has(f.signature)) continue;
      this.rawSignatures.add(f.signature);
      p.rawSignatures.push(f.signature);
      this.lastNewFailure = performance.now();
      // an early report of a later case with this signature began a minimisation the campaign does not need
      const early = this.early.get(f.signature);
      this.early.delete(f.signature);
      this.dispatchMinimize(f.index, undefined, early?.index === f.index ? early.run : undefined);
    }
  }

  /** Commit the coverage of the batches whose failures are committed, once the corpus is seeded. */
  private commitCoverageReady(): void {
    if (!this.seedingDone) return;
    while (this.uncovered.length > 0) this.commitCoverage(this.uncovered.shift()!);
  }

  /** A batch's counts, findings and coverage, in index order: new coverage goes to the corpus and the pool. */
  private commitCoverage(r: BatchReply): void {
    const p = this.p;
    if (r.lost) p.lostCases.push({ index: globalIndex(this.shard, r.start), count: r.lost.count, error: r.lost.error });
    p.cases += r.count;
    p.ops += r.ops;
    p.steps += r.steps;
    p.busy = (p.busy ?? 0) + r.busy;
    this.mutatedCases += r.mutated;
    const y = this.o.mutation?.adaptive ? this.yieldOf(epochOf(r.start)) : null;
    if (y) {
      y.cases += r.count; // 0 for lost cases, which never ran
      y.mutated += r.mutated;
    }
    for (const f of r.findings) this.commitFinding(f);
    const every = this.o.coverageEvery;
    const mark = (upTo: number): void => {
      while (every && this.nextMark <= upTo) {
        every.record(this.nextMark, this.features.size);
        this.nextMark += every.cases;
      }
    };
    for (const { index, ids, all } of r.features) {
      mark(localIndex(this.shard, index));
      const before = this.features.size;
      for (const id of ids) this.features.add(id);
      if (this.features.size === before) continue;
      this.lastNewCoverage = performance.now();
      const c = this.saveToCorpus(index, { verdict: 'pass' }); // workers report features of passing cases only
      const id = caseId(c);
      // the next campaign in this folder reads the case back from the corpus: what seeding it would give
      if (all) this.seedCache?.put(id, !!this.o.failOnPerf, { pass: true, features: all });
      if (y) {
        if (isMutated(c)) y.fromMutated += this.features.size - before;
        else y.fromGenerated += this.features.size - before;
      }
      if (this.mutating) {
        const file = this.seeded.files.get(id) ?? this.corpus.fileFor(c);
        this.corpusPool.push({ case: c, file, index: localIndex(this.shard, index), brought: this.features.size - before });
      }
    }
    p.next = r.start + (r.lost ? r.lost.count : r.count);
    mark(p.next);
  }

  /** The yield record of an epoch, made when its first batch commits; the oldest are dropped past YIELDS_KEPT. */
  private yieldOf(epoch: number): EpochYield {
    const last = this.yields[this.yields.length - 1];
    if (last?.epoch === epoch) return last;
    const y: EpochYield = { epoch, cases: 0, mutated: 0, fromMutated: 0, fromGenerated: 0 };
    this.yields.push(y);
    if (this.yields.length > YIELDS_KEPT) this.yields.shift();
    return y;
  }

  private commitFinding(f: BatchReply['findings'][number]): void {
    let entry = this.p.findings.find((x) => x.kind === f.kind);
    if (!entry) {
      entry = { kind: f.kind, cases: 0, caseIndex: f.first, file: '', text: f.text };
      this.p.findings.push(entry);
    }
    entry.cases += f.cases;
    if (this.findingSaved.has(f.kind) || this.o.findingsDir === undefined) return;
    this.findingSaved.add(f.kind);
    const c = this.caseAt(f.first);
    const file = join(this.o.findingsDir, `${findingFileStem(f.kind)}.json`);
    if (!existsSync(file)) writeFileAtomic(file, serializeCase({ ...c, expect: { verdict: 'pass' }, provenance: { ...c.provenance, ...this.provenance(f.first) } }));
    Object.assign(entry, { file, caseIndex: f.first, text: f.text });
  }

  private saveToCorpus(index: number, expect: Expect): Case {
    const c = this.caseAt(index);
    if (this.seeded.ids.has(caseId(c))) return c;
    if (this.corpus.save(c, expect, this.provenance(index, c)) === 'new') this.p.corpusAdded++;
    return c;
  }

  /** Count a failing case under its raw signature (hit count, first and last seen). */
  private hit(raw: string, caseIndex: number, time: number): void {
    let h = this.rawHits.get(raw);
    if (!h) {
      h = { signature: raw, cases: 0, first: { caseIndex, time }, last: { caseIndex, time } };
      this.rawHits.set(raw, h);
      this.p.rawHits!.push(h);
    }
    h.cases++;
    if (caseIndex < h.first.caseIndex) h.first = { caseIndex, time };
    if (caseIndex >= h.last.caseIndex) h.last = { caseIndex, time };
  }

  /**
   * One bug, one finding: the finding is named by the minimised case's signature. A minimised signature
   * with the invariant and op of a finding this campaign saved, differing only in fault kinds, is linked
   * to it as an alternate (its case is saved too), as is every raw signature that minimised to it.
   */
  private commitMinimize(m: MinimizeReply): void {
    const h = this.rawHits.get(m.rawSignature);
    if (h) h.minimised = m.signature;
    const core = coreSignature(m.signature);
    const finding = this.p.uniqueFailures.find((u) => u.signature === m.signature) ?? this.p.uniqueFailures.find((u) => coreSignature(u.signature) === core);
    const link = (sig: string): void => {
      if (!finding || sig === finding.signature) return;
      finding.alternates ??= [];
      if (!finding.alternates.includes(sig)) finding.alternates.push(sig);
      this.unique.find((u) => u.signature === finding.signature)?.alternates.splice(0, Infinity, ...finding.alternates);
    };
    link(m.rawSignature);
    if (this.savedSignatures.has(m.signature)) return;
    this.savedSignatures.add(m.signature);
    const outcome = this.crashes.save(m.case, m.signature, { ...this.provenance(m.index, m.case), originalOps: m.originalOps });
    const file = this.crashes.fileFor(m.signature);
    const design = designDiff(m.case.design, this.o.design);
    if (outcome === 'new' && finding) link(m.signature);
    else if (outcome === 'new') {
      const alternates = m.rawSignature === m.signature ? [] : [m.rawSignature];
      const u = { signature: m.signature, file, ops: m.case.ops.length, caseIndex: m.index, alternates };
      const saved = { ...u, detection: signatureDetection(m.signature), design, alternates: [...alternates] };
      this.unique.push(saved);
      this.o.onFailure?.({ kind: 'saved', failure: saved, elapsedMs: performance.now() - this.t0 }, this.view.log);
      this.p.uniqueFailures.push(u);
    } else if (!finding) this.known.push({ signature: m.signature, detection: signatureDetection(m.signature), file, design });
  }

  /** A saved case's provenance; a mutated case keeps the note naming its parent and the mutations. */
  private provenance(index: number, c?: Case) {
    const note = c?.provenance?.note;
    return { campaignSeed: this.o.seed, caseIndex: index, generatorVersion: GENERATOR_VERSION, tool: 'tdxfuzz fuzz', ...(note ? { note } : {}) };
  }

  private progressNow(): CampaignProgress {
    return {
      ...this.p,
      elapsedMs: this.before.elapsedMs + (performance.now() - this.t0),
      rawSignatures: [...this.p.rawSignatures],
      pendingMinimize: this.minimizeIndex.slice(this.minimized.committed),
      ...(this.mutating ? { pool: this.corpusPool.map((e) => ({ file: e.file, brought: e.brought, index: e.index })) } : {}),
      ...(this.o.mutation?.adaptive ? { yields: structuredClone(this.yields) } : {}),
    };
  }

  /** Write campaign.json (atomically). After the file system refused once, the last good one stands. */
  private checkpoint(): void {
    const o = this.o;
    // failures committed ahead of the coverage (the corpus still seeding) would be counted again on --resume
    if (!o.stateFile || this.envError || this.uncovered.length > 0) return;
    try {
      writeCampaignState(o.stateFile, {
        format: CAMPAIGN_FORMAT,
        version: CAMPAIGN_VERSION,
        identity: { seed: o.seed, design: o.design, designSpace: o.space ?? null, shard: this.shard, failOnPerf: o.failOnPerf ?? false, generatorVersion: GENERATOR_VERSION, concurrency: o.concurrency ?? null, mutation: o.mutation ?? null },
        plan: o.cases !== undefined ? { cases: o.cases } : o.durationMs !== undefined ? { durationMs: this.before.elapsedMs + o.durationMs } : {},
        progress: this.progressNow(),
      });
    } catch (e) {
      this.fail(e);
    }
  }

  private statsRecord(casesPerSec: number): StatsRecord {
    return {
      time: Date.now(),
      elapsedMs: this.before.elapsedMs + (performance.now() - this.t0),
      cases: this.p.cases,
      casesPerSec,
      coverage: this.coverageSoFar,
      corpus: this.seeded.working + this.p.corpusAdded - this.before.corpusAdded,
      uniqueNew: this.p.uniqueFailures.length,
      uniqueKnown: this.known.length,
      failingCases: this.p.failingCases,
      busyUninjected: this.p.busy ?? 0,
      minimizing: this.minimizesInFlight,
      rss: process.memoryUsage.rss(),
      run: this.p.runs,
    };
  }

  private lastRate = 0;
  private appendStats(): void {
    if (!this.o.statsFile || this.envError) return;
    try {
      appendStats(this.o.statsFile, this.statsRecord(this.lastRate));
    } catch (e) {
      this.fail(e);
    }
  }

  private workerHealth(now: number, beats: Map<number, { heartbeat: number; at: number }>): WorkerHealth {
    const alive = new Set<number>((this.pool?.threads ?? []).map((t) => t.threadId));
    const states: string[] = [];
    for (const s of this.counters.slotSamples()) {
      if (!alive.has(s.threadId)) continue;
      const prev = beats.get(s.threadId);
      if (!prev || prev.heartbeat !== s.heartbeat || s.state !== RUNNING) beats.set(s.threadId, { heartbeat: s.heartbeat, at: now });
      const stalled = s.state === RUNNING && prev !== undefined && prev.heartbeat === s.heartbeat && now - prev.at > STALL_MS;
      states.push(stalled ? '!' : s.state === RUNNING ? 'r' : s.state === MINIMIZING ? 'm' : '.');
    }
    return { states: states.join(''), alive: alive.size, restarted: this.workerRestarts };
  }

  private startProgress(): ProgressView {
    const o = this.o;
    const mode = chooseProgressMode({ progress: o.progress ?? false, json: o.json ?? false, isTTY: process.stderr.isTTY === true });
    const window: { t: number; cases: number; ops: number }[] = [{ t: this.t0, cases: 0, ops: 0 }];
    const beats = new Map<number, { heartbeat: number; at: number }>();
    const snapshot = (final = false): ProgressSnapshot => {
      const now = performance.now();
      const c = this.counters.sample();
      window.push({ t: now, cases: c.cases, ops: c.ops });
      if (window.length > RATE_WINDOW) window.shift();
      const first = window[0];
      const dt = Math.max(now - first.t, 1) / 1000;
      this.lastRate = (c.cases - first.cases) / dt;
      return {
        seed: o.seed,
        shard: this.shard,
        cases: this.before.cases + c.cases,
        totalCases: o.cases === undefined ? undefined : this.limit,
        durationMs: o.durationMs,
        ops: this.before.ops + c.ops,
        casesPerSec: this.lastRate,
        opsPerSec: (c.ops - first.ops) / dt,
        failures: this.before.failingCases + c.failures,
        uniqueFailures: this.p.uniqueFailures.length,
        knownFailures: this.known.length,
        minimizing: this.minimizesInFlight,
        coverage: this.coverageSoFar,
        corpusSize: this.seeded.working + this.p.corpusAdded - this.before.corpusAdded,
        corpusAdded: this.p.corpusAdded - this.before.corpusAdded,
        findings: this.p.findings.reduce((n, f) => n + f.cases, 0),
        findingKinds: this.p.findings.length,
        sinceNewCoverageMs: now - this.lastNewCoverage,
        sinceNewFailureMs: this.lastNewFailure === null ? null : now - this.lastNewFailure,
        elapsedMs: now - this.t0,
        workers: o.workers,
        health: this.workerHealth(now, beats),
        rss: process.memoryUsage.rss(),
        stopping: this.stopping && !final,
      };
    };
    const view = createProgressView(mode, snapshot());
    let lastStats = performance.now();
    const statsEvery = o.statsEveryMs ?? STATS_EVERY_MS;
    const tick = (final = false): void => {
      const s = snapshot(final);
      view.update(s);
      o.onProgress?.(s);
      if (!final && performance.now() - lastStats >= statsEvery) {
        lastStats = performance.now();
        this.appendStats();
        if (!this.stopping || this.batchesInFlight + this.minimizesInFlight > 0) this.checkpoint();
      }
    };
    this.appendStats();
    const timer = setInterval(() => tick(), SAMPLE_MS);
    return {
      update: view.update,
      log: view.log,
      stop: () => {
        clearInterval(timer);
        tick(true);
        view.stop();
      },
    };
  }

  private summary(): CampaignSummary {
    const elapsedMs = performance.now() - this.t0;
    const secs = Math.max(elapsedMs, 1) / 1000;
    const p = this.p;
    const cases = p.cases - this.before.cases;
    const ops = p.ops - this.before.ops;
    const failingCases = p.failingCases - this.before.failingCases;
    return {
      seed: this.o.seed,
      workers: this.o.workers,
      design: this.o.design,
      designSpace: this.o.space ?? null,
      concurrency: this.o.concurrency ?? null,
      busyUninjected: (p.busy ?? 0) - this.before.busy,
      shard: this.shard,
      resumed: this.o.resume !== undefined,
      cases,
      mutated: this.mutatedCases,
      mutation: this.o.mutation ?? null,
      mutationShare: this.shareNow.epoch >= 0 ? this.shareNow.share : null,
      campaignCases: p.cases,
      nextIndex: globalIndex(this.shard, p.next),
      ops,
      steps: p.steps - this.before.steps,
      elapsedMs,
      casesPerSec: cases / secs,
      opsPerSec: ops / secs,
      failingCases,
      uniqueFailures: this.unique,
      knownFailures: this.known,
      duplicates: failingCases - this.unique.length - this.known.length,
      corpusAdded: p.corpusAdded - this.before.corpusAdded,
      corpusSeeded: this.seeded.filesRead,
      corpusSeededFromCache: this.seedCache?.hits ?? 0,
      coverage: this.features.size,
      findings: p.findings,
      lostCases: p.lostCases,
      workerRestarts: this.workerRestarts,
      interrupted: this.interrupted,
      environmentError: this.envError?.message ?? null,
      firstFailure: this.firstFailure,
      firstDamage: this.firstDamage,
    };
  }
}

/** piscina rejects a task whose worker thread exited; an exception thrown by the task is not that. */
function isWorkerDeath(e: unknown): boolean {
  return e instanceof Error && /worker (exited|terminated)|exited with code|Terminating worker thread/i.test(e.message);
}

function errorLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** Run a campaign to completion (cases done, time up, or aborted) and report what it found. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignSummary> {
  return new Campaign(opts).run();
}
