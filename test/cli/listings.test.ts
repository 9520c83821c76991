// Honest listings (issue 9): `tdxfuzz invariants` and `tdxfuzz guards`, text and --json, mark every check,
// clause and guard no generated case can reach yet, with the reason; the marks are tied to reality (an
// unreachable guard switched off changes no generated case, a live one has a failing regression case);
// and switching an unreachable guard off warns but runs.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/fuzz/case.js';
import { campaignCase, defaultDesignSpace } from '../../src/fuzz/designSpace.js';
import { runCase } from '../../src/fuzz/run.js';
import { isPerfSignature } from '../../src/fuzz/signature.js';
import { CAMPAIGN_DEFAULTS, type Design } from '../../src/model/config.js';
import { GUARDS } from '../../src/model/guards.js';
import { clausesOf, INVARIANTS } from '../../src/oracle/invariants.js';
import { ROOT, tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * What no generated case can reach today, with several actors too (src/oracle/invariants.ts gives the reasons):
 * id -> a word of each unreachable clause and of its reason. Every other clause must be live.
 */
const UNREACHABLE_CLAUSES: Record<string, { clause: string; reason: string }[]> = {
  'INV-6': [{ clause: 'replaced by a 2M leaf', reason: 'PROMOTE first' }],
  'INV-19': [{ clause: 'TLB', reason: 'module itself refuses such a REMOVE' }],
  'INV-29': [{ clause: 'changes no KVM', reason: 'refuses every VM ioctl at entry' }],
};
const UNREACHABLE_GUARDS: Record<string, string> = {};

interface ClauseJson {
  text: string;
  live: boolean;
  reason?: string;
}
interface InvariantJson {
  id: string;
  detection: string;
  reach: string;
  clauses: ClauseJson[];
}
interface GuardJson {
  id: string;
  bug: string;
  live: boolean;
  needsActors?: boolean;
  reason?: string;
}

describe('tdxfuzz invariants marks what no generated case can reach', () => {
  const dir = tempDir();
  const json = JSON.parse(tdxfuzz(['invariants', '--json'], dir).stdout) as InvariantJson[];
  const text = tdxfuzz(['invariants'], dir).stdout;

  it('--json: each listed clause is live: false with its reason, every other clause is live', () => {
    expect(json.map((i) => i.id).sort()).toEqual(INVARIANTS.map((i) => i.id).sort());
    for (const inv of json) {
      const want = UNREACHABLE_CLAUSES[inv.id] ?? [];
      const dead = inv.clauses.filter((c) => !c.live);
      expect(dead.length, inv.id).toBe(want.length);
      for (const w of want) {
        const c = dead.find((d) => d.text.includes(w.clause));
        expect(c, `${inv.id}: ${w.clause}`).toBeDefined();
        expect(c!.reason).toContain(w.reason);
      }
      expect(inv.reach).toBe(want.length === 0 ? 'live' : want.length === inv.clauses.length ? 'unreachable' : 'partly unreachable');
    }
  });

  it('text: the invariant line is marked and each unreachable clause is printed with its reason below it', () => {
    const lines = text.split('\n');
    for (const [id, want] of Object.entries(UNREACHABLE_CLAUSES)) {
      const at = lines.findIndex((l) => l.startsWith(`${id} `));
      expect(lines[at], id).toMatch(/\((PARTLY )?UNREACHABLE\)$/);
      const below = lines.slice(at + 1, at + 1 + want.length);
      for (const w of want) {
        const l = below.find((b) => b.includes(w.clause));
        expect(l, `${id}: ${w.clause}`).toMatch(/^\s+unreachable clause: .*Why: /);
        expect(l).toContain(w.reason);
      }
    }
    const marked = lines.filter((l) => /UNREACHABLE\)$/.test(l)).map((l) => l.split(' ')[0]);
    expect(marked.sort()).toEqual(Object.keys(UNREACHABLE_CLAUSES).sort());
  });

  it('the table and the listing agree (one place: src/oracle/invariants.ts)', () => {
    for (const i of INVARIANTS) {
      expect(clausesOf(i).filter((c) => !c.reach.live).length, i.id).toBe((UNREACHABLE_CLAUSES[i.id] ?? []).length);
    }
  });

  it('classifies every check once as damage, structural or performance, shown in both forms', () => {
    for (const i of json) expect(['damage', 'structural', 'performance']).toContain(i.detection);
    const by = (id: string): string => json.find((i) => i.id === id)!.detection;
    // BUG-3/4/7/7b/9 are caught by a flag or lock-discipline check before any damage shows
    for (const id of ['INV-30', 'INV-12', 'INV-13', 'INV-8']) expect(by(id), id).toBe('structural');
    for (const id of ['INV-18', 'INV-20', 'INV-21', 'INV-22', 'INV-26', 'INV-28', 'INV-31', 'REF-DATA']) expect(by(id), id).toBe('damage');
    expect(text).toMatch(/^INV-18\s+per-op\s+damage\s/m);
    expect(text).toMatch(/^INV-12\s+always\s+structural\s/m);
  });
});

