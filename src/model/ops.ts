// The operations a case is made of, and how each one drives the system (the op table in vocab/table.ts
// describes each kind's fields, phases, leaves and display). Guest ops run on the vCPU;
// convert and punch are userspace ioctls on the guest_memfd.
import type { FaultSpec } from './faults.js';
import { kvmGmemPunchHole } from './gmem/punch.js';
import { type Guest, guestAccept, guestTouch } from './guest/guest.js';
import { guestMapGpa } from './guest/mapGpa.js';
import { vmmConvert } from './vmm.js';
import type { OpOutcome } from './outcome.js';
import { EBADF } from './errno.js';
import { kvmTdxFinalizeVm, kvmTdxInitMemRegion } from './kvm/tdBuild.js';
import { kvmDestroy } from './kvm/teardown.js';
import { kvmDeleteSlot, kvmPreFaultMemory } from './kvm/slot.js';
import { hostRead, hostWrite } from './gmem/hostAccess.js';
import { hostAlloc, hostMap, hostUnmap, iommuPin, iommuUnpin, memoryFailure } from './gmem/host.js';
import type { Path, System } from './system.js';
import type { Trace } from './trace.js';
import { StringSink, type TextSink, writeValue } from './textSink.js';
import { OPS } from './vocab/table.js';

export type OpKind =
  | 'touch' | 'accept' | 'convert' | 'punch' | 'initMemRegion' | 'finalize' | 'destroy'
  | 'hostMap' | 'hostUnmap' | 'pin' | 'unpin' | 'memoryFailure' | 'hostAlloc' | 'prefault' | 'deleteSlot'
  | 'hostRead' | 'hostWrite' | 'mapGpa';
export { OP_KINDS } from './vocab/table.js';

interface OpBase {
  faults?: FaultSpec[];
  /** Case format 2: the index of the actor that issues the op (absent: the case has one actor). */
  actor?: number;
}
/**
 * Guest access to a gfn: read, or write the token `write`, through the alias `alias` (absent: private or
 * shared as the guest believes). `onExit: 'vmm'`: the vCPU thread's userspace handles the exits (absent:
 * KVM_RUN's exit is the op's outcome).
 */
export interface TouchOp extends OpBase { op: 'touch'; gfn: number; write?: number; alias?: 'private' | 'shared'; onExit?: OnExit }
/** What the vCPU thread's userspace does with an exit a guest op causes: return it as the op's outcome (absent), or handle it as the selftests' host loop does. */
export type OnExit = 'vmm';
/** The guest's MapGPA hypercall of [start, end) to `to`; KVM exits to userspace for it (KVM_HC_MAP_GPA_RANGE). */
export interface MapGpaOp extends OpBase { op: 'mapGpa'; start: number; end: number; to: 'shared' | 'private'; onExit?: OnExit }
/** Guest TDG.MEM.PAGE.ACCEPT of the 4K page or the 2M range containing gfn. */
export interface AcceptOp extends OpBase { op: 'accept'; gfn: number; level: '4K' | '2M' }
/** guest_memfd in-place conversion ioctl of [start, end) (gmem indices = gfns here), after the guest's MapGPA. */
export interface ConvertOp extends OpBase { op: 'convert'; start: number; end: number; to: 'shared' | 'private'; arg?: ConvertArgError }
/**
 * An invalid argument the conversion ioctl is given besides its range (absent: all valid): non-zero flags,
 * an unknown attribute bit, an address or a size that is not page-aligned (kernel-facts.md 3.2).
 */
export type ConvertArgError = 'flags' | 'attributes' | 'unaligned-address' | 'unaligned-size';
/** fallocate(PUNCH_HOLE | KEEP_SIZE) on the guest_memfd over [start, end). */
export interface PunchOp extends OpBase { op: 'punch'; start: number; end: number }
/** KVM_TDX_INIT_MEM_REGION of [start, end) at build time; page i gets contents data + i. */
export interface InitMemRegionOp extends OpBase { op: 'initMemRegion'; start: number; end: number; data: number }
/** KVM_TDX_FINALIZE_VM. */
export interface FinalizeOp extends OpBase { op: 'finalize' }
/** Close the guest_memfd and the VM fd: the whole teardown (seed 000). Later ops find nothing to act on. */
export interface DestroyOp extends OpBase { op: 'destroy' }
/** Host-side operations on the page behind one gfn: userspace mmap fault/unmap, IOMMU pin/unpin, memory failure. */
export interface HostPageOp extends OpBase { op: 'hostMap' | 'hostUnmap' | 'pin' | 'unpin' | 'memoryFailure'; gfn: number }
/** Host userspace reads the page of gfn through its mapping (the guest_memfd mmap, or the slot's own memory with VM attributes). */
export interface HostReadOp extends OpBase { op: 'hostRead'; gfn: number }
/** Host userspace writes the token `data` into the page of gfn through that mapping. */
export interface HostWriteOp extends OpBase { op: 'hostWrite'; gfn: number; data: number }
/** The host kernel allocates `pages` 4K pages for other use (they may be pages guest_memfd just freed). */
export interface HostAllocOp extends OpBase { op: 'hostAlloc'; pages: number }
/** KVM_PRE_FAULT_MEMORY of [start, end). */
export interface PrefaultOp extends OpBase { op: 'prefault'; start: number; end: number }
/** Delete memslot `slot` (KVM_SET_USER_MEMORY_REGION2 with size 0); absent: slot 0, the only one of a one-slot VM. */
export interface DeleteSlotOp extends OpBase { op: 'deleteSlot'; slot?: '0' | '1' }
export type Op = TouchOp | AcceptOp | ConvertOp | PunchOp | InitMemRegionOp | FinalizeOp | DestroyOp | HostPageOp | HostAllocOp | PrefaultOp | DeleteSlotOp | HostReadOp | HostWriteOp | MapGpaOp;

