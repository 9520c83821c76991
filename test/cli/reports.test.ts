// CI reports: replay --junit, a malformed file among good ones, an empty folder; promote.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Case, loadCase, serializeCase } from '../../src/fuzz/case.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { runCase } from '../../src/fuzz/run.js';
import { resolveDesign } from '../../src/model/config.js';
import { tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const design = resolveDesign({ guardsOff: ['G2'] });

/** Case i of seed 5 recording the verdict it gives. */
function recorded(i: number): Case {
  const c = generateCase(design, 5, i);
  const r = runCase(c);
  return { ...c, expect: r.verdict === 'fail' ? { verdict: 'fail', signature: r.signature! } : { verdict: 'pass' } };
}

function firstFailing(): Case {
  for (let i = 0; ; i++) {
    const c = recorded(i);
    if (c.expect?.verdict === 'fail') return c;
  }
}

describe('replay --junit, malformed files and empty folders', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    mkdirSync(join(dir, 'set'));
    writeFileSync(join(dir, 'set', 'a.json'), serializeCase(recorded(0)));
    writeFileSync(join(dir, 'set', 'b.json'), '{"format": "tdxfuzz-case", "version": 1, "design": {}, "ops": [{"op": "teleport"}]}');
    const c = recorded(1);
    writeFileSync(join(dir, 'set', 'c.json'), serializeCase({ ...c, expect: c.expect?.verdict === 'pass' ? { verdict: 'fail', signature: 'INV-99@touch' } : { verdict: 'pass' } }));
    writeFileSync(join(dir, 'set', 'd.json'), serializeCase(recorded(2)));
  });

  it('a malformed file is an error, the files after it still run, and the exit code is 2', () => {
    const r = tdxfuzz(['replay', 'set'], dir);
    expect(r.code).toBe(2);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 4).map((l) => l.slice(0, 4).trim())).toEqual(['ok', 'ERR', 'FAIL', 'ok']);
    expect(r.stderr).toMatch(/^tdxfuzz: error: set\/b\.json: ops\[0\]\.op: /);
    expect(lines[1]).toMatch(/^ERR {2}set\/b\.json {2}set\/b\.json: ops\[0\]\.op: /);
    expect(lines.at(-1)).toBe('2 passed, 1 failed, 1 errors (files that did not load)');
  });

  it('--junit writes one test case per file: passes, a failure for the changed verdict, an error for the malformed file', () => {
    const r = tdxfuzz(['replay', 'set', '--junit', 'out/report.xml'], dir);
    expect(r.code).toBe(2);
    const xml = readFileSync(join(dir, 'out', 'report.xml'), 'utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(xml).toMatch(/<testsuite name="tdxfuzz replay" tests="4" failures="1" errors="1" skipped="0"/);
    const cases = [...xml.matchAll(/<testcase classname="set" name="([^"]+)" time="[0-9.e-]+"(\/>|>([\s\S]*?)<\/testcase>)/g)];
    expect(cases.map((m) => m[1])).toEqual(['set/a.json', 'set/b.json', 'set/c.json', 'set/d.json']);
    expect(cases[1][3]).toMatch(/<error message="set\/b\.json: ops\[0\]\.op: [^"]*" type="MalformedCase"\/>/);
    expect(cases[2][3]).toMatch(/<failure message="expected (pass|fail INV-99@touch), got [^"]*" type="VerdictChanged"\/>/);
    for (const i of [0, 3]) expect(cases[i][3]).not.toMatch(/<failure|<error/);
  });

  it('an empty folder is an error (exit 2) unless --allow-empty', () => {
    mkdirSync(join(dir, 'empty'));
    const r = tdxfuzz(['replay', 'empty'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tdxfuzz: error: empty: no case files found (*.json); pass --allow-empty if that is expected\n');
    const ok = tdxfuzz(['replay', 'empty', '--allow-empty', '--junit', 'e.xml'], dir);
    expect(ok.code).toBe(0);
    expect(readFileSync(join(dir, 'e.xml'), 'utf8')).toMatch(/tests="0"/);
  });
});

describe('promote', () => {
  it('copies a crash into corpus/regression with the verdict it gives now, and never overwrites', () => {
    const dir = tempDir();
    const crash = firstFailing();
    writeFileSync(join(dir, 'crash.json'), serializeCase(crash));
    const r = tdxfuzz(['promote', 'crash.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`corpus/regression/crash.json: expect fail ${crash.expect!.signature}\n`);
    expect(loadCase(join(dir, 'corpus', 'regression', 'crash.json'))).toEqual(crash);
    expect(tdxfuzz(['replay', 'corpus'], dir).code).toBe(0);
    const again = tdxfuzz(['promote', 'crash.json'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('corpus/regression/crash.json: already exists');
  });

  it('records the verdict the case gives now, not the one its file claims (a fixed bug passes)', () => {
    const dir = tempDir();
    const c = recorded(0);
    writeFileSync(join(dir, 'old.json'), serializeCase({ ...c, expect: { verdict: 'fail', signature: 'INV-99@touch' } }));
    const r = tdxfuzz(['promote', 'old.json', '--to', 'reg', '--name', 'fixed.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(the file recorded: fail INV-99@touch)');
    expect(loadCase(join(dir, 'reg', 'fixed.json')).expect).toEqual(c.expect);
  });
});
