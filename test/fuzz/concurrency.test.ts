// Concurrent actors (issue 10): case format 2, the scheduler, the races the design's locking prevents and
// the oracle's linearizability check, from generated and replayed interleavings.
import { describe, expect, it } from 'vitest';
import { type Case, CaseError, caseId, parseCase, serializeCase } from '../../src/fuzz/case.js';
import { withActors } from '../../src/fuzz/concurrency.js';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { minimizeCase } from '../../src/fuzz/minimize.js';
import { runCase } from '../../src/fuzz/run.js';
import type { SchedulePolicy } from '../../src/fuzz/schedule.js';
import { CAMPAIGN_DEFAULTS, resolveDesign } from '../../src/model/config.js';

const P = 16;
const v2 = (ops: unknown[], actors: string[], schedule?: unknown, design: Record<string, unknown> = {}): Case =>
  parseCase({ format: 'tdxfuzz-case', version: 2, design: { ptrs: P, ...design }, actors, ...(schedule === undefined ? {} : { schedule }), ops });

function refuses(raw: Record<string, unknown>, field: string, msg: RegExp): void {
  let err: unknown;
  try {
    parseCase({ format: 'tdxfuzz-case', version: 2, design: { ptrs: P }, ops: [], ...raw });
  } catch (e) {
    err = e;
  }
  expect(err, field).toBeInstanceOf(CaseError);
  expect((err as CaseError).field).toBe(field);
  expect((err as CaseError).message).toMatch(msg);
}

describe('case format 2', () => {
  it('gives an op without `actor` to the first actor of its kind and keeps the schedule', () => {
    const c = v2([{ op: 'touch', gfn: 0 }, { op: 'convert', start: 0, end: 1, to: 'shared' }, { op: 'accept', actor: 1, gfn: 3, level: '4K' }], ['vcpu', 'vcpu', 'ioctl'], [{ step: 3, to: 2 }]);
    expect(c.ops.map((o) => o.actor)).toEqual([0, 2, 1]);
    expect(c.schedule).toEqual([{ step: 3, to: 2 }]);
    const back = parseCase(JSON.parse(serializeCase(c)));
    expect(back).toEqual(c);
    expect(caseId(back)).not.toBe(caseId({ ...c, schedule: [] }));
  });

  it('refuses an op on an actor of the wrong kind, a schedule naming no actor, and actors in version 1', () => {
    refuses({ actors: ['vcpu', 'ioctl'], ops: [{ op: 'touch', actor: 1, gfn: 0 }] }, 'ops[0].actor', /issued by a vcpu actor, not by actor 1 \(ioctl\)/);
    refuses({ actors: ['ioctl'], ops: [{ op: 'touch', gfn: 0 }] }, 'ops[0].actor', /the case has none/);
    refuses({ actors: ['vcpu'], schedule: [{ step: 1, to: 3 }] }, 'schedule[0].to', /from 0 to 0/);
    refuses({ actors: ['vcpu'], schedule: [{ step: 2, to: 0 }, { step: 2, to: 0 }] }, 'schedule[1].step', /increase/);
    refuses({ actors: ['vcpu'], schedule: { kind: 'fifo' } }, 'schedule.kind', /"pct" or "random"/);
    refuses({ version: 1, actors: ['vcpu'] }, 'actors', /version 2/);
    refuses({ actors: ['vcpu', 'vcpu', 'vcpu', 'vcpu', 'vcpu'] }, 'actors', /at most 4 vcpu/);
  });

  it('a one-actor case stays version 1 when written', () => {
    const c = parseCase({ format: 'tdxfuzz-case', version: 1, design: { ptrs: P }, ops: [{ op: 'touch', gfn: 0 }] });
    expect(JSON.parse(serializeCase(c)).version).toBe(1);
  });
});

const design = resolveDesign({ ...CAMPAIGN_DEFAULTS }, 'design', CAMPAIGN_DEFAULTS);
const space = defaultDesignSpace(design);
const concurrent = (seed: number, i: number, guardsOff: string[] = []): Case =>
  withActors(campaignCase({ ...design, guardsOff: guardsOff as never }, space, seed, i), seed, i, { share: 1, schedule: 'mix' });

