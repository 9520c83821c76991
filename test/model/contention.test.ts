// Host SEAMCALLs that span steps (issue 10): the TDX module holds an S-EPT entry lock (BLOCK: the S-EPT tree lock
// exclusive; TRACK: the TD epoch lock) from a SEAMCALL's start to the calling actor's next step, so another
// actor's SEAMCALL meanwhile answers TDX_OPERAND_BUSY with no fault injected (kernel-facts.md 2.3, 2.7, MOD-*).
// The races this opens with G4 off (splits under the shared mmu_lock) are replayed from corpus/regression.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import { CaseRunner, runCase } from '../../src/fuzz/run.js';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { isMutated } from '../../src/fuzz/mutate.js';
import { minimizeCase } from '../../src/fuzz/minimize.js';
import { clauseIndex } from '../../src/oracle/invariants.js';
import { CAMPAIGN_DEFAULTS } from '../../src/model/config.js';
import { resolveDesign } from '../../src/model/config.js';
import { Owner } from '../../src/model/host/phys.js';
import { kickAllVcpus, seamcall, tdxTrack } from '../../src/model/kvm/tdxGlue.js';
import { resumeGuestCode } from '../../src/model/guest/guest.js';
import { System } from '../../src/model/system.js';
import { L2M, L4K } from '../../src/model/tdx/leaf.js';
import { SeptState as S } from '../../src/model/tdx/sept.js';
import { formatStatus, isSuccess, type SeamStatus, STATUS_CODES } from '../../src/model/tdx/status.js';

const P = 16;
const REG = join(__dirname, '..', '..', 'corpus', 'regression');

function fresh(): System {
  return new System(resolveDesign({ ptrs: P, dpamt: false }), false, 3);
}

function expectStatus(st: SeamStatus, name: keyof typeof STATUS_CODES, detail = 0): void {
  expect({ code: st.code, detail: st.detail }, formatStatus(st)).toEqual({ code: STATUS_CODES[name], detail });
}

function expectOk(st: SeamStatus): void {
  expect(isSuccess(st), formatStatus(st)).toBe(true);
}

/** Run `call` as `actor` inside a step-spanning SEAMCALL up to its first yield; returns the path and the status. */
function begin(sys: System, actor: number, call: () => SeamStatus): { st: SeamStatus; end: () => void } {
  sys.actor = actor;
  let st: SeamStatus | null = null;
  const p = seamcall(sys, () => (st = call()));
  expect(p.next().value).toBe('seamcall'); // the call is made; its end is the actor's next step
  return {
    st: st!,
    end: () => {
      sys.actor = actor;
      expect(p.next().done).toBe(true);
    },
  };
}

