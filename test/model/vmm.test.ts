// Implicit and explicit conversion as the guest and the VMM do it (issue 11): a guest access names its alias,
// an alias that disagrees with the attribute exits with KVM_EXIT_MEMORY_FAULT (gpa, size, private), the
// guest's MapGPA exits with KVM_HC_MAP_GPA_RANGE per 2M, and the VMM (the vCPU thread's userspace loop, as
// the selftests' host loop) converts exactly the reported range and re-enters. The oracle works the round
// trip out on its own side: a planted model bug or a guard off fires it, the correct model keeps it quiet.
import { describe, expect, it } from 'vitest';
import { generateCase } from '../../src/fuzz/generate.js';
import { parseCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { CAMPAIGN_DEFAULTS } from '../../src/model/config.js';
import { EFAULT, EINVAL, ENOMEM } from '../../src/model/errno.js';
import type { Op } from '../../src/model/ops.js';
import { accept, mkCase, P, Rig, run, touch } from '../helpers/model.js';
import { OracleRig } from '../helpers/oracleRig.js';

const KB4 = 4096;
const via = (gfn: number, alias: 'private' | 'shared', vmm: boolean, write?: number): Op =>
  ({ op: 'touch', gfn, alias, ...(write === undefined ? {} : { write }), ...(vmm ? { onExit: 'vmm' } : {}) }) as Op;
const mapGpa = (start: number, end: number, to: 'private' | 'shared', vmm = true): Op => ({ op: 'mapGpa', start, end, to, ...(vmm ? { onExit: 'vmm' } : {}) }) as Op;

describe('KVM_EXIT_MEMORY_FAULT and the VMM round trip in the model', () => {
  it('an access through the other alias returns -EFAULT with the exit (gpa, 4K, private flag) and changes nothing', () => {
    const rig = new Rig();
    expect(rig.run(via(3, 'shared', false, 7))).toEqual({ kind: 'touch', result: 'exit', errno: -EFAULT, exit: { reason: 'memory-fault', gpa: 3 * KB4, size: KB4, private: false } });
    expect(rig.sys.isPrivate(3)).toBe(true);
    expect(rig.run(touch(3))).toMatchObject({ result: 've' }); // the guest still believes private
  });
  it('with the VMM, the shared store converts exactly that page and completes after re-entry', () => {
    const rig = new Rig({}, true);
    const out = rig.run(via(3, 'shared', true, 7));
    expect(out).toEqual({ kind: 'touch', result: 'written', value: 7, vmm: [{ exit: { reason: 'memory-fault', gpa: 3 * KB4, size: KB4, private: false }, ret: 0 }] });
    expect([2, 3, 4].map((g) => rig.sys.isPrivate(g))).toEqual([true, false, true]);
    expect(rig.run(touch(3))).toMatchObject({ result: 'read', value: 7 }); // the guest now reaches it shared
  });
  it('a private access to a shared page: converted back, then #VE on the PENDING page (tdx_upm_test implicit)', () => {
    const rig = new Rig();
    rig.run(via(3, 'shared', true, 7));
    expect(rig.run(via(3, 'private', true, 9))).toMatchObject({ result: 've', vmm: [{ exit: { gpa: 3 * KB4, private: true }, ret: 0 }] });
    expect(rig.sys.isPrivate(3)).toBe(true);
    expect(rig.run(accept(3, '4K'))).toMatchObject({ result: 'accepted' });
    expect(rig.run(touch(3, 9))).toMatchObject({ result: 'written' });
  });
  it('a failed conversion ends the round trip: the op returns the exit and the error', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.run(accept(0, '2M'));
    const out = rig.run({ ...via(3, 'shared', true, 7), faults: [{ site: 'FOLIO_SPLIT', nth: 1 }] } as Op);
    expect(out).toMatchObject({ result: 'exit', errno: -EFAULT, exit: { gpa: 3 * KB4 }, vmm: [{ ret: -ENOMEM }] });
    expect(rig.sys.isPrivate(3)).toBe(true);
  });
  it('an alias that matches makes no exit', () => {
    expect(new Rig().run(via(3, 'private', true))).toEqual({ kind: 'touch', result: 've' });
  });
});

