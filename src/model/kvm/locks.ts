// KVM's locks as owned objects (architecture principle 12). Every acquire and release is a lock event the
// lock primitive itself records (which lock, mode, acquire or release, in which path), so the oracle checks
// lock discipline from the log and never from flags a path sets for it. A path knows which lock it holds
// from its own code, never from the lock's state. Each lock records the actor that holds it; an
// actor that finds it taken waits, step by step, which is where the scheduler interleaves actors (principle 9).
import type { Path, System } from '../system.js';

export type LockName = 'mmu_lock' | 'prealloc_split_cache_lock' | 'filemap_invalidate_lock';
/** read/write for the mmu_lock rwlock; a spinlock is always taken exclusively ('write'). */
export type LockMode = 'read' | 'write';

/** kvm->mmu_lock: an rwlock whose holders are actors. */
export class RwLock {
  /** Actors holding it for read (an actor appears once per read hold). */
  readonly readerActors: number[] = [];
  /** The actor holding it for write, or -1. */
  writer = -1;
  get readers(): number {
    return this.readerActors.length;
  }
}

/** A spinlock: never held across a step that can sleep or wait, so taking it is not a step. */
export class SpinLock {
  /** The actor holding it, or -1. */
  owner = -1;
}

/**
 * Take rwlock `l` (named `name`) for write. An actor that finds it taken yields a `:wait` step: the scheduler
 * treats it as blocked until it can go on. The step that took it is named `taken`.
 */
function* takeForWrite(sys: System, l: RwLock, name: LockName, path: string, taken: string): Path {
  while (l.writer >= 0 || l.readers > 0) yield `${name}:wait`;
  l.writer = sys.actor;
  sys.trace.lock(name, 'write', true, path, sys.actor);
  yield taken;
}

function releaseWrite(sys: System, l: RwLock, name: LockName, path: string): void {
  l.writer = -1;
  sys.trace.lock(name, 'write', false, path, sys.actor);
}

/** The actor leaves the readers of `l` (one hold). */
function dropReader(sys: System, l: RwLock): void {
  const i = l.readerActors.lastIndexOf(sys.actor);
  if (i >= 0) l.readerActors.splice(i, 1);
}

export const writeLock = (sys: System, path: string): Path => takeForWrite(sys, sys.kvm.mmuLock, 'mmu_lock', path, 'mmu_lock:write');

export function* writeUnlock(sys: System, path: string): Path {
  releaseWrite(sys, sys.kvm.mmuLock, 'mmu_lock', path);
  yield 'mmu_unlock:write';
}

export function* readLock(sys: System, path: string): Path {
  const l = sys.kvm.mmuLock;
  while (l.writer >= 0) yield 'mmu_lock:wait';
  l.readerActors.push(sys.actor);
  sys.trace.lock('mmu_lock', 'read', true, path, sys.actor);
  yield 'mmu_lock:read';
}

export function* readUnlock(sys: System, path: string): Path {
  dropReader(sys, sys.kvm.mmuLock);
  sys.trace.lock('mmu_lock', 'read', false, path, sys.actor);
  yield 'mmu_unlock:read';
}

/** mmu_lock in the mode a path chose: shared (read) or exclusive (write). */
export const mmuLock = (sys: System, shared: boolean, path: string): Path => (shared ? readLock(sys, path) : writeLock(sys, path));
export const mmuUnlock = (sys: System, shared: boolean, path: string): Path => (shared ? readUnlock(sys, path) : writeUnlock(sys, path));

/** spin_lock(&kvm_tdx->prealloc_split_cache_lock) (003:L294-296). */
export function splitCacheLock(sys: System, path: string): void {
  sys.kvm.splitCacheLock.owner = sys.actor;
  sys.trace.lock('prealloc_split_cache_lock', 'write', true, path, sys.actor);
}

export function splitCacheUnlock(sys: System, path: string): void {
  sys.kvm.splitCacheLock.owner = -1;
  sys.trace.lock('prealloc_split_cache_lock', 'write', false, path, sys.actor);
}

/**
 * filemap_invalidate_lock(inode->i_mapping): a sleeping rw_semaphore taken for write by conversion and punch
 * hole (kernel-facts.md 3.1), and shared by guest_memfd's folio lookups (filemapInvalidateLockShared).
 */
export const filemapInvalidateLock = (sys: System, path: string): Path =>
  takeForWrite(sys, sys.gmem.invalidateLock, 'filemap_invalidate_lock', path, 'filemap_invalidate_lock');

export function* filemapInvalidateUnlock(sys: System, path: string): Path {
  releaseWrite(sys, sys.gmem.invalidateLock, 'filemap_invalidate_lock', path);
  yield 'filemap_invalidate_unlock';
}

/**
 * synchronize_srcu(&kvm->srcu): wait until every vCPU that was inside a read-side section (handling a fault
 * with the memslots it looked up) has left it. A read-side section never waits, so entering it is not a step.
 */
export function* synchronizeSrcu(sys: System): Path {
  const k = sys.kvm;
  const gen = ++k.srcuGen;
  while (k.srcuReaders.some((g) => g < gen)) yield 'synchronize_srcu:wait';
}

/** srcu_read_lock(&kvm->srcu): returns the grace period to hand to srcuReadUnlock. */
export function srcuReadLock(sys: System): number {
  sys.kvm.srcuReaders.push(sys.kvm.srcuGen);
  return sys.kvm.srcuGen;
}

export function srcuReadUnlock(sys: System, gen: number): void {
  const r = sys.kvm.srcuReaders;
  const i = r.indexOf(gen);
  if (i >= 0) r.splice(i, 1);
}

/**
 * filemap_invalidate_lock_shared() around guest_memfd's folio lookup in the fault path: "other folio accesses
 * will be locked out by the filemap invalidate lock" while a conversion or punch holds it (003:L661). Taking a
 * free lock and releasing it are not steps of their own (nothing else can happen in between that matters).
 */
export function* filemapInvalidateLockShared(sys: System, path: string): Path {
  const l = sys.gmem.invalidateLock;
  while (l.writer >= 0) yield 'filemap_invalidate_lock:wait';
  l.readerActors.push(sys.actor);
  sys.trace.lock('filemap_invalidate_lock', 'read', true, path, sys.actor);
}

export function filemapInvalidateUnlockShared(sys: System, path: string): void {
  dropReader(sys, sys.gmem.invalidateLock);
  sys.trace.lock('filemap_invalidate_lock', 'read', false, path, sys.actor);
}
