// What an operation returned to its caller (the guest, or userspace for ioctls). The oracle's reference
// model predicts these independently and compares.
import { describeExit, type KvmExit } from './kvm/exit.js';
import type { Trace } from './trace.js';

/**
 * One exit the VMM (the vCPU thread's userspace loop, as the selftests' host loop) handled inside a guest
 * op: the exit KVM_RUN returned and what the conversion of exactly its range returned (0 or -errno).
 */
export interface VmmStep {
  exit: KvmExit;
  ret: number;
}

/**
 * A guest access; `alias` is the GPA alias the guest used (the shared bit it chose from what it believed
 * when the access began), so a check can tell a private access that met a shared gfn from a shared one.
 */
export type TouchOutcome = TouchResult & { alias?: 'private' | 'shared'; vmm?: VmmStep[] };
type TouchResult =
  | { kind: 'touch'; result: 'read'; value: number }
  | { kind: 'touch'; result: 'written'; value: number }
  | { kind: 'touch'; result: 've' } // #VE: private page not yet accepted
  // KVM_RUN returned to userspace (-EFAULT with KVM_EXIT_MEMORY_FAULT in `exit`, -EIO, ...)
  | { kind: 'touch'; result: 'exit'; errno: number; exit?: KvmExit }
  | { kind: 'touch'; result: 'vm-dead' };

/**
 * The guest's TDG.VP.VMCALL<MapGPA>: `mapped` (TDVMCALL_STATUS_SUCCESS after the VMM converted every chunk),
 * `error` (a TDVMCALL status; `at` is the gfn of the chunk the VMM failed, the guest's r11), or the exit
 * KVM_RUN returned to a userspace that does not handle it (KVM_EXIT_HYPERCALL: KVM_RUN returns 0).
 */
export type MapGpaOutcome = (
  | { kind: 'mapGpa'; result: 'mapped' }
  | { kind: 'mapGpa'; result: 'error'; status: string; at?: number }
  | { kind: 'mapGpa'; result: 'exit'; errno: number; exit?: KvmExit }
  | { kind: 'mapGpa'; result: 'vm-dead' }
) & { vmm?: VmmStep[] };

/**
 * A guest ACCEPT. After a 2M ACCEPT fell back to 4K, `pages` (only with other actors about) says what the 4K
 * TDCALL of each page the walk got through answered, 1 accepted or 0 already: each is its own event; an
 * exit or error stopped the walk at the page after them.
 */
export type AcceptOutcome = AcceptResult & { pages?: number[] };
type AcceptResult =
  | { kind: 'accept'; result: 'accepted' | 'already' }
  /** A 2M ACCEPT got TDX_PAGE_SIZE_MISMATCH and the guest accepted the range 4K by 4K [A]. */
  | { kind: 'accept'; result: 'fallback-4k'; accepted: number; already: number }
  | { kind: 'accept'; result: 'error'; status: string }
  | { kind: 'accept'; result: 'exit'; errno: number }
  | { kind: 'accept'; result: 'vm-dead' };

/** An ioctl's return value (0 or a negative errno). */
export interface IoctlOutcome<K extends string> {
  kind: K;
  ret: number;
}
export type IoctlKind =
  | 'convert' | 'punch' | 'initMemRegion' | 'finalize' | 'destroy'
  | 'hostMap' | 'hostUnmap' | 'pin' | 'unpin' | 'memoryFailure' | 'hostAlloc' | 'prefault' | 'deleteSlot'
  | 'hostRead' | 'hostWrite';

/**
 * KVM_TDX_INIT_MEM_REGION: `pages` (only with other actors about) is how many pages it added before it
 * returned, which userspace reads from the struct kvm_tdx_init_mem_region copied back (gpa and nr_pages
 * advanced past them): each page is its own event, and another actor's op may fall between two.
 */
export interface InitMemRegionOutcome extends IoctlOutcome<'initMemRegion'> {
  pages?: number;
}

/** A host load: ret 0 and the token read, or a negative errno (the value stays out of coverage keys). */
export interface HostReadOutcome extends IoctlOutcome<'hostRead'> {
  value?: number;
}

export type OpOutcome = TouchOutcome | AcceptOutcome | MapGpaOutcome | IoctlOutcome<Exclude<IoctlKind, 'hostRead' | 'initMemRegion'>> | InitMemRegionOutcome | HostReadOutcome;

export function isIoctl(o: OpOutcome): o is IoctlOutcome<IoctlKind> {
  return o.kind !== 'touch' && o.kind !== 'accept' && o.kind !== 'mapGpa';
}

/** One short phrase for traces and messages: "read 7", "exit -14", "ret 0". */
export function describeOutcome(o: OpOutcome): string {
  if (o.kind === 'hostRead' && o.ret === 0) return `read ${o.value}`;
  if (isIoctl(o)) return `ret ${o.ret}`;
  const vmm = 'vmm' in o && o.vmm ? o.vmm.map((s) => `${describeExit(s.exit)} -> VMM convert ${s.ret}; `).join('') : '';
  return vmm + describeResult(o);
}

function describeResult(o: TouchOutcome | AcceptOutcome | MapGpaOutcome): string {
  switch (o.result) {
    case 'read':
    case 'written':
      return `${o.result} ${o.value}`;
    case 'exit':
      return 'exit' in o && o.exit ? `exit ${o.errno} (${describeExit(o.exit)})` : `exit ${o.errno}`;
    case 'error':
      return 'at' in o && o.at !== undefined ? `error ${o.status} at gfn 0x${o.at.toString(16)}` : `error ${o.status}`;
    case 'fallback-4k':
      return `fallback-4k (${o.accepted} accepted, ${o.already} already)`;
    default:
      return o.result;
  }
}

/** describeOutcome(o) mixed into the trace hash: the same hash as t.text(describeOutcome(o)), text built only when needed. */
export function mixOutcome(t: Trace, o: OpOutcome): void {
  if (o.kind === 'hostRead' && o.ret === 0) {
    if (typeof o.value === 'number') t.text('read ').dec(o.value);
    else t.text(describeOutcome(o));
  }
  else if (isIoctl(o)) t.text('ret ').dec(o.ret);
  else if ('vmm' in o && o.vmm) t.text(describeOutcome(o));
  else if (o.result === 'read' || o.result === 'written') t.text(o.result).text(' ').dec(o.value);
  else if (o.result === 'exit' || o.result === 'error' || o.result === 'fallback-4k') t.text(describeOutcome(o));
  else t.text(o.result);
}
