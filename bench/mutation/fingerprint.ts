// What a mutant's verdict depends on besides the mutated model, hashed: Stryker's incremental mode diffs
// only the mutated files and the test files, so run.ts forces a full run when this hash changes.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type RunKind = 'campaign' | 'unit';

/** The files and folders each run's verdicts depend on (besides src/model). */
export const INPUTS: Record<RunKind, readonly string[]> = {
  campaign: ['src/oracle', 'src/fuzz', 'bench/mutation/check.ts', 'bench/mutation/campaign.spec.ts', 'bench/mutation/settings.ts', 'bench/mutation/vitest.config.ts', 'stryker.config.mjs', 'package-lock.json'],
  unit: ['src/oracle', 'src/fuzz', 'test/model', 'test/oracle', 'test/helpers', 'bench/mutation/vitest.unit.config.ts', 'stryker.config.mjs', 'stryker.unit.config.mjs', 'package-lock.json'],
};

function files(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p).sort().flatMap((n) => files(join(p, n)));
}

/** sha256 over the paths and contents of a run's inputs, relative to the current directory (the repo root). */
export function fingerprint(kind: RunKind): string {
  const h = createHash('sha256');
  for (const f of INPUTS[kind].flatMap(files)) h.update(`${f}\0`).update(readFileSync(f)).update('\0');
  return h.digest('hex');
}
