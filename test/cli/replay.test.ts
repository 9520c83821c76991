// replay: exit 0 when every case gives its recorded verdict, 1 when one changed.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveDesign } from '../../src/model/config.js';
import { type Case, serializeCase } from '../../src/fuzz/case.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { runCase } from '../../src/fuzz/run.js';
import { startTdxfuzz, tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const SEED = 5;
const design = resolveDesign({ guardsOff: ['G2'] });

/** The first generated cases of campaign SEED, each recording the verdict it gives. */
function recorded(n: number): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const c = generateCase(design, SEED, i);
    const r = runCase(c);
    out.push({ ...c, expect: r.verdict === 'fail' ? { verdict: 'fail', signature: r.signature as string } : { verdict: 'pass' } });
  }
  return out;
}

describe(`replay (cases of seed ${SEED})`, () => {
  let dir: string;
  let cases: Case[];
  beforeAll(() => {
    dir = tempDir();
    cases = recorded(6);
    mkdirSync(join(dir, 'set', 'sub'), { recursive: true });
    cases.forEach((c, i) => writeFileSync(join(dir, 'set', i < 3 ? '' : 'sub', `c${i}.json`), serializeCase(c)));
  });

  it('exits 0 when every verdict is as recorded, expanding directories recursively in sorted order', () => {
    const r = tdxfuzz(['replay', 'set'], dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, -1).map((l) => l.split(/\s+/)[1])).toEqual(['set/c0.json', 'set/c1.json', 'set/c2.json', 'set/sub/c3.json', 'set/sub/c4.json', 'set/sub/c5.json']);
    for (const l of lines.slice(0, -1)) expect(l.startsWith('ok   ')).toBe(true);
    expect(lines.at(-1)).toBe('6 passed, 0 failed');
  });

  it('follows symbolic links to case files and to folders', () => {
    mkdirSync(join(dir, 'links'));
    symlinkSync(join(dir, 'set', 'c0.json'), join(dir, 'links', 'a.json'));
    symlinkSync(join(dir, 'set', 'sub'), join(dir, 'links', 'sub'));
    const r = tdxfuzz(['replay', 'links'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['links/a.json', 'links/sub/c3.json', 'links/sub/c4.json', 'links/sub/c5.json', 'passed,']);
  });

  it('stops quietly with 141 (as SIGPIPE would) when its reader goes away, not with a verdict exit code', async () => {
    // ~12000 result lines: far more than a pipe buffer, so writes go on after the reader has closed
    const run = startTdxfuzz(['replay', ...Array<string>(2000).fill('set')], dir);
    run.child.stdout.once('data', () => run.child.stdout.destroy());
    const r = await run.done;
    expect(r.code).toBe(141);
    expect(r.stderr).toBe('');
  });

  it('a file without "expect" is expected to pass', () => {
    const passing = cases.find((c) => c.expect?.verdict === 'pass');
    expect(passing, 'the first cases of the campaign include a passing one').toBeDefined();
    writeFileSync(join(dir, 'plain.json'), serializeCase({ ...passing!, expect: undefined }));
    expect(tdxfuzz(['replay', 'plain.json'], dir).code).toBe(0);
  });

  it('exits 1 and says what changed when a verdict differs', () => {
    const c = cases[0];
    const wrong: Case = { ...c, expect: c.expect?.verdict === 'pass' ? { verdict: 'fail', signature: 'INV-99@touch' } : { verdict: 'pass' } };
    writeFileSync(join(dir, 'wrong.json'), serializeCase(wrong));
    const r = tdxfuzz(['replay', 'set', 'wrong.json'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL wrong\.json {2}expected (pass|fail INV-99@touch) got /m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('6 passed, 1 failed');
  });

  it('--json prints one object with every result', () => {
    const r = tdxfuzz(['replay', '--json', 'set/sub', 'wrong.json'], dir);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { passed: number; failed: number; results: { file: string; ok: boolean; got: { traceHash: string } }[] };
    expect(j.passed).toBe(3);
    expect(j.failed).toBe(1);
    expect(j.results.map((x) => x.ok)).toEqual([true, true, true, false]);
    for (const x of j.results) expect(x.got.traceHash).toMatch(/^[0-9a-f]{8}$/);
  });
});
