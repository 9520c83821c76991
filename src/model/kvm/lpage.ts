// lpage_info for the 2M level of the memslot (model-spec.md 2.4, kernel-facts.md 2.6): the disallow count
// (slot misalignment), the MIXED flag (private and shared gfns in one 2M range) and GUEST_INHIBIT (the
// guest accepted below 2M here; set one-way under write mmu_lock, 003:L196-201).
import { i32, u8 } from '../arena.js';
import type { Memslot } from './memslot.js';

export class LpageInfo {
  readonly disallowCount: Int32Array;
  readonly mixed: Uint8Array;
  readonly guestInhibit: Uint8Array;

  constructor(regions: number) {
    this.disallowCount = i32(regions);
    this.mixed = u8(regions);
    this.guestInhibit = u8(regions);
  }
}

/**
 * kvm_alloc_memslot_metadata()-style disallow counts for the 2M level (003:L176), per memslot: the head and
 * tail 2M ranges when the slot's base or end is not 2M-aligned (so a slot boundary inside a 2M range
 * disallows that range from both sides), every range when the gfn and the gmem index (or, without FIXUP-4,
 * the userspace address) disagree on 2M alignment. The model keeps one count per 2M range: the sum over the
 * slots that hold part of it [M]. Guard G17 off drops the base/size and gmem-offset terms (BUG-17); G17b off
 * counts the uaddr term for private gmem slots (BUG-17b).
 */
export function computeDisallowLpage(sys: {
  ptrs: number;
  regions: number;
  slots: readonly Memslot[];
  kvm: { lpage: LpageInfo };
  guard: (g: 'G17' | 'G17b') => boolean;
}): void {
  const { ptrs } = sys;
  const d = sys.kvm.lpage.disallowCount;
  d.fill(0);
  for (const s of sys.slots) {
    const slotBase = s.baseGfn;
    const slotEnd = s.baseGfn + s.npages;
    for (let r = 0; r < sys.regions; r++) {
      const lo = r * ptrs;
      const hi = lo + ptrs;
      if (hi <= slotBase || lo >= slotEnd) continue; // no part of the slot here: nothing can map it
      if (sys.guard('G17')) {
        if (lo < slotBase || hi > slotEnd) d[r]++; // head/tail range partly outside the slot
        if ((slotBase - s.gmemOffset) % ptrs !== 0) d[r]++; // gfn and gmem index 2M alignment differ
      }
      if (!sys.guard('G17b') && (s.uaddr - slotBase) % ptrs !== 0) d[r]++; // (base_gfn ^ ugfn) misaligned
    }
  }
}
