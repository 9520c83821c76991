// One process of bench (c)'s machine ceiling (ceiling.ts): runs generated cases of the design (generateCase
// + runCase, the oracle on) once to warm up, then over and over for MS milliseconds, and prints the ops/s of
// the timed part as JSON.
//   node dist/bench/ceiling-main.js DESIGN-JSON CASES MS
import { performance } from 'node:perf_hooks';
import { generateCase } from '../src/fuzz/generate.js';
import { runCase } from '../src/fuzz/run.js';
import type { Design } from '../src/model/config.js';

const [designJson, casesArg, msArg] = process.argv.slice(2);
const design = JSON.parse(designJson) as Design;
const cases = Array.from({ length: Number(casesArg) }, (_, i) => generateCase(design, 1, i));
for (const c of cases) runCase(c);
const t0 = performance.now();
let ops = 0;
for (let i = 0; performance.now() - t0 < Number(msArg); i = (i + 1) % cases.length) ops += runCase(cases[i]).opsRun;
process.stdout.write(JSON.stringify({ opsPerSec: (ops / (performance.now() - t0)) * 1000 }) + '\n');
