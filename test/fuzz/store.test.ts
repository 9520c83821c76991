import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDesign } from '../../src/model/config.js';
import { type Case, caseId, CASE_FORMAT, CASE_VERSION, loadCase, type Op } from '../../src/fuzz/case.js';
import { signatureFileStem } from '../../src/fuzz/signature.js';
import { CorpusStore, CrashStore, listCaseFiles, writeFileAtomic } from '../../src/fuzz/store.js';
import { tempDir } from '../helpers/tmp.js';

function mkCase(...ops: Op[]): Case {
  return { format: CASE_FORMAT, version: CASE_VERSION, design: resolveDesign({ ptrs: 16 }), ops, provenance: { campaignSeed: 3, caseIndex: 9 } };
}
const A = mkCase({ op: 'touch', gfn: 1 }, { op: 'convert', start: 0, end: 16, to: 'shared' });
const B = mkCase({ op: 'punch', start: 0, end: 4 });

describe('writeFileAtomic', () => {
  it('creates missing directories, replaces the file, leaves no temporary file', () => {
    const dir = join(tempDir(), 'a', 'b');
    const f = join(dir, 'x.json');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['x.json']);
  });
});

describe('CrashStore', () => {
  it('creates its directory only on the first save', () => {
    const dir = join(tempDir(), 'crashes');
    const s = new CrashStore(dir);
    expect(s.list()).toEqual([]);
    expect(s.has('INV-1@touch')).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(s.save(A, 'INV-1@touch')).toBe('new');
    expect(existsSync(dir)).toBe(true);
  });

  it('names the file after the signature and records the expectation and provenance', () => {
    const s = new CrashStore(tempDir());
    const sig = 'INV-3@convert+OPERAND_BUSY';
    expect(s.save(A, sig, { tool: 'test', originalOps: 40 })).toBe('new');
    const file = join(s.dir, `${signatureFileStem(sig)}.json`);
    expect(s.fileFor(sig)).toBe(file);
    const back = loadCase(file);
    expect(back.expect).toEqual({ verdict: 'fail', signature: sig });
    expect(back.provenance).toEqual({ campaignSeed: 3, caseIndex: 9, tool: 'test', originalOps: 40 });
    expect(back.ops).toEqual(A.ops);
  });

  it('never overwrites a stored signature with a different case', () => {
    const s = new CrashStore(tempDir());
    s.save(A, 'INV-1@touch');
    const before = readFileSync(s.fileFor('INV-1@touch'), 'utf8');
    expect(s.save(B, 'INV-1@touch')).toBe('known');
    expect(readFileSync(s.fileFor('INV-1@touch'), 'utf8')).toBe(before);
    expect(s.has('INV-1@touch')).toBe(true);
  });

  it('gives a different signature with the same file-name stem its own file', () => {
    const s = new CrashStore(tempDir());
    expect(s.save(A, 'INV-1@touch')).toBe('new');
    expect(s.save(B, 'INV-1_touch')).toBe('new');
    expect(readdirSync(s.dir).sort()).toEqual(['INV-1_touch.json', 'INV-1_touch~2.json']);
    expect(loadCase(s.fileFor('INV-1_touch')).ops).toEqual(B.ops);
    expect(s.save(A, 'INV-1_touch')).toBe('known');
  });

  it('does not overwrite a file it cannot read as a crash', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'INV-1_touch.json'), 'not json');
    const s = new CrashStore(dir);
    expect(s.save(A, 'INV-1@touch')).toBe('new');
    expect(readFileSync(join(dir, 'INV-1_touch.json'), 'utf8')).toBe('not json');
  });

  it('lists every case file, reporting malformed ones with file and field', () => {
    const s = new CrashStore(tempDir());
    s.save(A, 'INV-1@touch');
    s.save(B, 'INV-2@punch');
    writeFileSync(join(s.dir, 'bad.json'), JSON.stringify({ format: CASE_FORMAT, version: 1, ops: [{ op: 'fly' }] }));
    writeFileSync(join(s.dir, 'notes.txt'), 'ignored');
    const l = s.list();
    expect(l.map((e) => e.file.slice(s.dir.length + 1))).toEqual(['INV-1_touch.json', 'INV-2_punch.json', 'bad.json']);
    expect(l[0].case?.expect?.signature).toBe('INV-1@touch');
    expect(l[2].error?.message).toMatch(`${join(s.dir, 'bad.json')}: ops[0].op: must be one of touch, accept, convert, punch`);
  });
});

describe('CorpusStore', () => {
  it('names files by caseId and saves idempotently', () => {
    const s = new CorpusStore(join(tempDir(), 'corpus'));
    expect(s.save(A)).toBe('new');
    expect(s.save({ ...A, provenance: { note: 'same ops, other provenance' } })).toBe('known');
    expect(readdirSync(s.dir)).toEqual([`${caseId(A)}.json`]);
    expect(loadCase(s.fileFor(A)).expect).toEqual({ verdict: 'pass' });
  });

  it('records a failing verdict when given one', () => {
    const s = new CorpusStore(tempDir());
    s.save(B, { verdict: 'fail', signature: 'INV-2@punch' });
    expect(loadCase(s.fileFor(B)).expect).toEqual({ verdict: 'fail', signature: 'INV-2@punch' });
  });

  it('lists case files recursively and sorted, including committed sub-folders', () => {
    const s = new CorpusStore(tempDir());
    expect(new CorpusStore(join(s.dir, 'missing')).list()).toEqual([]);
    s.save(A);
    s.save(B);
    mkdirSync(join(s.dir, 'regression'));
    writeFileSync(join(s.dir, 'regression', 'bug-2.json'), '{}');
    writeFileSync(join(s.dir, 'README.md'), 'not a case');
    const want = [`${caseId(A)}.json`, `${caseId(B)}.json`, 'regression/bug-2.json'].map((n) => join(s.dir, n)).sort();
    expect(s.list()).toEqual(want);
    expect(listCaseFiles(want[0])).toEqual([want[0]]);
  });
});
