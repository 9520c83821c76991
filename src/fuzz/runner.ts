// What a worker thread runs, as a plain object the coordinator's main thread can run too: before the pool's
// threads have loaded their modules the campaign runs its first cases in the main thread, through the very
// same batch code (issue 14, "first failure fast"). Tasks carry only integers and the pool snapshot
// (anchors.md 3.4). A batch runs cases [start, start+count) of the campaign and returns a compact summary;
// a minimisation regenerates one failing case and shrinks it next to the executor; a seed task runs one
// corpus case so the coordinator learns its coverage and verdict.
import { performance } from 'node:perf_hooks';
import type { Design } from '../model/config.js';
import type { Case } from './case.js';
import { CASES, FAILURES, IDLE, MINIMIZED, MINIMIZING, OPS, RUNNING, type SharedCounters } from './counters.js';
import type { Shard } from './campaignState.js';
import { campaignCase, type DesignSpace, type MutationSource } from './designSpace.js';
import { isMutated } from './mutate.js';
import type { MutationSettings } from './pool.js';
import type { ConcurrencySettings } from './concurrency.js';
import { findingKinds } from './findings.js';
import { minimizeCase } from './minimize.js';
import { type RunOptions, runCase } from './run.js';
import { globalIndex } from './shard.js';

export interface WorkerSettings {
  design: Design;
  /** The design space each case's settings are drawn from; none: every case runs `design`. */
  space?: DesignSpace | null;
  campaignSeed: number;
  /** Share of cases run with several actors and their scheduling policies (concurrency.ts); none: one actor. */
  concurrency?: ConcurrencySettings | null;
  countersBuffer?: SharedArrayBuffer;
  /** Performance findings fail cases (--fail-on perf). */
  failOnPerf?: boolean;
  /** Share of cases mutated from the corpus pool (pool.ts); none: every case is generated. */
  mutation?: MutationSettings | null;
  /** This machine's part of the case space; batches count in shard cases. */
  shard?: Shard | null;
  /** A case that reports features reports all of them too (BatchReply.features' `all`): the seed cache keeps them for the cases saved to the corpus. */
  allFeatures?: boolean;
  /** Tests of the harness only: an exception in every op of this kind (RunOptions.selfTestThrowIn). */
  selfTestThrowIn?: string;
  /** Tests of the harness only: the worker thread exits when it reaches this global case index. */
  selfTestExitAt?: number;
}

export interface BatchTask {
  kind: 'batch';
  /** First case, counted in shard cases (src/fuzz/shard.ts). */
  start: number;
  count: number;
  /**
   * With mutation on: the pool snapshot of the batch's epoch (a batch never spans two), as the cumulative
   * parent weights of all its entries, the cases of the entries this batch's cases draw, and the share of
   * the epoch's cases that are mutated (pool.ts epochShare).
   */
  pool?: { cumulative: Float64Array; entries: [number, Case][]; share: number };
  /**
   * End the batch after its first failing case (the reply's count says how many cases ran): the main thread
   * sets it on its own batches, which nothing else waits behind, so the failure is minimised at once.
   */
  stopAtFailure?: boolean;
}
export interface MinimizeTask {
  kind: 'minimize';
  /** Global case index. */
  index: number;
  /** The case (a mutated case cannot be rebuilt from its index alone); absent: generated from the index. */
  case?: Case;
}
/** Run one corpus case: its coverage and verdict (the coordinator reads the file, the executor runs it). */
export interface SeedTask {
  kind: 'seed';
  /** Position of the file among the corpus files read, for committing the replies in order. */
  pos: number;
  case: Case;
}
export type WorkerTask = BatchTask | MinimizeTask | SeedTask;

