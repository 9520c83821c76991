// KVM_PRE_FAULT_MEMORY and memslot deletion (model-spec.md 3.3).
import { EFAULT, EINVAL, EIO, EOPNOTSUPP } from '../errno.js';
import type { Path, System } from '../system.js';
import { kvmTdpPageFault } from './fault.js';
import { srcuReadLock, srcuReadUnlock, synchronizeSrcu, writeLock, writeUnlock } from './locks.js';
import { Spte } from './mirror.js';
import { RET_PF_RETRY, zapPrivateLeafs, zapSharedRange } from './tdpMmu.js';
import { reclaimExternalSp } from './teardown.js';

/**
 * KVM_PRE_FAULT_MEMORY over [start, end): map each gfn as a fault without ACCEPT information would, which is
 * how a pre-faulted range reaches the guest's ACCEPT at 2M (003:L129-131). Only after finalize.
 */
export function* kvmPreFaultMemory(sys: System, start: number, end: number): Path<number> {
  const srcu = srcuReadLock(sys); // a vCPU ioctl: kvm_vcpu_srcu_read_lock()
  try {
    return yield* preFault(sys, start, end);
  } finally {
    srcuReadUnlock(sys, srcu);
  }
}

function* preFault(sys: System, start: number, end: number): Path<number> {
  if (sys.kvm.bugged) return -EIO;
  if (sys.kvm.tdState !== 'RUNNABLE') return -EOPNOTSUPP; // pre_fault_allowed is set by finalize
  if (start >= end || sys.index(start) < 0 || sys.index(end - 1) < 0) return -EINVAL;
  for (let g = start; g < end; g++) {
    let ret: number;
    do {
      ret = yield* kvmTdpPageFault(sys, g, sys.isPrivate(g), -1, true);
      if (sys.kvm.bugged) ret = -EIO;
      if (ret === RET_PF_RETRY) yield 'pre-fault-retry:retry'; // kvm_tdp_map_page() loops with cond_resched()
    } while (ret === RET_PF_RETRY);
    if (ret < 0) return ret;
  }
  return 0;
}

/**
 * Delete memslot `id`: zap its guest leaves while the TD runs, never its page tables (004:L117-120). With
 * slotDeleteZapsTables the mirror tables go too, which reclaim_external_sp must refuse while the HKID is
 * assigned (G11, BUG-11). A slot id the VM never had is refused with -EINVAL, as __kvm_set_memory_region()
 * refuses to delete a slot with no pages.
 */
export function* kvmDeleteSlot(sys: System, id = 0): Path<number> {
  const k = sys.kvm;
  if (k.bugged) return -EIO; // a VM ioctl on a dead VM
  if (id >= sys.slots.length) return -EINVAL; // "if (!old || !old->npages) return -EINVAL;"
  if (k.slotDeleted[id] || k.slotInvalid[id]) return -EFAULT;
  const slot = sys.slots[id];
  const start = slot.baseGfn;
  const end = slot.baseGfn + slot.npages;
  // kvm_set_memslot(DELETE): mark the slot invalid, wait for the vCPUs that may still use it
  // (synchronize_srcu), then zap it (kvm_arch_flush_shadow_memslot)
  k.slotInvalid[id] = true;
  yield 'memslot-invalid';
  yield* synchronizeSrcu(sys);
  yield* writeLock(sys, 'kvm_set_memory_region(delete)');
  yield* zapPrivateLeafs(sys, start, end);
  zapSharedRange(sys, start, end);
  if (sys.design.slotDeleteZapsTables) {
    for (let r = sys.region(start); r <= sys.region(end - 1); r++) {
      if (k.mirror.m2m[r] !== Spte.NONLEAF) continue;
      // a 4K table another live slot still maps through stays (its range is shared by both slots)
      if (sys.slots.some((o) => o.id !== id && !k.slotDeleted[o.id] && o.baseGfn < (r + 1) * sys.ptrs && o.baseGfn + o.npages > r * sys.ptrs)) continue;
      k.mirror.m2m[r] = Spte.NONE;
      yield* reclaimExternalSp(sys, r);
    }
  }
  k.slotDeleted[id] = true;
  sys.touchRange(0, sys.gfns);
  sys.trace.event(sys.slots.length > 1 ? `memslot ${id} deleted` : 'memslot deleted');
  yield* writeUnlock(sys, 'kvm_set_memory_region(delete)');
  return 0;
}
