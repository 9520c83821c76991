// The four private->shared conversion orders of the thread (model-spec.md 3.4; 003:L30-34, L435-436,
// L759-766): V3_ZAP_THEN_SPLIT (v3 + FIXUP), WIP_SPLIT_FOLIO_FIRST (BUG-1), SEPT_SPLIT_FIRST (Yan),
// PREPARE_THEN_ZAP (Ackerley, only under mappingRule CONTIGUITY); guard G19 and the open question of a
// folio split failing after the zap (BUG-19, INV-31).
import { describe, expect, it } from 'vitest';
import { CaseError, parseCase } from '../../src/fuzz/case.js';
import { DesignError, effectiveConversionOrder, resolveDesign } from '../../src/model/config.js';
import { ENOMEM } from '../../src/model/errno.js';
import { PRIVATE } from '../../src/model/gmem/gmem.js';
import { Spte } from '../../src/model/kvm/mirror.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { accept, convert, count, expectInOrder, Rig, run, touch, traced, withFaults } from '../helpers/model.js';

/**
 * Ackerley's seven steps (003:L436) as one case: a 2M leaf accepted at 2M, data in gfn 5, gfn 0 converted to
 * shared (split, zap, folio split, attributes), used as shared memory, converted back (merge after the
 * attribute update), accepted again at 4K.
 */
const SEVEN_STEPS = [touch(0), accept(0, '2M'), touch(5, 77), convert(0, 1, 'shared'), touch(5), touch(0, 3), touch(0), convert(0, 1, 'private'), accept(0, '4K'), touch(0)];
const TO_SHARED = 3;
const TO_PRIVATE = 7;

const ORDERS = {
  V3_ZAP_THEN_SPLIT: {},
  SEPT_SPLIT_FIRST: { conversionOrder: 'SEPT_SPLIT_FIRST' },
  PREPARE_THEN_ZAP: { conversionOrder: 'PREPARE_THEN_ZAP', mappingRule: 'CONTIGUITY' },
} as const;

/** The step that splits the S-EPT leaf, the one that zaps gfn 0, the one that splits the folio. */
const SEPT_SPLIT = 'TDH.MEM.PAGE.DEMOTE(gfn=0x0 level=2M';
const ZAP = 'TDH.MEM.PAGE.REMOVE(gfn=0x0 level=4K';
const FOLIO_SPLIT = 'gmem: split';
const ATTRS = 'gmem: attributes [0x0, 0x1) -> SHARED';

describe('design settings', () => {
  it('PREPARE_THEN_ZAP without CONTIGUITY is refused by resolveDesign (and so by parseCase), naming the field', () => {
    expect(() => resolveDesign({ conversionOrder: 'PREPARE_THEN_ZAP' })).toThrow(DesignError);
    try {
      resolveDesign({ conversionOrder: 'PREPARE_THEN_ZAP', mappingRule: 'STRICT_FOLIO' });
    } catch (e) {
      expect((e as DesignError).field).toBe('design.conversionOrder');
      expect((e as DesignError).message).toMatch(/needs mappingRule CONTIGUITY/);
    }
    expect(() => parseCase({ format: 'tdxfuzz-case', version: 1, design: { conversionOrder: 'PREPARE_THEN_ZAP' }, ops: [] })).toThrow(CaseError);
    expect(resolveDesign({ conversionOrder: 'PREPARE_THEN_ZAP', mappingRule: 'CONTIGUITY' }).conversionOrder).toBe('PREPARE_THEN_ZAP');
  });

  it('G1 off selects the WIP order; G19 off the v3 order unless the design names the WIP order itself', () => {
    for (const order of ['V3_ZAP_THEN_SPLIT', 'WIP_SPLIT_FOLIO_FIRST', 'SEPT_SPLIT_FIRST'] as const) {
      expect(effectiveConversionOrder(resolveDesign({ conversionOrder: order }))).toBe(order);
      expect(effectiveConversionOrder(resolveDesign({ conversionOrder: order, guardsOff: ['G1'] }))).toBe('WIP_SPLIT_FOLIO_FIRST');
      expect(effectiveConversionOrder(resolveDesign({ conversionOrder: order, guardsOff: ['G19'] }))).toBe(order === 'WIP_SPLIT_FOLIO_FIRST' ? order : 'V3_ZAP_THEN_SPLIT');
      expect(effectiveConversionOrder(resolveDesign({ conversionOrder: order, guardsOff: ['G1', 'G19'] }))).toBe('WIP_SPLIT_FOLIO_FIRST');
    }
    expect(effectiveConversionOrder(resolveDesign({ conversionOrder: 'PREPARE_THEN_ZAP', mappingRule: 'CONTIGUITY', guardsOff: ['G19'] }))).toBe('V3_ZAP_THEN_SPLIT');
  });
});