export interface BatchReply {
  start: number;
  count: number;
  /** Operations run by the batch's cases. */
  ops: number;
  /** Atomic model steps run by the batch's cases. */
  steps: number;
  /** TDX_OPERAND_BUSY answers no fault injected (contention between actors). */
  busy: number;
  /** Cases mutated from the pool (the others were generated). */
  mutated: number;
  /** Failing cases (global index), in index order. */
  failures: { index: number; signature: string }[];
  /** Per finding kind of the batch's passing cases (findings.ts): how many cases, and the first one with its text. */
  findings: { kind: string; cases: number; first: number; text: string }[];
  /**
   * Per case (index order), the feature ids this executor had not seen before. An executor runs its batches
   * in increasing index order, so the globally first case reaching a feature always reports it (a batch
   * that arrives out of order reports all its features, which keeps that true). Features of the corpus
   * cases it ran (seed tasks) are left out: the coordinator holds them before it commits any batch.
   */
  features: { index: number; ids: number[]; all?: number[] }[];
  /** Time spent in the batch, for sizing the next ones; never affects results. */
  ms: number;
  /** Set by the coordinator, never by a worker: the batch's worker died twice, its cases did not run. */
  lost?: { count: number; error: string };
}

export interface MinimizeReply {
  index: number;
  /** The minimised case (plain data), or the original case if minimisation could not keep it failing. */
  case: Case;
  signature: string;
  /** The signature of the case as generated (before minimisation). */
  rawSignature: string;
  /** Operations of the case before minimisation. */
  originalOps: number;
  attempts: number;
}

export interface SeedReply {
  pos: number;
  pass: boolean;
  features: Uint32Array;
}

export type WorkerReply = BatchReply | MinimizeReply | SeedReply;

/** The first failing case of a batch, reported while the batch still runs (the coordinator may minimise it at once). */
export interface EarlyFailure {
  kind: 'early-failure';
  index: number;
  signature: string;
}

/** Counters are flushed to shared memory every this many cases, so progress moves mid-batch. */
const FLUSH_EVERY = 32;

export interface Runner {
  handle(task: WorkerTask): WorkerReply;
}

/**
 * A task executor with its own memory of the features it has seen. `slot`: its health slot in the shared
 * counters (-1: none, the main thread). `onEarlyFailure`: called with each batch's first failure at once.
 */
