// What the model did, for the trace hash (always) and for `tdxfuzz show` (only when lines are kept).
// The hash is FNV-1a style over integers and short strings, so it is identical on every machine.
import { LEAF_INDEX, LEVEL_NAME, type Leaf, type Level } from './tdx/leaf.js';
import { formatStatus, type SeamStatus } from './tdx/status.js';
import type { LockMode, LockName } from './kvm/locks.js';

export interface TraceLine {
  op: number;
  /** The actor whose step wrote the line (0 with one actor). */
  actor: number;
  depth: number;
  text: string;
}

export interface TraceObserver {
  seamcall(leaf: Leaf, gfn: number, level: Level | -1, pfn: number, st: SeamStatus, forced: boolean): void;
  /** KVM invoked an x86 op on the mirror root (set/remove/split external SPTE) for gfn at level. */
  hook(name: KvmHook, gfn: number, level: number): void;
  /** A lock primitive was taken or released, by the path named, running in the actor given. */
  lock(name: LockName, mode: LockMode, acquire: boolean, path: string, actor: number): void;
}

export type KvmHook =
  | 'set_external_spte'
  | 'remove_external_spte'
  | 'split_external_spte'
  | 'reclaim_external_sp'
  /** A page entered the per-VM split cache (gfn = pfn). */
  | 'split_cache_enqueue'
  /** Pages are about to leave the per-VM split cache (gfn = how many). */
  | 'split_cache_dequeue'
  /** The per-VM split cache is freed with the VM (gfn = how many pages it held). */
  | 'split_cache_free'
  /** Step 2.1 of a split: need_topup_external_split_cache() checked the cache (gfn = pages it found short). */
  | 'split_cache_check'
  /** Host userspace read or wrote a page through its mapping (gfn = pfn; level 1 for a write, 0 for a read). */
  | 'host_access'
  /** The guest reads or writes a page through the shared EPT (gfn = pfn; level 1 for a write, 0 for a read). */
  | 'guest_shared_access'
  /** An IOMMU pin took (iommu_pin) or dropped (iommu_unpin) its reference on a page (gfn = pfn, level = the gfn pinned through). */
  | 'iommu_pin'
  | 'iommu_unpin'
  /** The TDX split hook refused a split under the shared mmu_lock (V3-09, WARN_ON_ONCE + -EOPNOTSUPP). */
  | 'split_external_spte_refused';

/** Scratch for the digits of one number (2^53 has 16 hex and 16 decimal digits). */
const DIGITS = new Uint8Array(24);

export class Trace {
  h = 0x811c9dc5;
  op = -1;
  /** The actor being stepped (set by the scheduler with `op`). */
  actor = 0;
  depth = 0;
  /** While > 0, successful SEAMCALLs are hashed but not listed (a 512-call WBINVD loop is one line). */
  quiet = 0;
  readonly lines: TraceLine[] | null;
  /** The oracle's window on calls as they are made (SEAMCALLs, TDCALLs and KVM's external-SPTE hooks). */
  observer: TraceObserver | null = null;
  /** (leaf, status code) pairs seen, as LEAF_INDEX * 2^32 + code: a coverage signal. */
  readonly calls = new Set<number>();

  /** The text of the event being written piece by piece (only when lines are kept). */
  private pending = '';

  constructor(keepLines: boolean) {
    this.lines = keepLines ? [] : null;
  }

  mixInt(x: number): void {
    let h = this.h ^ (x & 0xffff);
    h = Math.imul(h, 0x01000193);
    h ^= x >>> 16;
    this.h = Math.imul(h, 0x01000193) >>> 0;
  }

  mixStr(s: string): void {
    let h = this.h;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.h = h >>> 0;
  }

  /**
   * An event written piece by piece and closed with endEvent(): text(a).dec(n).hex(p).endEvent() hashes and
   * shows as event(`${a}${n}0x${p.toString(16)}`) does, but builds the text only when lines are kept (hot
   * event sites; a TextSink, so describeOp and describeOutcome write into it too).
   */
  text(s: string): this {
    this.mixStr(s);
    if (this.lines) this.pending += s;
    return this;
  }

  /** `${n}`: a safe integer's decimal digits, mixed without building the string. */
  dec(n: number): this {
    if (!Number.isSafeInteger(n) || Object.is(n, -0)) return this.text(String(n));
    if (this.lines) this.pending += String(n);
    return this.digits(n, 10, '');
  }

  /** `0x${n.toString(16)}` (System.hex), mixed without building the string. */
  hex(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0 || Object.is(n, -0)) return this.text(`0x${n.toString(16)}`); // 0x-5 as toString writes it
    if (this.lines) this.pending += `0x${n.toString(16)}`;
    return this.digits(n, 16, '0x');
  }

  /** Ends the event written with text/dec/hex: its line, when lines are kept. */
  endEvent(): void {
    if (!this.lines) return;
    this.push(this.pending);
    this.pending = '';
  }

  private digits(n: number, base: number, prefix: string): this {
    let h = this.h;
    if (n < 0) {
      h = Math.imul(h ^ 0x2d, 0x01000193); // '-' (decimal only: hex() leaves negatives to toString)
      n = -n;
    }
    for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ prefix.charCodeAt(i), 0x01000193);
    let k = 0;
    do {
      const d = n % base;
      DIGITS[k++] = d < 10 ? 0x30 + d : 0x57 + d; // 0-9, a-f
      n = (n - d) / base;
    } while (n > 0);
    while (k > 0) h = Math.imul(h ^ DIGITS[--k], 0x01000193);
    this.h = h >>> 0;
    return this;
  }

  seamcall(leaf: Leaf, gfn: number, level: Level | -1, pfn: number, st: SeamStatus, forced: boolean): void {
    this.calls.add(LEAF_INDEX[leaf] * 0x100000000 + st.code);
    if (this.observer) this.observer.seamcall(leaf, gfn, level, pfn, st, forced);
    this.mixInt(LEAF_INDEX[leaf] + 1);
    this.mixInt(gfn);
    this.mixInt(level + 1);
    this.mixInt(st.code);
    this.mixInt(st.detail);
    if (this.lines && (this.quiet === 0 || forced || st.code !== 0 || st.detail !== 0)) {
      const args = [gfn >= 0 ? `gfn=0x${gfn.toString(16)}` : '', level >= 0 ? `level=${LEVEL_NAME[level as Level]}` : '', pfn >= 0 ? `pfn=0x${pfn.toString(16)}` : '']
        .filter(Boolean)
        .join(' ');
      this.push(`${leaf}(${args}) = ${formatStatus(st)}${forced ? '   <- injected' : ''}`);
    }
  }

  hook(name: KvmHook, gfn: number, level: number): void {
    if (this.observer) this.observer.hook(name, gfn, level);
  }

  /** Lock events go to the oracle only: they are not part of the hash. */
  lock(name: LockName, mode: LockMode, acquire: boolean, path: string, actor: number): void {
    if (this.observer) this.observer.lock(name, mode, acquire, path, actor);
    if (this.lines) this.push(`${acquire ? 'lock' : 'unlock'} ${name}${name === 'mmu_lock' ? ` (${mode})` : ''} in ${path}`);
  }

  /** A decision or event worth showing and hashing (KVM paths, gmem steps, bugs, warnings). */
  event(text: string): void {
    this.mixStr(text);
    if (this.lines) this.push(text);
  }

  /** Text shown to a reader only; not part of the hash (details that repeat hashed facts). */
  note(text: string): void {
    if (this.lines) this.push(text);
  }

  private push(text: string): void {
    this.lines!.push({ op: this.op, actor: this.actor, depth: this.depth, text });
  }
}
