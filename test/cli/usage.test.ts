// Bad options and bad files: one clear message naming the file and field, exit code 2, no stack trace,
// nothing written. None of these needs the model to run.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

function usageError(args: string[], message: RegExp | string, setup?: (dir: string) => void): void {
  const dir = tempDir();
  setup?.(dir);
  const before = readdirSync(dir).sort();
  const r = tdxfuzz(args, dir);
  expect(r.code, r.stderr).toBe(2);
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(readdirSync(dir).sort()).toEqual(before);
}

describe('help', () => {
  it('the main help explains the commands and the exit codes', () => {
    const r = tdxfuzz(['--help'], tempDir());
    expect(r.code).toBe(0);
    for (const word of ['fuzz', 'replay', 'minimize', 'show', 'triage', 'Exit codes:', 'usage error or bad input']) expect(r.stdout).toContain(word);
  });

  it.each(['fuzz', 'replay', 'minimize', 'show', 'triage'])('%s --help exits 0 and names its exit codes', (cmd) => {
    const r = tdxfuzz([cmd, '--help'], tempDir());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exit code');
  });

  it('fuzz --help gives defaults and units', () => {
    const text = tdxfuzz(['fuzz', '--help'], tempDir()).stdout.replace(/\s+/g, ' ');
    for (const word of ['--workers', 'the number of CPUs', '--duration', '500ms, 30s, 10m, 8h, 1h30m', '--guard-off', '--no-progress', '(default: "corpus")', '--design-space <file>', '--no-design-space', 'Design space: by default each case varies the deployment settings']) {
      expect(text).toContain(word);
    }
  });
});

