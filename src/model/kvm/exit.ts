// What KVM_RUN leaves in struct kvm_run when it returns to userspace with an exit for the VMM to handle:
// KVM_EXIT_MEMORY_FAULT (kvm_mmu_prepare_memory_fault_exit(), kernel-facts.md 3.2) and KVM_EXIT_HYPERCALL
// with nr KVM_HC_MAP_GPA_RANGE (tdx.c __tdx_map_gpa()). Addresses are GPAs with the shared bit stripped.

export const PAGE_SIZE = 4096;

/** KVM_EXIT_MEMORY_FAULT: "gpa", "size" and flags KVM_MEMORY_EXIT_FLAG_PRIVATE when the access was private. */
export interface MemoryFaultExit {
  reason: 'memory-fault';
  gpa: number;
  size: number;
  private: boolean;
}

/**
 * KVM_EXIT_HYPERCALL, nr KVM_HC_MAP_GPA_RANGE: args[0] the gpa, args[1] the pages, args[2]
 * KVM_MAP_GPA_RANGE_ENCRYPTED (private) or _DECRYPTED; at most TDX_MAP_GPA_MAX_LEN (2M) per exit.
 */
export interface MapGpaExit {
  reason: 'map-gpa';
  gpa: number;
  npages: number;
  private: boolean;
}

export type KvmExit = MemoryFaultExit | MapGpaExit;

/** kvm_mmu_prepare_memory_fault_exit(): a 4K fault at gfn, private or shared as the access was. */
export function memoryFaultExit(gfn: number, isPrivate: boolean): MemoryFaultExit {
  return { reason: 'memory-fault', gpa: gfn * PAGE_SIZE, size: PAGE_SIZE, private: isPrivate };
}

/** The gfn range [start, end) an exit asks the VMM to convert, and to which attribute. */
export function exitRange(e: KvmExit): { start: number; end: number; toPrivate: boolean } {
  const start = e.gpa / PAGE_SIZE;
  return { start, end: start + (e.reason === 'memory-fault' ? e.size / PAGE_SIZE : e.npages), toPrivate: e.private };
}

export function sameExit(a: KvmExit | undefined, b: KvmExit): boolean {
  if (!a || a.reason !== b.reason || a.gpa !== b.gpa || a.private !== b.private) return false;
  return a.reason === 'memory-fault' ? a.size === (b as MemoryFaultExit).size : a.npages === (b as MapGpaExit).npages;
}

/** "memory fault gpa 0x100000 size 0x1000 private", "map-gpa gpa 0x0 npages 16 shared". */
export function describeExit(e: KvmExit): string {
  const kind = e.private ? 'private' : 'shared';
  return e.reason === 'memory-fault'
    ? `KVM_EXIT_MEMORY_FAULT gpa 0x${e.gpa.toString(16)} size 0x${e.size.toString(16)} ${kind}`
    : `KVM_HC_MAP_GPA_RANGE gpa 0x${e.gpa.toString(16)} npages ${e.npages} ${kind}`;
}
