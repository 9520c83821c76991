// The reference's per-gfn state lives in one block (issue 14: the linearizability search copies and hashes a
// state at every node). Each field must stay its own, copies must be whole and independent, and the hash
// must tell apart states that differ in any field.
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';
import { Reference } from '../../src/oracle/reference.js';

const FIELDS = ['private', 'accepted', 'data', 'known', 'poison', 'hostMaps', 'pins', 'userMem'] as const;
type Field = (typeof FIELDS)[number];

const design = resolveDesign({ slotBaseGfn: 2, memslots: 2, slotSplitGfn: 16 }, 'design', CAMPAIGN_DEFAULTS);
const GFNS = 32;
const snapshot = (r: Reference): Record<Field, number[]> => Object.fromEntries(FIELDS.map((f) => [f, Array.from(r[f])])) as Record<Field, number[]>;

describe('Reference state block', () => {
  it('starts with TD memory in the slot private and everything else clear', () => {
    const r = new Reference(design, GFNS);
    expect(Array.from(r.private)).toEqual([0, 0, ...new Array(GFNS - 2).fill(1)]);
    for (const f of FIELDS.filter((x) => x !== 'private')) expect(r[f].every((v) => v === 0)).toBe(true);
  });

  it.each(FIELDS)('%s at the first and last gfn changes only that field, and the state hash', (f) => {
    const fresh = new Reference(design, GFNS);
    const r = new Reference(design, GFNS);
    const before = snapshot(r);
    r[f][0] = 7;
    r[f][GFNS - 1] = 9;
    const after = snapshot(r);
    for (const g of FIELDS) if (g !== f) expect(after[g]).toEqual(before[g]);
    expect(after[f][0]).toBe(7);
    expect(after[f][GFNS - 1]).toBe(9);
    expect(r.stateHash()).not.toBe(fresh.stateHash());
  });

  it('copyFrom takes over every field, the phase, memslots and findings; the copy is independent', () => {
    const a = new Reference(design, GFNS);
    FIELDS.forEach((f, k) => {
      for (let g = 0; g < GFNS; g++) a[f][g] = (g * 31 + k * 7) % 5;
    });
    a.runnable = false;
    a.slotDeleted[1] = true;
    a.knownDesignFindings.push('finding');
    const b = new Reference(design, GFNS);
    b.knownDesignFindings.push('stale', 'stale');
    b.copyFrom(a);
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(b.runnable).toBe(false);
    expect(b.slotDeleted).toEqual([false, true]);
    expect(b.knownDesignFindings).toEqual(['finding']);
    expect(b.stateHash()).toBe(a.stateHash());
    b.data[3] = 12345;
    b.slotDeleted[1] = false;
    expect(a.data[3]).not.toBe(12345);
    expect(a.slotDeleted[1]).toBe(true);
    expect(b.stateHash()).not.toBe(a.stateHash());
    const c = a.clone();
    expect(snapshot(c)).toEqual(snapshot(a));
    expect(c.stateHash()).toBe(a.stateHash());
  });
});