describe('the 7-step conversion (003:L436) in each order', () => {
  it('V3_ZAP_THEN_SPLIT: invalidate, split the S-EPT leaf, zap gfn 0 only, then split the folio, then the attributes', () => {
    const { r, opLines } = traced(ORDERS.V3_ZAP_THEN_SPLIT, SEVEN_STEPS);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    expectInOrder(opLines(TO_SHARED), [SEPT_SPLIT, ZAP, FOLIO_SPLIT, ATTRS, '-> ret 0']);
    expect(count(opLines(TO_SHARED), 'TDH.MEM.PAGE.REMOVE')).toBe(1);
    // shared -> private: zap the shared EPT, update the attributes, then merge the folios (step 7 after 5)
    expectInOrder(opLines(TO_PRIVATE), ['gmem: attributes [0x0, 0x1) -> PRIVATE', 'gmem: merge', '-> ret 0']);
    expect(count(opLines(TO_PRIVATE), 'TDH.')).toBe(0);
  });

  it('SEPT_SPLIT_FIRST: split the S-EPT leaf, then the folio, and only then zap (after the last step that may fail)', () => {
    const { r, opLines } = traced(ORDERS.SEPT_SPLIT_FIRST, SEVEN_STEPS);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    expectInOrder(opLines(TO_SHARED), [SEPT_SPLIT, FOLIO_SPLIT, ZAP, ATTRS, '-> ret 0']);
  });

  it('PREPARE_THEN_ZAP (CONTIGUITY): split the folio first (step 2b), then the S-EPT leaf, then zap', () => {
    const { r, opLines } = traced(ORDERS.PREPARE_THEN_ZAP, SEVEN_STEPS);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    expectInOrder(opLines(TO_SHARED), [FOLIO_SPLIT, SEPT_SPLIT, ZAP, ATTRS, '-> ret 0']);
  });

  for (const [name, design] of Object.entries(ORDERS)) {
    it(`${name}: the guest sees the same thing in every order; the folio is merged back after the to-private step`, () => {
      const rig = new Rig(design);
      const outs = rig.runAll(SEVEN_STEPS);
      expect(outs[4]).toEqual({ kind: 'touch', result: 'read', value: 77 }); // gfn 5 kept its data
      expect(outs[6]).toEqual({ kind: 'touch', result: 'read', value: 3 }); // shared memory
      expect(outs[8]).toEqual({ kind: 'accept', result: 'accepted' });
      expect(outs[9]).toEqual({ kind: 'touch', result: 'read', value: 0 }); // a fresh private page
      const { sys } = rig;
      expect(sys.gmem.attr[0]).toBe(PRIVATE);
      expect(sys.gmem.orderAt(0)).toBe(sys.gmem.hugeOrder); // FIXUP-3 merge (G18)
      // the split stays for the TD's lifetime (INV-7 corollary): gfn 0 is back at 4K
      expect(sys.kvm.mirror.m2m[0]).toBe(Spte.NONLEAF);
      expect([sys.tdx.sept.e4k[0], sys.tdx.sept.e4k[5]]).toEqual([S.MAPPED, S.MAPPED]);
    });
  }

  it('WIP_SPLIT_FOLIO_FIRST splits the folio under the 2M mapping: INV-1 (BUG-1); under CONTIGUITY it zaps the whole leaf instead: INV-18', () => {
    const strict = run({ conversionOrder: 'WIP_SPLIT_FOLIO_FIRST' }, SEVEN_STEPS);
    // damage first: INV-1 (structural) and then the neighbours' accepted data lost (INV-18), the failure
    expect(strict.signature).toBe('INV-18@convert');
    expect(strict.failure!.after!.inv).toBe('INV-1');
    expect(strict.failure!.after!.opIndex).toBe(TO_SHARED);
    expect(strict.failure!.after!.message).toBe('mirror: 2M leaf at gfn 0x0 but the folio at index 0x0 has order 0 (split while mapped huge)');
    const contiguity = run({ conversionOrder: 'WIP_SPLIT_FOLIO_FIRST', mappingRule: 'CONTIGUITY' }, SEVEN_STEPS);
    expect(contiguity.signature).toBe('INV-18@convert'); // no S-EPT split in the WIP order: gfn 1..15 go too
  });
});

