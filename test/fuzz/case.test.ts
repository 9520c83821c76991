// Case format v1 (docs/case-format.md): parseCase fills defaults and refuses bad input with a CaseError
// naming the field; serializeCase round-trips; caseId is about what a case does, not its metadata.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Case, CaseError, caseId, canonicalCase, loadCase, parseCase, serializeCase } from '../../src/fuzz/case.js';
import { generateCase } from '../../src/fuzz/generate.js';
import { DEFAULT_DESIGN, resolveDesign } from '../../src/model/config.js';
import { GUARD_IDS, GUARDS } from '../../src/model/guards.js';
import { LEAVES } from '../../src/model/tdx/leaf.js';
import { describeOp, type OpKind } from '../../src/model/ops.js';
import { type FieldSpec, OP_FIELDS, OP_KINDS, OPS } from '../../src/model/vocab/index.js';

const good = () => ({
  format: 'tdxfuzz-case',
  version: 1,
  design: { ptrs: 16, guardsOff: ['g1'] },
  ops: [
    { op: 'touch', gfn: 0 },
    { op: 'touch', gfn: 1, write: 7 },
    { op: 'accept', gfn: 0, level: '2M' },
    { op: 'convert', start: 0, end: 1, to: 'shared', faults: [{ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 1, status: 'TDX_OPERAND_BUSY' }] },
    { op: 'punch', start: 16, end: 32 },
  ],
  expect: { verdict: 'fail', signature: 'INV-1@convert' },
  provenance: { campaignSeed: 1, caseIndex: 2, generatorVersion: 1, originalOps: 9 },
});

/** parseCase must throw a CaseError naming `field`. */
function refuses(raw: unknown, field: string, reason?: RegExp): CaseError {
  let err: unknown;
  try {
    parseCase(raw, 'x.json');
  } catch (e) {
    err = e;
  }
  expect(err, `expected a CaseError for ${field}`).toBeInstanceOf(CaseError);
  const ce = err as CaseError;
  expect(ce.field).toBe(field);
  expect(ce.file).toBe('x.json');
  expect(ce.message.startsWith(`x.json: ${field}: `)).toBe(true);
  if (reason) expect(ce.reason).toMatch(reason);
  return ce;
}

function withOp(op: unknown) {
  return { ...good(), ops: [op] };
}

