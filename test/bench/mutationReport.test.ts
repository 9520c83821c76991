import { autoClassify, type SurvivorView } from '../../bench/mutation/classify.js';
import { describe, expect, test } from 'vitest';
import { buildReport, folderOf, oneActorScore, oracleScore, score, type StrykerReport } from '../../bench/mutation/report.js';
import { MUTATION_CASES } from '../../bench/mutation/settings.js';

const at = (line: number, c0: number, c1: number) => ({ start: { line, column: c0 }, end: { line, column: c1 } });

/** A small report in mutation-testing-report-schema form, as Stryker writes it for `npm run mutation`. */
const report: StrykerReport = {
  framework: { name: 'StrykerJS', version: '9.6.1' },
  config: { mutate: ['src/model/**/*.ts'] },
  files: {
    'src/model/gmem/punch.ts': {
      source: 'const a = x < y;\nif (ok) go();\n',
      mutants: [
        { id: '1', mutatorName: 'EqualityOperator', replacement: 'x <= y', status: 'Survived', location: at(1, 11, 16) },
        { id: '2', mutatorName: 'ConditionalExpression', replacement: 'true', status: 'Killed', statusReason: 'killed-by: violation INV-3 in case 7 of seed 1, op 0 (accept) at end of op: x', location: at(2, 5, 7) },
        { id: '3', mutatorName: 'BlockStatement', replacement: '{}', status: 'Killed', statusReason: 'killed-by: exception in case 0 of seed 1: TypeError: y', location: at(2, 9, 14) },
      ],
    },
    'src/model/system.ts': {
      source: 'let n = 0;\n',
      mutants: [
        { id: '4', mutatorName: 'UpdateOperator', replacement: 'n--', status: 'Timeout', location: at(1, 5, 10) },
        { id: '5', mutatorName: 'StringLiteral', replacement: '""', status: 'NoCoverage', location: at(1, 9, 10) },
        { id: '6', mutatorName: 'StringLiteral', replacement: '""', status: 'CompileError', location: at(1, 9, 10) },
      ],
    },
  },
};

