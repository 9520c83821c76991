// Corpus minimisation: coverCorpus keeps the union of features with the smallest cases, and tdxfuzz cmin
// on two overlapping generated corpora writes fewer cases with exactly the union of their coverage.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseId, loadCase, serializeCase } from '../../src/fuzz/case.js';
import { coverCorpus } from '../../src/fuzz/cmin.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { runCase } from '../../src/fuzz/run.js';
import { listCaseFiles } from '../../src/fuzz/store.js';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';
import { tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('coverCorpus', () => {
  it('keeps every feature, prefers the smallest case for each, and drops cases the others make redundant', () => {
    const e = (id: string, ops: number, features: number[]) => ({ id, ops, features });
    expect(coverCorpus([e('big', 9, [1, 2, 3]), e('a', 1, [1]), e('b', 1, [2]), e('twin', 12, [1, 2, 3])])).toEqual(['big']);
    expect(coverCorpus([e('x', 5, [1, 2]), e('y', 2, [1]), e('z', 2, [2]), e('w', 3, [3])])).toEqual(['y', 'z', 'w']);
    expect(coverCorpus([])).toEqual([]);
  });
});

const featuresOf = (files: string[]): Set<number> => {
  const s = new Set<number>();
  for (const f of files) for (const x of runCase(loadCase(f)).features) s.add(x);
  return s;
};

describe('tdxfuzz cmin', () => {
  it('reduces two overlapping corpora to fewer cases with the same coverage', () => {
    const dir = tempDir();
    const d = resolveDesign({ ...CAMPAIGN_DEFAULTS });
    const write = (sub: string, from: number, to: number): void => {
      mkdirSync(join(dir, sub), { recursive: true });
      for (let i = from; i < to; i++) {
        const c = generateCase(d, 3, i);
        writeFileSync(join(dir, sub, `${caseId(c)}.json`), serializeCase(c));
      }
    };
    write('a', 0, 60);
    write('b', 40, 100); // 20 cases in both
    const inputs = [...listCaseFiles(join(dir, 'a')), ...listCaseFiles(join(dir, 'b'))];
    const r = tdxfuzz(['cmin', 'a', 'b', '-o', 'out', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { inputFiles: number; distinctCases: number; kept: number; features: number };
    expect(s.inputFiles).toBe(120);
    expect(s.distinctCases).toBe(100);
    const out = listCaseFiles(join(dir, 'out'));
    expect(out.length).toBe(s.kept);
    expect(out.length).toBeLessThan(s.distinctCases);
    const want = featuresOf(inputs);
    expect(want.size).toBe(s.features);
    expect([...featuresOf(out)].sort()).toEqual([...want].sort());
    // the output is a subset of the inputs
    const ids = new Set(inputs.map((f) => caseId(loadCase(f))));
    for (const f of out) expect(ids.has(caseId(loadCase(f)))).toBe(true);
  });

  it('refuses a missing input and an output that is an input (exit 2)', () => {
    const dir = tempDir();
    expect(tdxfuzz(['cmin', 'nope', '-o', 'out'], dir).code).toBe(2);
    mkdirSync(join(dir, 'a'));
    expect(tdxfuzz(['cmin', 'a', '-o', 'a'], dir).code).toBe(2);
  });
});