describe('parseCase: a good case', () => {
  it('is accepted, with design defaults filled in and guard ids normalised', () => {
    const c = parseCase(good());
    expect(c.format).toBe('tdxfuzz-case');
    expect(c.version).toBe(1);
    expect(c.design).toEqual({ ...DEFAULT_DESIGN, ptrs: 16, guardsOff: ['G1'] });
    expect(c.design.regions).toBe(2);
    expect(c.design.backing).toBe('HUGETLB_2M');
    expect(c.ops).toHaveLength(5);
    expect(c.ops[1]).toEqual({ op: 'touch', gfn: 1, write: 7 });
    expect(c.ops[3].faults).toEqual([{ leaf: 'TDH.MEM.RANGE.BLOCK', nth: 1, status: 'TDX_OPERAND_BUSY' }]);
    expect(c.ops[0].faults).toBeUndefined();
    expect(c.expect).toEqual({ verdict: 'fail', signature: 'INV-1@convert' });
    expect(c.provenance).toEqual({ campaignSeed: 1, caseIndex: 2, generatorVersion: 1, originalOps: 9 });
  });

  it('a missing design takes every default; an empty fault list is dropped', () => {
    const c = parseCase({ format: 'tdxfuzz-case', version: 1, ops: [{ op: 'touch', gfn: 1023, faults: [] }] });
    expect(c.design).toEqual(resolveDesign(undefined));
    expect(c.design.ptrs).toBe(512);
    expect(c.ops[0]).toEqual({ op: 'touch', gfn: 1023 });
    expect(c.expect).toBeUndefined();
  });

  it('accepts the last gfn and ranges ending at the last gfn + 1', () => {
    const c = parseCase(withOp({ op: 'convert', start: 31, end: 32, to: 'private' }));
    expect(c.ops[0]).toEqual({ op: 'convert', start: 31, end: 32, to: 'private' });
    expect(parseCase(withOp({ op: 'touch', gfn: 31 })).ops[0]).toEqual({ op: 'touch', gfn: 31 });
  });

  it('accepts INTERRUPTED_RESTARTABLE on DEMOTE', () => {
    const c = parseCase(withOp({ op: 'accept', gfn: 3, level: '4K', faults: [{ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' }] }));
    expect(c.ops[0].faults![0]).toEqual({ leaf: 'TDH.MEM.PAGE.DEMOTE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' });
  });
});

describe('parseCase: refusals name the field', () => {
  it('not an object', () => {
    refuses([], '(top level)');
    refuses(null, '(top level)');
  });
  it('wrong format', () => refuses({ ...good(), format: 'tdxfuzz' }, 'format'));
  it('unknown version, naming the version this build reads', () => {
    refuses({ ...good(), version: 3 }, 'version', /unsupported case format version 3; this tdxfuzz reads versions 1 and 2/);
    refuses({ ...good(), version: '1' }, 'version');
  });
  it('unknown top-level field', () => refuses({ ...good(), seed: 5 }, 'seed', /unknown field/));
  it('unknown design key', () => refuses({ ...good(), design: { ptrs: 16, ptr: 8 } }, 'design.ptr', /unknown setting/));
  it('bad design values', () => {
    refuses({ ...good(), design: { ptrs: 12 } }, 'design.ptrs');
    refuses({ ...good(), design: { regions: 1 } }, 'design.regions');
    refuses({ ...good(), design: { backing: 'HUGETLB_4M' } }, 'design.backing');
    refuses({ ...good(), design: { tdxHugePage: 'yes' } }, 'design.tdxHugePage');
    refuses({ ...good(), design: { guardsOff: 'G1' } }, 'design.guardsOff');
    refuses({ ...good(), design: [] }, 'design');
  });
  it('bad guard id', () => refuses({ ...good(), design: { guardsOff: ['G1', 'G99'] } }, 'design.guardsOff[1]', /unknown guard "G99"/));
  // Every guard of model-spec.md section 6 is modelled now: each one can be switched off, and only an id
  // that names no guard is refused.
  it('every guard id is modelled and accepted; an id that names no guard (G99, G24, G7c) is refused', () => {
    expect(GUARDS.filter((g) => !g.modelled).map((g) => g.id)).toEqual([]);
    expect(parseCase({ ...good(), design: { guardsOff: [...GUARD_IDS] } }).design.guardsOff).toEqual([...GUARD_IDS]);
    for (const id of GUARD_IDS) expect(parseCase({ ...good(), design: { guardsOff: [id.toLowerCase()] } }).design.guardsOff).toEqual([id]);
    for (const id of ['G99', 'G24', 'G7c', 'G0']) {
      const e = refuses({ ...good(), design: { guardsOff: [id] } }, 'design.guardsOff[0]', new RegExp(`^unknown guard "${id}" \\(known: G1, G2, `));
      expect(e.reason).toContain('G17b, G18, G19, G20, G21, G22, G23)');
    }
  });
  it('ops not an array', () => refuses({ ...good(), ops: {} }, 'ops'));
  it('bad op kind', () => {
    refuses(withOp({ op: 'poke', gfn: 0 }), 'ops[0].op');
    refuses({ ...good(), ops: [{ op: 'touch', gfn: 0 }, 'touch'] }, 'ops[1]');
  });
  it('unknown op field', () => refuses(withOp({ op: 'touch', gfn: 0, level: '4K' }), 'ops[0].level', /unknown field for op touch/));
  it('gfn out of range (ptrs 16 x 2 regions = 32 gfns)', () => {
    refuses(withOp({ op: 'touch', gfn: 32 }), 'ops[0].gfn', /from 0 to 31/);
    refuses(withOp({ op: 'accept', gfn: -1, level: '4K' }), 'ops[0].gfn');
    refuses(withOp({ op: 'touch', gfn: 1.5 }), 'ops[0].gfn', /integer/);
    refuses(withOp({ op: 'convert', start: 0, end: 33, to: 'shared' }), 'ops[0].end');
    refuses(withOp({ op: 'punch', start: 40, end: 41 }), 'ops[0].start');
  });
  it('bad op values', () => {
    refuses(withOp({ op: 'accept', gfn: 0, level: '1G' }), 'ops[0].level');
    refuses(withOp({ op: 'convert', start: 0, end: 1, to: 'both' }), 'ops[0].to');
    refuses(withOp({ op: 'touch', gfn: 0, write: 0 }), 'ops[0].write');
  });
  it('bad fault leaf', () => {
    refuses(withOp({ op: 'touch', gfn: 0, faults: [{ leaf: 'TDH.MEM.PAGE.MERGE', nth: 1, status: 'TDX_OPERAND_BUSY' }] }), 'ops[0].faults[0].leaf', /^must be one of TDH\.MEM\.PAGE\.AUG, /);
    refuses(withOp({ op: 'touch', gfn: 0, faults: [{ leaf: 'tdh.mem.page.aug', nth: 1, status: 'TDX_OPERAND_BUSY' }] }), 'ops[0].faults[0].leaf');
  });
  it('every SEAMCALL the model issues is a valid fault leaf (PROMOTE and the PAMT and teardown leaves too)', () => {
    for (const leaf of LEAVES) {
      const c = parseCase(withOp({ op: 'touch', gfn: 0, faults: [{ leaf, nth: 1, status: 'TDX_OPERAND_BUSY' }] }));
      expect(c.ops[0].faults).toEqual([{ leaf, nth: 1, status: 'TDX_OPERAND_BUSY' }]);
    }
  });
  it('bad fault status', () => {
    refuses(withOp({ op: 'touch', gfn: 0, faults: [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_BUSY' }] }), 'ops[0].faults[0].status');
    refuses(withOp({ op: 'touch', gfn: 0, faults: [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_SUCCESS' }] }), 'ops[0].faults[0].status');
  });
  it('bad fault nth or extra fault field', () => {
    refuses(withOp({ op: 'touch', gfn: 0, faults: [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 0, status: 'TDX_OPERAND_BUSY' }] }), 'ops[0].faults[0].nth');
    refuses(withOp({ op: 'touch', gfn: 0, faults: [{ leaf: 'TDH.MEM.PAGE.AUG', nth: 1, status: 'TDX_OPERAND_BUSY', when: 1 }] }), 'ops[0].faults[0].when');
    refuses(withOp({ op: 'touch', gfn: 0, faults: {} }), 'ops[0].faults');
  });
  it('INTERRUPTED_RESTARTABLE on a leaf other than DEMOTE', () => {
    refuses(
      withOp({ op: 'convert', start: 0, end: 1, to: 'shared', faults: [{ leaf: 'TDH.MEM.PAGE.REMOVE', nth: 1, status: 'TDX_INTERRUPTED_RESTARTABLE' }] }),
      'ops[0].faults[0].status',
      /only returned by TDH.MEM.PAGE.DEMOTE/,
    );
  });
  it('fail verdict without signature; pass verdict with one; bad verdict', () => {
    refuses({ ...good(), expect: { verdict: 'fail' } }, 'expect.signature');
    refuses({ ...good(), expect: { verdict: 'pass', signature: 'INV-1@convert' } }, 'expect.signature');
    refuses({ ...good(), expect: { verdict: 'maybe' } }, 'expect.verdict');
    refuses({ ...good(), expect: { verdict: 'pass', why: 1 } }, 'expect.why');
  });
  it('provenance not an object', () => refuses({ ...good(), provenance: 3 }, 'provenance'));

  // case-format.md: "Unknown fields anywhere are refused, so a typo cannot silently change a case."
  it('unknown provenance field, or a provenance field of the wrong type', () => {
    refuses({ ...good(), provenance: { campaignSeed: 1, campaignSeeed: 2 } }, 'provenance.campaignSeeed');
    refuses({ ...good(), provenance: { caseIndex: 'nine' } }, 'provenance.caseIndex');
    refuses({ ...good(), provenance: { note: 5 } }, 'provenance.note');
  });
});

describe('loadCase', () => {
  it('reads a file, and names the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-case-'));
    try {
      const f = join(dir, 'a.json');
      writeFileSync(f, JSON.stringify(good()));
      expect(loadCase(f)).toEqual(parseCase(good()));
      const bad = join(dir, 'b.json');
      writeFileSync(bad, '{ "format": ');
      expect(() => loadCase(bad)).toThrow(CaseError);
      expect(() => loadCase(bad)).toThrow(/b\.json: \(file\): not valid JSON/);
      expect(() => loadCase(join(dir, 'missing.json'))).toThrow(/missing\.json: \(file\): cannot read: ENOENT/);
      writeFileSync(bad, JSON.stringify({ ...good(), version: 9 }));
      expect(() => loadCase(bad)).toThrow(/b\.json: version:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serializeCase', () => {
  it('round-trips: serializeCase -> JSON.parse -> parseCase gives the same case', () => {
    const c = parseCase(good());
    const text = serializeCase(c);
    expect(parseCase(JSON.parse(text))).toEqual(c);
    expect(serializeCase(parseCase(JSON.parse(text)))).toBe(text);
  });

  it('round-trips generated cases and cases without expect/provenance', () => {
    const d = resolveDesign({ ptrs: 16, guardsOff: ['G2'] });
    for (let i = 0; i < 50; i++) {
      const c = generateCase(d, 3, i);
      expect(parseCase(JSON.parse(serializeCase(c)))).toEqual(canonicalCase(c));
    }
    const bare: Case = { format: 'tdxfuzz-case', version: 1, design: resolveDesign({ ptrs: 4 }), ops: [] };
    const text = serializeCase(bare);
    expect(parseCase(JSON.parse(text))).toEqual(bare);
  });

  it('writes every design key and one op per line', () => {
    const text = serializeCase(parseCase(good()));
    const design = JSON.parse(text).design;
    expect(Object.keys(design)).toEqual(Object.keys(DEFAULT_DESIGN));
    const opLines = text.split('\n').filter((l) => l.startsWith('    {"op":'));
    expect(opLines).toHaveLength(5);
    for (const l of opLines) expect(() => JSON.parse(l.replace(/,$/, ''))).not.toThrow();
  });

  it('is independent of key order in the input', () => {
    const a = good();
    const b = { provenance: a.provenance, expect: a.expect, ops: a.ops.map((o) => Object.fromEntries(Object.entries(o).reverse())), design: { guardsOff: ['G1'], ptrs: 16 }, version: 1, format: 'tdxfuzz-case' };
    expect(serializeCase(parseCase(b))).toBe(serializeCase(parseCase(a)));
  });
});

describe('caseId', () => {
  it('ignores expect and provenance', () => {
    const c = parseCase(good());
    const { expect: _e, provenance: _p, ...rest } = c;
    const bare = rest as Case;
    expect(caseId(bare)).toBe(caseId(c));
    expect(caseId({ ...c, expect: { verdict: 'pass' }, provenance: { note: 'other' } })).toBe(caseId(c));
    expect(caseId(c)).toMatch(/^[0-9a-f]{16}$/);
  });
  it('changes with the design and with the ops', () => {
    const c = parseCase(good());
    expect(caseId({ ...c, design: { ...c.design, guardsOff: [] } })).not.toBe(caseId(c));
    expect(caseId({ ...c, ops: c.ops.slice(1) })).not.toBe(caseId(c));
    expect(caseId({ ...c, ops: [{ op: 'touch', gfn: 2 }, ...c.ops.slice(1)] })).not.toBe(caseId(c));
    const noFault = c.ops.map((o) => ({ ...o, faults: undefined }));
    expect(caseId({ ...c, ops: noFault })).not.toBe(caseId(c));
  });
});

// The parser derives each op's fields, their ranges and their canonical order from the op table
// (src/model/vocab/table.ts): every field of every op kind is checked against its domain here.
describe('op fields come from the op table', () => {
  /** A valid op of each kind on the 32-gfn design of good(). */
  const sample: Record<OpKind, Record<string, unknown>> = {
    touch: { op: 'touch', gfn: 31, write: 5, alias: 'shared', onExit: 'vmm' },
    accept: { op: 'accept', gfn: 0, level: '2M' },
    convert: { op: 'convert', start: 0, end: 32, to: 'private', arg: 'unaligned-size' },
    punch: { op: 'punch', start: 16, end: 32 },
    initMemRegion: { op: 'initMemRegion', start: 0, end: 2, data: 9 },
    finalize: { op: 'finalize' },
    destroy: { op: 'destroy' },
    hostMap: { op: 'hostMap', gfn: 1 },
    hostUnmap: { op: 'hostUnmap', gfn: 1 },
    pin: { op: 'pin', gfn: 1 },
    unpin: { op: 'unpin', gfn: 1 },
    memoryFailure: { op: 'memoryFailure', gfn: 1 },
    hostRead: { op: 'hostRead', gfn: 3 },
    hostWrite: { op: 'hostWrite', gfn: 3, data: 7 },
    hostAlloc: { op: 'hostAlloc', pages: 4096 },
    prefault: { op: 'prefault', start: 0, end: 16 },
    mapGpa: { op: 'mapGpa', start: 0, end: 17, to: 'shared', onExit: 'vmm' },
    deleteSlot: { op: 'deleteSlot', slot: '1' },
  };

  it('every op kind parses with exactly the fields the table names, written back in table order', () => {
    expect(Object.keys(sample)).toEqual(OP_KINDS);
    for (const k of OP_KINDS) {
      expect(Object.keys(sample[k]).slice(1).sort()).toEqual([...OP_FIELDS[k]].sort());
      const c = parseCase(withOp(Object.fromEntries(Object.entries(sample[k]).reverse())));
      expect(Object.keys(canonicalCase(c).ops[0])).toEqual(['op', ...OP_FIELDS[k]]);
    }
  });

  it('every field of every op kind refuses a value outside its domain, naming the field', () => {
    const outside = (f: FieldSpec): [string, unknown][] => {
      switch (f.kind) {
        case 'gfn':
          return [['gfn', 32], ['gfn', -1]];
        case 'range':
          return [['start', 33], ['end', 33], ['end', 0.5]];
        case 'enum':
          return [[f.name, 'other']];
        case 'token':
          return [[f.name, 0], [f.name, f.max(32) + 1]];
        case 'count':
          return [[f.name, f.min - 1], [f.name, f.max + 1]];
      }
    };
    let checked = 0;
    for (const k of OP_KINDS) {
      for (const f of OPS[k].fields) {
        for (const [name, v] of outside(f)) {
          refuses(withOp({ ...sample[k], [name]: v }), `ops[0].${name}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('a required field may not be missing; an optional token may', () => {
    refuses(withOp({ op: 'initMemRegion', start: 0, end: 2 }), 'ops[0].data', /integer/);
    refuses(withOp({ op: 'accept', gfn: 0 }), 'ops[0].level', /must be "4K" or "2M"/);
    expect(parseCase(withOp({ op: 'touch', gfn: 3 })).ops[0]).toEqual({ op: 'touch', gfn: 3 });
  });

  it('describeOp shows each kind as its fields say', () => {
    const shown = OP_KINDS.map((k) => describeOp(parseCase(withOp(sample[k])).ops[0]));
    expect(shown).toEqual([
      'touch(0x1f, write=5, shared, vmm)',
      'accept(0x0, 2M)',
      'convert([0x0, 0x20), unaligned-size -> private)',
      'punch([0x10, 0x20))',
      'initMemRegion([0x0, 0x2), data=9)',
      'finalize()',
      'destroy()',
      'hostMap(0x1)',
      'hostUnmap(0x1)',
      'pin(0x1)',
      'unpin(0x1)',
      'memoryFailure(0x1)',
      'hostRead(0x3)',
      'hostWrite(0x3, data=7)',
      'hostAlloc(4096)',
      'prefault([0x0, 0x10))',
      'mapGpa([0x0, 0x11), vmm -> shared)',
      'deleteSlot(1)',
    ]);
  });
});