describe('the scheduler', () => {
  it('turns a policy into switch points that replay the run step for step', () => {
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const c = concurrent(11, i);
      if (!c.actors) continue;
      const r = runCase(c);
      expect(r.schedule).toBeDefined();
      const again = runCase({ ...c, schedule: r.schedule });
      expect(again.traceHash).toBe(r.traceHash);
      expect(again.verdict).toBe(r.verdict);
      expect(again.steps).toBe(r.steps);
      expect(runCase(c).traceHash).toBe(r.traceHash); // and the policy itself is deterministic
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('PCT and random schedules interleave the actors (both switch, and differently)', () => {
    const base = concurrent(3, 5);
    const pct: SchedulePolicy = { kind: 'pct', seed: 7, depth: 3, horizon: 120 };
    const rnd: SchedulePolicy = { kind: 'random', seed: 7, mean: 4 };
    const a = runCase({ ...base, schedule: pct });
    const b = runCase({ ...base, schedule: rnd });
    expect(a.schedule!.length).toBeGreaterThan(0);
    expect(b.schedule!.length).toBeGreaterThan(a.schedule!.length);
  });
});

describe('contention between actors', () => {
  it('a vCPU inside ACCEPT makes the module answer TDX_OPERAND_BUSY with no fault injected, and the correct design absorbs it', () => {
    let busy = 0;
    for (let i = 0; i < 2500; i++) {
      const r = runCase(concurrent(2, i));
      expect(r.verdict, `case ${i}: ${r.failure?.message}`).toBe('pass');
      busy += r.busyUninjected;
    }
    expect(busy).toBeGreaterThan(0);
  });

  it('BUG-15: without the kick and retry (G15 off) a generated interleaving dies of contention alone (INV-17), minimised to a short case that passes with the guard on', () => {
    let found: Case | null = null;
    for (let i = 0; i < 3000 && !found; i++) {
      const c = concurrent(1, i, ['G15']);
      const r = runCase(c);
      if (r.signature === 'INV-17@convert' || r.signature === 'INV-17@punch' || r.signature === 'INV-17@destroy') found = { ...c, schedule: r.schedule };
    }
    expect(found, 'no generated case died of contention alone').not.toBeNull();
    const m = minimizeCase(found!);
    expect(m.result.signature).toMatch(/^INV-17@\w+$/); // no injected fault needed
    expect(m.case.ops.length).toBeLessThanOrEqual(10);
    expect(Array.isArray(m.case.schedule) ? m.case.schedule.length : 0).toBeLessThanOrEqual(10);
    expect(m.result.failure!.message).toMatch(/contention with another actor/);
    expect(runCase({ ...m.case, design: { ...m.case.design, guardsOff: [] } }).verdict).toBe('pass');
  });

  it('BUG-20: without the mmu_invalidate retry check (G20 off) a fault races a conversion and maps a shared gfn privately (INV-2/INV-1)', () => {
    const sigs = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const r = runCase(concurrent(1, i, ['G20']));
      if (r.signature) sigs.add(r.signature.split('@')[0]);
    }
    expect([...sigs].some((s) => s === 'INV-2' || s === 'INV-1' || s === 'INV-25')).toBe(true);
    for (let i = 0; i < 300; i++) expect(runCase(concurrent(1, i)).verdict).toBe('pass');
  });
});

describe('deadlock', () => {
  it('every actor waiting on a lock nobody releases is a DEADLOCK finding naming the actors', () => {
    // no switches: the first ioctl thread runs its conversion to the end (and keeps the lock), then the
    // second one waits for good in its punch
    const c = v2([{ op: 'convert', start: 0, end: 1, to: 'shared' }, { op: 'punch', actor: 1, start: 16, end: 32 }], ['ioctl', 'ioctl'], []);
    const r = runCase(c, { selfTestHoldMmuLockAfter: 'convert' });
    expect(r.signature).toBe('DEADLOCK@punch');
    expect(r.failure!.message).toMatch(/actor 1 \(ioctl\) in #1 punch/);
    expect(runCase(c).verdict).toBe('pass');
  });
});
