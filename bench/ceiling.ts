// The machine's own ceiling for two workers (bench (c)): the same single-thread work (ceiling-main.ts) in one
// process alone, and in two processes at once, which share nothing but the machine. Their summed rate over
// the one alone is the speed-up two fully independent workers get here; the campaign's 2-against-1 speed-up
// is read against it. On the 2-core machine of bench/results (a VM whose host has other tenants) it was
// 1.2-1.8x for this work on 2026-12-07, while a plain integer loop got 2.0x: the model's work is bound by
// what the two cores share (caches, memory), not by the cores (bench/results/speed-2026-12-07i.md).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Design } from '../src/model/config.js';

function oneProcess(root: string, design: Design, cases: number, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(root, 'dist', 'bench', 'ceiling-main.js'), JSON.stringify(design), String(cases), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve((JSON.parse(out) as { opsPerSec: number }).opsPerSec) : reject(new Error(`ceiling-main exited with ${code}`))));
  });
}

/** ops/s of one process alone. */
export const alone = (root: string, design: Design, cases: number, ms: number): Promise<number> => oneProcess(root, design, cases, ms);

/** Summed ops/s of two processes started together. */
export async function together(root: string, design: Design, cases: number, ms: number): Promise<number> {
  const [a, b] = await Promise.all([oneProcess(root, design, cases, ms), oneProcess(root, design, cases, ms)]);
  return a + b;
}
