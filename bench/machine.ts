// What the figures were measured on: the machine (cores, CPU, memory, Node, load) and the commit (HEAD and
// whether the tree had changes), printed at the top of the benchmark's Markdown and JSON.
import { spawnSync } from 'node:child_process';
import { arch, availableParallelism, cpus, loadavg, platform, totalmem } from 'node:os';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  totalMemGb: number;
  platform: string;
  /** 1-minute load average when the bench started: figures from a machine others are using are noisier. */
  loadAvg1: number;
}

export interface Commit {
  head: string | null;
  dirty: boolean | null;
  /** Why head is null (not a git checkout, git missing). */
  error?: string;
}

export function machineInfo(): Machine {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown cpu',
    node: process.version,
    totalMemGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${platform()} ${arch()}`,
    loadAvg1: Math.round(loadavg()[0] * 100) / 100,
  };
}

function git(root: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim() || (r.stderr ?? '').trim() || String(r.error ?? '') };
}

export function commitInfo(root: string): Commit {
  const head = git(root, ['rev-parse', 'HEAD']);
  if (!head.ok) return { head: null, dirty: null, error: head.out };
  const status = git(root, ['status', '--porcelain', '--untracked-files=no']);
  return { head: head.out, dirty: status.ok ? status.out.length > 0 : null };
}

export function describeMachine(m: Machine, c: Commit): string {
  const commit = c.head ? `commit ${c.head}${c.dirty ? ' (dirty: uncommitted changes to tracked files)' : c.dirty === false ? ' (clean)' : ''}` : `commit unknown (${c.error})`;
  return `Machine: ${m.cores} cores, ${m.cpuModel}, ${m.totalMemGb} GB, ${m.platform}, Node ${m.node}, load average ${m.loadAvg1} at start. ${commit}.`;
}
