// Refcount policies (src/model/kvm/refcount.ts; design refcountPolicy and strictUAF; guards G5 and G14): what
// keeps a page whose zap failed from going back to the host (000, 001, 002, 003:L297-307), and why TDX must
// not hold folio references while a page is mapped (BUG-14).
import { describe, expect, it } from 'vitest';
import { effectiveRefcountPolicy, PROTECTIVE_POLICIES, resolveDesign, uafIsFailure } from '../../src/model/config.js';
import { Owner } from '../../src/model/host/phys.js';
import { accept, convert, hostAlloc, P, punch, Rig, run, touch, traced, withFaults } from '../helpers/model.js';

const REMOVE_FAILS = { leaf: 'TDH.MEM.PAGE.REMOVE', nth: 1, status: 'TDX_SW_ERROR' } as const;
/** BUG-5 (model-spec.md 6): the zap of the mapped folio fails, guest_memfd truncates it, the host reallocates. */
const BUG5 = [touch(0), withFaults(punch(0, P), REMOVE_FAILS), hostAlloc(P)];
const UAF = /^ACCEPTED-RISK INV-20: page 0x0 \(GMEM\) freed to the host while the live TD still owns it \(PAMT REG_2M, mapped in the S-EPT\) after the VM was bugged \(refcount policy NONE\)/;

describe('BUG-5: a failed zap under each refcount policy', () => {
  it('NONE (v3): the case passes with an ACCEPTED-RISK INV-20 note; the host really reuses the page', () => {
    const r = run({}, BUG5);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(UAF);
    const rig = new Rig();
    rig.runAll(BUG5);
    expect(rig.sys.kvm.bugged).toBe(true);
    expect(rig.sys.tdx.sept.e2m[0]).not.toBe(0); // the S-EPT still maps the folio
    expect(rig.sys.phys.content[rig.sys.tdx.sept.pfn2m[0]]).toBe(0x0bad0000); // and the host wrote into it
  });

  it('G5 off, or strictUAF: the same case fails INV-20 at the punch', () => {
    for (const design of [{ guardsOff: ['G5'] }, { strictUAF: true }]) {
      const r = run(design, BUG5);
      expect(r.signature, JSON.stringify(design)).toBe('INV-20@punch+SW_ERROR');
      expect(r.failure!.message).toBe('page 0x0 (GMEM) freed to the host while the live TD still owns it (PAMT REG_2M, mapped in the S-EPT)');
      expect(uafIsFailure(resolveDesign(design))).toBe(true);
    }
    expect(uafIsFailure(resolveDesign({}))).toBe(false);
  });

  // The policies that guard G5 stands for: the page is kept from the host one way or another.
  const kept: Record<string, { why: string | null; poisoned: boolean }> = {
    HOLD_ON_ZAP_FAILURE: { why: 'tdx-ref', poisoned: false }, // a reference taken on the failed zap
    HWPOISON_ON_BUG: { why: 'poison', poisoned: true }, // HWPoison on every page still in the S-EPT (001:L12-15)
    GMEM_BUGGY_CLEANUP: { why: 'buggy-gmem', poisoned: false }, // kvm_gmem_buggy_cleanup() (001:L42-49)
    NO_MORE_SEAMCALLS: { why: null, poisoned: false }, // kexec-like: caches written back, the pages are plain memory
  };
  for (const policy of PROTECTIVE_POLICIES) {
    it(`${policy}: the case passes with no accepted-risk note`, () => {
      const design = { refcountPolicy: policy };
      const r = run(design, BUG5);
      expect(r.verdict).toBe('pass');
      expect(r.notes.filter((n) => n.startsWith('ACCEPTED-RISK'))).toEqual([]);
      expect(uafIsFailure(resolveDesign(design))).toBe(true); // so a UAF under it would be a failure, not a note
      const rig = new Rig(design);
      rig.runAll(BUG5);
      const { sys } = rig;
      expect(sys.kvm.bugged).toBe(true);
      const k = kept[policy];
      for (let p = 0; p < P; p++) {
        if (k.why) {
          expect(sys.phys.owner[p], `pfn ${p}`).toBe(Owner.LEAKED);
          expect(sys.phys.leakWhy.get(p)).toBe(k.why);
          expect(sys.phys.content[p]).not.toBe(0x0bad0000);
        }
        expect(sys.phys.hwpoison[p]).toBe(k.poisoned ? 1 : 0);
      }
      if (policy === 'NO_MORE_SEAMCALLS') {
        // the module is never asked about the TD again and no cache line of its key is left
        expect(sys.tdx.noMoreSeamcalls).toBe(true);
        expect(Array.from(sys.phys.dirtyHkid).every((h) => h === -1)).toBe(true);
      }
    });
  }

  it('every protective policy is covered above, and none of them is the v3 default', () => {
    expect([...PROTECTIVE_POLICIES].sort()).toEqual(Object.keys(kept).sort());
    expect(resolveDesign({}).refcountPolicy).toBe('NONE');
  });

  it('without the failed REMOVE every policy punches cleanly: pages go back to the host, no note', () => {
    for (const policy of ['NONE', ...PROTECTIVE_POLICIES]) {
      const r = run({ refcountPolicy: policy }, [touch(0), accept(0, '2M'), punch(0, P), hostAlloc(P)]);
      expect(r.verdict, policy).toBe('pass');
      expect(r.notes, policy).toEqual([]);
    }
  });
});

