// KVM_SET_MEMORY_ATTRIBUTES with vm_memory_attributes=Y (kernel-facts.md 3.2, V3-15): the attribute lives in
// the VM, guest_memfd only backs private memory, and shared memory is ordinary userspace memory. The
// pre-set hook splits cross-boundary leaves (private->shared) and unmaps; a split failure fails the ioctl
// with the attributes unchanged; the post-set hook recomputes MIXED.
import { EINVAL, EIO, ENOMEM } from '../errno.js';
import { invalidateBegin, invalidateEnd, invalidateRangeAdd, recomputeMixed } from '../gmem/convert.js';
import type { ConvertArgError } from '../ops.js';
import type { Path, System } from '../system.js';
import { writeLock, writeUnlock } from './locks.js';
import { splitCrossBoundaryLeafs, zapPrivateLeafs, zapSharedRange } from './tdpMmu.js';

/**
 * The argument checks both conversion ioctls make before anything else (kernel-facts.md 3.2): non-zero
 * flags, unknown attribute bits, size 0 (start = end), an address or size not page-aligned, a range outside
 * the memslot: -EINVAL and nothing touched. The guest_memfd ioctl checks the same fields of its own struct [A].
 */
export function checkConvertArgs(sys: System, start: number, end: number, arg: ConvertArgError | undefined): number {
  if (arg !== undefined) {
    sys.trace.event(`conversion ioctl: invalid argument (${arg}) -> -EINVAL`);
    return -EINVAL;
  }
  if (start >= end || sys.index(start) < 0 || sys.index(end - 1) < 0) return -EINVAL;
  return 0;
}

export function* kvmVmSetMemAttributes(sys: System, start: number, end: number, toPrivate: boolean, arg?: ConvertArgError, onStored?: () => void): Path<number> {
  if (sys.kvm.bugged) return -EIO; // a VM ioctl on a dead VM
  if (checkConvertArgs(sys, start, end, arg) < 0) return -EINVAL;
  const to = toPrivate ? 1 : 0;
  const attrs = sys.kvm.attrs;
  let already = true;
  for (let g = start; g < end && already; g++) already = attrs[g] === to;
  if (already) {
    onStored?.();
    return 0; // "no-op if the whole range already has the attributes"
  }
  if (sys.inj.siteFails('ALLOC')) return -ENOMEM; // xa_reserve()
  yield* writeLock(sys, 'kvm_vm_set_mem_attributes');
  // kvm_handle_gfn_range(pre_set_range) and (post_set_range): kvm_mmu_invalidate_begin/end around the
  // update, so a fault that looked at the old attributes retries
  invalidateBegin(sys, start, end);
  // kvm_handle_gfn_range(pre_set_range): the pre-set handler runs per memslot the range overlaps, in gfn
  // order, on the slot's part of the range; its first error ends the walk and the ioctl (V3-15).
  const parts = sys.slotRanges(start, end);
  for (let n = 0; n < parts.length; n++) {
    const part = parts[n];
    sys.kvm.rangeSlot.set(sys.actor, part.slot);
    const ret = yield* preSetMemoryAttributes(sys, part.slot, part.start, part.end, toPrivate);
    sys.kvm.rangeSlot.delete(sys.actor);
    if (ret < 0) {
      invalidateEnd(sys);
      yield* writeUnlock(sys, 'kvm_vm_set_mem_attributes');
      // "some previous GFN ranges may have been successfully split and zapped, even though their page
      // attributes remain unchanged due to the splitting failure" (kernel-facts.md 3.2, V3-15)
      if (n > 0) sys.trace.event(`KVM_SET_MEMORY_ATTRIBUTES: pre-set failed in memslot ${part.slot} (${ret}); earlier memslots of the range stay split and zapped`);
      return ret;
    }
  }
  attrs.fill(to, start, end);
  recomputeMixed(sys, start, end); // post-set hook
  onStored?.();
  sys.trace.event(`KVM_SET_MEMORY_ATTRIBUTES [${sys.hex(start)}, ${sys.hex(end)}) -> ${toPrivate ? 'PRIVATE' : 'SHARED'}`);
  invalidateEnd(sys);
  yield* writeUnlock(sys, 'kvm_vm_set_mem_attributes');
  return 0;
}

/**
 * kvm_arch_pre_set_memory_attributes() on one memslot's part [start, end) of the range: the head and tail 2M
 * ranges join the invalidation, then private->shared splits the leaves crossing its ends ("ret =
 * kvm_split_cross_boundary_leafs(kvm, range, false); if (ret) return ret;", V3-15) and unmaps the old private
 * mappings; shared->private unmaps the shared ones.
 */
function* preSetMemoryAttributes(sys: System, slot: number, start: number, end: number, toPrivate: boolean): Path<number> {
  invalidateHugepageEnds(sys, slot, start, end);
  if (toPrivate) {
    zapSharedRange(sys, start, end);
    return 0;
  }
  if (sys.guard('G2')) {
    const ret = yield* splitCrossBoundaryLeafs(sys, start, end, false);
    if (ret < 0) return ret;
  }
  yield* zapPrivateLeafs(sys, start, end);
  return 0;
}

/**
 * The head and tail 2M ranges of [start, end) that lie wholly in the memslot and are not MIXED join the
 * invalidation, so a fault on a gfn whose attribute is not changing cannot map a 2M leaf over the range
 * meanwhile ("add each corresponding hugepage range to the ongoing invalidation, e.g. to prevent KVM from
 * creating a hugepage in response to a fault for a gfn whose attributes aren't changing", upstream commit
 * 9129633d568e "KVM: x86/mmu: Prevent installing hugepages when mem attributes are changing").
 */
function invalidateHugepageEnds(sys: System, slot: number, start: number, end: number): void {
  const s = sys.slots[slot];
  const n = sys.ptrs;
  const head = start - (start % n);
  const tail = (end - 1) - ((end - 1) % n);
  const fits = (b: number): boolean => b >= s.baseGfn && b + n <= s.baseGfn + s.npages && !sys.kvm.lpage.mixed[sys.region(b)];
  if ((head !== start || head + n > end) && fits(head)) invalidateRangeAdd(sys, head, head + n);
  if (tail !== head && tail + n > end && fits(tail)) invalidateRangeAdd(sys, tail, tail + n);
}