describe('mutation report', () => {
  test('folders of src/model, with top-level files apart', () => {
    expect(folderOf('src/model/gmem/punch.ts')).toBe('gmem/');
    expect(folderOf('src/model/tdx/module.ts')).toBe('tdx/');
    expect(folderOf('src/model/system.ts')).toBe('(top level)');
  });

  test('score = (killed + timeout) / valid; kills split into oracle verdicts and exceptions', () => {
    const s = buildReport(report, new Date(0));
    const t = s.overall;
    expect([t.total, t.violation, t.exception, t.timeout, t.survived, t.noCoverage, t.error]).toEqual([6, 1, 1, 1, 1, 1, 1]);
    expect(score(t)).toBeCloseTo(60); // 3 detected of 5 valid (the compile error is left out)
    expect(oracleScore(t)).toBeCloseTo(20);
    expect(score(s.folders.get('gmem/')!)).toBeCloseTo(200 / 3);
    expect(score(s.folders.get('(top level)')!)).toBeCloseTo(50);
  });

  test('a kill by a concurrent case (index MUTATION_CASES on) is counted apart and left out of the one-actor score', () => {
    const conc: StrykerReport = {
      files: {
        'src/model/kvm/mmu.ts': {
          source: 'a;\nb;\n',
          mutants: [
            { id: '1', mutatorName: 'BlockStatement', replacement: '{}', status: 'Killed', statusReason: `killed-by: violation INV-10 in case ${MUTATION_CASES} of seed 1, op 2 (touch) at end of op: x`, location: at(1, 1, 2) },
            { id: '2', mutatorName: 'BlockStatement', replacement: '{}', status: 'Killed', statusReason: `killed-by: violation INV-1 in case ${MUTATION_CASES - 1} of seed 1, op 0 (touch) at end of op: x`, location: at(2, 1, 2) },
          ],
        },
      },
    };
    const t = buildReport(conc, new Date(0)).overall;
    expect(t.concurrentKill).toBe(1);
    expect(score(t)).toBeCloseTo(100);
    expect(oneActorScore(t)).toBeCloseTo(50);
  });

  test('survivors listed with the original text, replacement and mutator; killers counted', () => {
    const md = buildReport(report, new Date(0)).markdown;
    expect(md).toContain('| 1 | gmem/punch.ts:1:11 | EqualityOperator | `x < y` | `x <= y` | | |');
    expect(md).toContain('| 2 | system.ts:1:9 | StringLiteral (no coverage) | `0` | `""` | U | no case of the campaign reaches this code |');
    expect(md).toContain('| INV-3 | 1 |');
    expect(md).toContain('| exception: TypeError | 1 |');
    expect(md).not.toContain('BlockStatement |'); // killed mutants are not listed
  });

  test('a reviewed class applies while the source text at its place is the one reviewed; E counts as equivalent', () => {
    const reviewed = [{ where: 'gmem/punch.ts:1:11', mutator: 'EqualityOperator', original: 'x < y', replacement: 'x <= y', cls: 'E' as const, why: 'x never equals y' }];
    const s = buildReport(report, new Date(0), { reviewed });
    expect(s.markdown).toContain('| 1 | gmem/punch.ts:1:11 | EqualityOperator | `x < y` | `x <= y` | E | (reviewed) x never equals y |');
    expect(s.overall.equivalent).toBe(1);
    expect(s.markdown).toContain('Of the 2: 1 equivalent, 1 unreachable, 0 oracle gaps, 0 not yet classified.');
    // the code moved: the entry names other text, so the survivor is unclassified again
    const moved = buildReport(report, new Date(0), { reviewed: [{ ...reviewed[0], original: 'x < z' }] });
    expect(moved.overall.equivalent).toBe(0);
    expect(moved.markdown).toContain('| 1 | gmem/punch.ts:1:11 | EqualityOperator | `x < y` | `x <= y` | | |');
    expect(moved.markdown).toContain('1 of the 1 reviewed entries match no survivor');
    // the same place, mutator and replacement over a shorter text (the expression's first operand) is another mutant
    const operand = buildReport(report, new Date(0), { reviewed: [{ ...reviewed[0], original: 'x' }, ...reviewed] });
    expect(operand.overall.equivalent).toBe(1);
    expect(operand.markdown).toContain('1 of the 2 reviewed entries match no survivor');
  });

  test('a campaign survivor killed by a unit test is marked', () => {
    const unit: StrykerReport = {
      files: { 'src/model/gmem/punch.ts': { source: '', mutants: [{ id: '1', mutatorName: 'EqualityOperator', replacement: 'x <= y', status: 'Killed', location: at(1, 11, 16) }] } },
    };
    const md = buildReport(report, new Date(0), { unit }).markdown;
    expect(md).toContain('| 1 | gmem/punch.ts:1:11 | EqualityOperator | `x < y` | `x <= y` | Killed | | |');
    expect(md).toContain('1 of the 2 survivors are killed by a unit test');
  });
});

describe('autoClassify: survivors whose class the source line shows', () => {
  const v = (o: Partial<SurvivorView>): SurvivorView => ({ mutatorName: 'StringLiteral', replacement: '""', noCoverage: false, orig: "'x'", line: '', ...o });
  test('step labels, lock path names and guard ids are equivalent; a guard test already true on the all-guards-on campaign too', () => {
    expect(autoClassify(v({ orig: "'truncate'", line: "  yield 'truncate';" }))?.cls).toBe('E');
    expect(autoClassify(v({ orig: "'kvm_gmem_punch_hole'", line: "  yield* writeLock(sys, 'kvm_gmem_punch_hole');" }))?.cls).toBe('E');
    expect(autoClassify(v({ orig: "'G2'", line: "  if (sys.guard('G2')) {" }))?.cls).toBe('E');
    expect(autoClassify(v({ mutatorName: 'ConditionalExpression', replacement: 'true', orig: "sys.guard('G2')" }))?.cls).toBe('E');
    expect(autoClassify(v({ mutatorName: 'ConditionalExpression', replacement: 'false', orig: "!sys.guard('G9')" }))?.cls).toBe('E');
    expect(autoClassify(v({ noCoverage: true, mutatorName: 'EqualityOperator' }))?.cls).toBe('U');
  });
  test('leaves everything else to a person: other strings, a guard test flipped the other way, operators', () => {
    expect(autoClassify(v({ orig: "'FOLIO_SPLIT'", line: "  if (gm.hugetlb && sys.inj.siteFails('FOLIO_SPLIT')) {" }))).toBeNull();
    expect(autoClassify(v({ mutatorName: 'ConditionalExpression', replacement: 'false', orig: "sys.guard('G2')" }))).toBeNull();
    expect(autoClassify(v({ mutatorName: 'EqualityOperator', replacement: 'b <= iend', orig: 'b < iend' }))).toBeNull();
  });
});
