// What every command shares: user-error reporting (one line, no stack trace, exit code 2), option value
// parsers, and reading case paths and config files at the edge.
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { CAMPAIGN_DEFAULTS, type Design, DesignError, parseGuardList, resolveDesign } from '../model/config.js';
import { CaseError } from '../fuzz/case.js';
import { CampaignStateError } from '../fuzz/campaignState.js';
import { type DesignSpace, DesignSpaceError, parseDesignSpace } from '../fuzz/designSpace.js';
import { parseShard, ShardError } from '../fuzz/shard.js';
import type { Shard } from '../fuzz/campaignState.js';
import { asEnvironmentError } from '../fuzz/envError.js';
import { listCaseFiles } from '../fuzz/store.js';

export const EXIT_OK = 0;
/** A campaign found new failures, or a replayed verdict changed. */
export const EXIT_FOUND = 1;
/** Usage error or bad input; nothing was written. */
export const EXIT_USAGE = 2;
/** A bug in tdxfuzz itself. */
export const EXIT_INTERNAL = 3;
/** The environment refused: a read-only, full or unreadable folder, a symbolic link loop. */
export const EXIT_ENVIRONMENT = 4;
/** A campaign stopped by Ctrl-C (SIGINT) or SIGTERM, after saving what it found: 128 + the signal number. */
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

/** Bad input from the user: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** The one-line message for a user error, or null if `e` is not one (then it is a tdxfuzz bug). */
export function userErrorMessage(e: unknown): string | null {
  if (e instanceof CaseError || e instanceof UsageError || e instanceof CampaignStateError) return e.message;
  if (e instanceof DesignError) return `${e.field}: ${e.message}`;
  return null;
}

function integer(text: string, min: number, max: number): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
  return n;
}

/** More worker threads than this many per CPU is refused: each holds a model and a heap (about 10 MB each and more). */
export const WORKERS_PER_CPU_MAX = 4;

export function parseWorkers(text: string): number {
  const cpus = availableParallelism();
  const max = WORKERS_PER_CPU_MAX * cpus;
  try {
    return integer(text, 1, max);
  } catch {
    throw new InvalidArgumentError(`must be an integer from 1 to ${max} (${WORKERS_PER_CPU_MAX} x the ${cpus} CPUs; more than ${cpus} only adds memory and switching).`);
  }
}

/** --shard i/n | auto | auto/n (src/fuzz/shard.ts). */
export function parseShardOption(text: string): Shard {
  try {
    return parseShard(text);
  } catch (e) {
    if (e instanceof ShardError) throw new InvalidArgumentError(`${e.message}.`);
    throw e;
  }
}
export const parseCases = (text: string): number => integer(text, 1, Number.MAX_SAFE_INTEGER);
export const parseSeed = (text: string): number => integer(text, 0, 0xffffffff);

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const UNIT_ORDER = ['h', 'm', 's', 'ms'];

/** "500ms", "30s", "10m", "8h", "1h30m" -> milliseconds. Units must go from largest to smallest. */
export function parseDuration(text: string): number {
  const bad = (): never => {
    throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 10m, 8h or 1h30m.');
  };
  const t = text.trim();
  if (!/^(\d+(ms|h|m|s))+$/.test(t)) bad();
  let ms = 0;
  let lastUnit = -1;
  for (const [, num, unit] of t.matchAll(/(\d+)(ms|h|m|s)/g)) {
    const u = UNIT_ORDER.indexOf(unit);
    if (u <= lastUnit) bad();
    lastUnit = u;
    ms += Number(num) * UNIT_MS[unit];
  }
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new InvalidArgumentError('must be longer than zero.');
  return ms;
}

/** "G1,G5" -> validated guard ids (unknown or not-yet-modelled guards are refused); repeats accumulate. */
export function parseGuardOption(text: string, previous: string[] = []): string[] {
  try {
    return [...previous, ...parseGuardList(text.split(','), '--guard-off')];
  } catch (e) {
    if (e instanceof DesignError) throw new InvalidArgumentError(`${e.message}.`);
    throw e;
  }
}

/** Read a JSON file given on the command line; an unreadable or malformed file is a usage error naming it. */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

/** A --config file: a JSON object of design settings (the `design` object of a case file). */
export function loadDesignConfig(file: string, base: Readonly<Design> = CAMPAIGN_DEFAULTS): Design {
  return loadCampaignConfig(file, base).design;
}

/** A --config file's design, and the settings it names: a campaign never varies those (they are pinned). */
export function loadCampaignConfig(file: string, base: Readonly<Design> = CAMPAIGN_DEFAULTS): { design: Design; pinned: Set<string> } {
  const raw = readJsonFile(file);
  try {
    const design = resolveDesign(raw, 'design', base);
    return { design, pinned: new Set(Object.keys(raw as object)) };
  } catch (e) {
    if (e instanceof DesignError) {
      const field = e.field.replace(/^design\.?/, '') || '(top level)';
      throw new UsageError(`${file}: ${field}: ${e.message}`);
    }
    throw e;
  }
}

/** A --design-space file (src/fuzz/designSpace.ts), checked against the campaign design and the pinned settings. */
export function loadDesignSpace(file: string, design: Design, pinned: ReadonlySet<string>): DesignSpace {
  const raw = readJsonFile(file);
  try {
    return parseDesignSpace(raw, file, design, pinned);
  } catch (e) {
    if (e instanceof DesignSpaceError) throw new UsageError(`${file}: ${e.field}: ${e.message}`);
    throw e;
  }
}

/** Files and directories on the command line -> case files (directories: every *.json inside, recursively, sorted). */
export function expandCasePaths(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    try {
      for (const f of listCaseFiles(p)) out.add(f);
    } catch (e) {
      throw new UsageError(`${p}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  return [...out];
}

/** A directory option must not name an existing non-directory. */
export function checkDirOption(option: string, dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    const env = asEnvironmentError(e, dir);
    if (env) throw env;
    throw new UsageError(`${option} ${dir}: cannot read: ${code ?? String(e)}`);
  }
  if (!isDir) throw new UsageError(`${option} ${dir}: not a directory`);
}