/** Run op; guest ops run on vCPU `vcpu` (the vCPU of the actor that issues them). */
export function* applyOp(sys: System, guest: Guest, op: Op, vcpu = 0): Path<OpOutcome> {
  if (sys.destroyed) {
    // The fds are closed: the vCPU cannot run and every ioctl fails with -EBADF.
    if (op.op === 'touch' || op.op === 'accept' || op.op === 'mapGpa') return { kind: op.op, result: 'vm-dead' };
    return { kind: op.op, ret: -EBADF };
  }
  switch (op.op) {
    case 'touch':
      return yield* guestTouch(sys, guest, op.gfn, op.write, vcpu, op.alias, op.onExit === 'vmm');
    case 'accept':
      return yield* guestAccept(sys, op.gfn, op.level, vcpu);
    case 'convert':
      return { kind: 'convert', ret: yield* vmmConvert(sys, guest, op.start, op.end, op.to === 'private', op.arg) };
    case 'mapGpa':
      return yield* guestMapGpa(sys, guest, op.start, op.end, op.to === 'private', op.onExit === 'vmm', vcpu);
    case 'punch':
      return { kind: 'punch', ret: yield* kvmGmemPunchHole(sys, op.start, op.end) };
    case 'initMemRegion': {
      // with other actors about, the outcome says how far it got (the region struct copied back)
      const overlappable = sys.otherUsers > 0;
      const region = { pages: 0 };
      const ret = yield* kvmTdxInitMemRegion(sys, op.start, op.end, op.data, region);
      return overlappable ? { kind: 'initMemRegion', ret, pages: region.pages } : { kind: 'initMemRegion', ret };
    }
    case 'finalize':
      return { kind: 'finalize', ret: yield* kvmTdxFinalizeVm(sys) };
    case 'destroy':
      return { kind: 'destroy', ret: yield* kvmDestroy(sys) };
    case 'hostMap':
      return { kind: op.op, ret: yield* hostMap(sys, op.gfn) };
    case 'hostUnmap':
      return { kind: op.op, ret: yield* hostUnmap(sys, op.gfn) };
    case 'pin':
      return { kind: op.op, ret: yield* iommuPin(sys, op.gfn) };
    case 'unpin':
      return { kind: op.op, ret: yield* iommuUnpin(sys, op.gfn) };
    case 'memoryFailure':
      return { kind: op.op, ret: yield* memoryFailure(sys, op.gfn) };
    case 'hostAlloc':
      return { kind: op.op, ret: yield* hostAlloc(sys, op.pages, 0x0bad0000) };
    case 'prefault':
      return { kind: op.op, ret: yield* kvmPreFaultMemory(sys, op.start, op.end) };
    case 'deleteSlot':
      return { kind: op.op, ret: yield* kvmDeleteSlot(sys, Number(op.slot ?? '0')) };
    case 'hostRead': {
      const v = yield* hostRead(sys, op.gfn);
      return v < 0 ? { kind: op.op, ret: v } : { kind: op.op, ret: 0, value: v };
    }
    case 'hostWrite':
      return { kind: op.op, ret: yield* hostWrite(sys, op.gfn, op.data) };
  }
}

/** How `show`, traces and reports name an op: its kind and its fields as the op table shows them. */
export function describeOp(op: Op): string {
  return writeOp(new StringSink(), op).toString();
}

/** describeOp(op) mixed into the trace hash piece by piece, without building the text (an op line per op). */
export function mixOp(t: Trace, op: Op): void {
  writeOp(t, op);
}

/** The one writer of an op's description, into a string or the trace hash. */
function writeOp<S extends TextSink>(t: S, op: Op): S {
  const o = op as unknown as Record<string, unknown>;
  t.text(op.op).text('(');
  let args = 0;
  let arrow: unknown;
  for (const f of OPS[op.op].fields) {
    switch (f.kind) {
      case 'gfn':
        if (args++) t.text(', ');
        t.hex(o.gfn as number);
        break;
      case 'range':
        if (args++) t.text(', ');
        t.text('[').hex(o.start as number).text(', ').hex(o.end as number).text(')');
        break;
      case 'enum':
        if (o[f.name] === undefined) break; // an optional enum at its default
        if (f.show === 'arrow') arrow = o[f.name];
        else {
          if (args++) t.text(', ');
          writeValue(t, o[f.name]);
        }
        break;
      case 'token':
        if (o[f.name] === undefined) break;
        if (args++) t.text(', ');
        writeValue(t.text(f.name).text('='), o[f.name]);
        break;
      case 'count':
        if (args++) t.text(', ');
        writeValue(t, o[f.name]);
        break;
    }
  }
  if (arrow !== undefined) writeValue(t.text(' -> '), arrow);
  return t.text(')');
}
