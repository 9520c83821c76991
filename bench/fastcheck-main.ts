// The fast-check baseline as its own process, the way a developer runs a property test: one bug, one seed,
// and the shrunk counterexample printed at the end. The benchmark times this process from spawn to that
// output, against `tdxfuzz fuzz` from spawn to its first minimised failure on disk (bench/peer.ts).
//
//   node dist/bench/fastcheck-main.js BUG-n [--seed S] [--cap-ms MS] [--json]
//
// Prints "shrunk counterexample: SIGNATURE (N ops; failed at run R, X ms)" and the case (the tdxfuzz case
// format, so `tdxfuzz show` reads it), or with --json one JSON object. Exit 1 with a counterexample, 0 with
// none within the cap, 2 for bad arguments.
import { serializeCase } from '../src/fuzz/case.js';
import { BUGS, bugDesign } from './bugs.js';
import { fastCheckHunt } from './fastcheck.js';

function usage(msg: string): never {
  process.stderr.write(`fastcheck-main: ${msg}\nusage: node dist/bench/fastcheck-main.js BUG-n [--seed S] [--cap-ms MS] [--json]\n`);
  process.exit(2);
}

function intOption(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0) usage(`${name} wants a whole number, got ${args[i + 1]}`);
  return v;
}

const args = process.argv.slice(2);
const name = args.find((a) => /^BUG-/i.test(a)) ?? usage('name a bug');
const bug = BUGS.find((b) => b.bug.toLowerCase() === name.toLowerCase()) ?? usage(`unknown bug ${name} (known: ${BUGS.map((b) => b.bug).join(', ')})`);
const seed = intOption(args, '--seed', 1);
const capMs = intOption(args, '--cap-ms', 60_000);
const r = fastCheckHunt(bugDesign(bug), seed, capMs, !!bug.perf);
const { counterexample, ...figures } = r;
if (args.includes('--json')) process.stdout.write(JSON.stringify({ bug: bug.bug, seed, ...figures, counterexample: counterexample ?? null }) + '\n');
else if (r.found && counterexample) {
  process.stdout.write(`shrunk counterexample: ${r.signature} (${r.shrunkOps} ops; failed at run ${r.runsToFailure}, ${r.msToFailure.toFixed(0)} ms; done after ${r.msTotal.toFixed(0)} ms)\n`);
  process.stdout.write(serializeCase(counterexample));
} else process.stdout.write(`no counterexample within ${capMs} ms (${r.runsToFailure} runs)\n`);
process.exitCode = r.found ? 1 : 0;
