// Argument validation of KVM_SET_MEMORY_ATTRIBUTES and the guest_memfd conversion ioctl (kernel-facts.md
// 3.2): flags, unknown attribute bits, size 0, an unaligned address or size -> -EINVAL with no side effect;
// a range that already has the target attribute is a no-op. The op's optional field `arg` names the bad
// argument; the generator draws a few; the reference derives the -EINVAL on its own.
import { describe, expect, it } from 'vitest';
import { type Op, parseCase, serializeCase } from '../../src/fuzz/case.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { simplerOps } from '../../src/fuzz/minimize.js';
import { runCase } from '../../src/fuzz/run.js';
import { EINVAL } from '../../src/model/errno.js';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';
import { accept, mkCase, P, Rig, run, touch } from '../helpers/model.js';
import { OracleRig } from '../helpers/oracleRig.js';

const ARGS = ['flags', 'attributes', 'unaligned-address', 'unaligned-size'] as const;
const conv = (start: number, end: number, to: 'shared' | 'private', arg?: string): Op => ({ op: 'convert', start, end, to, ...(arg ? { arg } : {}) } as Op);
const ret = (o: unknown): number => (o as { ret: number }).ret;

describe('conversion ioctl argument checks', () => {
  for (const vmMemoryAttributes of [false, true]) {
    const name = vmMemoryAttributes ? 'KVM_SET_MEMORY_ATTRIBUTES' : 'the guest_memfd conversion ioctl';
    it(`${name}: each invalid argument and size 0 give -EINVAL and change nothing`, () => {
      const rig = new Rig({ vmMemoryAttributes });
      rig.runAll([touch(0), accept(0, '2M'), touch(3, 7)]);
      const before = JSON.stringify([rig.sys.kvm.mirror.m2m, rig.sys.tdx.sept.e2m, rig.sys.gmem.attr, rig.sys.kvm.attrs, rig.sys.gmem.folioOrder]);
      for (const a of ARGS) expect(ret(rig.run(conv(0, 4, 'shared', a))), a).toBe(-EINVAL);
      expect(ret(rig.run(conv(4, 4, 'shared')))).toBe(-EINVAL); // size 0
      expect(JSON.stringify([rig.sys.kvm.mirror.m2m, rig.sys.tdx.sept.e2m, rig.sys.gmem.attr, rig.sys.kvm.attrs, rig.sys.gmem.folioOrder])).toBe(before);
      expect(rig.run(touch(3))).toMatchObject({ result: 'read', value: 7 });
    });
    it(`${name}: a range already at the target attribute is a no-op (0, the 2M leaf stays)`, () => {
      const rig = new Rig({ vmMemoryAttributes });
      rig.runAll([touch(0), accept(0, '2M')]);
      expect(ret(rig.run(conv(0, 4, 'private')))).toBe(0);
      expect(rig.sys.kvm.mirror.m2m[0]).toBe(1);
    });
  }
});

describe('the op field `arg`', () => {
  it('is optional: an old case without it reads; the default is never written; the minimiser drops it', () => {
    const c = mkCase({}, [{ op: 'convert', start: 0, end: 2, to: 'shared', arg: 'valid' }, { op: 'convert', start: 0, end: 2, to: 'shared', arg: 'flags' }]);
    expect(c.ops[0]).toEqual({ op: 'convert', start: 0, end: 2, to: 'shared' });
    expect(JSON.parse(serializeCase(c)).ops[1].arg).toBe('flags');
    expect(simplerOps(c.ops[1]).some((o) => !('arg' in o))).toBe(true);
    expect(() => mkCase({}, [{ op: 'convert', start: 0, end: 2, to: 'shared', arg: 'bogus' }])).toThrow(/arg/);
  });
  it('the generator draws every invalid argument, and the cases carrying them pass', () => {
    const design = resolveDesign({}, 'design', CAMPAIGN_DEFAULTS);
    const seen = new Set<string>();
    for (let i = 0; i < 3000 && seen.size < ARGS.length; i++) {
      const c = generateCase(design, 7, i);
      const bad = c.ops.filter((o) => o.op === 'convert' && o.arg !== undefined);
      if (!bad.length) continue;
      for (const o of bad) seen.add((o as { arg: string }).arg);
      const r = runCase(c);
      expect(r.verdict, `case ${i}: ${r.failure?.message}`).toBe('pass');
    }
    expect([...seen].sort()).toEqual([...ARGS].sort());
  });
});

describe('the oracle on argument checks', () => {
  for (const vmMemoryAttributes of [false, true]) {
    it(`fires REF-RESULT when the ioctl accepts an invalid argument (planted: the model loses it)${vmMemoryAttributes ? ', VM attributes' : ''}`, () => {
      const rig = new OracleRig({ vmMemoryAttributes });
      rig.ok(touch(0), accept(0, '2M'));
      const r = rig.op(conv(0, 4, 'shared', 'flags'), undefined, undefined, conv(0, 4, 'shared'));
      expect(r.v?.inv).toBe('REF-RESULT');
      expect(r.v?.message).toMatch(/invalid argument \(flags\): expected -22, got 0/);
    });
  }
  it('is quiet: invalid arguments among valid conversions over both attribute homes', () => {
    const ops = [touch(0), accept(0, '2M'), conv(0, 4, 'shared', 'unaligned-address'), conv(0, 4, 'shared'), conv(0, 4, 'shared', 'flags'), conv(0, 4, 'private', 'attributes'), conv(0, 4, 'private'), conv(P, P, 'private'), touch(5)];
    for (const d of [{}, { vmMemoryAttributes: true }]) {
      const r = run(d, ops);
      expect(r.verdict, `${JSON.stringify(d)}: ${r.failure?.message}`).toBe('pass');
    }
    expect(parseCase(JSON.parse(serializeCase(mkCase({}, ops)))).ops[2]).toMatchObject({ arg: 'unaligned-address' });
  });
});