describe('MapGPA in the model', () => {
  it('exits per 2M chunk; the VMM converts each and the guest gets success', () => {
    const rig = new Rig();
    const out = rig.run(mapGpa(2, P + 3, 'shared'));
    expect(out).toMatchObject({ kind: 'mapGpa', result: 'mapped' });
    expect((out as { vmm: unknown[] }).vmm).toEqual([
      { exit: { reason: 'map-gpa', gpa: 2 * KB4, npages: P, private: false }, ret: 0 },
      { exit: { reason: 'map-gpa', gpa: (P + 2) * KB4, npages: 1, private: false }, ret: 0 },
    ]);
    for (let g = 0; g < 2 * P; g++) expect(rig.sys.isPrivate(g), `gfn ${g}`).toBe(g < 2 || g >= P + 3);
    expect(rig.run(touch(5, 4))).toMatchObject({ result: 'written' }); // the guest believes shared now
  });
  it('without the VMM, KVM_RUN returns the first exit (ret 0) and nothing is converted', () => {
    const rig = new Rig();
    expect(rig.run(mapGpa(0, 2, 'shared', false))).toEqual({ kind: 'mapGpa', result: 'exit', errno: 0, exit: { reason: 'map-gpa', gpa: 0, npages: 2, private: false } });
    expect(rig.sys.isPrivate(0)).toBe(true);
  });
  it('an empty range is TDVMCALL_STATUS_INVALID_OPERAND with no exit; before finalize KVM_RUN fails', () => {
    expect(new Rig().run(mapGpa(4, 4, 'shared'))).toEqual({ kind: 'mapGpa', result: 'error', status: 'TDVMCALL_STATUS_INVALID_OPERAND' });
    expect(new Rig({ startPhase: 'BUILD' }).run(mapGpa(0, 1, 'shared'))).toEqual({ kind: 'mapGpa', result: 'exit', errno: -EINVAL });
  });
  it('a conversion that fails ends the hypercall with INVALID_OPERAND at its chunk (r11); earlier chunks stay converted', () => {
    const rig = new Rig({ backing: 'HUGETLB_2M' });
    rig.run(accept(P, '2M'));
    // the first chunk is a whole folio (no split); the second, part of a huge folio mapped 2M, must split it
    const out = rig.run({ ...mapGpa(0, P + 3, 'shared'), faults: [{ site: 'FOLIO_SPLIT', nth: 1 }] } as Op);
    expect(out).toMatchObject({ result: 'error', status: 'TDVMCALL_STATUS_INVALID_OPERAND', at: P, vmm: [{ ret: 0 }, { ret: -ENOMEM }] });
    expect(rig.sys.isPrivate(2)).toBe(false);
    expect(rig.sys.isPrivate(P + 2)).toBe(true);
  });
});

