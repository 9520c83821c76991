// Mutation of corpus cases (issue 12): every mutated case is a valid case, the same inputs give the same
// case, every operator is used, multi-actor cases keep their actors consistent, and the parent choice is a
// pure function of (seed, index, snapshot) that names exactly the entries the worker needs.
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';
import { type Case, caseId, parseCase } from '../../src/fuzz/case.js';
import { withActors } from '../../src/fuzz/concurrency.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { isMutated, MAX_MUTATED_OPS, mutateCase, mutationRng, type Operator } from '../../src/fuzz/mutate.js';
import { cumulativeOf, entriesNeeded, EPOCH, epochOf, mutatedCase, parentCost, planCase, poolWeights, snapshotBoundary } from '../../src/fuzz/pool.js';
import { OPS } from '../../src/model/vocab/index.js';
import { runCase } from '../../src/fuzz/run.js';

const SEED = 11;
const design = resolveDesign({}, 'design', CAMPAIGN_DEFAULTS);
const parents: Case[] = Array.from({ length: 40 }, (_, i) => generateCase(design, SEED, i));
const concurrent: Case[] = Array.from({ length: 200 }, (_, i) => withActors(generateCase(design, SEED, 1000 + i), SEED, 1000 + i, { share: 1, schedule: 'mix' })).filter((c) => c.actors);

function mutate(parent: Case, donor: Case | null, index: number) {
  return mutateCase(parent, donor, mutationRng(SEED, index), SEED, index);
}

describe(`mutation (seed ${SEED})`, () => {
  it('makes valid cases that differ from the parent, and leaves the parent untouched', () => {
    const before = parents.map((p) => JSON.stringify(p));
    let changed = 0;
    for (let i = 0; i < 2000; i++) {
      const p = parents[i % parents.length];
      const m = mutate(p, i % 3 === 0 ? parents[(i * 7) % parents.length] : null, i);
      expect(() => parseCase(JSON.parse(JSON.stringify(m.case)))).not.toThrow();
      expect(m.case.ops.length).toBeGreaterThan(0);
      expect(m.case.ops.length).toBeLessThanOrEqual(MAX_MUTATED_OPS);
      expect(m.case.design).toEqual(p.design); // a mutated case keeps its parent's design and layout
      expect(isMutated(m.case)).toBe(true);
      if (caseId(m.case) !== caseId(p)) changed++;
    }
    expect(parents.map((p) => JSON.stringify(p))).toEqual(before);
    expect(changed).toBeGreaterThan(1900);
  });

  it('gives the same case for the same parent, seed and index', () => {
    for (let i = 0; i < 50; i++) expect(mutate(parents[i % 40], parents[(i + 1) % 40], i).case).toEqual(mutate(parents[i % 40], parents[(i + 1) % 40], i).case);
  });

  it('uses every operator, splice only with a donor', () => {
    const used = new Map<Operator, number>();
    for (let i = 0; i < 3000; i++) {
      const p = i % 2 ? parents[i % 40] : concurrent[i % concurrent.length];
      for (const op of mutate(p, i % 2 ? parents[(i + 3) % 40] : null, i).applied) used.set(op, (used.get(op) ?? 0) + 1);
    }
    for (const op of ['insert', 'delete', 'duplicate', 'splice', 'args', 'faultInsert', 'faultMove', 'faultWeaken', 'faultRemove', 'schedule'] as Operator[]) {
      expect(used.get(op) ?? 0, op).toBeGreaterThan(10);
    }
    for (let i = 0; i < 500; i++) expect(mutate(parents[i % 40], null, i).applied).not.toContain('splice');
  });

  it('keeps each op of a concurrent case on an actor of its kind, and changes schedules', () => {
    expect(concurrent.length).toBeGreaterThan(50);
    let scheduleChanged = 0;
    for (let i = 0; i < 1000; i++) {
      const p = concurrent[i % concurrent.length];
      const m = mutate(p, parents[i % 40], i).case; // a one-actor donor spliced into a concurrent case
      expect(m.actors).toEqual(p.actors);
      for (const o of m.ops) expect(m.actors![o.actor!]).toBe(OPS[o.op].actor);
      if (JSON.stringify(m.schedule) !== JSON.stringify(p.schedule)) scheduleChanged++;
    }
    expect(scheduleChanged).toBeGreaterThan(50);
    // and a concurrent donor spliced into a one-actor case leaves no actor behind
    for (let i = 0; i < 300; i++) for (const o of mutate(parents[i % 40], concurrent[i % concurrent.length], i).case.ops) expect(o.actor).toBeUndefined();
  });

  it('moves arguments toward 2M boundaries and one-page ranges', () => {
    let aligned = 0;
    let onePage = 0;
    for (let i = 0; i < 3000; i++) {
      for (const o of mutate(parents[i % 40], null, i).case.ops) {
        const x = o as unknown as Record<string, number | undefined>;
        if (x.start !== undefined && x.end !== undefined && x.end - x.start === 1) onePage++;
        if (x.gfn !== undefined && x.gfn % design.ptrs === 0) aligned++;
      }
    }
    expect(onePage).toBeGreaterThan(100);
    expect(aligned).toBeGreaterThan(100);
  });

  it('runs mutated cases through the executor without harness exceptions', () => {
    for (let i = 0; i < 300; i++) {
      const r = runCase(mutate(i % 2 ? parents[i % 40] : concurrent[i % concurrent.length], parents[(i + 5) % 40], i).case);
      expect(r.signature ?? '').not.toMatch(/HARNESS-EXCEPTION|WATCHDOG/);
    }
  });
});

