// The campaign coordinator: hands batches of case indices to a piscina pool, commits their results in
// index order (a reorder buffer), has every new failure minimised in the pool, saves unique failures to
// the crash store and new coverage to the corpus. Results depend only on (design, seed, cases): not on
// the worker count, the batch size or timing (architecture principle 3).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Design } from '../model/config.js';
import { caseId, type Expect, loadCase } from './case.js';
import { SharedCounters } from './counters.js';
import { campaignCase, designDiff, type DesignSpace, type SettingValue } from './designSpace.js';
import { GENERATOR_VERSION } from './generate.js';
import { chooseProgressMode, createProgressView, type ProgressSnapshot, type ProgressView } from './progress.js';
import { InOrder } from './reorder.js';
import { runCase } from './run.js';
import { CorpusStore, CrashStore } from './store.js';
import type { BatchReply, BatchTask, MinimizeReply, MinimizeTask, WorkerSettings } from './worker.js';

export interface CampaignOptions {
  design: Design;
  /**
   * The design space each case's settings are drawn from, deterministically from (seed, index)
   * (src/fuzz/designSpace.ts). Default: none, every case runs `design`; the CLI passes the default space.
   */
  space?: DesignSpace | null;
  seed: number;
  workers: number;
  /** Run exactly this many cases (indices 0..cases-1). */
  cases?: number;
  /** Stop dispatching after this long. Without `cases` or `durationMs` the campaign runs until aborted. */
  durationMs?: number;
  crashesDir: string;
  corpusDir: string;
  /** Cases per task. Default: adaptive, aiming at a few milliseconds per task. Never changes results. */
  batchSize?: number;
  /** Show the status line on stderr (a bar on a terminal, a line every 5 s otherwise). Default false. */
  progress?: boolean;
  /** Machine-readable output wanted: no status line. */
  json?: boolean;
  /** Called with every status sample (about every 250 ms). */
  onProgress?: (s: ProgressSnapshot) => void;
  /** Abort: stop dispatching, finish batches and minimisations in flight, then return. */
  signal?: AbortSignal;
  /** Where warnings go (unreadable corpus files). Default: stderr. */
  warn?: (message: string) => void;
  /** Performance findings (INV-33, PERF-2M) fail cases (--fail-on perf). */
  failOnPerf?: boolean;
  /** Stop dispatching once this many failing cases are committed (benchmarks: time to first failure). */
  stopAfterFailingCases?: number;
}

export interface UniqueFailure {
  signature: string;
  file: string;
  /** Operations in the saved (minimised) case. */
  ops: number;
  caseIndex: number;
  /** The case's design settings that differ from the campaign design (layout left out); {} on the campaign design. */
  design: Record<string, SettingValue>;
}

export interface CampaignSummary {
  seed: number;
  workers: number;
  design: Design;
  /** The design space sampled, null when every case ran `design`. */
  designSpace: DesignSpace | null;
  cases: number;
  ops: number;
  steps: number;
  elapsedMs: number;
  casesPerSec: number;
  opsPerSec: number;
  /** Failing cases before deduplication. */
  failingCases: number;
  /** Failures new to the crash store, saved by this campaign. */
  uniqueFailures: UniqueFailure[];
  /** Signatures found again that the crash store already held (with the design of this campaign's case). */
  knownFailures: { signature: string; file: string; design: Record<string, SettingValue> }[];
  /** Failing cases that reproduced a signature already counted. */
  duplicates: number;
  /** Cases saved to the corpus. */
  corpusAdded: number;
  /** Corpus files that seeded the coverage set. */
  corpusSeeded: number;
  /** Stopped early by an abort (Ctrl-C). */
  interrupted: boolean;
  /** The first failing case in index order and when it was committed, if any. */
  firstFailure: { caseIndex: number; signature: string; elapsedMs: number } | null;
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
  const file = join(packageRoot(), 'dist', 'src', 'fuzz', 'worker.js');
  if (!existsSync(file)) throw new Error(`compiled worker not found at ${file}; run \`npm run build\` first`);
  return file;
}

/** Work per task the batch sizer aims at (anchors.md 3.4: 1-10 ms per task keeps dispatch overhead small). */
const TARGET_TASK_MS = 5;
const MIN_BATCH = 8;
const MAX_BATCH = 4096;
const FIRST_BATCH = 64;
const SAMPLE_MS = 250;
/** Rates on the status line are averaged over this many samples. */
const RATE_WINDOW = 20;

/** Picks the size of the next batch from the measured time per case; sizes never change results. */
class BatchSizer {
  private perCaseMs = -1;
  constructor(private readonly fixed: number | undefined, private readonly workers: number) {}

  observe(r: BatchReply): void {
    if (r.count === 0) return;
    const x = r.ms / r.count;
    this.perCaseMs = this.perCaseMs < 0 ? x : 0.7 * this.perCaseMs + 0.3 * x;
  }

