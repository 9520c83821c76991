// The peer comparison as a user meets it: each tool run as a whole process, timed from the spawn to the
// first minimised failure it hands over. For tdxfuzz that is the first case file in OUT/crashes (the
// coordinator writes a failure there once minimised, by an atomic rename); for the fast-check baseline
// (bench/fastcheck-main.ts) it is the shrunk counterexample on stdout. Node start-up, module loading,
// worker start, search and minimisation are all inside the time.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliPath } from './cliPath.js';
import type { BugTarget } from './bugs.js';

export interface ProcessRun {
  found: boolean;
  /** Spawn to the minimised failure (found), or to the process's end or the cap. */
  ms: number;
  signature: string | null;
  /** Ops of the minimised (shrunk) case. */
  ops: number;
  /** tdxfuzz: the saved case's index + 1; fast-check: property runs up to the first failing one. */
  tries: number;
  /** Why the run gave nothing (a crash of the process, an unreadable output). */
  error?: string;
}

/** The command line the bench runs for a bug (shown in the report). */
export function tdxfuzzArgs(b: BugTarget, seed: number, out: string, capMs: number, config: string | null): string[] {
  const guards = b.design.guardsOff ?? [];
  return [
    'fuzz', '--guard-off', guards.join(','), '--no-progress', '--out', out, '--workers', '2', '--seed', String(seed),
    '--duration', `${Math.ceil(capMs / 1000)}s`, ...(config ? ['--config', config] : []), ...(b.perf ? ['--fail-on', 'perf'] : []),
  ];
}

/** Settings the bug needs besides its guard, as a --config file (null when none). */
function configFile(b: BugTarget, dir: string): string | null {
  const { guardsOff: _g, ...rest } = b.design;
  if (Object.keys(rest).length === 0) return null;
  const f = join(dir, 'design.json');
  writeFileSync(f, JSON.stringify(rest));
  return f;
}

const caseFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []);

/** Time `tdxfuzz fuzz` (the built CLI under `root`) from spawn to its first file in OUT/crashes, then kill it. */
export function timeTdxfuzz(root: string, b: BugTarget, seed: number, capMs: number): Promise<ProcessRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-peer-'));
  const out = join(dir, 'out');
  const crashes = join(out, 'crashes');
  mkdirSync(crashes, { recursive: true }); // so the watch can start before the CLI makes it
  const args = [cliPath(root), ...tdxfuzzArgs(b, seed, out, capMs, configFile(b, dir))];
  return new Promise((resolve) => {
    let stderr = '';
    let done = false;
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const finish = (r: ProcessRun): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(cap);
      watcher.close();
      const cleanUp = (): void => {
        rmSync(dir, { recursive: true, force: true });
        resolve(r);
      };
      if (child.exitCode === null && child.signalCode === null) {
        child.once('exit', cleanUp);
        child.kill('SIGKILL'); // the time is taken; what it would do next is not measured
      } else cleanUp();
    };
    const check = (): void => {
      const files = caseFiles(crashes);
      if (!files.length) return;
      const ms = performance.now() - t0;
      try {
        const c = JSON.parse(readFileSync(join(crashes, files[0]), 'utf8'));
        finish({ found: true, ms, signature: c.expect?.signature ?? null, ops: c.ops?.length ?? NaN, tries: (c.provenance?.caseIndex ?? NaN) + 1 });
      } catch (e) {
        finish({ found: true, ms, signature: null, ops: NaN, tries: NaN, error: `unreadable ${files[0]}: ${e}` });
      }
    };
    const watcher = watch(crashes, check);
    const poll = setInterval(check, 25); // backstop: a watch may miss an event on some file systems
    const cap = setTimeout(() => finish({ found: false, ms: performance.now() - t0, signature: null, ops: NaN, tries: NaN }), capMs + 10_000);
    child.on('exit', (code) => {
      check();
      // exit 1: new unique failures saved (seen above); 0: none within --duration; anything else is an error
      finish({ found: false, ms: performance.now() - t0, signature: null, ops: NaN, tries: NaN, ...(code !== 0 ? { error: `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` } : {}) });
    });
  });
}

/** Time the fast-check baseline (dist/bench/fastcheck-main.js under `root`) from spawn to its shrunk counterexample. */
export function timeFastCheck(root: string, b: BugTarget, seed: number, capMs: number): Promise<ProcessRun> {
  const args = [join(root, 'dist', 'bench', 'fastcheck-main.js'), b.bug, '--seed', String(seed), '--cap-ms', String(capMs), '--json'];
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let at = NaN;
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => {
      if (Number.isNaN(at)) at = performance.now() - t0; // the counterexample is printed in one write, after shrinking
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      try {
        const r = JSON.parse(stdout);
        if (!r.found) return resolve({ found: false, ms, signature: null, ops: NaN, tries: r.runsToFailure });
        resolve({ found: true, ms: at, signature: r.signature, ops: r.shrunkOps, tries: r.runsToFailure });
      } catch {
        resolve({ found: false, ms, signature: null, ops: NaN, tries: NaN, error: `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}
