// Where cases live on disk: the crash store (one minimised case per unique signature) and the corpus
// (one case per new piece of coverage). Every write is atomic (temporary file in the same directory,
// then rename), so an interrupted campaign never leaves a half-written case (architecture principle 10).
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { type Case, CaseError, caseId, type Expect, loadCase, type Provenance, serializeCase } from './case.js';
import { EnvironmentError, onDisk } from './envError.js';
import { signatureFileStem } from './signature.js';

let tmpCounter = 0;

/** Write `data` to `file` atomically: a reader sees the old content or the new one, never a mix. */
export function writeFileAtomic(file: string, data: string): void {
  onDisk(dirname(file), () => mkdirSync(dirname(file), { recursive: true }));
  const tmp = `${file}.${process.pid}.${threadId}.${++tmpCounter}.tmp`;
  onDisk(file, () => {
    try {
      writeFileSync(tmp, data, { flag: 'wx' });
      renameSync(tmp, file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  });
}

/**
 * Case files (`*.json`) under `root`, recursively, sorted by path. A plain file is returned as is. A
 * symbolic link counts as what it points to; one that leads back into a folder being walked is an
 * EnvironmentError (ELOOP) naming it, not an endless walk.
 */
export function listCaseFiles(root: string): string[] {
  if (statSync(root).isFile()) return [root];
  const out: string[] = [];
  const walk = (dir: string, above: ReadonlySet<string>): void => {
    const real = onDisk(dir, () => realpathSync(dir));
    if (above.has(real)) throw new EnvironmentError(dir, 'ELOOP', `symbolic link loop (leads back to ${real})`);
    const here = new Set(above).add(real);
    const entries = onDisk(dir, () => readdirSync(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      // a symlink counts as what it points to (a dangling one is left for loadCase to report)
      const kind = e.isSymbolicLink() ? onDisk(p, () => statSync(p, { throwIfNoEntry: false })) : e;
      if (kind?.isDirectory()) walk(p, here);
      else if ((kind === undefined || kind.isFile()) && e.name.endsWith('.json')) out.push(p);
    }
  };
  walk(root, new Set());
  return out;
}

/** A case file read back from a store: the case, or why it could not be read. */
export type StoredCase = { file: string; case: Case; error?: undefined } | { file: string; case?: undefined; error: CaseError };

function readStored(file: string): StoredCase {
  try {
    return { file, case: loadCase(file) };
  } catch (e) {
    if (e instanceof CaseError) return { file, error: e };
    throw e;
  }
}

/** The signature a crash file records, without validating the rest (the file may be from another version). */
function recordedSignature(file: string): string | null {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { expect?: { signature?: unknown } };
    return typeof raw?.expect?.signature === 'string' ? raw.expect.signature : null;
  } catch {
    return null;
  }
}

export type SaveOutcome = 'new' | 'known';

/** The file content of `c` recording `expect`, with `provenance` merged over the case's own. */
function recordText(c: Case, expect: Expect, provenance: Provenance | undefined): string {
  const merged = provenance || c.provenance ? { ...c.provenance, ...provenance } : undefined;
  const out: Case = { ...c, expect };
  if (merged) out.provenance = merged;
  else delete out.provenance;
  return serializeCase(out);
}

/**
 * One file per unique failure signature, named after the signature. A file is never overwritten: a
 * signature that is already stored is 'known'; if two signatures share a file-name stem (or the file
 * holds something else), the newcomer gets `<stem>~2.json`, `<stem>~3.json`, ...
 */
export class CrashStore {
  constructor(readonly dir: string) {}

  /** The file that holds `signature`, or the file it would be saved to. */
  fileFor(signature: string): string {
    const stem = signatureFileStem(signature);
    for (let n = 1; ; n++) {
      const file = join(this.dir, n === 1 ? `${stem}.json` : `${stem}~${n}.json`);
      if (!existsSync(file) || recordedSignature(file) === signature) return file;
    }
  }

  has(signature: string): boolean {
    return existsSync(this.fileFor(signature));
  }

  /** Save `c` as the reproducer of `signature` unless that signature is already stored. */
  save(c: Case, signature: string, provenance?: Provenance): SaveOutcome {
    const file = this.fileFor(signature);
    if (existsSync(file)) return 'known';
    writeFileAtomic(file, recordText(c, { verdict: 'fail', signature }, provenance));
    return 'new';
  }

  /** Every `*.json` in the directory (not recursive), sorted; unreadable ones carry their error. */
  list(): StoredCase[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => readStored(join(this.dir, n)));
  }
}

/**
 * One file per case that brought new coverage, named after its caseId, so saving the same case twice
 * is harmless. `list` descends into sub-folders (e.g. a committed corpus/regression/).
 */
export class CorpusStore {
  constructor(readonly dir: string) {}

  fileFor(c: Case): string {
    return join(this.dir, `${caseId(c)}.json`);
  }

  /** Save `c` with the verdict it gave (`expect`); 'known' if a file for the same case already exists. */
  save(c: Case, expect: Expect = { verdict: 'pass' }, provenance?: Provenance): SaveOutcome {
    const file = this.fileFor(c);
    if (existsSync(file)) return 'known';
    writeFileAtomic(file, recordText(c, expect, provenance));
    return 'new';
  }

  /** Paths of every case file under the directory, recursively, sorted. */
  list(): string[] {
    return existsSync(this.dir) ? listCaseFiles(this.dir) : [];
  }
}
