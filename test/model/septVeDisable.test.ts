// SEPT_VE_DISABLE (design setting septVeDisable, kernel-facts.md 2.6): a guest access to a PENDING page is
// an EPT violation that KVM treats as unexpected (kvm_vm_dead, -EIO) instead of a #VE. The oracle expects
// it from the design (src/oracle/policy.ts), never from the model.
import { describe, expect, it } from 'vitest';
import { EIO } from '../../src/model/errno.js';
import { DEFAULT_DESIGN } from '../../src/model/config.js';
import { accept, convert, P, Rig, run, touch, traced } from '../helpers/model.js';
import { OracleRig } from '../helpers/oracleRig.js';

describe('SEPT_VE_DISABLE in the model', () => {
  it('is off by default, as the selftests run: an unaccepted access gets #VE', () => {
    expect(DEFAULT_DESIGN.septVeDisable).toBe(false);
    expect(new Rig().run(touch(3))).toMatchObject({ result: 've' });
  });
  it('on: the access to the PENDING page kills the VM; later ioctls get -EIO and the vCPU does not run', () => {
    const { r, opLines } = traced({ septVeDisable: true }, [touch(3), { op: 'prefault', start: 0, end: 1 }, touch(4)]);
    expect(r.verdict, r.failure?.message).toBe('pass');
    expect(opLines(0).join('\n')).toMatch(/before accepting it \(SEPT_VE_DISABLE\): EPT violation -> kvm_vm_dead/);
    const rig = new Rig({ septVeDisable: true });
    expect(rig.run(touch(3))).toMatchObject({ result: 'vm-dead' });
    expect(rig.sys.kvm.bugged).toBe(true);
    expect(rig.run({ op: 'prefault', start: 0, end: 1 })).toMatchObject({ ret: -EIO });
  });
  it('on: accepted pages and shared pages are accessed as usual', () => {
    const r = run({ septVeDisable: true }, [accept(3, '4K'), touch(3, 5), touch(3), convert(P, P + 2, 'shared'), touch(P, 6), touch(P), accept(0, '2M'), touch(9)]);
    expect(r.verdict, r.failure?.message).toBe('pass');
  });
});

describe('the oracle on SEPT_VE_DISABLE', () => {
  it('fires REF-RESULT when the model delivers #VE on a SEPT_VE_DISABLE TD (planted: the model ignores the attribute)', () => {
    const rig = new OracleRig({ septVeDisable: true });
    (rig.sys as { design: unknown }).design = { ...rig.sys.design, septVeDisable: false }; // the model's copy only
    const r = rig.op(touch(3));
    expect(r.v?.inv).toBe('REF-RESULT');
    expect(r.v?.message).toMatch(/expected the VM killed \(SEPT_VE_DISABLE\), got ve/);
  });
  it('fires VM-BUGGED when the model kills the VM on an unaccepted access without the attribute (planted)', () => {
    const rig = new OracleRig();
    (rig.sys as { design: unknown }).design = { ...rig.sys.design, septVeDisable: true };
    const r = rig.op(touch(3));
    expect(r.v?.inv).toBe('VM-BUGGED');
  });
  it('fires VM-BUGGED when the VM dies on an accepted page of a SEPT_VE_DISABLE TD (planted: accepted page set PENDING)', () => {
    const rig = new OracleRig({ septVeDisable: true, backing: '4K' });
    rig.ok(accept(3, '4K'), touch(3, 5));
    rig.sys.tdx.sept.e4k[3] = 1; // planted: the accepted leaf back to PENDING behind the guest's back
    const r = rig.op(touch(3));
    expect(['VM-BUGGED', 'REF-ACCEPT']).toContain(r.v?.inv);
  });
  it('is quiet on both values of the attribute over the same ops', () => {
    const ops = [touch(1), accept(1, '4K'), touch(1, 4), accept(P, '2M'), touch(P + 3), touch(2)];
    for (const septVeDisable of [false, true]) {
      const r = run({ septVeDisable }, ops);
      expect(r.verdict, `${septVeDisable}: ${r.failure?.message}`).toBe('pass');
    }
  });
});
