// What each corpus case gave when a campaign seeded it (verdict and coverage features), kept in the campaign
// folder so the next campaign there need not run the corpus again. A corpus case's run is deterministic:
// the same case on the same code gives the same result, so an entry holds for exactly the code that made
// it. The cache names that code by a hash of the bundled command line (codeFingerprint); a file made by
// other code is ignored and rewritten. Running from the TypeScript sources or tsc's output (tests, scripts)
// has no fingerprint and no cache. The cases a campaign saves to its corpus go in too, with every feature
// their run reached (the batch reports them for the cache), so the next campaign seeds none of them again.
// Issue 14: a campaign folder with 986 corpus files spent 2 s of a `--cases 1` run seeding them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from './store.js';

export const SEED_CACHE_FORMAT = 'tdxfuzz-seed-cache';
export const SEED_CACHE_VERSION = 1;
export const SEED_CACHE_FILE = 'seed-cache.json';

/** The files of the bundled command line (rolldown.config.mjs): together they are the code a result comes from. */
const BUNDLE_FILES = ['main.js', 'runner.js', 'worker.js'];

/** A corpus case's verdict and coverage, as a seed task reports them. */
export interface SeedResult {
  pass: boolean;
  features: ArrayLike<number>;
}

/**
 * The hash of the bundle this module runs from (dist/bundle/*.js), or null when it does not run from the
 * bundle. `dir`: where to look instead (tests).
 */
export function codeFingerprint(dir = dirname(fileURLToPath(import.meta.url))): string | null {
  const h = createHash('sha256');
  for (const f of BUNDLE_FILES) {
    const file = join(dir, f);
    if (!existsSync(file)) return null;
    h.update(f).update('\0').update(readFileSync(file)).update('\0');
  }
  return h.digest('hex');
}

interface SeedCacheFile {
  format: typeof SEED_CACHE_FORMAT;
  version: number;
  fingerprint: string;
  /** Key (seedKey) -> [1 if it passed else 0, ...its features]. */
  entries: Record<string, number[]>;
}

/** The key of a case's result: its id (caseId), and whether performance findings fail it (--fail-on perf). */
function seedKey(id: string, failOnPerf: boolean): string {
  return `${id}${failOnPerf ? '+perf' : ''}`;
}

export class SeedCache {
  private readonly old = new Map<string, number[]>();
  /** The entries of the cases this campaign read: the file is rewritten with these only (a corpus file removed since drops out). */
  private readonly now = new Map<string, number[]>();
  private added = 0;
  /** Corpus cases whose result came from the file. */
  hits = 0;

  /**
   * Read `file` if it holds results of the code named `fingerprint`; a file of other code, another format or
   * unreadable JSON is ignored (with a warning for the last two) and replaced when the campaign saves.
   */
  constructor(
    private readonly file: string,
    private readonly fingerprint: string,
    warn: (m: string) => void,
  ) {
    if (!existsSync(file)) return;
    let raw: Partial<SeedCacheFile>;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<SeedCacheFile>;
    } catch (e) {
      warn(`warning: seed cache ${file} ignored (it is rewritten at the end of the campaign): ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (raw.format !== SEED_CACHE_FORMAT || raw.version !== SEED_CACHE_VERSION || typeof raw.entries !== 'object' || raw.entries === null) {
      warn(`warning: seed cache ${file} ignored: not a ${SEED_CACHE_FORMAT} file of version ${SEED_CACHE_VERSION} (it is rewritten at the end of the campaign)`);
      return;
    }
    if (raw.fingerprint !== fingerprint) return; // made by other code: its results need not hold
    for (const [k, v] of Object.entries(raw.entries)) if (Array.isArray(v) && v.length >= 1) this.old.set(k, v);
  }

  /** The cached result of the corpus case with id `id` (caseId), if any. */
  get(id: string, failOnPerf: boolean): SeedResult | undefined {
    const key = seedKey(id, failOnPerf);
    const v = this.old.get(key);
    if (!v) return undefined;
    this.now.set(key, v);
    this.hits++;
    return { pass: v[0] === 1, features: v.slice(1) };
  }

  /** Record the result of the corpus case with id `id` (caseId). */
  put(id: string, failOnPerf: boolean, r: SeedResult): void {
    const key = seedKey(id, failOnPerf);
    if (this.now.has(key)) return;
    this.now.set(key, [r.pass ? 1 : 0, ...Array.from(r.features)]);
    this.added++;
  }

  /** Write the results of this campaign's corpus cases when any is new or any old one is gone (atomically: a reader never sees half a file). */
  save(): void {
    if (this.added === 0 && this.now.size === this.old.size) return;
    const out: SeedCacheFile = { format: SEED_CACHE_FORMAT, version: SEED_CACHE_VERSION, fingerprint: this.fingerprint, entries: Object.fromEntries(this.now) };
    writeFileAtomic(this.file, JSON.stringify(out) + '\n');
  }
}
