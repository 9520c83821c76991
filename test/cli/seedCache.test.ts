// The seed cache from the command line: a campaign folder keeps what the corpus cases gave when seeded
// and what the cases it saved to its corpus reach (OUT/seed-cache.json), so the next campaign there does not
// run them again; --no-seed-cache runs them and leaves the file alone.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CampaignSummary } from '../../src/fuzz/coordinator.js';
import { ROOT, tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('fuzz --cases 40 three times in one campaign folder, the regression corpus read', () => {
  it('seeds from the cache the second time, and not with --no-seed-cache', () => {
    const dir = tempDir();
    const args = ['fuzz', '--cases', '40', '--workers', '1', '--regression-corpus', join(ROOT, 'corpus', 'regression'), '--out', 'out'];
    const run = (extra: string[] = []): CampaignSummary => {
      const r = tdxfuzz([...args, ...extra, '--json'], dir);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as CampaignSummary;
    };
    const first = run();
    const file = join(dir, 'out', 'seed-cache.json');
    expect(first.corpusSeeded).toBeGreaterThan(40);
    expect(first.corpusSeededFromCache).toBe(0);
    expect(first.corpusAdded).toBeGreaterThan(0);
    expect(existsSync(file)).toBe(true);
    const second = run();
    // the cases the first campaign added to out/corpus are in the cache too, with all their features
    expect(second.corpusSeeded).toBe(first.corpusSeeded + first.corpusAdded);
    expect(second.corpusSeededFromCache).toBe(second.corpusSeeded);
    expect(second.coverage).toBe(first.coverage);
    const written = readFileSync(file, 'utf8');
    const third = run(['--no-seed-cache']);
    expect(third.corpusSeededFromCache).toBe(0);
    expect(third.coverage).toBe(first.coverage);
    expect(readFileSync(file, 'utf8')).toBe(written);
    const human = tdxfuzz([...args, '--no-progress'], dir);
    expect(human.stdout).toContain(`seeded from ${second.corpusSeeded} files, ${second.corpusSeeded} of them from the seed cache)`);
  });
});
