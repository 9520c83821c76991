// What an operation returned to its caller (the guest, or userspace for ioctls). The oracle's reference
// model predicts these independently and compares.

/**
 * A guest access; `alias` is the GPA alias the guest used (the shared bit it chose from what it believed
 * when the access began), so a check can tell a private access that met a shared gfn from a shared one.
 */
export type TouchOutcome = TouchResult & { alias?: 'private' | 'shared' };
type TouchResult =
  | { kind: 'touch'; result: 'read'; value: number }
  | { kind: 'touch'; result: 'written'; value: number }
  | { kind: 'touch'; result: 've' } // #VE: private page not yet accepted
  | { kind: 'touch'; result: 'exit'; errno: number } // KVM_RUN returned to userspace (memory-fault exit, -EIO, ...)
  | { kind: 'touch'; result: 'vm-dead' };

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

/** A host load: ret 0 and the token read, or a negative errno (the value stays out of coverage keys). */
export interface HostReadOutcome extends IoctlOutcome<'hostRead'> {
  value?: number;
}

export type OpOutcome = TouchOutcome | AcceptOutcome | IoctlOutcome<Exclude<IoctlKind, 'hostRead'>> | HostReadOutcome;

export function isIoctl(o: OpOutcome): o is IoctlOutcome<IoctlKind> {
  return o.kind !== 'touch' && o.kind !== 'accept';
}

/** One short phrase for traces and messages: "read 7", "exit -14", "ret 0". */
export function describeOutcome(o: OpOutcome): string {
  if (o.kind === 'hostRead' && o.ret === 0) return `read ${o.value}`;
  if (isIoctl(o)) return `ret ${o.ret}`;
  switch (o.result) {
    case 'read':
    case 'written':
      return `${o.result} ${o.value}`;
    case 'exit':
      return `exit ${o.errno}`;
    case 'error':
      return `error ${o.status}`;
    case 'fallback-4k':
      return `fallback-4k (${o.accepted} accepted, ${o.already} already)`;
    default:
      return o.result;
  }
}
