// The design space a campaign samples per case (src/fuzz/designSpace.ts): deterministic from (seed, index),
// the campaign design the most frequent point, only deployment settings by default, pinned settings never
// varied, and a design-space file validated like --config.
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_DEFAULTS, type Design, resolveDesign } from '../../src/model/config.js';
import { campaignCase, defaultDesignSpace, designDiff, DesignSpaceError, parseDesignSpace, sampleDesign } from '../../src/fuzz/designSpace.js';
import { generateCase } from '../../src/fuzz/generate.js';

const SEED = 5;
const N = 4000;
const campaign: Design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };
const DEPLOYMENT = ['vmMemoryAttributes', 'backing', 'dpamt', 'nonBlockingResize', 'tdxHugePage', 'enhancedDemoteInterruptibility', 'septVeDisable'];

function sample(d: Design, space = defaultDesignSpace(d), n = N): Design[] {
  return Array.from({ length: n }, (_, i) => sampleDesign(space, d, SEED, i));
}

describe(`default design space, seed ${SEED}`, () => {
  it('is deterministic in (seed, index) and differs across seeds', () => {
    const space = defaultDesignSpace(campaign);
    for (let i = 0; i < 200; i++) expect(sampleDesign(space, campaign, SEED, i)).toEqual(sampleDesign(space, campaign, SEED, i));
    const a = sample(campaign, space, 200).map((d) => JSON.stringify(d));
    const b = Array.from({ length: 200 }, (_, i) => JSON.stringify(sampleDesign(space, campaign, SEED + 1, i)));
    expect(a).not.toEqual(b);
  });

  it('keeps the campaign design the most frequent point (about half the cases)', () => {
    const counts = new Map<string, number>();
    for (const d of sample(campaign)) {
      const k = JSON.stringify(designDiff(d, campaign));
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const own = counts.get('{}') ?? 0;
    expect(own / N).toBeGreaterThan(0.45);
    expect(own / N).toBeLessThan(0.65);
    for (const [k, n] of counts) if (k !== '{}') expect(n).toBeLessThan(own);
  });

  it('varies every deployment setting and only those (no alternative designs, no guards)', () => {
    const varied = new Set<string>();
    const values = new Map<string, Set<unknown>>();
    for (const d of sample(campaign)) {
      expect(d.guardsOff).toEqual(campaign.guardsOff);
      for (const [k, v] of Object.entries(designDiff(d, campaign))) {
        varied.add(k);
        if (!values.has(k)) values.set(k, new Set());
        values.get(k)!.add(v);
      }
      expect(() => resolveDesign(d)).not.toThrow();
    }
    expect([...varied].sort()).toEqual([...DEPLOYMENT].sort());
    expect(values.get('backing')).toEqual(new Set(['THP_2M', '4K'])); // no room for a 1G folio at ptrs 16, regions 2
  });

  it('adds 1G backing where the campaign leaves room for a 1G folio, and its split policy only under CONTIGUITY', () => {
    const small = resolveDesign({ ptrs: 4, regions: 4 }, 'design', CAMPAIGN_DEFAULTS);
    const ds = sample(small);
    expect(ds.some((d) => d.backing === 'HUGETLB_1G')).toBe(true);
    // UNIFORM_4K under STRICT_FOLIO is the known INV-1 design finding (docs/model.md), not a v3 deployment
    expect(ds.every((d) => d.splitPolicy === 'HIERARCHICAL')).toBe(true);
    for (let i = 0; i < 300; i++) expect(() => resolveDesign(campaignCase(small, defaultDesignSpace(small), SEED, i).design)).not.toThrow();
    const contiguity = resolveDesign({ ptrs: 4, regions: 4, mappingRule: 'CONTIGUITY' }, 'design', CAMPAIGN_DEFAULTS);
    const cs = sample(contiguity);
    expect(cs.some((d) => d.backing === 'HUGETLB_1G' && d.splitPolicy === 'UNIFORM_4K')).toBe(true);
    expect(cs.every((d) => d.backing === 'HUGETLB_1G' || d.splitPolicy === 'HIERARCHICAL')).toBe(true);
  });

  it('never varies a setting the --config file pinned', () => {
    const pinned = new Set(['dpamt', 'backing']);
    const d = resolveDesign({ dpamt: false, backing: 'THP_2M' }, 'design', CAMPAIGN_DEFAULTS);
    const space = defaultDesignSpace(d, pinned);
    expect(space.axes.map((a) => a.key)).not.toContain('dpamt');
    for (const x of sample(d, space)) {
      expect(x.dpamt).toBe(false);
      expect(x.backing).toBe('THP_2M');
    }
  });

  it('leaves the generator alone: a case on the campaign design is exactly the generated case', () => {
    const space = defaultDesignSpace(campaign);
    for (let i = 0; i < 300; i++) {
      const c = campaignCase(campaign, space, SEED, i);
      const d = sampleDesign(space, campaign, SEED, i);
      expect(c).toEqual(generateCase(d, SEED, i));
    }
    expect(campaignCase(campaign, null, SEED, 3)).toEqual(generateCase(campaign, SEED, 3));
  });
});

describe('design-space files', () => {
  const err = (raw: unknown, pinned: string[] = []): DesignSpaceError => {
    try {
      parseDesignSpace(raw, 'space.json', campaign, new Set(pinned));
    } catch (e) {
      if (e instanceof DesignSpaceError) return e;
      throw e;
    }
    throw new Error('no error');
  };

  it('samples the named settings with their weights', () => {
    const space = parseDesignSpace({ refcountPolicy: ['NONE', { value: 'HOLD_ON_ZAP_FAILURE', weight: 3 }] }, 'space.json', campaign);
    const ds = sample(campaign, space);
    const hold = ds.filter((d) => d.refcountPolicy === 'HOLD_ON_ZAP_FAILURE').length / N;
    expect(hold).toBeGreaterThan(0.7);
    expect(hold).toBeLessThan(0.8);
    expect(ds.every((d) => d.conversionOrder === campaign.conversionOrder)).toBe(true);
  });

  it('accepts a value that needs another sampled setting, and never runs a combination resolveDesign refuses', () => {
    const space = parseDesignSpace({ conversionOrder: ['V3_ZAP_THEN_SPLIT', 'PREPARE_THEN_ZAP'], mappingRule: ['STRICT_FOLIO', 'CONTIGUITY'] }, 's', campaign);
    const ds = sample(campaign, space, 1000);
    expect(ds.some((d) => d.conversionOrder === 'PREPARE_THEN_ZAP')).toBe(true);
    for (const d of ds) expect(() => resolveDesign(d)).not.toThrow();
  });

  it.each([
    [[], '(top level)', 'must be an object'],
    [{}, '(top level)', 'names no setting'],
    [{ hugePages: [true] }, 'hugePages', 'unknown setting'],
    [{ guardsOff: [['G1']] }, 'guardsOff', 'guards are not sampled'],
    [{ dpamt: [] }, 'dpamt', 'non-empty array'],
    [{ dpamt: true }, 'dpamt', 'non-empty array'],
    [{ dpamt: [true, 'yes'] }, 'dpamt[1]', 'must be true or false'],
    [{ refcountPolicy: ['NONE', 'SOMETIMES'] }, 'refcountPolicy[1]', 'must be one of NONE'],
    [{ refcountPolicy: [{ value: 'NONE', weight: 0 }] }, 'refcountPolicy[0].weight', 'positive number'],
    [{ refcountPolicy: [{ value: 'NONE', weigth: 2 }] }, 'refcountPolicy[0]', '{"value": v, "weight": w}'],
    [{ refcountPolicy: ['NONE', 'NONE'] }, 'refcountPolicy[1]', 'listed twice'],
    [{ backing: ['HUGETLB_2M', 'HUGETLB_1G'] }, 'backing[1]', 'HUGETLB_1G needs regions a multiple of ptrs'],
    [{ conversionOrder: ['PREPARE_THEN_ZAP'] }, 'conversionOrder[0]', 'needs mappingRule CONTIGUITY'],
  ])('refuses %j naming field %s', (raw, field, message) => {
    const e = err(raw);
    expect(e.field).toBe(field);
    expect(e.message).toContain(message);
  });

  it('refuses a setting the --config file pinned', () => {
    const e = err({ dpamt: [true, false] }, ['dpamt']);
    expect(e.field).toBe('dpamt');
    expect(e.message).toContain('--config');
  });
});
