// What an operation returned to its caller (the guest, or userspace for ioctls). The oracle's reference
// model predicts these independently and compares.
import { describeExit, type KvmExit } from './kvm/exit.js';
import type { Trace } from './trace.js';
import { StringSink, type TextSink, writeValue } from './textSink.js';

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
  return writeOutcome(new StringSink(), o).toString();
}

/** describeOutcome(o) mixed into the trace hash piece by piece, without building the text. */
export function mixOutcome(t: Trace, o: OpOutcome): void {
  writeOutcome(t, o);
}

/** The one writer of an outcome's phrase, into a string or the trace hash. */
function writeOutcome<S extends TextSink>(t: S, o: OpOutcome): S {
  if (o.kind === 'hostRead' && o.ret === 0) {
    writeValue(t.text('read '), o.value);
    return t;
  }
  if (isIoctl(o)) return t.text('ret ').dec(o.ret);
  if ('vmm' in o && o.vmm) for (const s of o.vmm) t.text(describeExit(s.exit)).text(' -> VMM convert ').dec(s.ret).text('; ');
  switch (o.result) {
    case 'read':
    case 'written':
      return t.text(o.result).text(' ').dec(o.value);
    case 'exit':
      t.text('exit ').dec(o.errno);
      return 'exit' in o && o.exit ? t.text(' (').text(describeExit(o.exit)).text(')') : t;
    case 'error':
      t.text('error ').text(o.status);
      return 'at' in o && o.at !== undefined ? t.text(' at gfn ').hex(o.at) : t;
    case 'fallback-4k':
      return t.text('fallback-4k (').dec(o.accepted).text(' accepted, ').dec(o.already).text(' already)');
    default:
      return t.text(o.result);
  }
}
