// One-actor throughput of `tdxfuzz fuzz` as a process, for this tree and for an older commit side by
// side: `fuzz --cases N --workers 1 --json` in a fresh campaign folder, its summary's ops/s (campaign
// time: pool start to the end, Node start-up left out) and ops per CPU-second of the whole process (every
// thread, from bench/cpu-preload.ts). The older commit is checked out with `git archive` into a temporary
// folder (nothing is registered in the repository), given this tree's node_modules by a symbolic link
// (no network) and built with its own `npm run build`; each tree runs the command line its package.json's
// bin names (cliPath.ts).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliPath } from './cliPath.js';

export interface FuzzRun {
  cases: number;
  ops: number;
  /** The summary's ops/s: ops over the campaign's elapsed time (1 worker: ops/s per core). */
  opsPerSec: number;
  /** Ops per CPU-second of the whole process (main thread, worker, GC threads). */
  opsPerCpuSec: number;
  /** The campaign's own elapsed time (from its summary). */
  elapsedMs: number;
  wallMs: number;
}

/** A tree to run: its root (cwd of the process) and how its CLI takes a fresh campaign folder. */
export interface Tree {
  label: string;
  root: string;
  /** Extra arguments naming a fresh campaign folder `dir` (the CLI's options differ between commits). */
  outArgs: (dir: string) => string[];
}

export function currentTree(root: string): Tree {
  return { label: 'this tree', root, outArgs: (dir) => ['--out', dir, '--no-progress'] };
}

/**
 * A commit's tree, built: undefined with the reason when it cannot be had (unknown commit: a shallow
 * clone or a commit never fetched; this tree without node_modules; a failed build).
 */
export function prepareCommit(root: string, rev: string, log: (s: string) => void): { tree: Tree; sha: string; cleanUp: () => void } | { error: string } {
  const sha = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' });
  if (sha.status !== 0) return { error: `commit ${rev} is not in this repository (a shallow clone, or not fetched; the bench does not fetch: run git fetch --unshallow while online)` };
  const commit = sha.stdout.trim();
  const modules = join(root, 'node_modules');
  if (!existsSync(modules)) return { error: `no node_modules in ${root} to link into the checkout (run npm ci first)` };
  const dir = mkdtempSync(join(tmpdir(), `tdxfuzz-${commit.slice(0, 7)}-`));
  const cleanUp = (): void => rmSync(dir, { recursive: true, force: true });
  const tar = join(dir, 'tree.tar');
  log(`baseline: git archive ${commit.slice(0, 7)} into ${dir}, build`);
  const arch = spawnSync('git', ['archive', '--format=tar', '-o', tar, commit], { cwd: root, encoding: 'utf8' });
  const untar = arch.status === 0 ? spawnSync('tar', ['-xf', tar, '-C', dir], { encoding: 'utf8' }) : arch;
  if (untar.status !== 0) {
    cleanUp();
    return { error: `cannot check out ${rev}: ${(untar.stderr || String(untar.error)).trim()}` };
  }
  rmSync(tar);
  symlinkSync(realpathSync(modules), join(dir, 'node_modules'), 'dir');
  // its own build script (tsc, and for later commits the bundle its package.json's bin names)
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: dir, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(cliPath(dir))) {
    cleanUp();
    return { error: `building ${rev} failed: ${(build.stdout + build.stderr).trim().split('\n').slice(0, 3).join(' | ')}` };
  }
  // its CLI of the time: --corpus (read and written) and --crashes, no --out; its committed corpus is copied
  // into each fresh folder so every run starts from the corpus a user of that commit had
  const corpus = join(dir, 'corpus');
  const outArgs = (out: string): string[] => {
    if (existsSync(corpus)) cpSync(corpus, join(out, 'corpus'), { recursive: true });
    return ['--corpus', join(out, 'corpus'), '--crashes', join(out, 'crashes')];
  };
  return { tree: { label: commit.slice(0, 7), root: dir, outArgs }, sha: commit, cleanUp };
}

/** Run `fuzz --cases N --workers 1 --json` of `tree` once, in a fresh folder, with `extra` options. */
export function fuzzOnce(tree: Tree, preload: string, cases: number, extra: string[]): Promise<FuzzRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-tp-'));
  const cpuFile = join(dir, 'cpu.json');
  const out = join(dir, 'out');
  const args = ['--import', pathToFileURL(preload).href, cliPath(tree.root), 'fuzz', '--cases', String(cases), '--workers', '1', '--json', ...tree.outArgs(out), ...extra];
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: tree.root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TDXFUZZ_BENCH_CPU_FILE: cpuFile } });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      try {
        const s = JSON.parse(stdout);
        const cpu = JSON.parse(readFileSync(cpuFile, 'utf8'));
        const cpuSec = (cpu.userUs + cpu.systemUs) / 1e6;
        resolve({ cases: s.cases, ops: s.ops, opsPerSec: s.opsPerSec, opsPerCpuSec: s.ops / cpuSec, elapsedMs: s.elapsedMs, wallMs });
      } catch (e) {
        reject(new Error(`${tree.label}: fuzz ${args.slice(3).join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ') || e}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