  next(remaining: number): number {
    let n = this.fixed ?? (this.perCaseMs <= 0 ? FIRST_BATCH : Math.round(TARGET_TASK_MS / this.perCaseMs));
    n = Math.min(Math.max(n, MIN_BATCH), MAX_BATCH);
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
  ids: Set<string>;
  files: number;
}

/** Run every corpus case once so coverage it already holds is not added again. */
function seedFromCorpus(corpus: CorpusStore, warn: (m: string) => void): Seeded {
  const s: Seeded = { features: new Set(), ids: new Set(), files: 0 };
  for (const file of corpus.list()) {
    try {
      const c = loadCase(file);
      s.ids.add(caseId(c));
      for (const f of runCase(c).features) s.features.add(f);
      s.files++;
    } catch (e) {
      warn(`warning: corpus file skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return s;
}

class Campaign {
  private readonly t0 = performance.now();
  private readonly crashes: CrashStore;
  private readonly corpus: CorpusStore;
  private readonly counters = new SharedCounters();
  private readonly sizer: BatchSizer;
  private readonly wake = new Wakeup();
  private readonly limit: number;
  private readonly deadline: number;
  private readonly seeded: Seeded;
  private pool!: Piscina<BatchTask | MinimizeTask, BatchReply | MinimizeReply>;

  private nextIndex = 0;
  private batchSeq = 0;
  private minimizeSeq = 0;
  private batchesInFlight = 0;
  private minimizesInFlight = 0;
  private stopping = false;
  private interrupted = false;
  private fatal: unknown = null;

  // Committed state: changes only in index order.
  private cases = 0;
  private ops = 0;
  private steps = 0;
  private failingCases = 0;
  private corpusAdded = 0;
  private readonly features: Set<number>;
  private readonly rawSignatures = new Set<string>();
  private readonly savedSignatures = new Set<string>();
  private readonly unique: UniqueFailure[] = [];
  private firstFailure: CampaignSummary['firstFailure'] = null;
  private readonly known: CampaignSummary['knownFailures'] = [];
  private readonly batches = new InOrder<BatchReply>((r) => this.commitBatch(r));
  private readonly minimized = new InOrder<MinimizeReply>((r) => this.commitMinimize(r));

  constructor(private readonly o: CampaignOptions) {
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`workers must be a positive integer, got ${o.workers}`);
    this.crashes = new CrashStore(o.crashesDir);
    this.corpus = new CorpusStore(o.corpusDir);
    this.sizer = new BatchSizer(o.batchSize, o.workers);
    this.limit = o.cases ?? Number.MAX_SAFE_INTEGER;
    this.deadline = o.durationMs === undefined ? Infinity : this.t0 + o.durationMs;
    this.seeded = seedFromCorpus(this.corpus, o.warn ?? ((m) => process.stderr.write(m + '\n')));
    this.features = new Set(this.seeded.features);
  }

  async run(): Promise<CampaignSummary> {
    const o = this.o;
    const settings: WorkerSettings = {
      design: o.design,
      space: o.space ?? null,
      campaignSeed: o.seed,
      countersBuffer: this.counters.buffer,
      knownFeatures: Uint32Array.from(this.features),
      failOnPerf: o.failOnPerf ?? false,
    };
    this.pool = new Piscina({
      filename: workerFile(),
      minThreads: o.workers,
      maxThreads: o.workers,
      idleTimeout: 60 * 60_000,
      workerData: settings,
    });
    const onAbort = (): void => {
      this.interrupted = true;
      this.stopping = true;
      this.wake.notify();
    };
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const view = this.startProgress();
    try {
      await this.loop();
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      view.stop();
      await this.pool.destroy();
    }
    if (this.fatal !== null) throw this.fatal;
    return this.summary();
  }

  private async loop(): Promise<void> {
    // Keep about workers^2 batches in flight (piscina's maxQueue advice), at least two per worker.
    const target = Math.max(2 * this.o.workers, this.o.workers * this.o.workers);
    for (;;) {
      if (!this.stopping && performance.now() >= this.deadline) this.stopping = true;
      while (!this.stopping && this.batchesInFlight < target && this.nextIndex < this.limit) this.dispatchBatch();
      if (this.batchesInFlight === 0 && this.minimizesInFlight === 0) return;
      await this.wake.wait();
    }
  }

  private fail(e: unknown): void {
    this.fatal ??= e;
    this.stopping = true;
  }

  private dispatchBatch(): void {
    const start = this.nextIndex;
    const count = this.sizer.next(this.limit - start);
    this.nextIndex += count;
    const seq = this.batchSeq++;
    this.batchesInFlight++;
    this.pool.run({ kind: 'batch', start, count }).then(
      (r) => {
        this.batchesInFlight--;
        this.sizer.observe(r as BatchReply);
        this.guarded(() => this.batches.put(seq, r as BatchReply));
      },
      (e) => {
        this.batchesInFlight--;
        this.guarded(() => this.fail(e));
      },
    );
  }

  private dispatchMinimize(index: number): void {
    const seq = this.minimizeSeq++;
    this.minimizesInFlight++;
    this.pool.run({ kind: 'minimize', index }).then(
      (r) => {
        this.minimizesInFlight--;
        this.guarded(() => this.minimized.put(seq, r as MinimizeReply));
      },
      (e) => {
        this.minimizesInFlight--;
        this.guarded(() => this.fail(e));
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

  private commitBatch(r: BatchReply): void {
    this.cases += r.count;
    this.ops += r.ops;
    this.steps += r.steps;
    for (const f of r.failures) {
      this.failingCases++;
      this.firstFailure ??= { caseIndex: f.index, signature: f.signature, elapsedMs: performance.now() - this.t0 };
      if (this.o.stopAfterFailingCases !== undefined && this.failingCases >= this.o.stopAfterFailingCases) this.stopping = true;
      if (this.rawSignatures.has(f.signature)) continue;
      this.rawSignatures.add(f.signature);
      this.dispatchMinimize(f.index);
    }
    for (const { index, ids } of r.features) {
      if (!ids.some((id) => !this.features.has(id))) continue;
      for (const id of ids) this.features.add(id);
      this.saveToCorpus(index, { verdict: 'pass' }); // workers report features of passing cases only
    }
  }

  private saveToCorpus(index: number, expect: Expect): void {
    const c = campaignCase(this.o.design, this.o.space, this.o.seed, index);
    if (this.seeded.ids.has(caseId(c))) return;
    if (this.corpus.save(c, expect, this.provenance(index)) === 'new') this.corpusAdded++;
  }

  private commitMinimize(m: MinimizeReply): void {
    if (this.savedSignatures.has(m.signature)) return;
    this.savedSignatures.add(m.signature);
    const outcome = this.crashes.save(m.case, m.signature, { ...this.provenance(m.index), originalOps: m.originalOps });
    const file = this.crashes.fileFor(m.signature);
    const design = designDiff(m.case.design, this.o.design);
    if (outcome === 'new') this.unique.push({ signature: m.signature, file, ops: m.case.ops.length, caseIndex: m.index, design });
    else this.known.push({ signature: m.signature, file, design });
  }

  private provenance(index: number) {
    return { campaignSeed: this.o.seed, caseIndex: index, generatorVersion: GENERATOR_VERSION, tool: 'tdxfuzz fuzz' };
  }

  private startProgress(): ProgressView {
    const o = this.o;
    const mode = chooseProgressMode({ progress: o.progress ?? false, json: o.json ?? false, isTTY: process.stderr.isTTY === true });
    if (mode === 'none' && !o.onProgress) return { update() {}, stop() {} };
    const window: { t: number; cases: number; ops: number }[] = [{ t: this.t0, cases: 0, ops: 0 }];
    const snapshot = (final = false): ProgressSnapshot => {
      const now = performance.now();
      const c = this.counters.sample();
      window.push({ t: now, cases: c.cases, ops: c.ops });
      if (window.length > RATE_WINDOW) window.shift();
      const first = window[0];
      const dt = Math.max(now - first.t, 1) / 1000;
      return {
        cases: c.cases,
        totalCases: o.cases,
        durationMs: o.durationMs,
        ops: c.ops,
        casesPerSec: (c.cases - first.cases) / dt,
        opsPerSec: (c.ops - first.ops) / dt,
        failures: c.failures,
        uniqueFailures: this.unique.length,
        corpusAdded: this.corpusAdded,
        elapsedMs: now - this.t0,
        workers: o.workers,
        stopping: this.stopping && !final,
      };
    };
    const view = createProgressView(mode, snapshot());
    const tick = (final = false): void => {
      const s = snapshot(final);
      view.update(s);
      o.onProgress?.(s);
    };
    const timer = setInterval(() => tick(), SAMPLE_MS);
    return {
      update: view.update,
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
    return {
      seed: this.o.seed,
      workers: this.o.workers,
      design: this.o.design,
      designSpace: this.o.space ?? null,
      cases: this.cases,
      ops: this.ops,
      steps: this.steps,
      elapsedMs,
      casesPerSec: this.cases / secs,
      opsPerSec: this.ops / secs,
      failingCases: this.failingCases,
      uniqueFailures: this.unique,
      knownFailures: this.known,
      duplicates: this.failingCases - this.unique.length - this.known.length,
      corpusAdded: this.corpusAdded,
      corpusSeeded: this.seeded.files,
      interrupted: this.interrupted,
      firstFailure: this.firstFailure,
    };
  }
}

/** Run a campaign to completion (cases done, time up, or aborted) and report what it found. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignSummary> {
  return new Campaign(opts).run();
}