describe('usage errors exit 2', () => {
  it('no command', () => usageError([], 'Usage: tdxfuzz'));
  it('unknown command', () => usageError(['fuzzz'], "unknown command 'fuzzz'"));
  it('unknown option', () => usageError(['fuzz', '--cores', '2'], "unknown option '--cores'"));
  it.each(['10x', '30', '1m1h', '0s', '-5s', '1.5h', ''])('--duration %j', (d) => usageError(['fuzz', '--duration', d], /--duration <time>' argument .* is invalid/));
  it.each(['0', 'two', '-1', '1.5'])('--workers %j', (w) => usageError(['fuzz', '--workers', w], /--workers <n>' argument .* is invalid. must be an integer from 1/));
  it('--seed out of range', () => usageError(['fuzz', '--seed', '4294967296'], 'must be an integer from 0 to 4294967295'));
  it('--cases with --duration', () => usageError(['fuzz', '--cases', '10', '--duration', '1s'], 'cannot be used with'));
  it('unknown guard', () => usageError(['fuzz', '--guard-off', 'G1,G99'], 'unknown guard "G99"'));
  // every guard G1..G23 (and G7b, G8b, G17b) is modelled: only an id that names no guard is refused
  it.each(['G99', 'G24', 'G7c'])('a guard id that names no guard (%s)', (id) =>
    usageError(['fuzz', '--guard-off', id], new RegExp(`unknown guard "${id}" \\(known: G1, G2, .*G17b, G18, G19, G20, G21, G22, G23\\)`)));
  it('unreadable --config', () => usageError(['fuzz', '--config', 'missing.json'], 'tdxfuzz: error: missing.json: cannot read: ENOENT'));
  it('--config that is not JSON', () =>
    usageError(['fuzz', '--config', 'c.json'], /tdxfuzz: error: c\.json: not valid JSON/, (d) => writeFileSync(join(d, 'c.json'), '{ptrs: 16}')));
  it('--config with a bad field', () =>
    usageError(['fuzz', '--config', 'c.json'], 'tdxfuzz: error: c.json: ptrs: must be a power of two from 4 to 512', (d) =>
      writeFileSync(join(d, 'c.json'), '{"ptrs": 12}'),
    ));
  it('--config with an unknown setting', () =>
    usageError(['fuzz', '--config', 'c.json'], 'tdxfuzz: error: c.json: hugePages: unknown setting', (d) => writeFileSync(join(d, 'c.json'), '{"hugePages": true}')));
  it('--config with an unknown guard', () =>
    usageError(['fuzz', '--config', 'c.json'], 'tdxfuzz: error: c.json: guardsOff[0]: unknown guard "G0"', (d) =>
      writeFileSync(join(d, 'c.json'), '{"guardsOff": ["G0"]}'),
    ));
  it('unreadable --design-space', () => usageError(['fuzz', '--design-space', 'missing.json'], 'tdxfuzz: error: missing.json: cannot read: ENOENT'));
  it('--design-space with a bad value', () =>
    usageError(['fuzz', '--design-space', 's.json'], 'tdxfuzz: error: s.json: refcountPolicy[1]: "SOMETIMES": must be one of NONE', (d) =>
      writeFileSync(join(d, 's.json'), '{"refcountPolicy": ["NONE", "SOMETIMES"]}'),
    ));
  it('--design-space with a value no combination allows', () =>
    usageError(['fuzz', '--design-space', 's.json'], 'tdxfuzz: error: s.json: backing[0]: "HUGETLB_1G": a 1G folio spans ptrs (16) 2M ranges', (d) =>
      writeFileSync(join(d, 's.json'), '{"backing": ["HUGETLB_1G"]}'),
    ));
  it('--design-space sampling a setting --config fixes', () =>
    usageError(['fuzz', '--config', 'c.json', '--design-space', 's.json'], 'tdxfuzz: error: s.json: dpamt: the --config file fixes this setting', (d) => {
      writeFileSync(join(d, 'c.json'), '{"dpamt": false}');
      writeFileSync(join(d, 's.json'), '{"dpamt": [true, false]}');
    }));
  it('--crashes naming a file', () =>
    usageError(['fuzz', '--cases', '10', '--crashes', 'f'], 'tdxfuzz: error: --crashes f: not a directory', (d) => writeFileSync(join(d, 'f'), '')));
});

describe('bad case files exit 2 naming the file and field', () => {
  const badOp = (d: string) =>
    writeFileSync(join(d, 'bad.json'), JSON.stringify({ format: 'tdxfuzz-case', version: 1, ops: [{ op: 'touch', gfn: 0 }, { op: 'touch', gfn: 'x' }] }));
  it('replay', () => usageError(['replay', 'bad.json'], 'tdxfuzz: error: bad.json: ops[1].gfn: must be an integer', badOp));
  it('replay of a directory holding one bad file', () =>
    usageError(['replay', '.'], 'tdxfuzz: error: bad.json: ops[1].gfn: must be an integer', badOp));
  it('show', () => usageError(['show', 'bad.json'], 'tdxfuzz: error: bad.json: ops[1].gfn: must be an integer', badOp));
  it('minimize', () => usageError(['minimize', 'bad.json', '-o', 'out.json'], 'tdxfuzz: error: bad.json: ops[1].gfn: must be an integer', badOp));
  it('not JSON', () => usageError(['replay', 'x.json'], /tdxfuzz: error: x\.json: \(file\): not valid JSON/, (d) => writeFileSync(join(d, 'x.json'), '{')));
  it('future version', () =>
    usageError(['show', 'v.json'], 'tdxfuzz: error: v.json: version: unsupported case format version 3', (d) =>
      writeFileSync(join(d, 'v.json'), '{"format":"tdxfuzz-case","version":3,"ops":[]}'),
    ));
  it('missing path', () => usageError(['replay', 'nope'], 'tdxfuzz: error: nope: cannot read: ENOENT'));
  it('triage of a missing directory', () => usageError(['triage', 'nope'], 'tdxfuzz: error: nope: no such directory'));
  it('triage of a file', () => usageError(['triage', 'f'], 'tdxfuzz: error: f: not a directory', (d) => writeFileSync(join(d, 'f'), 'hi')));
  // the atomic write renames over its target: a directory, a device or a path through a file is refused first
  const failing = (d: string): void => writeFileSync(join(d, 'c.json'), readFileSync(join(ROOT, 'corpus/regression/bug-02-imprecise-zap.json')));
  it('minimize -o a directory', () =>
    usageError(['minimize', 'c.json', '-o', 'out'], 'tdxfuzz: error: --output out: not a regular file (a directory)', (d) => {
      failing(d);
      mkdirSync(join(d, 'out'));
    }));
  it('minimize -o a device', () => usageError(['minimize', 'c.json', '-o', '/dev/null'], 'tdxfuzz: error: --output /dev/null: not a regular file (a device or special file)', failing));
  it('minimize -o below a file', () =>
    usageError(['minimize', 'c.json', '-o', 'c.json/x.json'], 'tdxfuzz: error: --output c.json/x.json: a parent of it is not a directory', failing));
  it('triage of a directory holding a bad file', () =>
    usageError(['triage', '.'], 'tdxfuzz: error: bad.json: ops[1].gfn: must be an integer', badOp));
});
