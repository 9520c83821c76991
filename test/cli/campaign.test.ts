// The campaign folder from the command line: `npm run fuzz` leaves git status clean, --resume and its
// refusals, the environment's faults (exit 4 with the path and the cause), the --workers bound, and one
// Ctrl-C under npm.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CampaignSummary } from '../../src/fuzz/coordinator.js';
import { readCampaignState } from '../../src/fuzz/campaignState.js';
import { MAIN, ROOT, tdxfuzz } from '../helpers/cli.js';
import { filesIn, tempDir } from '../helpers/tmp.js';

const git = (args: string[], cwd: string) => spawnSync('git', args, { cwd, encoding: 'utf8' });

describe('npm run fuzz', () => {
  it('runs the documented command line and leaves `git status` clean (in a copy of the repository\'s ignore rules and corpus)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const cmd = pkg.scripts.fuzz.split('&&').at(-1)!.trim().split(/\s+/);
    const script = cmd.indexOf('dist/bundle/main.js');
    expect(cmd[0]).toBe('node');
    const nodeFlags = cmd.slice(1, script); // --v8-pool-size=1 (README: the GC helper pool)
    expect(nodeFlags.every((f) => f.startsWith('--'))).toBe(true);
    expect(cmd[script + 1]).toBe('fuzz');
    const args = cmd.slice(script + 2).map((a) => (/^\d+[hms]+$/.test(a) ? '2s' : a)); // the same command, shorter
    const dir = tempDir();
    copyFileSync(join(ROOT, '.gitignore'), join(dir, '.gitignore'));
    cpSync(join(ROOT, 'corpus'), join(dir, 'corpus'), { recursive: true });
    expect(git(['init', '-q'], dir).status).toBe(0);
    git(['add', '-A'], dir);
    expect(git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x'], dir).status).toBe(0);
    const r = spawnSync(process.execPath, [...nodeFlags, MAIN, 'fuzz', ...args, '--workers', '2'], { cwd: dir, encoding: 'utf8' });
    expect([0, 1], r.stderr).toContain(r.status);
    expect(existsSync(join(dir, 'tdxfuzz-out', 'campaign.json'))).toBe(true);
    expect(git(['status', '--porcelain', '--untracked-files=all'], dir).stdout).toBe('');
  });
});

describe('--resume from the command line (seed 5, G2 off)', () => {
  it('continues at the next case and saves what one campaign of the same length saves', () => {
    const dir = tempDir();
    const base = ['fuzz', '--seed', '5', '--guard-off', 'G2', '--workers', '2', '--json'];
    const whole = JSON.parse(tdxfuzz([...base, '--cases', '1200', '--out', 'whole'], dir).stdout) as CampaignSummary;
    tdxfuzz([...base, '--cases', '600', '--out', 'split'], dir);
    const r = tdxfuzz(['fuzz', '--resume', '--out', 'split', '--cases', '1200', '--workers', '1', '--json'], dir);
    const s = JSON.parse(r.stdout) as CampaignSummary;
    expect(s.resumed).toBe(true);
    expect(s.cases).toBe(600);
    expect(s.nextIndex).toBe(1200);
    expect(s.seed).toBe(5);
    expect(s.design.guardsOff).toEqual(['G2']);
    expect(whole.uniqueFailures.length).toBeGreaterThan(0);
    for (const sub of ['crashes', 'corpus', 'findings']) expect(filesIn(join(dir, 'split', sub)), sub).toEqual(filesIn(join(dir, 'whole', sub)));
    expect(tdxfuzz(['replay', 'split/crashes', 'split/corpus', 'split/findings'], dir).code).toBe(0);
    // a finished campaign has nothing left to run
    const again = JSON.parse(tdxfuzz(['fuzz', '--resume', '--out', 'split', '--json'], dir).stdout) as CampaignSummary;
    expect(again.cases).toBe(0);
  });

  it('refuses another identity, or a folder without a campaign, with exit 2', () => {
    const dir = tempDir();
    tdxfuzz(['fuzz', '--seed', '5', '--cases', '20', '--workers', '1', '--no-progress'], dir);
    const seed = tdxfuzz(['fuzz', '--resume', '--seed', '6'], dir);
    expect(seed.code).toBe(2);
    expect(seed.stderr).toBe('tdxfuzz: error: --seed 6: the campaign in tdxfuzz-out has seed 5 (drop --seed to resume it)\n');
    const guard = tdxfuzz(['fuzz', '--resume', '--guard-off', 'G1'], dir);
    expect(guard.code).toBe(2);
    expect(guard.stderr).toContain('the design differs from the one of the campaign in tdxfuzz-out');
    // the campaign mutates with --mutate auto (the default): a fixed share is another campaign, auto is this one
    const share = tdxfuzz(['fuzz', '--resume', '--mutate', '0.5'], dir);
    expect(share.code).toBe(2);
    expect(share.stderr).toMatch(/^tdxfuzz: error: --mutate: the campaign in tdxfuzz-out runs auto: /);
    const same = tdxfuzz(['fuzz', '--resume', '--mutate', 'auto', '--cases', '30', '--json'], dir);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ resumed: true, cases: 10, mutation: { share: 0.1, adaptive: true } });
    const none = tdxfuzz(['fuzz', '--resume', '--out', 'elsewhere'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--resume: elsewhere holds no campaign to resume (no campaign.json)');
  });
});