describe('S-EPT entry and tree locks held across a step', () => {
  it("another actor's SEAMCALL on the entry meanwhile answers TDX_OPERAND_BUSY|RCX, counted as contention, and succeeds after the end", () => {
    const sys = fresh();
    expectOk(sys.tdx.tdhMemPageAug(0, L2M, 0));
    const busy0 = sys.tdx.contentionBusy;
    const block = begin(sys, 0, () => sys.tdx.tdhMemRangeBlock(0, L2M));
    expectOk(block.st);
    sys.actor = 1;
    expectStatus(sys.tdx.tdhMemRangeUnblock(0, L2M), 'TDX_OPERAND_BUSY', 0x01);
    expectStatus(sys.tdx.tdhMemPageRemove(0, L2M), 'TDX_OPERAND_BUSY', 0x01);
    expect(sys.tdx.contentionBusy).toBe(busy0 + 2);
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING_BLOCKED); // the refused calls changed nothing
    block.end();
    sys.actor = 1;
    expectOk(sys.tdx.tdhMemRangeUnblock(0, L2M));
    expect(sys.tdx.sept.e2m[0]).toBe(S.PENDING);
  });

  it('one actor never contends with itself: with one actor every SEAMCALL behaves as one step', () => {
    const sys = fresh();
    expectOk(sys.tdx.tdhMemPageAug(0, L2M, 0));
    sys.actor = 0;
    expectOk(sys.tdx.tdhMemRangeBlock(0, L2M)); // no seamcallEnd in between: the same actor
    expectOk(sys.tdx.tdhMemRangeUnblock(0, L2M));
    expect(sys.tdx.contentionBusy).toBe(0);
  });

  it('4K entries of one 2M range are separate locks; the 2M entry covers them; BLOCK takes the tree lock exclusive (MOD-block)', () => {
    const sys = fresh();
    const table = sys.phys.allocSmall(Owner.SEPT, 0);
    expectOk(sys.tdx.tdhMemSeptAdd(0, table));
    const table1 = sys.phys.allocSmall(Owner.SEPT, 1);
    expectOk(sys.tdx.tdhMemSeptAdd(P, table1));
    const aug = begin(sys, 0, () => sys.tdx.tdhMemPageAug(1, L4K, 0x20));
    expectOk(aug.st);
    sys.actor = 1;
    expectOk(sys.tdx.tdhMemPageAug(2, L4K, 0x21)); // another 4K entry: no contention
    sys.tdx.seamcallEnd(1);
    expectStatus(sys.tdx.tdhMemPageAug(1, L4K, 0x22), 'TDX_OPERAND_BUSY', 0x01); // the same entry
    // a BLOCK of another range needs the tree exclusively while AUG holds it shared
    expectStatus(sys.tdx.tdhMemRangeBlock(P + 2, L4K), 'TDX_OPERAND_BUSY', 0x01);
    aug.end();
    const block = begin(sys, 1, () => sys.tdx.tdhMemRangeBlock(2, L4K));
    expectOk(block.st);
    sys.actor = 0;
    expectStatus(sys.tdx.tdhMemPageAug(P + 3, L4K, 0x23), 'TDX_OPERAND_BUSY', 0x01); // any S-EPT leaf, any range
    block.end();
    sys.actor = 0;
    expectOk(sys.tdx.tdhMemPageAug(P + 3, L4K, 0x23));
  });

  it('the guest ACCEPT meets BUSY|RCX while a host SEAMCALL holds its entry (MOD-accept), and succeeds after', () => {
    const sys = fresh();
    expectOk(sys.tdx.tdhMemPageAug(0, L2M, 0));
    const block = begin(sys, 0, () => sys.tdx.tdhMemRangeBlock(0, L2M));
    sys.actor = 1;
    const r = sys.tdx.tdgMemPageAccept(0, L2M);
    expect(r.kind === 'status' && formatStatus(r.st)).toMatch(/^TDX_OPERAND_BUSY\|0x1 /);
    block.end();
    expectOk(sys.tdx.tdhMemRangeUnblock(0, L2M)); // actor 0 again: it holds the entry until its next step
    sys.actor = 1;
    const still = sys.tdx.tdgMemPageAccept(0, L2M);
    expect(still.kind === 'status' && formatStatus(still.st)).toMatch(/^TDX_OPERAND_BUSY\|0x1 /);
    sys.tdx.seamcallEnd(0);
    const ok = sys.tdx.tdgMemPageAccept(0, L2M);
    expect(ok.kind === 'status' && isSuccess(ok.st)).toBe(true);
  });

  it('TRACK holds the TD epoch lock to its end: another TRACK meanwhile is BUSY|TD_EPOCH, and the epoch moves once', () => {
    const sys = fresh();
    const e = sys.tdx.epoch;
    const t = begin(sys, 0, () => sys.tdx.tdhMemTrack());
    expectOk(t.st);
    sys.actor = 1;
    expectStatus(sys.tdx.tdhMemTrack(), 'TDX_OPERAND_BUSY', 0xa9);
    expect(sys.tdx.epoch).toBe(e + 1);
    t.end();
    sys.actor = 1;
    expectOk(sys.tdx.tdhMemTrack());
    expect(sys.tdx.epoch).toBe(e + 2);
  });

  it("tdx_track(): the kick is a step after TRACK returns when other actors run, and TRACK's epoch lock is free by then", () => {
    const sys = fresh();
    sys.otherUsers = 1;
    sys.kvm.tdState = 'RUNNABLE';
    sys.tdx.vpEnter(2);
    sys.kvm.vcpus[2].inGuest = true;
    sys.actor = 0;
    const p = tdxTrack(sys);
    expect(p.next().value).toBe('seamcall'); // TRACK in flight
    expect(p.next().value).toBe('track-done'); // TRACK returned, no vCPU kicked yet
    expect(sys.kvm.vcpus[2].inGuest).toBe(true);
    sys.actor = 1;
    // another TRACK here finds the epoch lock free, but a vCPU still in the previous epoch (MOD-track)
    expectStatus(sys.tdx.tdhMemTrack(), 'TDX_PREVIOUS_TLB_EPOCH_BUSY');
    sys.actor = 0;
    expect(p.next().value).toBe('track-kick');
    expect(sys.kvm.vcpus[2].inGuest).toBe(false);
    expect(p.next().done).toBe(true);
  });
});