describe('parent choice', () => {
  const brought = [5, 1, 30, 2, 0, 7, 1, 1];
  const cum = cumulativeOf(poolWeights(brought.map((b) => ({ brought: b, cost: 1 })), brought.length));

  it('is a pure function of (seed, index, snapshot) and names the entries the case needs', () => {
    const m = { share: 0.6 };
    let mutated = 0;
    for (let i = 0; i < 400; i++) {
      const a = planCase(SEED, i, m, cum);
      const b = planCase(SEED, i, m, cum);
      expect(a === null ? null : [a.parent, a.donor]).toEqual(b === null ? null : [b.parent, b.donor]);
      const need = entriesNeeded(SEED, i, m, cum);
      const asked: number[] = [];
      const out = mutatedCase(SEED, i, m, { cumulative: cum, entry: (pos) => (asked.push(pos), parents[pos]) });
      expect(out !== null).toBe(need.length > 0);
      expect([...new Set(asked)].sort()).toEqual([...new Set(need)].sort());
      if (out) mutated++;
    }
    expect(mutated).toBeGreaterThan(180);
    expect(mutated).toBeLessThan(300);
    expect(planCase(SEED, 1, { share: 1 }, new Float64Array())).toBeNull(); // an empty pool: generate
    expect(planCase(SEED, 1, { share: 0 }, cum)).toBeNull();
  });

  it('favours entries that brought more coverage, and recent ones', () => {
    const hits = new Array(brought.length).fill(0);
    for (let i = 0; i < 4000; i++) {
      const p = planCase(SEED, i, { share: 1 }, cum)!;
      hits[p.parent]++;
    }
    expect(hits[2]).toBeGreaterThan(hits[1]); // 30 features over 1
    expect(hits[7]).toBeGreaterThan(hits[1]); // the same coverage, newer
    expect(Math.min(...hits)).toBeGreaterThan(0); // nothing starves
  });

  it('draws a costly parent (many ops on a large GPA space) less often than a cheap one with the same coverage', () => {
    const big = { ...parents[0], design: { ...parents[0].design, ptrs: 512 }, ops: Array.from({ length: 75 }, () => parents[0].ops[0]) };
    expect(parentCost(big)).toBeGreaterThan(100);
    expect(parentCost(parents[0])).toBeLessThan(4);
    const w = poolWeights([{ brought: 50, cost: parentCost(big) }, { brought: 50, cost: parentCost(parents[0]) }], 2);
    expect(w[1]).toBeGreaterThan(20 * w[0]);
  });

  it('lets epoch k run once every case below (k-1)*E is committed', () => {
    expect(snapshotBoundary(0)).toBe(0);
    expect(snapshotBoundary(1)).toBe(0);
    expect(snapshotBoundary(2)).toBe(EPOCH);
    expect(epochOf(EPOCH - 1)).toBe(0);
    expect(epochOf(2 * EPOCH)).toBe(2);
  });
});
