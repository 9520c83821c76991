// The VM's memslots (model-spec.md 2.4): the guest range [slotBaseGfn, end of GPA space) is one memslot, or
// two cut at slotSplitGfn (issue 11). Every slot is bound to the one guest_memfd at a consistent offset (the
// selftests bind one gmem fd for all their slots): index = gfn - slotBaseGfn + gmemOffset in each, and the
// userspace address runs on likewise (one mmap behind both slots).
import type { Design } from '../config.js';

export interface Memslot {
  /** Slot id (KVM_SET_USER_MEMORY_REGION2's slot), in gfn order. */
  readonly id: number;
  readonly baseGfn: number;
  readonly npages: number;
  /** guest_memfd offset (pages) bound at baseGfn (kvm_gmem_bind's offset). */
  readonly gmemOffset: number;
  /** Userspace address in pages (ugfn, 003:L176): base_gfn + uaddrOffset, so its misalignment is uaddrOffset. */
  readonly uaddr: number;
}

export function memslotLayout(d: Design): Memslot[] {
  const end = d.ptrs * d.regions;
  const bases = d.memslots === 2 ? [d.slotBaseGfn, d.slotSplitGfn] : [d.slotBaseGfn];
  return bases.map((base, id) => {
    const next = id + 1 < bases.length ? bases[id + 1] : end;
    const shift = base - d.slotBaseGfn;
    return { id, baseGfn: base, npages: next - base, gmemOffset: d.gmemOffset + shift, uaddr: base + d.uaddrOffset };
  });
}
