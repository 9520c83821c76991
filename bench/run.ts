// npm run bench [-- --quick] : throughput of the default design on this machine, 1 and 2 workers in one
// run, plus the single-thread cost of one case. Figures are reported and written to
// bench/results/<timestamp>.json; nothing here passes or fails on time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDesign } from '../src/model/config.js';
import { packageRoot, runCampaign } from '../src/fuzz/coordinator.js';
import { generateCase } from '../src/fuzz/generate.js';
import { runCase } from '../src/fuzz/run.js';

interface Row {
  what: string;
  workers: number;
  cases: number;
  ops: number;
  seconds: number;
  casesPerSec: number;
  opsPerSec: number;
}

const quick = process.argv.includes('--quick');
const N = quick ? 20000 : 200000;
const design = resolveDesign({ ptrs: 16 });
const rows: Row[] = [];

function singleThread(): Row {
  let ops = 0;
  const n = quick ? 3000 : 20000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ops += runCase(generateCase(design, 1, i)).opsRun;
  const s = (performance.now() - t0) / 1000;
  return { what: 'runCase in the main thread (no pool)', workers: 0, cases: n, ops, seconds: s, casesPerSec: n / s, opsPerSec: ops / s };
}

async function campaign(workers: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-bench-'));
  try {
    const sum = await runCampaign({ design, seed: 1, workers, cases: N, crashesDir: join(dir, 'crashes'), corpusDir: join(dir, 'corpus') });
    return { what: 'fuzz campaign (piscina pool)', workers, cases: sum.cases, ops: sum.ops, seconds: sum.elapsedMs / 1000, casesPerSec: sum.casesPerSec, opsPerSec: sum.opsPerSec };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  rows.push(singleThread());
  rows.push(await campaign(1));
  rows.push(await campaign(2));
  const w1 = rows[1].casesPerSec;
  const w2 = rows[2].casesPerSec;
  const table = [
    '| what | workers | cases | ops | seconds | cases/s | ops/s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.what} | ${r.workers || '-'} | ${r.cases} | ${r.ops} | ${r.seconds.toFixed(2)} | ${r.casesPerSec.toFixed(0)} | ${r.opsPerSec.toFixed(0)} |`),
    '',
    `2 workers vs 1: ${(w2 / w1).toFixed(2)}x (parallel efficiency ${((w2 / w1 / 2) * 100).toFixed(0)}%), measured in this run on ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}.`,
  ].join('\n');
  console.log(table);
  const outDir = join(packageRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ quick, design, rows, speedup2v1: w2 / w1, node: process.version, cores: availableParallelism() }, null, 2) + '\n');
  console.log(`\nwritten to ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