describe('a folio split that fails (fault site FOLIO_SPLIT; HVO undo needs memory, 003:L436, L759)', () => {
  const ops = [touch(0), accept(0, '2M'), touch(5, 77), withFaults(convert(0, 1, 'shared'), { site: 'FOLIO_SPLIT', nth: 1 }), touch(5), touch(0)];
  const BUG19 = 'KNOWN-DESIGN BUG-19 (INV-31 desired form): convert [0x0, 0x1) -> shared failed after the zap: 1 accepted page(s) lost ("if splitting fails there is no way to undo the unmapping", 003:L435)';

  it('V3_ZAP_THEN_SPLIT: the ioctl fails after the zap, the accepted gfn 0 is gone: a known-design note, not a failure', () => {
    const r = run({}, ops);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([BUG19]);
    const rig = new Rig();
    const outs = rig.runAll(ops);
    expect(outs[3]).toEqual({ kind: 'convert', ret: -ENOMEM });
    expect(rig.sys.gmem.attr[0]).toBe(PRIVATE); // INV-31: the attributes did not change
    expect(outs[4]).toEqual({ kind: 'touch', result: 'read', value: 77 });
    expect(outs[5]).toEqual({ kind: 'touch', result: 've' }); // gfn 0 comes back unaccepted
  });

  it('G19 off: the same loss is a failure, INV-31', () => {
    const r = run({ guardsOff: ['G19'] }, ops);
    expect(r.signature).toBe('INV-31@convert+FOLIO_SPLIT');
    expect(r.failure!.message).toBe(BUG19.replace('KNOWN-DESIGN BUG-19 (INV-31 desired form): ', ''));
    // SEPT_SPLIT_FIRST with G19 off is the v3 order again
    expect(run({ conversionOrder: 'SEPT_SPLIT_FIRST', guardsOff: ['G19'] }, ops).signature).toBe('INV-31@convert+FOLIO_SPLIT');
  });

  it('SEPT_SPLIT_FIRST keeps every accepted page: nothing was zapped, the split S-EPT stays (003:L763), no note', () => {
    const { r, opLines } = traced(ORDERS.SEPT_SPLIT_FIRST, ops);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    expect(count(opLines(3), 'TDH.MEM.PAGE.REMOVE')).toBe(0);
    expectInOrder(opLines(3), [SEPT_SPLIT, 'failed (HVO undo)', `-> ret ${-ENOMEM}`]);
    const rig = new Rig(ORDERS.SEPT_SPLIT_FIRST);
    const outs = rig.runAll(ops);
    expect(outs[5]).toEqual({ kind: 'touch', result: 'read', value: 0 }); // still accepted
    const { sys } = rig;
    expect(sys.gmem.attr[0]).toBe(PRIVATE);
    expect(sys.tdx.sept.e2m[0]).toBe(S.NL_MAPPED);
    expect(sys.tdx.sept.e4k[0]).toBe(S.MAPPED);
    expect(sys.kvm.invalidateInProgress).toBe(0);
    expect(sys.gmem.invalidateLock.writer).toBe(-1);
  });

  it('PREPARE_THEN_ZAP fails before anything is invalidated: the 2M leaf stays, no note', () => {
    const { r, opLines } = traced(ORDERS.PREPARE_THEN_ZAP, ops);
    expect(r.verdict).toBe('pass');
    expect(r.notes).toEqual([]);
    expect(count(opLines(3), 'TDH.')).toBe(0);
    const rig = new Rig(ORDERS.PREPARE_THEN_ZAP);
    rig.runAll(ops);
    expect(rig.sys.kvm.mirror.m2m[0]).toBe(Spte.LEAF);
    expect(rig.sys.gmem.attr[0]).toBe(PRIVATE);
    expect(rig.sys.gmem.orderAt(0)).toBe(rig.sys.gmem.hugeOrder); // the split failed: still one 2M folio
    expect(rig.sys.tdx.sept.e2m[0]).toBe(S.MAPPED);
  });
});
