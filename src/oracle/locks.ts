// The oracle's own record of who holds which lock, built only from the lock events the model's lock
// primitives emit (architecture principle 12): which lock, mode, acquire or release, path and actor. Lock
// discipline (INV-8, INV-12, INV-13) is judged from this record, never from flags a path sets or from the
// lock objects' fields.
import type { LockMode, LockName } from '../model/kvm/locks.js';

const MAX = 8;

export class LockView {
  /** Read holds of mmu_lock per actor. */
  private readonly mmuReads = new Int32Array(MAX);
  /** The actor holding mmu_lock for write, or -1. */
  private mmuWriterActor = -1;
  private splitCacheOwner = -1;
  private filemapOwner = -1;
  private readonly filemapReads = new Int32Array(MAX);
  /** Per actor, its releases of mmu_lock in either mode: tells whether it dropped the lock between two events. */
  private readonly releases = new Int32Array(MAX);
  /** The path that last took mmu_lock for write, for messages. */
  private writerPath = '';

  /** Does `actor` hold mmu_lock for write? */
  holdsMmuWrite(actor: number): boolean {
    return this.mmuWriterActor === actor;
  }

  holdsSplitCache(actor: number): boolean {
    return this.splitCacheOwner === actor;
  }

  /** How many times `actor` has released mmu_lock. */
  mmuReleasesBy(actor: number): number {
    return this.releases[actor];
  }

  private get readers(): number {
    let n = 0;
    for (let i = 0; i < MAX; i++) n += this.mmuReads[i];
    return n;
  }

  /** Apply one event; returns a message when the event itself is impossible (a lock taken while held, a release of a lock not held). */
  onLock(name: LockName, mode: LockMode, acquire: boolean, path: string, actor: number): string | null {
    if (name === 'filemap_invalidate_lock' && mode === 'read') {
      if (acquire ? this.filemapOwner >= 0 : this.filemapReads[actor] === 0) return `${path} ${acquire ? 'took filemap_invalidate_lock for read while it is held for write' : 'released filemap_invalidate_lock (read) it does not hold'}`;
      this.filemapReads[actor] += acquire ? 1 : -1;
      return null;
    }
    if (name === 'filemap_invalidate_lock' && acquire && this.filemapReads.some((n) => n > 0)) return `${path} took filemap_invalidate_lock for write while it is held for read`;
    if (name === 'prealloc_split_cache_lock' || name === 'filemap_invalidate_lock') {
      const owner = name === 'prealloc_split_cache_lock' ? this.splitCacheOwner : this.filemapOwner;
      if (acquire ? owner >= 0 : owner !== actor) return `${path} ${acquire ? 'took' : 'released'} ${name} ${acquire ? `already held by actor ${owner}` : 'it does not hold'}`;
      if (name === 'prealloc_split_cache_lock') this.splitCacheOwner = acquire ? actor : -1;
      else this.filemapOwner = acquire ? actor : -1;
      return null;
    }
    if (acquire) {
      if (this.mmuWriterActor >= 0 || (mode === 'write' && this.readers > 0)) {
        return `${path} took mmu_lock for ${mode} while it is held${this.mmuWriterActor >= 0 ? ' for write by ' + this.writerPath : ' for read'}`;
      }
      if (mode === 'write') {
        this.mmuWriterActor = actor;
        this.writerPath = path;
      } else this.mmuReads[actor]++;
      return null;
    }
    if (mode === 'write' ? this.mmuWriterActor !== actor : this.mmuReads[actor] === 0) return `${path} released mmu_lock (${mode}) it does not hold`;
    if (mode === 'write') this.mmuWriterActor = -1;
    else this.mmuReads[actor]--;
    this.releases[actor]++;
    return null;
  }
}
