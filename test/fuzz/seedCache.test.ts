// The seed cache (src/fuzz/seedCache.ts): what each corpus case gave when seeded, kept for the next campaign
// in the folder, valid only for the code that made it. Unit tests of the file, then campaigns: one that takes
// every corpus result from the cache saves what one that runs them saves, and a cache that lied would
// change the campaign (it is trusted, so it must be the code's own).
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Case, caseId, loadCase } from '../../src/fuzz/case.js';
import { runCampaign } from '../../src/fuzz/coordinator.js';
import { mutationOf } from '../../src/fuzz/pool.js';
import { codeFingerprint, SEED_CACHE_FORMAT, SeedCache } from '../../src/fuzz/seedCache.js';
import { CAMPAIGN_DEFAULTS } from '../../src/model/config.js';
import { campaignIn, stableSummary } from '../helpers/campaign.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const REGRESSION = join(import.meta.dirname, '..', '..', 'corpus', 'regression');
const a: Case = loadCase(join(REGRESSION, 'bug-01-folio-split-before-unmap.json'));
const b: Case = loadCase(join(REGRESSION, 'bug-02-imprecise-zap.json'));

describe('codeFingerprint', () => {
  it('hashes the three bundle files, changes with any of them, and is null without them', () => {
    const dir = tempDir();
    expect(codeFingerprint(dir)).toBeNull();
    for (const f of ['main.js', 'runner.js', 'worker.js']) writeFileSync(join(dir, f), `// ${f}\n`);
    const first = codeFingerprint(dir);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(codeFingerprint(dir)).toBe(first);
    writeFileSync(join(dir, 'runner.js'), '// runner.js, changed\n');
    expect(codeFingerprint(dir)).not.toBe(first);
  });

  it('is null when running from the sources (tests, scripts): no cache there', () => {
    expect(codeFingerprint()).toBeNull();
  });
});

