// lpage_info for the 2M level of the memslot (model-spec.md 2.4, kernel-facts.md 2.6): the disallow count
// (slot misalignment), the MIXED flag (private and shared gfns in one 2M range) and GUEST_INHIBIT (the
// guest accepted below 2M here; set one-way under write mmu_lock, 003:L196-201).

export class LpageInfo {
  readonly disallowCount: Int32Array;
  readonly mixed: Uint8Array;
  readonly guestInhibit: Uint8Array;

  constructor(regions: number) {
    this.disallowCount = new Int32Array(regions);
    this.mixed = new Uint8Array(regions);
    this.guestInhibit = new Uint8Array(regions);
  }
}
