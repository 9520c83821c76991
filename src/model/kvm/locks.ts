// mmu_lock acquire/release as steps. With one actor the lock is always free; the waits are where a later
// scheduler interleaves actors without rewriting the paths (principle 9).
import type { Path, System } from '../system.js';

export function* writeLock(sys: System): Path {
  const l = sys.kvm.mmuLock;
  while (l.writer || l.readers > 0) yield 'mmu_lock:wait';
  l.writer = true;
  yield 'mmu_lock:write';
}

export function* writeUnlock(sys: System): Path {
  sys.kvm.mmuLock.writer = false;
  sys.kvm.mmuReleases++;
  yield 'mmu_unlock:write';
}

export function* readLock(sys: System): Path {
  const l = sys.kvm.mmuLock;
  while (l.writer) yield 'mmu_lock:wait';
  l.readers++;
  yield 'mmu_lock:read';
}

export function* readUnlock(sys: System): Path {
  sys.kvm.mmuLock.readers--;
  sys.kvm.mmuReleases++;
  yield 'mmu_unlock:read';
}
