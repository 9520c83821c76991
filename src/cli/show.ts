// tdxfuzz show: explain one case step by step — design, each op with its faults and what the model did,
// then the verdict.
import type { Command } from 'commander';
import { loadCase } from '../fuzz/case.js';
import { runCase } from '../fuzz/run.js';
import { isPerfSignature } from '../fuzz/signature.js';
import type { TraceLine } from '../model/trace.js';
import { describeGuardsOff, formatDesign, formatExpect, formatFault, formatOp, matchesExpect } from './format.js';

function traceByOp(lines: readonly TraceLine[]): Map<number, TraceLine[]> {
  const m = new Map<number, TraceLine[]>();
  for (const l of lines) {
    let g = m.get(l.op);
    if (!g) m.set(l.op, (g = []));
    g.push(l);
  }
  return m;
}

/** Column width of one actor in the interleaved view. */
const COLUMN = 40;

/**
 * A case with several actors: every trace line in the order the steps ran, in its actor's column, with the
 * op each actor was in, its lock holds and its SEAMCALLs.
 */
function interleaving(actors: readonly string[], lines: readonly TraceLine[], nOps: number): string[] {
  const fit = (t: string): string => (t.length > COLUMN - 2 ? t.slice(0, COLUMN - 3) + '~' : t).padEnd(COLUMN);
  const out = ['interleaving (one column per actor, steps in the order they ran)'];
  out.push('  ' + actors.map((k, a) => fit(`actor ${a} (${k})`)).join('').trimEnd());
  out.push('  ' + actors.map(() => fit('-'.repeat(COLUMN - 2))).join('').trimEnd());
  for (const l of lines) {
    if (l.op < 0 || l.op >= nOps) continue;
    out.push('  ' + ' '.repeat(COLUMN * l.actor) + fit(`${'  '.repeat(l.depth)}${l.text}`).trimEnd());
  }
  return out;
}

function show(file: string): void {
  const c = loadCase(file);
  const r = runCase(c, { trace: true, failOnPerf: isPerfSignature(c.expect?.signature) });
  const out: string[] = [];
  const traced = (group: TraceLine[] | undefined, indent: string): void => {
    for (const l of group ?? []) out.push(`${indent}${'  '.repeat(l.depth)}${l.text}`);
  };
  out.push(`case       ${file}`);
  out.push(`design     ${formatDesign(c.design)}`);
  const guards = describeGuardsOff(c.design);
  out.push(`guards off ${guards.length ? guards.join(`\n${' '.repeat(11)}`) : 'none'}`);
  out.push(`expect     ${formatExpect(c.expect)}`);
  const byOp = traceByOp(r.trace ?? []);
  if (byOp.has(-1)) {
    out.push('', 'setup');
    traced(byOp.get(-1), '    ');
  }
  out.push('', `ops (${c.ops.length}; ${r.opsRun} run)`);
  c.ops.forEach((o, i) => {
    const failedHere = r.failure?.opIndex === i ? '   <- fails here' : '';
    out.push(`  #${i} ${formatOp(o)}${i >= r.opsRun ? '   (not run)' : ''}${failedHere}`);
    for (const f of o.faults ?? []) out.push(`      ${formatFault(f)}`);
    traced(byOp.get(i), '      ');
  });
  if (c.actors && c.actors.length > 1 && r.trace) for (const l of ['', ...interleaving(c.actors, r.trace, c.ops.length)]) out.push(l);
  const after = [...byOp.keys()].filter((k) => k >= c.ops.length).sort((a, b) => a - b);
  if (after.length) {
    out.push('', 'after the last op');
    for (const k of after) traced(byOp.get(k), '    ');
  }
  out.push('', r.verdict === 'fail' ? 'state when the check fired' : 'state at the end');
  for (const l of r.state ?? []) out.push(`  ${l}`);
  out.push('');
  const f = r.failure;
  if (r.verdict === 'fail' && f) {
    out.push('verdict    fail');
    out.push(`  invariant  ${f.inv}${f.clause ? ` (clause: ${f.clause})` : ''}`);
    if (f.detection) out.push(`  detection  ${f.detection}${f.detection === 'structural' ? ' (a rule broken; no damage followed by the end of the case)' : ''}`);
    out.push(`  op         #${f.opIndex} (${f.opKind})`);
    out.push(`  step       ${f.step}`);
    out.push(`  message    ${f.message}`);
    out.push(`  faults     ${f.faultKinds.length ? f.faultKinds.join(', ') : 'none took effect'}`);
    out.push(`  signature  ${r.signature}`);
    if (f.after) out.push(`  after      structural ${f.after.inv}${f.after.clause ? ` (${f.after.clause})` : ''} at op #${f.after.opIndex} (${f.after.opKind}), ${f.after.step}: ${f.after.message}`);
    if (f.exception) out.push(`  exception  the model or oracle threw after it: ${f.exception}`);
    if (r.structuralHits?.length) out.push(`  structural checks that fired: ${r.structuralHits.join(', ')}`);
  } else out.push('verdict    pass');
  out.push(`trace hash ${r.traceHash}`);
  for (const n of r.notes) out.push(`note       ${n}`);
  out.push(matchesExpect(r, c.expect) ? 'as recorded in the file' : `DIFFERS from the file, which expects ${formatExpect(c.expect)}`);
  process.stdout.write(out.join('\n') + '\n');
}

export function registerShow(program: Command): void {
  program
    .command('show')
    .summary('explain one case step by step')
    .description(
      [
        'Run a case with tracing and print the design (non-default settings, guards off), each operation with its ' +
          'injected faults and what the model did (KVM paths, SEAMCALLs and their statuses, guest_memfd steps), ' +
          'a picture of the mirror root, S-EPT, folios and attributes of each 2M range where the case stopped, ' +
          'then the verdict: invariant, operation, step, message, signature and trace hash.',
        'Exit code: 0, or 2 if the file is unreadable or malformed.',
      ].join('\n\n'),
    )
    .argument('<case>', 'case file (JSON)')
    .action((file: string) => show(file));
}
