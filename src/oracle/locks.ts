// The oracle's own record of who holds which lock, built only from the lock events the model's lock
// primitives emit (architecture principle 12). Lock discipline (INV-8, INV-12, INV-13) is judged from this
// record, never from flags a path sets or from the lock objects' fields.
import type { LockMode, LockName } from '../model/kvm/locks.js';

export class LockView {
  mmuReaders = 0;
  mmuWriter = false;
  splitCacheHeld = false;
  /** Releases of mmu_lock in either mode: tells whether the lock was dropped between two events. */
  mmuReleases = 0;
  /** The path that last took mmu_lock for write, for messages. */
  writerPath = '';

  /** Apply one event; returns a message when the event itself is impossible (a release of a lock not held). */
  onLock(name: LockName, mode: LockMode, acquire: boolean, path: string): string | null {
    if (name === 'prealloc_split_cache_lock') {
      if (acquire === this.splitCacheHeld) return `${path} ${acquire ? 'took' : 'released'} prealloc_split_cache_lock ${acquire ? 'already held' : 'not held'}`;
      this.splitCacheHeld = acquire;
      return null;
    }
    if (acquire) {
      if (this.mmuWriter || (mode === 'write' && this.mmuReaders > 0)) return `${path} took mmu_lock for ${mode} while it is held${this.mmuWriter ? ' for write by ' + this.writerPath : ' for read'}`;
      if (mode === 'write') {
        this.mmuWriter = true;
        this.writerPath = path;
      } else this.mmuReaders++;
      return null;
    }
    if (mode === 'write' ? !this.mmuWriter : this.mmuReaders === 0) return `${path} released mmu_lock (${mode}) it does not hold`;
    if (mode === 'write') this.mmuWriter = false;
    else this.mmuReaders--;
    this.mmuReleases++;
    return null;
  }
}
