// The campaign folder (`tdxfuzz fuzz --out DIR`) and the campaign's identity and progress, kept in
// DIR/campaign.json so that `--resume` continues where the campaign stopped, with the same results as one
// uninterrupted run (results are committed in case-index order: src/fuzz/coordinator.ts). Like AFL++'s
// output folder: crashes/, the working corpus/, findings/ (one example per finding that is not a
// failure), stats.jsonl (its plot_data) and campaign.json (its fuzzer_stats plus what resume needs).
import { readFileSync } from 'node:fs';
import type { ConcurrencySettings } from './concurrency.js';
import type { EpochYield, MutationSettings } from './pool.js';
import { join } from 'node:path';
import type { Design } from '../model/config.js';
import type { DesignSpace } from './designSpace.js';
import { onDisk } from './envError.js';
import { writeFileAtomic } from './store.js';

export const CAMPAIGN_FORMAT = 'tdxfuzz-campaign';
export const CAMPAIGN_VERSION = 1;

/** Where each part of a campaign folder lives. */
export interface CampaignLayout {
  root: string;
  crashes: string;
  corpus: string;
  findings: string;
  stats: string;
  state: string;
}

export function campaignLayout(root: string): CampaignLayout {
  return {
    root,
    crashes: join(root, 'crashes'),
    corpus: join(root, 'corpus'),
    findings: join(root, 'findings'),
    stats: join(root, 'stats.jsonl'),
    state: join(root, 'campaign.json'),
  };
}

/** Which part of the case space a machine runs: case indices i, i+n, i+2n, ... (`--shard i/n`). */
export interface Shard {
  index: number;
  count: number;
}

/** What makes case k of this campaign the case it is: resume refuses to continue under another identity. */
export interface CampaignIdentity {
  seed: number;
  design: Design;
  designSpace: DesignSpace | null;
  shard: Shard | null;
  failOnPerf: boolean;
  generatorVersion: number;
  /** Several actors per case (absent in older files: none). */
  concurrency?: ConcurrencySettings | null;
  /** Share of cases mutated from the corpus (absent in older files: none). */
  mutation?: MutationSettings | null;
}

/** How long the campaign was asked to run: a number of cases (global index end) or a time. */
export interface CampaignPlan {
  cases?: number;
  durationMs?: number;
}

/** A finding that does not fail a case, counted per kind, with the first case that showed it. */
export interface FindingCount {
  kind: string;
  /** Passing cases that reported it. */
  cases: number;
  caseIndex: number;
  /** The example case saved for it (under findings/), relative to where the campaign runs. */
  file: string;
  /** The finding's text in that case. */
  text: string;
}

/** When a failure was seen: the global case index and the wall-clock time it was committed (ms since 1970). */
export interface Seen {
  caseIndex: number;
  time: number;
}

/** Failing cases of one raw (unminimised) signature, and the signature its minimised case gave. */
export interface RawHits {
  signature: string;
  /** The minimised case's signature, once its minimisation is committed. */
  minimised?: string;
  cases: number;
  first: Seen;
  last: Seen;
}

/** Everything committed so far, in case-index order: enough to continue as if never stopped. */
export interface CampaignProgress {
  /** Next case to dispatch, counted in this shard's cases (global index = next * count + index). */
  next: number;
  /** Runs of the campaign so far (1 after the first, +1 per --resume). */
  runs: number;
  /** Run time summed over every run of the campaign. */
  elapsedMs: number;
  cases: number;
  ops: number;
  steps: number;
  /** TDX_OPERAND_BUSY answers no fault injected: contention between actors. Absent in older files. */
  busy?: number;
  failingCases: number;
  corpusAdded: number;
  /** Raw signatures already handed to the minimiser, in the order they were found. */
  rawSignatures: string[];
  /** Global indices of failing cases whose minimisation was not committed yet (resume redoes them first). */
  pendingMinimize: number[];
  /** Unique failures this campaign saved (over every run). */
  uniqueFailures: { signature: string; file: string; ops: number; caseIndex: number; alternates?: string[] }[];
  /** Per raw signature: hit count, first and last seen, what it minimised to (tdxfuzz triage reads it). Absent in older files. */
  rawHits?: RawHits[];
  /**
   * With mutation on: the mutation pool in order (pool.ts), each entry's case file, the coverage it brought and
   * the shard-local index of the case that added it (-1: in the corpus at the start), so --resume rebuilds the
   * pool, and with it every later case, exactly as an unbroken campaign has it.
   */
  pool?: { file: string; brought: number; index: number }[];
  /** With --mutate auto: what mutated and generated cases brought in the last epochs (pool.ts epochShare), so --resume sets the same shares. */
  yields?: EpochYield[];
  findings: FindingCount[];
  /** Cases whose worker died twice (never run); reported, not retried. */
  lostCases: { index: number; count: number; error: string }[];
}

export interface CampaignState {
  format: typeof CAMPAIGN_FORMAT;
  version: typeof CAMPAIGN_VERSION;
  identity: CampaignIdentity;
  plan: CampaignPlan;
  progress: CampaignProgress;
}

export function emptyProgress(): CampaignProgress {
  return {
    next: 0,
    runs: 0,
    elapsedMs: 0,
    cases: 0,
    ops: 0,
    steps: 0,
    failingCases: 0,
    corpusAdded: 0,
    rawSignatures: [],
    pendingMinimize: [],
    uniqueFailures: [],
    findings: [],
    lostCases: [],
  };
}

/** A campaign.json that cannot be used: the message names the file and the field. */
export class CampaignStateError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
  }
}

export function writeCampaignState(file: string, s: CampaignState): void {
  writeFileAtomic(file, JSON.stringify(s, null, 1) + '\n');
}

/** Read and check campaign.json; null if the folder holds no campaign. */
export function readCampaignState(file: string): CampaignState | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return onDisk(file, () => {
      throw e;
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CampaignStateError(file, '(file)', `not valid JSON: ${(e as Error).message}`);
  }
  const bad = (field: string, m: string): never => {
    throw new CampaignStateError(file, field, m);
  };
  const o = raw as Partial<CampaignState>;
  if (typeof o !== 'object' || o === null) bad('(file)', 'must be a JSON object');
  if (o.format !== CAMPAIGN_FORMAT) bad('format', `must be "${CAMPAIGN_FORMAT}"`);
  if (o.version !== CAMPAIGN_VERSION) bad('version', `must be ${CAMPAIGN_VERSION} (written by another tdxfuzz version)`);
  const id = o.identity;
  if (typeof id !== 'object' || id === null) bad('identity', 'missing');
  if (!Number.isInteger(id!.seed)) bad('identity.seed', 'must be an integer');
  if (typeof id!.design !== 'object' || id!.design === null) bad('identity.design', 'missing');
  const p = o.progress;
  if (typeof p !== 'object' || p === null) bad('progress', 'missing');
  const empty = emptyProgress();
  for (const k of Object.keys(empty) as (keyof CampaignProgress)[]) {
    if (Array.isArray(empty[k]) ? !Array.isArray(p![k]) : !Number.isFinite(p![k] as number)) bad(`progress.${k}`, 'missing or of the wrong type');
  }
  if (typeof o.plan !== 'object' || o.plan === null) bad('plan', 'missing');
  return o as CampaignState;
}
