// KVM's locks as owned objects (architecture principle 12). Every acquire and release is a lock event the
// lock primitive itself records (which lock, mode, acquire or release, in which path), so the oracle checks
// lock discipline from the log and never from flags a path sets for it. A path knows which lock it holds
// from its own code, never from the lock's state. With one actor a lock is always free when asked for; the
// waits are where a scheduler interleaves actors without rewriting the paths (principle 9).
import type { Path, System } from '../system.js';

export type LockName = 'mmu_lock' | 'prealloc_split_cache_lock';
/** read/write for the mmu_lock rwlock; a spinlock is always taken exclusively ('write'). */
export type LockMode = 'read' | 'write';

/** kvm->mmu_lock: an rwlock. */
export class RwLock {
  readers = 0;
  writer = false;
}

/** A spinlock: never held across a step that can sleep or wait, so taking it is not a step. */
export class SpinLock {
  held = false;
}

export function* writeLock(sys: System, path: string): Path {
  const l = sys.kvm.mmuLock;
  while (l.writer || l.readers > 0) yield 'mmu_lock:wait';
  l.writer = true;
  sys.trace.lock('mmu_lock', 'write', true, path);
  yield 'mmu_lock:write';
}

export function* writeUnlock(sys: System, path: string): Path {
  sys.kvm.mmuLock.writer = false;
  sys.trace.lock('mmu_lock', 'write', false, path);
  yield 'mmu_unlock:write';
}

export function* readLock(sys: System, path: string): Path {
  const l = sys.kvm.mmuLock;
  while (l.writer) yield 'mmu_lock:wait';
  l.readers++;
  sys.trace.lock('mmu_lock', 'read', true, path);
  yield 'mmu_lock:read';
}

export function* readUnlock(sys: System, path: string): Path {
  sys.kvm.mmuLock.readers--;
  sys.trace.lock('mmu_lock', 'read', false, path);
  yield 'mmu_unlock:read';
}

/** mmu_lock in the mode a path chose: shared (read) or exclusive (write). */
export const mmuLock = (sys: System, shared: boolean, path: string): Path => (shared ? readLock(sys, path) : writeLock(sys, path));
export const mmuUnlock = (sys: System, shared: boolean, path: string): Path => (shared ? readUnlock(sys, path) : writeUnlock(sys, path));

/** spin_lock(&kvm_tdx->prealloc_split_cache_lock) (003:L294-296). */
export function splitCacheLock(sys: System, path: string): void {
  sys.kvm.splitCacheLock.held = true;
  sys.trace.lock('prealloc_split_cache_lock', 'write', true, path);
}

export function splitCacheUnlock(sys: System, path: string): void {
  sys.kvm.splitCacheLock.held = false;
  sys.trace.lock('prealloc_split_cache_lock', 'write', false, path);
}
