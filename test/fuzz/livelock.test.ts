// LIVELOCK (issue 10): actors that all keep stepping without any op ending are a finding of their own,
// distinct from one op over its step budget (WATCHDOG) and from every actor blocked (DEADLOCK).
import { describe, expect, it } from 'vitest';
import { parseCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';

// G14 off: KVM takes no folio reference for the TD, so a conversion splitting the 2M folio under a mapped
// 4K page waits for references that never go (BUG-14). The VMM's conversion for MapGPA retries for good
// holding filemap_invalidate_lock, and the ioctl thread's conversion waits for that lock: both actors keep
// taking steps and no op ends. The oracle's own liveness rule (INV-24) names this first; without the oracle
// only the scheduler's bounds remain, and the shared one (every actor's steps) is reached before the op's.
const c = parseCase({
  format: 'tdxfuzz-case',
  version: 2,
  design: { ptrs: 16, guardsOff: ['G14'] },
  actors: ['vcpu', 'vcpu', 'ioctl'],
  schedule: [],
  ops: [
    { op: 'accept', actor: 0, gfn: 1, level: '4K' },
    { op: 'convert', actor: 2, start: 0, end: 1, to: 'shared' },
    { op: 'mapGpa', actor: 1, start: 2, end: 3, to: 'shared', onExit: 'vmm' },
  ],
});

describe('livelock', () => {
  it('actors that keep taking turns while no op ends are a LIVELOCK finding, not one op\'s WATCHDOG', () => {
    const r = runCase(c, { noOracle: true });
    expect(r.signature).toBe('LIVELOCK@mapGpa');
    expect(r.failure!.message).toMatch(/no op of any actor ended in \d+ steps/);
  });

  it('with the oracle on, its liveness rule names the bug first (INV-24), and the guard on lets both finish', () => {
    expect(runCase(c).signature).toBe('INV-24@mapGpa');
    const guarded = parseCase({ format: 'tdxfuzz-case', version: 2, design: { ptrs: 16 }, actors: c.actors, schedule: [], ops: c.ops });
    expect(runCase(guarded).verdict).toBe('pass');
  });
});