describe('faults of the environment: one message with the path and the cause, exit 4', () => {
  it('a symbolic link loop in the corpus', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tdxfuzz-out', 'corpus'), { recursive: true });
    symlinkSync('.', join(dir, 'tdxfuzz-out', 'corpus', 'loop'));
    const r = tdxfuzz(['fuzz', '--cases', '10', '--workers', '1', '--no-progress'], dir);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^tdxfuzz: error: tdxfuzz-out\/corpus\/loop: symbolic link loop \(leads back to .*\) \(ELOOP\)\n$/);
  });

  it('an output folder that cannot be created', () => {
    const out = '/sys/tdxfuzz-test-out';
    try {
      mkdirSync(out);
      rmSync(out, { recursive: true });
      return; // this machine lets us write there: nothing to test
    } catch {
      /* refused, as expected */
    }
    const r = tdxfuzz(['fuzz', '--cases', '10', '--workers', '1', '--out', out], tempDir());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`^tdxfuzz: error: ${out}: (operation not permitted|permission denied|read-only file system) \\(E[A-Z]+\\)\\n$`));
  });

  it('a full disk mid-campaign: the summary of what was saved before, the path and the cause, and a resumable folder', () => {
    const dir = tempDir();
    expect(tdxfuzz(['fuzz', '--seed', '5', '--guard-off', 'G2', '--cases', '300', '--workers', '1', '--no-progress'], dir).code).toBe(1);
    const stats = join(dir, 'tdxfuzz-out', 'stats.jsonl');
    rmSync(stats);
    symlinkSync('/dev/full', stats); // every append fails with ENOSPC
    const r = tdxfuzz(['fuzz', '--resume', '--cases', '100000', '--workers', '1', '--no-progress'], dir);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/^ran \d+ cases/m);
    expect(r.stdout).toContain('continue this campaign with: tdxfuzz fuzz --out tdxfuzz-out --resume');
    expect(r.stderr).toContain('tdxfuzz: error: tdxfuzz-out/stats.jsonl: no space left on device (ENOSPC); the campaign stopped, and what the summary lists was saved');
    expect(readCampaignState(join(dir, 'tdxfuzz-out', 'campaign.json'))?.progress.next).toBeGreaterThanOrEqual(300);
  });
});

describe('--workers', () => {
  const cpus = availableParallelism();
  it(`above ${4 * cpus} (4 x the CPUs) is refused with exit 2`, () => {
    const r = tdxfuzz(['fuzz', '--workers', String(4 * cpus + 1), '--cases', '10'], tempDir());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`must be an integer from 1 to ${4 * cpus} (4 x the ${cpus} CPUs`);
  });
  it('above the CPUs warns and runs', () => {
    const r = tdxfuzz(['fuzz', '--workers', String(cpus + 1), '--cases', '10', '--no-progress'], tempDir());
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: --workers ${cpus + 1} is more than the ${cpus} CPUs`);
  });
});

describe('one Ctrl-C under npm (the terminal signals npm and tdxfuzz, and npm forwards it too)', () => {
  it('is one interruption: the campaign finishes its work in flight, prints its summary and stops with 130', async () => {
    const out = join(tempDir(), 'out');
    const child = spawn('npm', ['exec', '--offline', '--', 'node', MAIN, 'fuzz', '--duration', '1m', '--workers', '1', '--out', out], {
      cwd: ROOT,
      detached: true, // its own process group, as a shell gives a job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
    // a status line with cases run (the first, at the start, may come while the corpus is still seeding)
    while (!/\] [1-9]\S* cases \|/.test(stderr)) await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, 'SIGINT'); // what the terminal does on Ctrl-C
    const r = await done;
    // the shell sees 128 + SIGINT either way: npm exits with tdxfuzz's 130 or dies of the signal itself
    expect(r.code === 130 || r.signal === 'SIGINT', JSON.stringify(r)).toBe(true);
    expect(stderr).toContain('tdxfuzz: interrupted; finishing the batches in flight');
    expect(stderr).not.toContain('quit without waiting');
    expect(stdout).toContain('(interrupted; every failure found so far was minimised and saved)');
    expect(readCampaignState(join(out, 'campaign.json'))?.progress.cases).toBeGreaterThan(0);
  });
});