describe('tdxfuzz guards marks what no generated case can reach', () => {
  const dir = tempDir();
  const json = JSON.parse(tdxfuzz(['guards', '--json'], dir).stdout) as GuardJson[];
  const text = tdxfuzz(['guards'], dir).stdout;

  it('--json and text: every guard is live; G20 says it needs several actors', () => {
    for (const g of json) {
      const want = UNREACHABLE_GUARDS[g.id];
      expect(g.live, g.id).toBe(want === undefined);
      if (want) {
        expect(g.reason).toContain(want);
        expect(text).toMatch(new RegExp(`^${g.id}\\s.*\\(UNREACHABLE\\)$`, 'm'));
        expect(text).toContain(`unreachable: ${g.reason}`);
      } else expect(g.reason).toBeUndefined();
    }
    expect(text.match(/\(UNREACHABLE\)$/gm) ?? []).toHaveLength(Object.keys(UNREACHABLE_GUARDS).length);
    for (const id of ['G4', 'G7', 'G7b', 'G9', 'G15', 'G20']) {
      expect(json.find((g) => g.id === id), id).toMatchObject({ live: true, needsActors: true });
      expect(text).toMatch(new RegExp(`^${id} .*\\n\\s+a race between actors: only cases with several actors reach it \\(a campaign with it off runs them unless --concurrency 0\\)$`, 'm'));
    }
    expect(json.filter((g) => g.needsActors).map((g) => g.id).sort()).toEqual(['G15', 'G20', 'G4', 'G7', 'G7b', 'G9']);
  });
});

describe('the guard marks match what generated cases do', () => {
  const design: Design = { ...CAMPAIGN_DEFAULTS, guardsOff: [] };
  const space = defaultDesignSpace(design);
  const CASES = 1500;

  it.each(GUARDS.filter((g) => !g.reach.live).map((g) => g.id))(
    `%s (unreachable): switched off it changes no trace of ${CASES} default-campaign cases, and none fails`,
    (id) => {
      for (let i = 0; i < CASES; i++) {
        const c = campaignCase(design, space, 1, i);
        const on = runCase(c);
        const off = runCase({ ...c, design: { ...c.design, guardsOff: [id as Design['guardsOff'][number]] } });
        expect(off.verdict, `case ${i}`).toBe('pass');
        expect(off.traceHash, `case ${i}`).toBe(on.traceHash);
      }
    },
  );

  it.each(GUARDS.filter((g) => g.reach.live).map((g) => g.id))('%s (live): the regression corpus has a case that fails with it off', (id) => {
    const dirPath = join(ROOT, 'corpus', 'regression');
    const [, num, suffix] = /^G(\d+)(b?)$/.exec(id)!;
    const nn = num.padStart(2, '0') + suffix; // G7b -> 07b
    const files = readdirSync(dirPath).filter((f) => f.startsWith(`bug-${nn}-`));
    const failing = files.filter((f) => {
      const c = loadCase(join(dirPath, f));
      const failOnPerf = isPerfSignature(c.expect?.signature); // BUG-8b, 17b, 18 are performance findings
      return c.design.guardsOff.includes(id as Design['guardsOff'][number]) && runCase(c, { failOnPerf }).verdict === 'fail';
    });
    expect(failing.length, `corpus/regression/bug-${nn}-*.json`).toBeGreaterThan(0);
  });
});

describe('fuzz with a guard off that the campaign cannot reach warns and still runs', () => {
  it('--guard-off G20 with --concurrency 0 prints a warning naming G20 and why, then runs the campaign', () => {
    const dir = tempDir();
    const r = tdxfuzz(['fuzz', '--guard-off', 'G20', '--concurrency', '0', '--cases', '300', '--workers', '1', '--no-progress'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^tdxfuzz: warning: guard G20 is off, but BUG-20 is a race between actors and this campaign runs one actor per case \(--concurrency 0\); it cannot make the race happen$/m);
    expect(r.stderr).not.toContain('tdxfuzz: concurrency:');
    expect(r.stdout).toMatch(/^ran 300 cases/m);
  });

  it('a --config file with G20 in guardsOff runs several actors by default (one line says so) and warns only with --concurrency 0', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.json'), '{"guardsOff": ["G20"]}');
    const given = tdxfuzz(['fuzz', '--config', 'c.json', '--concurrency', '0.25', '--cases', '50', '--workers', '1', '--json'], dir);
    expect(given.stderr).not.toContain('warning: guard G20');
    expect(given.stderr).not.toContain('tdxfuzz: concurrency:');
    expect(JSON.parse(given.stdout).concurrency).toMatchObject({ share: 0.25 });
    const r = tdxfuzz(['fuzz', '--config', 'c.json', '--cases', '100', '--workers', '1', '--json'], dir);
    expect(r.code, r.stderr).toBe(1); // with several actors it finds BUG-20
    expect(r.stderr).not.toContain('warning: guard G20');
    expect(r.stderr).toMatch(/^tdxfuzz: concurrency: 50% of the cases run several actors \(PCT and random schedules, half each\), because guard G20 \(BUG-20\) is off and its bug is a race between actors \(--concurrency 0 keeps one actor\)$/m);
    const s = JSON.parse(r.stdout);
    expect(s.cases).toBe(100);
    expect(s.concurrency).toMatchObject({ share: 0.5 });
    expect(s.uniqueFailures.length).toBeGreaterThan(0);
    for (const u of s.uniqueFailures) expect(['damage', 'structural']).toContain(u.detection);
  });

  it('a live guard off does not warn; G3 off warns only when no case uses a module without ENHANCED_DEMOTE_INTERRUPTIBILITY', () => {
    const dir = tempDir();
    expect(tdxfuzz(['fuzz', '--guard-off', 'G2', '--cases', '50', '--workers', '1', '--json'], dir).stderr).toBe('');
    expect(tdxfuzz(['fuzz', '--guard-off', 'G3', '--cases', '50', '--workers', '1', '--json'], dir).stderr).toBe('');
    const fixed = tdxfuzz(['fuzz', '--guard-off', 'G3', '--no-design-space', '--cases', '50', '--workers', '1', '--json'], dir);
    expect(fixed.stderr).toContain('warning: guard G3 is off, but BUG-3 needs enhancedDemoteInterruptibility: false');
  });
});
