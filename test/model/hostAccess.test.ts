// Host userspace reads and writes of guest memory (ops hostRead / hostWrite): through the guest_memfd mmap
// only shared pages are reachable (a private page faults: SIGBUS, -EFAULT); with VM attributes the host's
// memory is the slot's userspace memory. The oracle's rules: the host never reads private data (INV-25
// from the PAMT, and the reference's -EFAULT), the guest reads what the host wrote to a shared page and the
// host reads what the guest wrote there.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/fuzz/case.js';
import { SHARED } from '../../src/model/gmem/gmem.js';
import { EFAULT, EINVAL } from '../../src/model/errno.js';
import { accept, convert, deleteSlot, P, run, Rig, touch } from '../helpers/model.js';
import { OracleRig } from '../helpers/oracleRig.js';

const hostRead = (gfn: number): Op => ({ op: 'hostRead', gfn });
const hostWrite = (gfn: number, data: number): Op => ({ op: 'hostWrite', gfn, data });
const ret = (o: unknown): number => (o as { ret: number }).ret;
/** A host load's token, or its errno. */
const got = (o: unknown): number => ((o as { ret: number }).ret === 0 ? (o as { value: number }).value : ret(o));

describe('hostRead / hostWrite in the model', () => {
  it('in place: a private page faults (-EFAULT) and the host data path never sees it', () => {
    const rig = new Rig();
    rig.runAll([touch(3), accept(3, '4K'), touch(3, 77)]);
    expect(got(rig.run(hostRead(3)))).toBe(-EFAULT);
    expect(ret(rig.run(hostWrite(3, 5)))).toBe(-EFAULT);
    expect(rig.run(touch(3))).toMatchObject({ result: 'read', value: 77 });
  });
  it('in place: host and guest see each other\'s writes to a shared page', () => {
    const rig = new Rig();
    rig.runAll([convert(0, 4, 'shared')]);
    expect(ret(rig.run(hostWrite(2, 41)))).toBe(0);
    expect(rig.run(touch(2))).toMatchObject({ result: 'read', value: 41 });
    rig.run(touch(2, 42));
    expect(got(rig.run(hostRead(2)))).toBe(42);
  });
  it('with VM attributes: the host reads its own memory, never the private page behind the gfn', () => {
    const rig = new Rig({ vmMemoryAttributes: true });
    expect(ret(rig.run(hostWrite(3, 11)))).toBe(0); // the selftests' PATTERN_CONFIDENCE_CHECK
    rig.runAll([touch(3), accept(3, '4K'), touch(3, 77)]);
    expect(got(rig.run(hostRead(3)))).toBe(11);
    rig.runAll([convert(3, 4, 'shared')]);
    expect(rig.run(touch(3))).toMatchObject({ result: 'read', value: 11 });
  });
  it('outside the memslot: -EINVAL', () => {
    const rig = new Rig();
    rig.run(deleteSlot);
    expect(got(rig.run(hostRead(3)))).toBe(-EINVAL);
  });
});

describe('the oracle on host accesses', () => {
  it('fires INV-25 when a planted bug lets the host read private data (the attribute flipped behind the TD)', () => {
    const rig = new OracleRig({ backing: '4K' }); // 4K leaves: no 2M leaf over the flipped gfn for INV-2 to see first
    rig.ok(touch(3), accept(3, '4K'), touch(3, 77));
    rig.sys.gmem.attr[3] = SHARED; // planted: guest_memfd says shared while the S-EPT still maps the TD's page
    const r = rig.op(hostRead(3));
    expect(r.v?.inv).toBe('INV-25');
    expect(r.v?.message).toMatch(/host userspace read pfn .* which the TD owns/);
  });
  it('fires INV-25 from the reference alone when the read returns data for a private gfn', () => {
    // planted at the step after the mmap fault: the page became private under the host's feet without a zap
    const rig = new OracleRig();
    rig.ok(convert(0, 4, 'shared'), hostWrite(2, 9));
    const r = rig.op(hostRead(2), 'host-read', () => {
      rig.oracle.ref.private[2] = 1; // the reference believes gfn 2 private: a successful read contradicts it
    });
    expect(r.v?.inv).toBe('INV-25');
    expect(r.v?.message).toMatch(/must fault \(SIGBUS/);
  });
  it('fires REF-RESULT when the guest does not read what the host wrote (planted: the write lost)', () => {
    const rig = new OracleRig();
    rig.ok(convert(0, 4, 'shared'), touch(2, 5));
    rig.op(hostWrite(2, 9), 'host-write', () => undefined);
    rig.sys.phys.content[rig.sys.kvm.sharedEpt[2]] = 5; // planted: the host's store went elsewhere
    const r = rig.op(touch(2));
    expect(r.v?.inv).toBe('REF-RESULT');
    expect(r.v?.message).toMatch(/read 5, expected 9/);
  });
  it('is quiet on the correct model: in place and with VM attributes, host and guest agree', () => {
    const ops = [
      hostRead(1), hostWrite(1, 3), touch(1), accept(1, '4K'), touch(1, 8), hostRead(1),
      convert(0, P, 'shared'), hostWrite(1, 21), touch(1), touch(2, 22), hostRead(2), hostRead(P + 1),
      convert(0, P, 'private'), hostRead(1), touch(1), accept(1, '4K'), touch(1),
    ];
    for (const design of [{}, { vmMemoryAttributes: true }, { backing: '4K' }]) {
      const r = run(design, ops);
      expect(r.verdict, `${JSON.stringify(design)}: ${r.failure?.message}`).toBe('pass');
    }
  });
});