describe('a vCPU runs guest code between its ops (several actors)', () => {
  it('it stays in the guest in the epoch it resumed in, until a kick; not while vCPUs are held out, the TD cannot run or the VM is dead', () => {
    const sys = fresh();
    sys.kvm.tdState = 'RUNNABLE';
    resumeGuestCode(sys, 1);
    expect(sys.kvm.vcpus[1].inGuest).toBe(true);
    const e = sys.tdx.epoch;
    expectOk(sys.tdx.tdhMemTrack()); // the resting vCPU still runs in epoch e
    expectStatus(sys.tdx.tdhMemTrack(), 'TDX_PREVIOUS_TLB_EPOCH_BUSY');
    kickAllVcpus(sys);
    expect(sys.kvm.vcpus[1].inGuest).toBe(false);
    expectOk(sys.tdx.tdhMemTrack());
    expect(sys.tdx.epoch).toBe(e + 2);
    sys.kvm.waitForSeptZap = true;
    resumeGuestCode(sys, 1);
    expect(sys.kvm.vcpus[1].inGuest).toBe(false);
    sys.kvm.waitForSeptZap = false;
    sys.kvm.tdState = 'FINALIZED' as never;
    resumeGuestCode(sys, 1);
    expect(sys.kvm.vcpus[1].inGuest).toBe(false);
    sys.kvm.tdState = 'RUNNABLE';
    sys.kvm.bugged = true;
    resumeGuestCode(sys, 1);
    expect(sys.kvm.vcpus[1].inGuest).toBe(false);
  });

  it('a case: the vCPU resumes guest code between guest ops, not before a vCPU ioctl nor after its last op; one actor never rests', () => {
    const design = resolveDesign({ ptrs: P });
    const ops: { op: string; actor: number; [k: string]: unknown }[] = [
      { op: 'touch', actor: 0, gfn: 0 },
      { op: 'touch', actor: 0, gfn: 1 },
      { op: 'prefault', actor: 0, start: 2, end: 3 },
      { op: 'touch', actor: 0, gfn: 3 },
      { op: 'touch', actor: 1, gfn: 4 },
    ];
    const r = runCase({ format: 'tdxfuzz-case', version: 2, design, actors: ['vcpu', 'vcpu'], ops: ops as never }, { trace: true });
    expect(r.verdict).toBe('pass');
    const lines = r.trace!.map((l) => l.text);
    const at = (s: string): number[] => lines.flatMap((l, i) => (l.startsWith(s) ? [i] : []));
    const resumes = at('vCPU 0 runs guest code until its next op');
    const opStart = (i: number): number => at(`op ${i}: `)[0];
    expect(resumes.length).toBe(2); // after op 0 (touch next) and op 2 (touch next); not after op 1 (prefault next) nor op 3 (last)
    expect(resumes[0]).toBeGreaterThan(opStart(0));
    expect(resumes[0]).toBeLessThan(opStart(1));
    expect(resumes[1]).toBeGreaterThan(opStart(2));
    expect(resumes[1]).toBeLessThan(opStart(3));
    expect(at('vCPU 1 runs guest code')).toEqual([]);
    const one = runCase({ format: 'tdxfuzz-case', version: 1, design, ops: ops.map(({ actor: _, ...o }) => o) as never }, { trace: true });
    expect(one.trace!.some((l) => l.text.includes('runs guest code'))).toBe(false);
  });
});