describe('G14: TDX holds no folio reference while a page is mapped', () => {
  it('G14 off (RFC v1 HOLD_WHILE_MAPPED): a to-shared conversion next to a still-mapped page waits forever -> INV-24', () => {
    expect(effectiveRefcountPolicy(resolveDesign({ guardsOff: ['G14'] }))).toBe('HOLD_WHILE_MAPPED');
    const { r, opLines } = traced({ guardsOff: ['G14'] }, [touch(0), convert(0, 1, 'shared')]);
    expect(r.signature).toBe('INV-24@convert');
    expect(r.failure!.message).toMatch(/^convert waited \d+ times for folio references that are never dropped$/);
    expect(r.failure!.step).toBe('gmem-refcount:retry');
    // gfn 0 itself was zapped first: the references that stay are those of the other pages of the folio
    expect(opLines(1).some((l) => l.startsWith('TDH.MEM.PAGE.REMOVE(gfn=0x0 level=4K'))).toBe(true);
    expect(run({}, [touch(0), convert(0, 1, 'shared')]).verdict).toBe('pass');
  });

  it('the same with refcountPolicy HOLD_WHILE_MAPPED set directly; a range nothing maps converts fine', () => {
    expect(run({ refcountPolicy: 'HOLD_WHILE_MAPPED' }, [touch(0), convert(0, 1, 'shared')]).signature).toBe('INV-24@convert');
    expect(run({ guardsOff: ['G14'] }, [touch(P), convert(0, 1, 'shared')]).verdict).toBe('pass');
  });

  it('HOLD_WHILE_MAPPED counts one reference per mapped page and drops it on a clean removal', () => {
    const rig = new Rig({ refcountPolicy: 'HOLD_WHILE_MAPPED' });
    rig.runAll([accept(3, '4K'), accept(4, '4K')]);
    const gm = rig.sys.gmem;
    expect([gm.tdxHold[3], gm.tdxHold[4], gm.tdxHold[5]]).toEqual([1, 1, 0]);
    rig.run(punch(0, P));
    expect(Array.from(gm.tdxHold).every((n) => n === 0)).toBe(true);
    rig.run(touch(P));
    expect(gm.tdxHold.slice(P, 2 * P).every((n) => n === 1)).toBe(true);
  });

  it('HOLD_ON_ZAP_FAILURE takes a reference only when the zap fails (4K backing: no folio split to wait on)', () => {
    const rig = new Rig({ refcountPolicy: 'HOLD_ON_ZAP_FAILURE', backing: '4K' });
    rig.runAll([accept(3, '4K'), accept(4, '4K')]);
    expect(Array.from(rig.sys.gmem.tdxHold).every((n) => n === 0)).toBe(true);
    rig.run(withFaults(convert(4, 5, 'shared'), REMOVE_FAILS));
    expect([rig.sys.gmem.tdxHold[3], rig.sys.gmem.tdxHold[4]]).toEqual([0, 1]);
  });

  it('the price of HOLD_ON_ZAP_FAILURE: the reference kept after a failed zap makes a later hugetlb folio split wait forever -> INV-24 (002, BUG-14 "hold leaked after zap failure")', () => {
    const ops = [accept(3, '4K'), accept(4, '4K'), withFaults(convert(4, 5, 'shared'), REMOVE_FAILS)];
    const r = run({ refcountPolicy: 'HOLD_ON_ZAP_FAILURE' }, ops);
    expect(r.signature).toBe('INV-24@convert+SW_ERROR');
    // under NONE nothing holds the folio: the split goes ahead (and the freed-page risk is the accepted one)
    expect(run({}, ops).verdict).toBe('pass');
  });
});
