// The public KVM selftests ported as cases (corpus/selftests): tools/testing/selftests/kvm/x86/tdx_vm_huge_page.c
// (in place on 2M hugetlb, and not in place) and tdx_upm_test.c (explicit MapGPA and implicit conversion) from
// the intel/tdx tree. Each op's provenance note cites the assertion it ports. Every case passes, every op
// gives the outcome the selftest asserts, and each fails when the guard behind one of its assertions is
// switched off (the pairs are the table in docs/model.md).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase, parseCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { describeOutcome } from '../../src/model/outcome.js';
import { Rig } from '../helpers/model.js';

const DIR = join(__dirname, '..', '..', 'corpus', 'selftests');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

/**
 * What each op returns, checked against the selftest assertion its note cites: conversions and host writes
 * 0, the first private store #VE and the ACCEPT succeeding, the host reading its own memory (PATTERN << 16 |
 * gfn) and never the private data, the guest reading what the host wrote, a re-private page zeroed.
 */
const OUTCOMES: Record<string, string[]> = {
  'tdx-upm-explicit': ["0","0","0","0","0","0","0","0","written 3342336","written 3342591","written 3342602","written 3342847","written 3342592","written 3342601","read 1114112","read 1114367","read 1114378","read 1114623","read 1114368","read 1114377","read 3342336","read 3342591","read 3342602","read 3342847","read 3342592","read 3342601","0","read 3342336","read 3342591","read 3342602","read 3342847","read 1114368","read 1114377","written 4456704","written 4456713","read 4456704","read 4456713","read 1114112","read 1114367","read 1114378","read 1114623","0","0","read 2228480","read 2228489","0","read 3342336","read 3342591","read 3342602","read 3342847","ve","accepted","read 0","ve","accepted","read 0","read 1114112","read 1114367","read 1114378","read 1114623","read 2228480","read 2228489","written 3342337","written 3342592","written 3342603","written 3342848","written 3342593","written 3342602","read 3342337","read 3342592","read 3342603","read 3342848","read 3342593","read 3342602","0"],
  'tdx-upm-implicit': ["0","0","0","0","0","0","0","0","written 3342336","written 3342591","written 3342602","written 3342847","written 3342592","written 3342601","read 1114112","read 1114367","read 1114378","read 1114623","read 1114368","read 1114377","read 3342336","read 3342591","read 3342602","read 3342847","read 3342592","read 3342601","KVM_EXIT_MEMORY_FAULT gpa 0x100000 size 0x1000 shared -> VMM convert 0; written 4456704","KVM_EXIT_MEMORY_FAULT gpa 0x109000 size 0x1000 shared -> VMM convert 0; written 4456713","read 3342336","read 3342591","read 3342602","read 3342847","read 4456704","read 4456713","read 1114112","read 1114367","read 1114378","read 1114623","0","0","read 2228480","read 2228489","KVM_EXIT_MEMORY_FAULT gpa 0x100000 size 0x1000 private -> VMM convert 0; ve","accepted","written 4456704","KVM_EXIT_MEMORY_FAULT gpa 0x109000 size 0x1000 private -> VMM convert 0; ve","accepted","written 4456713","read 3342336","read 3342591","read 3342602","read 3342847","read 1114112","read 1114367","read 1114378","read 1114623","read 2228480","read 2228489","written 3342337","written 3342592","written 3342603","written 3342848","written 3342593","written 3342602","read 3342337","read 3342592","read 3342603","read 3342848","read 3342593","read 3342602","0"],
  'tdx-vm-huge-page-in-place-2m': ["0","0","ve","accepted","written 1","0","written 1","0","ve","fallback-4k (1 accepted, 511 already)","written 1","0"],
  'tdx-vm-huge-page-not-in-place': ["0","0","ve","accepted","written 1","0","0","written 1","0","ve","accepted","written 1","0"],
};

/** guard -> signature: switching the guard off breaks the assertion of the op the signature names. */
const GUARD_PAIRS: Record<string, [string, string, string][]> = {
  'tdx-vm-huge-page-in-place-2m': [
    ['G2', 'INV-18@convert', 'op 5: the 4K conversion to shared under the 2M leaf zaps the whole leaf without the cross-boundary split'],
    ['G6', 'INV-6@touch', 'op 8-9: the re-faulted page is mapped 2M again (PROMOTE) instead of TDX_PAGE_SIZE_MISMATCH'],
  ],
  'tdx-vm-huge-page-not-in-place': [['G21', 'INV-19@convert', 'op 5: the conversion to shared removes the private page without BLOCK + TRACK']],
  'tdx-upm-explicit': [['G21', 'INV-19@convert', 'op 26: MapGPA of the focus area to shared removes its private pages without BLOCK + TRACK']],
  'tdx-upm-implicit': [['G21', 'INV-19@touch', 'op 26: the shared store\'s KVM_EXIT_MEMORY_FAULT round trip: the VMM converts the first focus page to shared'], ['G13', 'INV-27@destroy', 'op 70: kvm_vm_free() releases the HKID before reclaiming S-EPT pages']],
};

describe('the selftests as cases', () => {
  it('holds both selftests, every variant', () => {
    expect(files.map((f) => f.replace('.json', ''))).toEqual(Object.keys(OUTCOMES).sort());
  });
  for (const f of files) {
    const name = f.replace('.json', '');
    const c = loadCase(join(DIR, f));
    it(`${name}: passes, each op commented with the assertion it ports`, () => {
      const r = runCase(c);
      expect(r.verdict, r.failure?.message).toBe('pass');
      const note = c.provenance?.note ?? '';
      for (let i = 0; i < c.ops.length; i++) expect(note, `op ${i}`).toContain(`op ${i}: `);
    });
    it(`${name}: every op gives the outcome the selftest asserts`, () => {
      const rig = new Rig(c.design as unknown as Record<string, unknown>);
      const got = c.ops.map((o) => describeOutcome(rig.run(o)).replace('ret ', ''));
      expect(got).toEqual(OUTCOMES[name]);
      if (name === 'tdx-vm-huge-page-in-place-2m') {
        const rig2 = new Rig(c.design as unknown as Record<string, unknown>);
        rig2.runAll(c.ops.slice(0, 4));
        expect(rig2.sys.kvm.stats.pages2m, 'the cover letter\'s pages_2m check: the 2M ACCEPT leaves a 2M mapping').toBe(1);
      }
    });
    for (const [g, sig, why] of GUARD_PAIRS[name]) {
      it(`${name}: fails with ${sig} when ${g} is off (${why})`, () => {
        const off = parseCase({ format: 'tdxfuzz-case', version: 1, design: { ...c.design, guardsOff: [g] }, ops: c.ops });
        const r = runCase(off);
        // damage first: the structural hit the selftest's assertion shows, or the damage that followed it
        const hit = r.failure!.after ?? r.failure!;
        expect(r.failure!.after ? `${hit.inv}@${hit.opKind}` : r.signature).toBe(sig);
        if (r.failure!.after) expect(r.failure!.detection).toBe('damage');
        expect(`op ${hit.opIndex}`).toBe(why.split(/[:-]/)[0]);
      });
    }
  }
});