describe('SeedCache', () => {
  const open = (file: string, fingerprint = 'code-1') => {
    const warnings: string[] = [];
    return { cache: new SeedCache(file, fingerprint, (m) => warnings.push(m)), warnings };
  };

  it('gives back what was put, per case and per --fail-on perf, for the same code only', () => {
    const file = join(tempDir(), 'seed-cache.json');
    const first = open(file).cache;
    expect(first.get(caseId(a), false)).toBeUndefined();
    first.put(caseId(a), false, { pass: true, features: [3, 1, 4] });
    first.put(caseId(b), false, { pass: false, features: Uint32Array.of(9) });
    first.save();
    const again = open(file).cache;
    expect(again.get(caseId(a), false)).toEqual({ pass: true, features: [3, 1, 4] });
    expect(again.get(caseId(a), true)).toBeUndefined(); // judged with performance findings failing: another result
    expect(again.get(caseId(b), false)).toEqual({ pass: false, features: [9] });
    expect(again.hits).toBe(2);
    const other = open(file, 'code-2');
    expect(other.cache.get(caseId(a), false)).toBeUndefined();
    expect(other.warnings).toEqual([]);
  });

  it('rewrites the file with the cases read this time only, and not at all when nothing changed', () => {
    const file = join(tempDir(), 'seed-cache.json');
    const first = open(file).cache;
    first.put(caseId(a), false, { pass: true, features: [1] });
    first.put(caseId(b), false, { pass: true, features: [2] });
    first.save();
    const unchanged = open(file).cache;
    unchanged.get(caseId(a), false);
    unchanged.get(caseId(b), false);
    const marked = readFileSync(file, 'utf8') + '\n\n'; // the same cache, told apart from what save() writes
    writeFileSync(file, marked);
    unchanged.save();
    expect(readFileSync(file, 'utf8')).toBe(marked);
    const onlyA = open(file).cache;
    onlyA.get(caseId(a), false);
    onlyA.save();
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { format: string; fingerprint: string; entries: Record<string, number[]> };
    expect(raw.format).toBe(SEED_CACHE_FORMAT);
    expect(raw.fingerprint).toBe('code-1');
    expect(Object.values(raw.entries)).toEqual([[1, 1]]);
  });

  it('ignores an unreadable or foreign file with a warning, and replaces it', () => {
    const dir = tempDir();
    for (const [name, text] of [
      ['broken.json', '{"format": "tdxfuzz-seed-cache", "entr'],
      ['foreign.json', JSON.stringify({ format: 'tdxfuzz-case', version: 1 })],
    ]) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const { cache, warnings } = open(file);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^warning: seed cache .*${name} ignored`));
      expect(cache.get(caseId(a), false)).toBeUndefined();
      cache.put(caseId(a), false, { pass: true, features: [5] });
      cache.save();
      expect(open(file).cache.get(caseId(a), false)).toEqual({ pass: true, features: [5] });
    }
  });
});

describe('campaigns with a seed cache (the regression corpus read, seed 3, 700 cases, mutation share 0.5)', () => {
  const o = { design: CAMPAIGN_DEFAULTS, seed: 3, cases: 700, workers: 2, mutation: mutationOf(0.5)!, readOnlyCorpora: [REGRESSION] };

  it('a campaign that takes every corpus result from the cache saves the same files and summary as one that runs them', async () => {
    const file = join(tempDir(), 'seed-cache.json');
    const plain = await campaignIn(o);
    const filling = await campaignIn({ ...o, seedCache: { file, fingerprint: () => 'test' } });
    const cached = await campaignIn({ ...o, seedCache: { file, fingerprint: () => 'test' } });
    expect(plain.summary.corpusSeeded).toBeGreaterThan(40);
    expect(plain.summary.corpusSeededFromCache).toBe(0);
    expect(filling.summary.corpusSeededFromCache).toBe(0);
    expect(cached.summary.corpusSeededFromCache).toBe(plain.summary.corpusSeeded);
    for (const r of [filling, cached]) {
      expect(r.crashes).toEqual(plain.crashes);
      expect(r.corpus).toEqual(plain.corpus);
      expect(stableSummary(r.summary)).toEqual(stableSummary(plain.summary));
    }
    expect(plain.summary.corpusAdded).toBeGreaterThan(0); // what is new coverage depends on the corpus's results
  });

  it('the results are taken as they are: a cache that lied would change the campaign (so only the same code may use it)', async () => {
    const dir = tempDir();
    const file = join(dir, 'seed-cache.json');
    const truth = await campaignIn({ ...o, seedCache: { file, fingerprint: () => 'test' } });
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, number[]> };
    for (const k of Object.keys(raw.entries)) raw.entries[k] = [raw.entries[k][0]]; // the verdicts, no coverage
    mkdirSync(join(dir, 'lie'));
    const lie = join(dir, 'lie', 'seed-cache.json');
    writeFileSync(lie, JSON.stringify(raw));
    copyFileSync(lie, join(dir, 'lie', 'copy.json'));
    const lied = await campaignIn({ ...o, seedCache: { file: lie, fingerprint: () => 'test' } });
    expect(lied.summary.corpusSeededFromCache).toBe(truth.summary.corpusSeeded);
    expect(lied.summary.coverage).toBeLessThan(truth.summary.coverage);
    const honest = await campaignIn({ ...o, seedCache: { file: join(dir, 'lie', 'copy.json'), fingerprint: () => 'other code' } });
    expect(honest.summary.corpusSeededFromCache).toBe(0);
    expect(stableSummary(honest.summary)).toEqual(stableSummary(truth.summary));
  });
});

describe('two campaigns in one folder (seed 5, 600 cases each, half of them concurrent, mutation share 0.5)', () => {
  it('the second takes every corpus case from the cache, the first one\'s additions too, and saves what it saves without the cache', async () => {
    const root = tempDir();
    const o = { design: CAMPAIGN_DEFAULTS, workers: 2, cases: 600, mutation: mutationOf(0.5)!, concurrency: { share: 0.5, schedule: 'mix' as const }, readOnlyCorpora: [REGRESSION], warn: () => {} };
    const dirs = (d: string) => ({ crashesDir: join(root, d, 'crashes'), corpusDir: join(root, d, 'corpus') });
    const cache = { file: join(root, 'a', 'seed-cache.json'), fingerprint: () => 'test' };
    const first = await runCampaign({ ...o, ...dirs('a'), seed: 5, seedCache: cache });
    expect(first.corpusAdded).toBeGreaterThan(0);
    cpSync(join(root, 'a'), join(root, 'b'), { recursive: true });
    const cached = await runCampaign({ ...o, ...dirs('a'), seed: 6, seedCache: cache });
    const plain = await runCampaign({ ...o, ...dirs('b'), seed: 6 });
    expect(cached.corpusSeeded).toBe(first.corpusSeeded + first.corpusAdded);
    expect(cached.corpusSeededFromCache).toBe(cached.corpusSeeded);
    expect(stableSummary(cached)).toEqual(stableSummary(plain));
    expect(filesIn(join(root, 'a', 'corpus'))).toEqual(filesIn(join(root, 'b', 'corpus')));
    expect(filesIn(join(root, 'a', 'crashes'))).toEqual(filesIn(join(root, 'b', 'crashes')));
  });
});

describe('a campaign with nothing left to run once the corpus is read (10 cases, the regression corpus read)', () => {
  it('starts no worker thread when the seed cache holds every corpus case, and saves what it saves without the cache', async () => {
    const file = join(tempDir(), 'seed-cache.json');
    const o = { design: CAMPAIGN_DEFAULTS, seed: 8, cases: 10, workers: 2, readOnlyCorpora: [REGRESSION] };
    const starts: number[] = [];
    const filling = await campaignIn({ ...o, seedCache: { file, fingerprint: () => 'test' }, onWorkersStart: (n) => starts.push(n) });
    expect(starts).toEqual([10]); // the corpus cases had to run: in the pool
    const cached = await campaignIn({ ...o, seedCache: { file, fingerprint: () => 'test' }, onWorkersStart: (n) => starts.push(n) });
    expect(starts).toEqual([10]);
    expect(cached.summary.corpusSeededFromCache).toBe(cached.summary.corpusSeeded);
    expect(cached.summary.cases).toBe(10);
    expect(cached.crashes).toEqual(filling.crashes);
    expect(cached.corpus).toEqual(filling.corpus);
    expect(stableSummary(cached.summary)).toEqual(stableSummary(filling.summary));
  });
});