export function createRunner(settings: WorkerSettings, counters: SharedCounters | null, slot: number, onEarlyFailure?: (f: EarlyFailure) => void): Runner {
  const seen = new Set<number>();
  const runOptions: RunOptions = { failOnPerf: settings.failOnPerf, selfTestThrowIn: settings.selfTestThrowIn };
  /** Start of the highest batch run so far; a batch below it (not expected: batches go out in order) reports all its features. */
  let highestStart = -1;

  /** An exception from the model is a tdxfuzz bug: say which case, and keep the model's stack (errors cross threads as text). */
  const caseError = (index: number, e: unknown): Error => {
    const what = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return new Error(`case ${index} of campaign seed ${settings.campaignSeed} (guards off: ${settings.design.guardsOff.join(',') || 'none'}): ${what}`);
  };

  const runBatch = (t: BatchTask): BatchReply => {
    const t0 = performance.now();
    const reply: BatchReply = { start: t.start, count: t.count, ops: 0, steps: 0, busy: 0, mutated: 0, failures: [], findings: [], features: [], ms: 0 };
    const findings = new Map<string, BatchReply['findings'][number]>();
    let cases = 0;
    let ops = 0;
    let failures = 0;
    const inOrder = t.start > highestStart;
    highestStart = Math.max(highestStart, t.start);
    const flush = (): void => {
      counters?.add(CASES, cases);
      counters?.add(OPS, ops);
      counters?.add(FAILURES, failures);
      if (slot >= 0) counters?.beat(slot, cases);
      cases = ops = failures = 0;
    };
    const pool = poolSource(settings, t);
    for (let k = t.start; k < t.start + t.count; k++) {
      const i = globalIndex(settings.shard, k);
      if (i === settings.selfTestExitAt) process.exit(1);
      let r;
      try {
        const c = campaignCase(settings.design, settings.space, settings.campaignSeed, i, settings.concurrency, pool);
        if (isMutated(c)) reply.mutated++;
        r = runCase(c, runOptions);
      } catch (e) {
        throw caseError(i, e);
      }
      if (r.verdict === 'pass') for (const [kind, text] of findingKinds(r)) {
        const f = findings.get(kind);
        if (f) f.cases++;
        else findings.set(kind, { kind, cases: 1, first: i, text });
      }
      reply.ops += r.opsRun;
      reply.steps += r.steps;
      reply.busy += r.busyUninjected;
      if (r.verdict === 'fail') {
        if (r.signature === null) throw caseError(i, new Error('runCase returned a failing verdict without a signature'));
        if (reply.failures.length === 0) onEarlyFailure?.({ kind: 'early-failure', index: i, signature: r.signature });
        reply.failures.push({ index: i, signature: r.signature });
        failures++;
      }
      const last = r.verdict === 'fail' && t.stopAtFailure === true;
      // Failing cases live in the crash store, not the corpus; leaving their features out of `seen` keeps
      // "the first passing case to reach a feature is reported" true whatever the worker count.
      let ids: number[] | null = null;
      if (r.verdict === 'pass') for (const id of r.features) {
        if (seen.has(id)) {
          if (inOrder) continue;
        } else seen.add(id);
        (ids ??= []).push(id);
      }
      if (ids) reply.features.push(settings.allFeatures ? { index: i, ids, all: Array.from(r.features) } : { index: i, ids });
      cases++;
      ops += r.opsRun;
      if (cases === FLUSH_EVERY) flush();
      if (last) {
        reply.count = k + 1 - t.start;
        break;
      }
    }
    flush();
    reply.findings = [...findings.values()];
    reply.ms = performance.now() - t0;
    return reply;
  };

  const runMinimize = (t: MinimizeTask): MinimizeReply => {
    try {
      const c = t.case ?? campaignCase(settings.design, settings.space, settings.campaignSeed, t.index, settings.concurrency);
      const m = minimizeCase(c, runOptions);
      counters?.add(MINIMIZED, 1);
      if (m.result.verdict === 'fail' && m.result.signature !== null) {
        return { index: t.index, case: m.case, signature: m.result.signature, rawSignature: m.originalSignature ?? m.result.signature, originalOps: c.ops.length, attempts: m.attempts };
      }
      // The minimiser handed back a passing case: keep the original reproducer rather than lose the bug.
      const raw = runCase(c, runOptions);
      if (raw.signature === null) throw new Error('the case failed in its batch but passes when run again (nondeterminism)');
      return { index: t.index, case: raw.schedule ? { ...c, schedule: raw.schedule } : c, signature: raw.signature, rawSignature: raw.signature, originalOps: c.ops.length, attempts: m.attempts };
    } catch (e) {
      throw caseError(t.index, e);
    }
  };

  // Corpus cases are judged as the campaign judges its cases: under --fail-on perf a corpus case with a
  // performance finding fails, so it is no parent (its children, which keep its design, would fail alike).
  const runSeed = (t: SeedTask): SeedReply => {
    const r = runCase(t.case, { failOnPerf: settings.failOnPerf });
    for (const id of r.features) seen.add(id);
    return { pos: t.pos, pass: r.verdict === 'pass', features: r.features };
  };

  return {
    handle(task: WorkerTask): WorkerReply {
      if (slot >= 0) counters?.setState(slot, task.kind === 'minimize' ? MINIMIZING : RUNNING);
      try {
        return task.kind === 'batch' ? runBatch(task) : task.kind === 'minimize' ? runMinimize(task) : runSeed(task);
      } finally {
        if (slot >= 0) counters?.setState(slot, IDLE);
      }
    },
  };
}

/** The batch's view of the pool snapshot, or null when the campaign does not mutate. */
function poolSource(settings: WorkerSettings, t: BatchTask): MutationSource | null {
  if (!settings.mutation || !t.pool) return null;
  const entries = new Map(t.pool.entries);
  return {
    mutation: { ...settings.mutation, share: t.pool.share }, // the epoch's share (adaptive: each its own)
    view: {
      cumulative: t.pool.cumulative,
      entry(pos: number): Case {
        const c = entries.get(pos);
        if (!c) throw new Error(`pool entry ${pos} was drawn but not sent with the batch`);
        return c;
      },
    },
  };
}