describe('G4 off: splits under the shared mmu_lock overlap host SEAMCALLs (replayed, minimised interleavings)', () => {
  it('INV-17 (retry after the kick sees BUSY again): two TRACKs race; quiet with G4 on', () => {
    const c = loadCase(join(REG, 'g4-track-busy-after-kick.json'));
    const r = runCase(c, { trace: true });
    expect(r.signature).toBe('INV-17@accept');
    // the structural retry clause is recorded first, and the case ends at its damage: the VM dies of the BUSY
    expect(r.failure!.after!.message).toMatch(/^TDH\.MEM\.TRACK answered TDX_OPERAND_BUSY on the retry after every vCPU was kicked out/);
    expect(r.failure!.message).toMatch(/^a benign TDX_OPERAND_BUSY killed the VM .*no fault injected/);
    expect(r.failure!.faultKinds ?? []).toEqual([]); // contention alone, nothing injected
    const lines = r.trace!.map((l) => l.text);
    expect(lines.filter((l) => l.startsWith('TDH.MEM.TRACK() = TDX_OPERAND_BUSY|0xa9')).length).toBe(2);
    expect(c.ops.length).toBeLessThanOrEqual(10);
    expect((c.schedule as unknown[]).length).toBeLessThanOrEqual(10);
    const on = runCase({ ...c, design: { ...c.design, guardsOff: [] } });
    expect(on.verdict).toBe('pass');
  });

  it('VM-BUGGED by TDX_PREVIOUS_TLB_EPOCH_BUSY: a TRACK between another TRACK and its kick; quiet with G4 on', () => {
    const c = loadCase(join(REG, 'g4-previous-tlb-epoch-busy.json'));
    const r = runCase(c, { trace: true });
    expect(r.signature).toBe('VM-BUGGED@accept');
    expect(r.failure!.faultKinds ?? []).toEqual([]);
    const lines = r.trace!.map((l) => l.text);
    expect(lines).toContain('TDX_BUG_ON: TDH.MEM.TRACK failed with TDX_PREVIOUS_TLB_EPOCH_BUSY (0x8000020100000000)');
    expect(lines.some((l) => l.startsWith('TDH.MEM.TRACK() = TDX_PREVIOUS_TLB_EPOCH_BUSY') && !l.includes('injected'))).toBe(true);
    const on = runCase({ ...c, design: { ...c.design, guardsOff: [] } });
    expect(on.verdict).toBe('pass');
  });

  it('VM-BUGGED by TDX_PREVIOUS_TLB_EPOCH_BUSY from a generated interleaving: a PCT schedule of the same ops; quiet with G4 on', () => {
    // the campaign's PCT scheduler (Burckhardt et al.) with seed 7381, not the recorded switch points: 4 of the
    // PCT seeds 0-19,999 (depth 2-4) reach this TRACK; the replayed switch points above were written by hand
    const c = loadCase(join(REG, 'g4-previous-tlb-epoch-busy.json'));
    const generated = { ...c, schedule: { kind: 'pct' as const, seed: 7381, depth: 3, horizon: 72 } };
    const r = runCase(generated, { trace: true });
    expect(r.signature).toBe('VM-BUGGED@accept');
    expect(r.failure!.faultKinds ?? []).toEqual([]);
    const lines = r.trace!.map((l) => l.text);
    expect(lines).toContain('TDX_BUG_ON: TDH.MEM.TRACK failed with TDX_PREVIOUS_TLB_EPOCH_BUSY (0x8000020100000000)');
    expect(r.schedule).not.toEqual(c.schedule); // another interleaving than the hand-written one
    expect(runCase({ ...generated, design: { ...generated.design, guardsOff: [] } }).verdict).toBe('pass');
  });

  it('BUG-4 by damage: DEMOTE and then UNBLOCK meet BUSY, the entry stays BLOCKED and the VM dies with no fault injected; not with G4 on', () => {
    const c = loadCase(join(REG, 'g4-unblock-busy-leaves-entry-blocked.json'));
    // the oracle records the structural INV-12 and goes on to the damage; the model's damage is also read without it
    const judged = runCase(c);
    expect(judged.signature).toBe('VM-BUGGED@accept');
    expect(judged.failure!.after).toMatchObject({ inv: 'INV-12' });
    const runner = new CaseRunner(c.design, { noOracle: true, trace: true }, 3);
    runner.runScheduled(c);
    const sys = runner.sys;
    const lines = runner.result().trace!.map((l) => l.text);
    const at = (s: string): number => lines.findIndex((l) => l.startsWith(s));
    const demote = at('TDH.MEM.PAGE.DEMOTE(gfn=0x0 level=2M');
    expect(lines[demote]).toMatch(/= TDX_OPERAND_BUSY\|0x1 \(0x8000020000000001\)$/); // not injected
    const unblock = at('TDH.MEM.RANGE.UNBLOCK(gfn=0x0 level=2M)');
    expect(unblock).toBeGreaterThan(demote);
    expect(lines[unblock]).toMatch(/= TDX_OPERAND_BUSY\|0x1 \(0x8000020000000001\)$/);
    expect(lines[unblock + 1]).toBe('TDH.MEM.RANGE.UNBLOCK failed: the 2M entry stays BLOCKED');
    expect(at('TDX_BUG_ON: TDH.MEM.RANGE.BLOCK failed with TDX_GPA_RANGE_ALREADY_BLOCKED')).toBeGreaterThan(unblock);
    expect(sys.kvm.bugged).toBe(true);
    expect(sys.inj.fired).toEqual([]); // VM-BUGGED's condition: dead with no injected fault
    expect(sys.tdx.contentionBusy).toBeGreaterThanOrEqual(2);
    const on = runCase({ ...c, design: { ...c.design, guardsOff: [] } });
    expect(on.verdict).toBe('pass');
  });

  it('INV-17 (retry after the kick sees BUSY again) from a generated interleaving: campaign seed 1, case 17709, G4 off, every case concurrent', () => {
    // found by scanning generated cases (no mutation): vCPU 2's split holds the TD epoch lock with its TRACK while
    // vCPU 1's split TRACKs, is kicked and retries; a tdxfuzz fuzz --guard-off G4 campaign generates the same case
    const design = { ...CAMPAIGN_DEFAULTS, guardsOff: ['G4'] as never };
    const c = campaignCase(design, defaultDesignSpace(design), 1, 17709, { share: 1, schedule: 'mix' });
    expect(isMutated(c)).toBe(false);
    const r = runCase(c);
    expect(r.structuralHits).toContain(`INV-17#${clauseIndex('INV-17', 'the retry after the kick')}`);
    expect(r.failure!.after!.message).toMatch(/^TDH\.MEM\.TRACK answered TDX_OPERAND_BUSY on the retry after every vCPU was kicked out/);
    expect(r.failure!.faultKinds ?? []).toEqual([]);
    expect(runCase({ ...c, design: { ...c.design, guardsOff: [] } }).verdict).toBe('pass');
    const m = minimizeCase({ ...c, schedule: r.schedule });
    expect(m.result.failure!.after!.message).toMatch(/^TDH\.MEM\.TRACK answered TDX_OPERAND_BUSY on the retry/);
    expect(m.case.ops.length).toBeLessThanOrEqual(10);
    expect((m.case.schedule as unknown[]).length).toBeLessThanOrEqual(10);
  });
});

