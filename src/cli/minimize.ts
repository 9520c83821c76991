// tdxfuzz minimize: shrink one failing case while it keeps failing the same way.
import { lstatSync } from 'node:fs';
import type { Command } from 'commander';
import { type Case, faultsOf, loadCase, serializeCase } from '../fuzz/case.js';
import { minimizeCase } from '../fuzz/minimize.js';
import { runCase } from '../fuzz/run.js';
import { isPerfSignature } from '../fuzz/signature.js';
import { writeFileAtomic } from '../fuzz/store.js';
import { UsageError } from './common.js';

interface MinimizeOptions {
  output?: string;
}

const size = (c: Case): string => `${c.ops.length} ops, ${faultsOf(c)} faults`;

/** Refuse an -o target that cannot take a case file, before any minimising work is done. */
function checkOutput(out: string): void {
  let st;
  try {
    st = lstatSync(out, { throwIfNoEntry: false });
  } catch (e) {
    // ENOTDIR: some folder on the way is a file
    throw new UsageError(`--output ${out}: ${(e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'a parent of it is not a directory' : (e as Error).message}`);
  }
  if (st === undefined) return; // missing parent folders are created
  // the atomic write renames over the target: that would replace a directory, a device or a symlink
  if (!st.isFile()) throw new UsageError(`--output ${out}: not a regular file (${st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'a device or special file'})`);
}

function minimize(file: string, o: MinimizeOptions): void {
  if (o.output !== undefined) checkOutput(o.output);
  const c = loadCase(file);
  const before = runCase(c, { failOnPerf: isPerfSignature(c.expect?.signature) });
  if (before.verdict !== 'fail' || before.signature === null) {
    throw new UsageError(`${file}: the case passes; only a failing case can be minimised`);
  }
  if (c.expect?.verdict === 'fail' && c.expect.signature !== before.signature) {
    process.stderr.write(`warning: ${file} records signature ${c.expect.signature} but now fails as ${before.signature}; minimising that\n`);
  }
  const m = minimizeCase(c);
  if (m.result.verdict !== 'fail' || m.result.signature === null) throw new Error(`minimizeCase returned a passing case for ${file}`);
  const out: Case = {
    ...m.case,
    expect: { verdict: 'fail', signature: m.result.signature },
    provenance: { ...c.provenance, ...m.case.provenance, originalOps: c.provenance?.originalOps ?? c.ops.length },
  };
  const text = serializeCase(out);
  if (o.output) writeFileAtomic(o.output, text);
  else process.stdout.write(text);
  const sig = m.result.signature === before.signature ? m.result.signature : `${before.signature} -> ${m.result.signature}`;
  process.stderr.write(`minimised ${file}: ${size(c)} -> ${size(m.case)} in ${m.attempts} attempts; signature ${sig}${o.output ? `; written to ${o.output}` : ''}\n`);
}

export function registerMinimize(program: Command): void {
  program
    .command('minimize')
    .alias('minimise')
    .summary('shrink a failing case, keeping its failure')
    .description(
      [
        'Remove operations and faults from a failing case (and weaken what is left) while it keeps failing with the ' +
          'same invariant and operation kind. Writes the smaller case, recording its signature, to -o FILE ' +
          '(atomically; FILE may be the input file) or to stdout, and prints the sizes before and after on stderr.',
        'Exit code: 0 when done, 2 if the file is unreadable or malformed or the case passes.',
      ].join('\n\n'),
    )
    .argument('<case>', 'case file (JSON) that fails')
    .option('-o, --output <file>', 'write the minimised case here instead of stdout')
    .action((file: string, o: MinimizeOptions) => minimize(file, o));
}
