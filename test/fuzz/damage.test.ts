// Damage first (issue 10, "found by the damage the spec names"): a structural violation is recorded and the
// case goes on; damage ends it and names the structural hit before it; with no damage the first structural
// violation is the failure, as before. Clauses that only a generated interleaving reaches fire from cases a
// campaign produced and the minimiser shrank (corpus/regression), and stay quiet with the guard on.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Case, loadCase } from '../../src/fuzz/case.js';
import { campaignConcurrency, RACE_GUARD_SHARE } from '../../src/fuzz/concurrency.js';
import { runCase } from '../../src/fuzz/run.js';
import { signatureDetection, signatureOf } from '../../src/fuzz/signature.js';
import { clauseIndex, clausesOf, detectionOf, INVARIANTS } from '../../src/oracle/invariants.js';

const CORPUS = join(__dirname, '..', '..', 'corpus', 'regression');
const load = (f: string): Case => loadCase(join(CORPUS, f));
const guardsOn = (c: Case): Case => ({ ...c, design: { ...c.design, guardsOff: [] } });
const clause = (inv: string, prefix: string): string => `${inv}#${clauseIndex(inv, prefix)}`;

describe('clause detection', () => {
  it('the clauses that name damage: the split cache underflow, a benign BUSY that kills the VM, an unbounded retry loop', () => {
    expect(detectionOf({ inv: 'INV-13', clause: clauseIndex('INV-13', 'the split cache never underflows') })).toBe('damage');
    expect(detectionOf({ inv: 'INV-13', clause: clauseIndex('INV-13', 'the splitter dequeues without dropping') })).toBe('structural');
    expect(detectionOf({ inv: 'INV-13' })).toBe('structural');
    expect(detectionOf({ inv: 'INV-17', clause: clauseIndex('INV-17', 'a benign TDX_OPERAND_BUSY never kills') })).toBe('damage');
    expect(detectionOf({ inv: 'INV-17', clause: clauseIndex('INV-17', 'the retry after the kick') })).toBe('structural');
    expect(detectionOf({ inv: 'INV-30', clause: clauseIndex('INV-30', 'every SEAMCALL retry loop') })).toBe('damage');
    expect(detectionOf({ inv: 'INV-30', clause: clauseIndex('INV-30', 'huge pages only') })).toBe('structural');
    // checks outside the table are hangs or a harness that cannot go on
    for (const id of ['DEADLOCK', 'LIVELOCK', 'HARNESS-EXCEPTION']) expect(detectionOf({ inv: id })).toBe('damage');
    // every clause detection is one of the three classes
    for (const i of INVARIANTS) for (const c of clausesOf(i)) expect(['damage', 'structural', 'performance', undefined]).toContain(c.detection);
  });

  it('a signature tags a clause whose detection differs from its invariant\'s, and the tag gives the class back', () => {
    const f = { inv: 'INV-13', opIndex: 0, opKind: 'convert', step: 's', message: 'm', faultKinds: [] };
    expect(signatureOf({ ...f, detection: 'damage' })).toBe('INV-13:damage@convert');
    expect(signatureOf({ ...f, detection: 'structural' })).toBe('INV-13@convert');
    expect(signatureOf({ ...f, inv: 'VM-BUGGED', detection: 'damage' })).toBe('VM-BUGGED@convert');
    expect(signatureDetection('INV-13:damage@convert')).toBe('damage');
    expect(signatureDetection('INV-13@convert')).toBe('structural');
    expect(signatureDetection('INV-17@convert+OPERAND_BUSY')).toBe('damage');
    expect(signatureDetection('PERF-2M@touch')).toBe('performance');
  });
});

