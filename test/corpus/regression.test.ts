// The regression corpus (corpus/regression): every BUG-n that needs no concurrent actors, with its guard
// off, fails with the invariant model-spec.md section 6 names; with the guard back on the same operations
// do not. The flows of the seeds pass on the default design.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { isPerfSignature } from '../../src/fuzz/signature.js';

const DIR = join(__dirname, '..', '..', 'corpus', 'regression');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

/** BUG-n -> the invariant model-spec.md section 6 names for it (single-actor form where it has two). */
const SPEC_INVARIANT: Record<string, string> = {
  '01': 'INV-1', '02': 'INV-18', '03': 'INV-30', '04': 'INV-12', '05': 'INV-20', '06': 'INV-6', '07': 'INV-13', '07b': 'INV-13',
  '08': 'INV-10', '08b': 'PERF-2M', '09': 'INV-8', '10': 'INV-4', '11': 'INV-7', '12': 'INV-22', '13': 'INV-27', '14': 'INV-24',
  '15': 'INV-17', '16': 'INV-2', '17': 'INV-3', '17b': 'PERF-2M', '18': 'INV-33', '19': 'INV-31', '20': 'INV-2', '21': 'INV-19', '22': 'TDX-PFN', '22b': 'HOST-OOPS', '23': 'INV-26',
};

describe('regression corpus', () => {
  it('has a case for every BUG-n (BUG-20 from a concurrent interleaving)', () => {
    const have = files.filter((f) => f.startsWith('bug-')).map((f) => f.split('-')[1]);
    for (const n of Object.keys(SPEC_INVARIANT)) expect(have).toContain(n);
  });

  for (const f of files) {
    const c = loadCase(join(DIR, f));
    const sig = c.expect?.signature;
    const failOnPerf = isPerfSignature(sig);
    it(`${f}: gives the verdict it records (${c.expect?.verdict} ${sig ?? ''})`, () => {
      const r = runCase(c, { failOnPerf });
      expect(r.verdict).toBe(c.expect?.verdict ?? 'pass');
      expect(r.signature ?? undefined).toBe(sig);
    });
    if (!f.startsWith('bug-')) continue;
    const n = f.split('-')[1];
    it(`${f}: fails with ${SPEC_INVARIANT[n]}, the invariant the spec names, and not once its guard is back on`, () => {
      expect(c.design.guardsOff.length).toBeGreaterThan(0);
      // damage first: the invariant may be the structural hit before the damage the case records
      expect([sig?.split('@')[0], runCase(c, { failOnPerf }).failure?.after?.inv]).toContain(SPEC_INVARIANT[n]);
      const guarded = runCase({ ...c, design: { ...c.design, guardsOff: [] } }, { failOnPerf });
      if (n === '11') {
        // slotDeleteZapsTables is a broken variant: with G11 on, KVM_BUG_ON refuses to free the S-EPT page
        // (the VM dies, nothing is freed) instead of a use-after-free.
        expect(guarded.signature?.split('@')[0]).not.toBe('INV-7');
        expect(guarded.signature?.split('@')[0]).toBe('VM-BUGGED');
      } else {
        expect(guarded.signature).toBeNull();
        expect(guarded.verdict).toBe('pass');
      }
    });
  }
});
