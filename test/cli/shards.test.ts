// Shards: the commands of docs/scale-out.md ("Try it on one machine") run with fewer cases; shards 0/2
// and 1/2 together run exactly the cases of the unsharded campaign, and merge unions their folders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import type { CampaignSummary } from '../../src/fuzz/coordinator.js';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { DEFAULT_CONCURRENCY } from '../../src/fuzz/concurrency.js';
import { runCase } from '../../src/fuzz/run.js';
import { parseShard } from '../../src/fuzz/shard.js';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';
import { ROOT, tdxfuzz } from '../helpers/cli.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const CASES = 400;

/** The shell lines of the first sh block after the "Try it on one machine" heading. */
function documentedCommands(): string[][] {
  const doc = readFileSync(join(ROOT, 'docs', 'scale-out.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Try it on one machine'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  return block.trim().split('\n').map((l) => l.trim().split(/\s+/));
}

describe('docs/scale-out.md: shards on one machine', () => {
  it(`shards 0/2 and 1/2 together run exactly the cases of the unsharded campaign (${CASES} cases), and merge unions their folders`, () => {
    const dir = tempDir();
    const cmds = documentedCommands();
    expect(cmds.map((c) => c.slice(0, 2).join(' '))).toEqual(['tdxfuzz fuzz', 'tdxfuzz fuzz', 'tdxfuzz merge', 'tdxfuzz triage']);
    const fuzzArgs = (c: string[]) => c.slice(1).map((a, i, all) => (all[i - 1] === '--cases' ? String(CASES) : a));
    const shards: CampaignSummary[] = [];
    for (const c of cmds.slice(0, 2)) {
      const r = tdxfuzz([...fuzzArgs(c), '--workers', '1', '--json'], dir);
      expect([0, 1], r.stderr).toContain(r.code);
      shards.push(JSON.parse(r.stdout) as CampaignSummary);
    }
    const plain = fuzzArgs(cmds[0]).filter((a, i, all) => a !== '--shard' && all[i - 1] !== '--shard').map((a) => (a === 'shard-0' ? 'whole' : a));
    const whole = JSON.parse(tdxfuzz([...plain, '--workers', '2', '--json'], dir).stdout) as CampaignSummary;
    expect(shards.map((s) => s.shard)).toEqual([{ index: 0, count: 2 }, { index: 1, count: 2 }]);
    expect(whole.shard).toBeNull();
    expect(shards.map((s) => s.cases)).toEqual([CASES / 2, CASES / 2]);
    // the cases each shard ran, told by the work they did: ops and steps of indices i, i+2, i+4, ...
    const design = resolveDesign({ guardsOff: ['G2'] }, 'design', CAMPAIGN_DEFAULTS); // what the command line runs
    const space = defaultDesignSpace(design);
    const work = [
      { ops: 0, steps: 0, failing: 0 },
      { ops: 0, steps: 0, failing: 0 },
    ];
    for (let i = 0; i < CASES; i++) {
      const r = runCase(campaignCase(design, space, 7, i, DEFAULT_CONCURRENCY)); // the CLI's default concurrency
      work[i % 2].ops += r.opsRun;
      work[i % 2].steps += r.steps;
      if (r.verdict === 'fail') work[i % 2].failing++;
    }
    shards.forEach((s, k) => expect({ ops: s.ops, steps: s.steps, failing: s.failingCases }).toEqual(work[k]));
    expect(shards[0].ops + shards[1].ops).toBe(whole.ops);
    expect(shards[0].steps + shards[1].steps).toBe(whole.steps);
    expect(shards[0].failingCases + shards[1].failingCases).toBe(whole.failingCases);

    const m = tdxfuzz(cmds[2].slice(1), dir);
    expect(m.code, m.stderr).toBe(0);
    const merged = filesIn(join(dir, 'merged', 'crashes'));
    const signatures = new Set([...shards, whole].flatMap((s) => s.uniqueFailures.map((u) => u.signature)));
    expect(Object.values(merged).map((t) => (JSON.parse(t) as { expect: { signature: string } }).expect.signature).sort()).toEqual([...signatures].sort());
    for (const name of Object.keys(merged)) {
      const c = loadCase(join(dir, 'merged', 'crashes', name));
      expect(runCase(c).signature).toBe(c.expect?.signature);
    }
    // the merged corpus covers what both shards' corpora cover, with no more cases than they hold
    const cover = (d: string) => new Set(Object.keys(filesIn(d)).flatMap((n) => [...runCase(loadCase(join(d, n))).features]));
    const both = new Set([...cover(join(dir, 'shard-0', 'corpus')), ...cover(join(dir, 'shard-1', 'corpus'))]);
    expect(cover(join(dir, 'merged', 'corpus'))).toEqual(both);
    expect(Object.keys(filesIn(join(dir, 'merged', 'corpus'))).length).toBeLessThanOrEqual(shards[0].corpusAdded + shards[1].corpusAdded);
    expect(tdxfuzz(cmds[3].slice(1), dir).stdout).toContain(`${signatures.size} unique failures in merged/crashes`);
    expect(tdxfuzz(['replay', 'merged'], dir).code).toBe(0);
  });
});

describe('--shard', () => {
  it('i/n, auto from JOB_COMPLETION_INDEX and TDXFUZZ_SHARDS, auto/n', () => {
    expect(parseShard('1/4', {})).toEqual({ index: 1, count: 4 });
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '3', TDXFUZZ_SHARDS: '8' })).toEqual({ index: 3, count: 8 });
    expect(parseShard('auto/5', { JOB_COMPLETION_INDEX: '4' })).toEqual({ index: 4, count: 5 });
    expect(() => parseShard('auto', { TDXFUZZ_SHARDS: '8' })).toThrow('auto needs JOB_COMPLETION_INDEX set to the shard index (it is not set)');
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '1' })).toThrow('auto needs the number of shards: auto/n, or TDXFUZZ_SHARDS (it is not set)');
    expect(() => parseShard('4/4', {})).toThrow('the shard index must be from 0 to 3, got 4');
    expect(() => parseShard('1/0', {})).toThrow('the number of shards must be from 1 to 1000000');
    expect(() => parseShard('2', {})).toThrow('the number of shards is missing');
  });

  it('a bad --shard is exit 2 naming it', () => {
    const r = tdxfuzz(['fuzz', '--shard', 'auto', '--cases', '10'], tempDir());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--shard <i/n>' argument 'auto' is invalid. auto needs JOB_COMPLETION_INDEX");
  });
});
