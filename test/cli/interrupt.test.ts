// A campaign interrupted with SIGINT at random moments never leaves a partial or corrupt file, and
// resumed after each interruption it saves the same files as one uninterrupted campaign. The moments are
// drawn from a printed seed (set TDXFUZZ_TEST_SEED to replay one).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import { readCampaignState } from '../../src/fuzz/campaignState.js';
import { SEED_CACHE_FILE, SeedCache } from '../../src/fuzz/seedCache.js';
import { readStats } from '../../src/fuzz/stats.js';
import { startTdxfuzz, tdxfuzz } from '../helpers/cli.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const SEED = process.env.TDXFUZZ_TEST_SEED ?? String(Date.now() % 100000);
const INTERRUPTIONS = 20;
/** Far more cases than 20 short runs reach: every run is interrupted. */
const CAMPAIGN = ['fuzz', '--seed', '13', '--guard-off', 'G2', '--cases', '100000000', '--workers', '1'];

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

/** Every file of the folder is whole: no temporary file, every case and campaign.json parses, every stats line too. */
function expectIntact(out: string): void {
  if (!existsSync(out)) return; // killed before it wrote anything
  for (const f of allFiles(out)) {
    expect(f.endsWith('.tmp'), f).toBe(false);
    if (f.endsWith('campaign.json')) expect(readCampaignState(f)).not.toBeNull();
    else if (f.endsWith(SEED_CACHE_FILE)) {
      const warnings: string[] = [];
      new SeedCache(f, 'any build', (m) => warnings.push(m));
      expect(warnings, f).toEqual([]);
    }
    else if (f.endsWith('.json')) loadCase(f);
    else if (f.endsWith('stats.jsonl')) {
      expect(readStats(f).skipped).toBe(0);
      expect(readFileSync(f, 'utf8').endsWith('\n')).toBe(true);
    } else throw new Error(`unexpected file ${f}`);
  }
}

describe(`SIGINT at ${INTERRUPTIONS} random moments between 0.2 s and 2 s (seed ${SEED}), resuming after each`, () => {
  it('leaves no partial or corrupt file, and the campaign saves the files of an uninterrupted campaign of the same length', async () => {
    const dir = tempDir();
    const rnd = seedrandom(SEED);
    let interrupted = 0;
    for (let round = 0; round < INTERRUPTIONS; round++) {
      const started = statSync(join(dir, 'split', 'campaign.json'), { throwIfNoEntry: false }) !== undefined;
      const p = startTdxfuzz(started ? ['fuzz', '--resume', '--out', 'split', '--no-progress'] : [...CAMPAIGN, '--out', 'split', '--no-progress'], dir);
      const at = 200 + Math.floor(rnd() * 1800);
      const timer = setTimeout(() => p.child.kill('SIGINT'), at);
      const r = await p.done;
      clearTimeout(timer);
      const killedEarly = r.code === null; // before tdxfuzz took SIGINT over: nothing was written yet
      expect(killedEarly || r.code === 130, `round ${round} at ${at} ms: ${r.code} ${r.stderr}`).toBe(true);
      if (r.code === 130 || killedEarly) interrupted++;
      expectIntact(join(dir, 'split'));
    }
    expect(interrupted).toBe(INTERRUPTIONS);
    // After a Ctrl-C every dispatched case is committed and every failure found is minimised and saved,
    // so the folder holds exactly what an uninterrupted campaign of cases 0..next-1 saves.
    const next = readCampaignState(join(dir, 'split', 'campaign.json'))!.progress.next;
    expect(next).toBeGreaterThan(0);
    const whole = CAMPAIGN.map((a, i) => (CAMPAIGN[i - 1] === '--cases' ? String(next) : a));
    expect(tdxfuzz([...whole, '--out', 'whole', '--no-progress'], dir).code).toBe(1);
    for (const sub of ['crashes', 'corpus', 'findings']) {
      expect(filesIn(join(dir, 'split', sub)), sub).toEqual(filesIn(join(dir, 'whole', sub)));
    }
  }, 100_000);
});
