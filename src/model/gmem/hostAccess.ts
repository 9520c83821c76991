// Host userspace reading and writing guest memory (issue 11; the selftests' host-side checks). With
// guest_memfd in-place conversion the host reaches a gfn only through the guest_memfd mmap, which faults in
// shared pages only: a private page is never mapped to userspace ("guest_memfd will not make the ranges
// available to host userspace", 003:L761), so the access gets SIGBUS, modelled as -EFAULT. With
// kvm.vm_memory_attributes the host's view of every gfn is the slot's ordinary userspace memory, which also
// backs the guest's shared accesses; private data lives in guest_memfd and never shows there
// (tdx_upm_test.c: "Host's view of private memory should be backed by regular memory").
import { EINVAL, ENOMEM } from '../errno.js';
import { Owner } from '../host/phys.js';
import type { Path, System } from '../system.js';
import { sharedPageFor } from './host.js';
import { filemapInvalidateLockShared, filemapInvalidateUnlockShared } from '../kvm/locks.js';

/** The pfn the host's mapping of gfn reaches (faulting it in), or a negative errno. */
function* hostPfn(sys: System, gfn: number): Path<number> {
  if (!sys.design.vmMemoryAttributes) {
    // the mmap fault looks the folio up under filemap_invalidate_lock_shared (003:L661): a punch or conversion
    // of another actor cannot take the page away between the lookup and the access's pfn
    yield* filemapInvalidateLockShared(sys, 'kvm_gmem_fault_user_mapping');
    const idx = yield* sharedPageFor(sys, gfn);
    const pfn = idx < 0 ? idx : sys.gmem.pfn[idx];
    filemapInvalidateUnlockShared(sys, 'kvm_gmem_fault_user_mapping');
    return pfn;
  }
  if (sys.index(gfn) < 0) return -EINVAL; // no memslot: no userspace_addr to reach it through
  const k = sys.kvm;
  if (k.sharedBacking[gfn] < 0) {
    const p = sys.phys.allocSmall(Owner.HOST_OTHER, gfn); // first touch of the anonymous memory: a zeroed page
    if (p < 0) return -ENOMEM;
    k.sharedBacking[gfn] = p;
  }
  return k.sharedBacking[gfn];
}

/** Host userspace loads from the page of gfn: the token there (>= 0; applyOp makes it the outcome's value), or a negative errno. */
export function* hostRead(sys: System, gfn: number): Path<number> {
  const pfn = yield* hostPfn(sys, gfn);
  if (pfn < 0) return pfn;
  sys.trace.hook('host_access', pfn, 0);
  const value = sys.phys.content[pfn];
  sys.trace.event(`host: userspace reads gfn ${sys.hex(gfn)} (pfn ${sys.hex(pfn)}) -> ${value}`);
  yield 'host-read';
  return value;
}

/** Host userspace stores the token `data` into the page of gfn: 0, or a negative errno. */
export function* hostWrite(sys: System, gfn: number, data: number): Path<number> {
  const pfn = yield* hostPfn(sys, gfn);
  if (pfn < 0) return pfn;
  sys.trace.hook('host_access', pfn, 1);
  sys.phys.content[pfn] = data;
  sys.trace.event(`host: userspace writes gfn ${sys.hex(gfn)} (pfn ${sys.hex(pfn)}) = ${data}`);
  yield 'host-write';
  return 0;
}