describe('the case goes on after a structural violation', () => {
  it('with no damage by the end, the first structural violation is the failure (same signature as when it ended the case)', () => {
    const c = load('bug-09-guest-inhibit-under-read-lock.json'); // one actor: G9 off sets GUEST_INHIBIT under the read lock
    const r = runCase(c);
    expect(r.signature).toBe('INV-8@accept');
    expect(r.failure!.detection).toBe('structural');
    expect(r.failure!.clause).toBe('GUEST_INHIBIT is only written under write mmu_lock');
    expect(r.failure!.after).toBeUndefined();
    expect(r.opsRun).toBe(c.ops.length); // it ran to its end
    expect(r.structuralHits).toEqual([clause('INV-8', 'GUEST_INHIBIT is only written')]);
  });

  it('damage after a structural hit is the failure, and names the hit (G21 off: TRACK skipped, the module refuses REMOVE, the VM dies)', () => {
    const r = runCase(load('bug-21-no-track-before-remove.json'));
    expect(r.signature).toBe('VM-BUGGED@convert');
    expect(r.failure!.detection).toBe('damage');
    expect(r.failure!.after).toMatchObject({ inv: 'INV-19', clause: 'REMOVE and DEMOTE only after BLOCK, TRACK and a vCPU kick', opKind: 'convert' });
    expect(runCase(guardsOn(load('bug-21-no-track-before-remove.json'))).verdict).toBe('pass');
  });

  it('an exception after a structural hit reports the hit (with the exception named); without one it is a HARNESS-EXCEPTION', () => {
    const c = load('bug-07b-split-cache-no-spinlock.json');
    const more: Case = { ...c, ops: [...c.ops, { op: 'convert', start: 0, end: 1, to: 'shared' }] };
    const r = runCase(more, { selfTestThrowIn: 'convert' });
    expect(r.signature).toBe(c.expect!.signature);
    expect(r.failure!.detection).toBe('structural');
    expect(r.failure!.exception).toMatch(/self-test exception in convert/);
    const clean = runCase(guardsOn(more), { selfTestThrowIn: 'convert' });
    expect(clean.signature).toBe('HARNESS-EXCEPTION@convert');
  });

  it('the same case gives the same verdict, failure and trace hash every run', () => {
    for (const f of ['bug-07-split-cache-underflow-two-splitters.json', 'bug-09-inhibit-race-repeated-faults.json', 'bug-21-no-track-before-remove.json']) {
      const a = runCase(load(f));
      const b = runCase(load(f));
      expect(b.traceHash, f).toBe(a.traceHash);
      expect(b.failure, f).toEqual(a.failure);
      expect(b.structuralHits, f).toEqual(a.structuralHits);
    }
  });
});

describe('clauses a generated interleaving reaches (cases a campaign produced and the minimiser shrank)', () => {
  it('INV-13 "the split cache never underflows" (BUG-7, damage): two splitters, one dropped mmu_lock after its check', () => {
    const c = load('bug-07-split-cache-underflow-two-splitters.json');
    expect(c.actors!.length).toBeGreaterThan(1);
    expect(c.ops.length).toBeLessThanOrEqual(10);
    expect(Array.isArray(c.schedule) ? c.schedule.length : Infinity).toBeLessThanOrEqual(10);
    const r = runCase(c);
    expect(r.signature).toBe('INV-13:damage@convert');
    expect(r.failure!.clause).toBe('the split cache never underflows');
    expect(r.failure!.after).toMatchObject({ inv: 'INV-13', clause: 'the splitter dequeues without dropping mmu_lock since its step 2.1 check' });
    const on = runCase(guardsOn(c));
    expect(on.verdict, on.failure?.message).toBe('pass');
    expect(on.structuralHits).toBeUndefined();
  });

  it('INV-8 "GUEST_INHIBIT is never cleared" (BUG-9): fires once the read-lock clause no longer ends the case', () => {
    const c = load('bug-09-inhibit-race-repeated-faults.json');
    const r = runCase(c);
    expect(r.signature).toBe('INV-10@accept'); // the damage: the ACCEPT never completes
    expect(r.structuralHits).toContain(clause('INV-8', 'GUEST_INHIBIT is never cleared'));
    expect(r.structuralHits).toContain(clause('INV-8', 'GUEST_INHIBIT is only written'));
    const on = runCase(guardsOn(c));
    expect(on.verdict, on.failure?.message).toBe('pass');
    expect(on.structuralHits).toBeUndefined();
  });

  it('INV-13 "dequeue under prealloc_split_cache_lock" (BUG-7b): fires after the enqueue clause, which no longer ends the case', () => {
    const c = load('bug-07b-split-cache-no-spinlock.json');
    const r = runCase(c);
    expect(r.structuralHits).toEqual([clause('INV-13', 'dequeue under'), clause('INV-13', 'enqueue under')]);
    expect(runCase(guardsOn(c)).structuralHits).toBeUndefined();
  });
});

describe('a campaign runs several actors for a guard whose bug is a race (src/fuzz/concurrency.ts)', () => {
  it('--concurrency not given: a needsActors guard off turns it on with one line; other guards leave it off', () => {
    const g7 = campaignConcurrency(false, 0, 'mix', ['G7']);
    expect(g7.settings).toEqual({ share: RACE_GUARD_SHARE, schedule: 'mix' });
    expect(g7.note).toMatch(/because guard G7 \(BUG-7\) is off and its bug is a race between actors \(--concurrency 0 keeps one actor\)$/);
    for (const id of ['G4', 'G7b', 'G9', 'G15', 'G20']) expect(campaignConcurrency(false, 0, 'pct', [id]).settings, id).toEqual({ share: RACE_GUARD_SHARE, schedule: 'pct' });
    expect(campaignConcurrency(false, 0, 'mix', ['G1', 'G21'])).toEqual({ settings: null, note: null });
    expect(campaignConcurrency(false, 0, 'mix', [])).toEqual({ settings: null, note: null });
  });

  it('--concurrency given wins, 0 included', () => {
    expect(campaignConcurrency(true, 0, 'mix', ['G7'])).toEqual({ settings: null, note: null });
    expect(campaignConcurrency(true, 0.2, 'random', ['G7'])).toEqual({ settings: { share: 0.2, schedule: 'random' }, note: null });
  });
});
