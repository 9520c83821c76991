// The VMM: the userspace loop of a vCPU thread, as the selftests' host loop is (tdx_upm_test.c,
// tdx_vm_huge_page.c): when KVM_RUN returns KVM_EXIT_MEMORY_FAULT or KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE)
// it converts exactly the reported range, with the conversion ioctl the VM uses (the guest_memfd ioctl in
// place, KVM_SET_MEMORY_ATTRIBUTES with vmMemoryAttributes), then calls KVM_RUN again. The `convert` op is
// the same ioctl issued by userspace on its own.
import { kvmGmemConvert } from './gmem/convert.js';
import type { Guest } from './guest/guest.js';
import { exitRange, type KvmExit } from './kvm/exit.js';
import { kvmVmSetMemAttributes } from './kvm/memAttributes.js';
import type { ConvertArgError } from './ops.js';
import type { Path, System } from './system.js';

/**
 * The conversion ioctl of [start, end): 0 or -errno. On success the guest now reaches the range through the
 * new alias (the guest asked for it: MapGPA, or the access the VMM serves).
 */
export function* vmmConvert(sys: System, guest: Guest, start: number, end: number, toPrivate: boolean, arg?: ConvertArgError): Path<number> {
  const ret = sys.design.vmMemoryAttributes
    ? yield* kvmVmSetMemAttributes(sys, start, end, toPrivate, arg)
    : yield* kvmGmemConvert(sys, start, end, toPrivate, arg);
  // the guest learns the alias each gfn has now: a conversion of another actor that updated the attributes
  // after this one (its path returns a few steps after its update) keeps its own, so a late return cannot
  // undo it (the gfns still with the new attribute are this conversion's)
  if (ret === 0) for (let g = start; g < end; g++) if (sys.isPrivate(g) === toPrivate) guest.believesPrivate[g] = toPrivate ? 1 : 0;
  return ret;
}

/** Handle one exit: convert exactly the range it reports (the selftests' host loop). */
export function* vmmHandleExit(sys: System, guest: Guest, exit: KvmExit): Path<number> {
  const { start, end, toPrivate } = exitRange(exit);
  sys.trace.event(`VMM: convert [${sys.hex(start)}, ${sys.hex(end)}) -> ${toPrivate ? 'private' : 'shared'} for the exit`);
  const ret = yield* vmmConvert(sys, guest, start, end, toPrivate);
  sys.trace.event(`VMM: conversion returned ${ret}${ret === 0 ? ', KVM_RUN again' : ', the VMM stops'}`);
  if (ret === 0) {
    // progress: the next KVM_RUN starts afresh, so the liveness watchdog counts its EPT violations anew
    sys.counters.eptViolations = 0;
    sys.counters.pageFaultRetries = 0;
    yield 'vmm-reenter'; // the ioctl returned; the thread calls KVM_RUN again (others run meanwhile)
  }
  return ret;
}
