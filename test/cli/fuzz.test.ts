// End to end: a small campaign, then the triage workflow on what it saved (triage, show, replay, minimize).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import type { CampaignSummary } from '../../src/fuzz/coordinator.js';
import { startTdxfuzz, tdxfuzz } from '../helpers/cli.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const SEED = '9';

describe(`fuzz --seed ${SEED} --cases 2000 --guard-off G2 and the triage workflow`, () => {
  let dir: string;
  let summary: CampaignSummary;
  let code: number | null;

  beforeAll(() => {
    dir = tempDir();
    // --mutate 0: a repeated mutating campaign draws from the corpus the first one grew, so it is another campaign
    const r = tdxfuzz(['fuzz', '--seed', SEED, '--cases', '2000', '--workers', '2', '--guard-off', 'G2', '--mutate', '0', '--json'], dir);
    code = r.code;
    expect(r.stderr).not.toMatch(/internal error/);
    summary = JSON.parse(r.stdout) as CampaignSummary;
  });

  it('prints one JSON summary and exits 1 exactly when it saved new unique failures', () => {
    expect(summary.cases).toBe(2000);
    expect(summary.seed).toBe(9);
    expect(summary.design.guardsOff).toEqual(['G2']);
    expect(code).toBe(summary.uniqueFailures.length > 0 ? 1 : 0);
  });

  it('saves one file per unique failure and the corpus in the campaign folder tdxfuzz-out/', () => {
    expect(Object.keys(filesIn(join(dir, 'tdxfuzz-out', 'crashes')))).toHaveLength(summary.uniqueFailures.length);
    for (const u of summary.uniqueFailures) {
      expect(existsSync(join(dir, u.file))).toBe(true);
      expect(loadCase(join(dir, u.file)).expect).toEqual({ verdict: 'fail', signature: u.signature });
    }
    expect(Object.keys(filesIn(join(dir, 'tdxfuzz-out', 'corpus')))).toHaveLength(summary.corpusAdded);
    expect(readdirSync(dir).sort()).toEqual(['tdxfuzz-out']);
  });

  it('replay of crashes/ and corpus/ gives the recorded verdicts', () => {
    const r = tdxfuzz(['replay', 'tdxfuzz-out/crashes', 'tdxfuzz-out/corpus'], dir);
    expect(r.code, r.stdout).toBe(0);
  });

  it('the same campaign again finds nothing new and exits 0', () => {
    const r = tdxfuzz(['fuzz', '--seed', SEED, '--cases', '2000', '--workers', '1', '--guard-off', 'G2', '--mutate', '0', '--json'], dir);
    expect(r.code).toBe(0);
    const again = JSON.parse(r.stdout) as CampaignSummary;
    expect(again.uniqueFailures).toEqual([]);
    expect(again.corpusAdded).toBe(0);
    expect(again.knownFailures.map((k) => k.signature)).toEqual(summary.uniqueFailures.map((u) => u.signature));
  });

  it('triage lists every unique failure', () => {
    const r = tdxfuzz(['triage'], dir);
    expect(r.code).toBe(0);
    if (summary.uniqueFailures.length === 0) expect(r.stdout).toContain('no failures');
    for (const u of summary.uniqueFailures) expect(r.stdout).toContain(u.signature);
  });

  it('show explains a failure: ops, verdict, signature, trace hash', () => {
    for (const u of summary.uniqueFailures.slice(0, 3)) {
      const r = tdxfuzz(['show', u.file], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('guards off G2');
      expect(r.stdout).toContain('<- fails here');
      expect(r.stdout).toMatch(new RegExp(`signature\\s+${u.signature.replace(/[+.]/g, '\\$&')}`));
      expect(r.stdout).toMatch(/trace hash [0-9a-f]{8}/);
      expect(r.stdout).toContain('as recorded in the file');
    }
  });

  it('minimize writes a case that still fails with a signature of the same invariant and op', () => {
    for (const u of summary.uniqueFailures.slice(0, 2)) {
      const r = tdxfuzz(['minimize', u.file, '-o', 'min.json'], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^minimised .* ops, \d+ faults -> \d+ ops, \d+ faults in \d+ attempts/m);
      const m = loadCase(join(dir, 'min.json'));
      expect(m.ops.length).toBeLessThanOrEqual(u.ops);
      expect(tdxfuzz(['replay', 'min.json'], dir).code).toBe(0);
    }
  });

  it('minimize refuses a passing case with exit 2', () => {
    const corpus = join('tdxfuzz-out', 'corpus');
    const passing = Object.keys(filesIn(join(dir, corpus))).find((n) => readFileSync(join(dir, corpus, n), 'utf8').includes('"verdict":"pass"'));
    if (!passing) return;
    const r = tdxfuzz(['minimize', join(corpus, passing)], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the case passes');
  });
});

describe('fuzz by duration and interruption', () => {
  it('--duration runs a short campaign and prints a human summary', () => {
    const dir = tempDir();
    const r = tdxfuzz(['fuzz', '--duration', '1s', '--workers', '2', '--no-progress'], dir);
    expect([0, 1]).toContain(r.code);
    expect(r.stdout).toMatch(/^ran \d+ cases \(\d+ ops\)/m);
    // nothing on stderr but the announcements of failures found (if any)
    expect(r.stderr.replace(/^tdxfuzz: (first failure|NEW) .*\n/gm, '')).toBe('');
  });

  it('Ctrl-C stops the campaign, finishes the work in flight, prints the summary and exits 130', async () => {
    const dir = tempDir();
    // Not a terminal, progress on: a plain status line on stderr shows the campaign has started.
    const p = startTdxfuzz(['fuzz', '--duration', '10m', '--workers', '2', '--guard-off', 'G2'], dir);
    while (!p.stderr().includes('cases |')) await new Promise((r) => setTimeout(r, 50));
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted; finishing the batches in flight');
    expect(r.stdout).toContain('(interrupted; every failure found so far was minimised and saved)');
    expect(r.stdout).toContain('continue this campaign with: tdxfuzz fuzz --out tdxfuzz-out --resume');
    const saved = ['tdxfuzz-out/crashes', 'tdxfuzz-out/corpus'].filter((d) => existsSync(join(dir, d)));
    expect(tdxfuzz(['replay', ...saved], dir).code).toBe(0);
  });
});

describe('findings on a design other than the campaign design name it', () => {
  it('--design-space samples an older TDX module; with G3 off the failure names enhancedDemoteInterruptibility=false (human and --json)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'space.json'), '{"enhancedDemoteInterruptibility": [false]}');
    const args = ['fuzz', '--guard-off', 'G3', '--design-space', 'space.json', '--cases', '200', '--workers', '1'];
    const r = tdxfuzz([...args, '--no-progress'], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('design space: space.json: enhancedDemoteInterruptibility varied per case');
    expect(r.stdout).toMatch(/^ {2}NEW {2}INV-30@\S+ .*\n {7}design: {2}enhancedDemoteInterruptibility=false$/m);
    const j = JSON.parse(tdxfuzz([...args, '--json', '--crashes', 'c2', '--corpus', 'k2'], dir).stdout) as CampaignSummary;
    expect(j.designSpace?.source).toBe('space.json');
    expect(j.uniqueFailures.length).toBeGreaterThan(0);
    for (const u of j.uniqueFailures) expect(u.design).toEqual({ enhancedDemoteInterruptibility: false });
  });

  it('a failure on the campaign design says so', () => {
    const dir = tempDir();
    const r = tdxfuzz(['fuzz', '--guard-off', 'G2', '--no-design-space', '--cases', '300', '--workers', '1', '--no-progress'], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('design space: none (every case runs the campaign design)');
    expect(r.stdout).toMatch(/^ {7}design: {2}campaign design$/m);
  });

  it('stderr tells of the first failing case and of each new unique failure as it is saved, long before the summary', () => {
    const dir = tempDir();
    const r = tdxfuzz(['fuzz', '--guard-off', 'G2', '--cases', '300', '--workers', '1', '--no-progress'], dir);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^tdxfuzz: first failure: case \d+ fails \S+ \(at \d+\.\d+s\); minimising it$/);
    const saved = lines.slice(1);
    expect(saved.length).toBeGreaterThan(0);
    for (const l of saved) expect(l).toMatch(/^tdxfuzz: NEW \S+ \[(damage|structural)\] \(\d+ ops, case \d+\) saved to tdxfuzz-out\/crashes\/\S+\.json \(at \d+\.\d+s\)$/);
    // one line per unique failure of the summary, in its order
    const summary = [...r.stdout.matchAll(/^ {2}NEW {2}(\S+) /gm)].map((m) => m[1]);
    expect(saved.map((l) => l.split(' ')[2])).toEqual(summary);
    // --json keeps stderr for warnings only
    expect(tdxfuzz(['fuzz', '--guard-off', 'G2', '--cases', '300', '--workers', '1', '--json', '--out', 'j'], dir).stderr).toBe('');
  });
});