describe('the oracle on the round trips', () => {
  it('is quiet on round trips in version 1 cases (the vCPU thread is the VMM), in place and with VM attributes', () => {
    const ops = [via(3, 'shared', true, 7), touch(3), via(3, 'private', true, 9), accept(3, '4K'), touch(3, 9), via(4, 'shared', false), mapGpa(2, P + 3, 'shared'), touch(P, 5), mapGpa(P, P + 1, 'private'), accept(P, '4K'), touch(P), mapGpa(0, 1, 'private', false), mapGpa(9, 9, 'shared')];
    for (const design of [{}, { backing: 'HUGETLB_2M' }, { vmMemoryAttributes: true, backing: '4K' }]) {
      const r = run(design, ops);
      expect(r.verdict, `${JSON.stringify(design)}: ${r.failure?.message}`).toBe('pass');
    }
  });
  it('is quiet on the failed conversions (FOLIO_SPLIT) inside a round trip and a MapGPA', () => {
    const r = run({ backing: 'HUGETLB_2M' }, [accept(0, '2M'), { ...via(3, 'shared', true, 7), faults: [{ site: 'FOLIO_SPLIT', nth: 1 }] }, touch(3), accept(P, '2M'), { ...mapGpa(0, P + 3, 'shared'), faults: [{ site: 'FOLIO_SPLIT', nth: 1 }] }, touch(P + 1)]);
    expect(r.verdict, r.failure?.message).toBe('pass');
  });
  it('is quiet in a version 2 case whose ioctl actor converts while the vCPU makes round trips', () => {
    for (let seed = 0; seed < 40; seed++) {
      const c = parseCase({
        format: 'tdxfuzz-case', version: 2, design: { ptrs: P }, actors: ['vcpu', 'ioctl'], schedule: { kind: 'random', seed, mean: 3 },
        ops: [{ ...via(3, 'shared', true, 7), actor: 0 }, { op: 'convert', start: 0, end: 8, to: 'private', actor: 1 }, { ...via(3, 'shared', true, 8), actor: 0 }, { ...mapGpa(2, 6, 'shared'), actor: 0 }, { op: 'convert', start: 2, end: 4, to: 'private', actor: 1 }, { ...touch(5), actor: 0 }],
      });
      const r = runCase(c);
      expect(r.verdict, `seed ${seed}: ${r.failure?.message}`).toBe('pass');
    }
  });
  it('fires when the model reports the wrong page in the exit (planted: gpa off by one page), the VMM converting that one', () => {
    const rig = new OracleRig();
    const r = rig.op(via(3, 'shared', true, 7), 'vmm-exit', () => {
      rig.sys.kvm.vcpus[0].run!.gpa += KB4;
    });
    expect(r.v?.inv).toBe('REF-RESULT');
    expect(r.v?.message).toMatch(/the VMM handled exit -14 \(KVM_EXIT_MEMORY_FAULT gpa 0x4000 .*expected KVM_EXIT_MEMORY_FAULT gpa 0x3000 size 0x1000 shared/);
  });
  it('fires when the model skips the VMM (planted: the op runs without onExit) or the exit (planted: the alias is dropped)', () => {
    let rig = new OracleRig();
    let r = rig.op(via(3, 'shared', true, 7), undefined, undefined, via(3, 'shared', false, 7));
    expect(r.v?.message).toMatch(/expected the VMM to handle KVM_EXIT_MEMORY_FAULT gpa 0x3000/);
    rig = new OracleRig();
    r = rig.op(via(3, 'shared', false, 7), undefined, undefined, touch(3, 7));
    expect(r.v?.message).toMatch(/expected -EFAULT with KVM_EXIT_MEMORY_FAULT gpa 0x3000 size 0x1000 shared, got ve/);
  });
  it('fires when MapGPA converts the wrong direction or skips a chunk (planted)', () => {
    let rig = new OracleRig();
    let r = rig.op(mapGpa(2, P + 3, 'shared'), undefined, undefined, mapGpa(2, P + 2, 'shared'));
    expect(r.v?.message).toMatch(/expected the VMM to handle KVM_HC_MAP_GPA_RANGE gpa 0x12000 npages 1 shared, got .*mapped/);
    rig = new OracleRig();
    r = rig.op(mapGpa(0, 2, 'shared', false), undefined, undefined, mapGpa(0, 2, 'private', false));
    expect(r.v?.message).toMatch(/expected KVM_RUN to return KVM_HC_MAP_GPA_RANGE gpa 0x0 npages 2 shared/);
  });
  it('fires INV-19 when G21 is off: the VMM conversion of a round trip removes the private page without BLOCK + TRACK', () => {
    const ops = [accept(3, '4K'), touch(3, 5), via(3, 'shared', true, 7)];
    expect(run({ backing: '4K' }, ops).verdict).toBe('pass');
    const r = run({ backing: '4K', guardsOff: ['G21'] }, ops);
    expect(r.signature).toBe('VM-BUGGED@touch'); // damage first: the module refuses the REMOVE, TDX_BUG_ON
    expect(r.failure!.after!.inv).toBe('INV-19');
  });
  it('generated cases carry the new fields and ops, make real round trips, and pass', () => {
    let trips = 0;
    let maps = 0;
    let named = 0;
    for (let i = 0; i < 150; i++) {
      const c = generateCase(CAMPAIGN_DEFAULTS, 11, i);
      for (const o of c.ops) if (o.op === 'touch' && o.alias) named++;
      const r = runCase(c, { trace: true });
      expect(r.verdict, `case ${i}: ${r.failure?.message}`).toBe('pass');
      for (const l of r.trace!) {
        if (l.text.includes('VMM: conversion returned')) trips++;
        if (l.text.includes('KVM_HC_MAP_GPA_RANGE')) maps++;
      }
    }
    expect(named).toBeGreaterThan(20);
    expect(trips).toBeGreaterThan(20);
    expect(maps).toBeGreaterThan(20);
  });
});
void mkCase;
