// KVM's per-VM state for the TD: mmu_lock, the mirror root, lpage_info, the shared EPT, the
// mmu_invalidate sequence, the "VM bugged" flag and the page statistics (003:L340 pages_2m).
import { i32, u8 } from '../arena.js';
import { LpageInfo } from './lpage.js';
import { RwLock, SpinLock } from './locks.js';
import { MirrorRoot } from './mirror.js';
import type { KvmExit } from './exit.js';


export class Vcpu {
  /** IN_GUEST while the guest runs; the host kicks it OUTSIDE with KVM_REQ_OUTSIDE_GUEST_MODE. */
  inGuest = false;
  /** TD epoch the vCPU's TLB was last flushed at (by a kick after TRACK). */
  tlbEpoch = 1;
  /**
   * The translation the vCPU took for the access it is making (gfn -> pfn), held while it stays in the guest
   * across steps; a kick (exit) drops it. Without TRACK + kick before REMOVE it can outlive the mapping (BUG-21).
   */
  tlbGfn = -1;
  tlbPfn = -1;
  /** struct kvm_run's exit fields: what the last KVM_RUN left for userspace to handle (null: no such exit). */
  run: KvmExit | null = null;
}

export class Kvm {
  readonly mmuLock = new RwLock();
  readonly mirror: MirrorRoot;
  readonly lpage: LpageInfo;
  /** Shared EPT (direct root), 4K only (003:L322): gfn -> pfn or -1. */
  readonly sharedEpt: Int32Array;
  /** vm_memory_attributes=Y: the VM's attribute xarray, 1 = private, per gfn. */
  readonly attrs: Uint8Array;
  /** vm_memory_attributes=Y: the userspace page behind each shared gfn, or -1. */
  readonly sharedBacking: Int32Array;
  /** Per memslot (by id): deleted, so none of its gfns has a slot any more. */
  readonly slotDeleted: boolean[];
  /** Per memslot: being deleted (KVM_MEMSLOT_INVALID), so faults on it retry until it is gone. */
  readonly slotInvalid: boolean[];
  /**
   * Per actor: the memslot kvm_handle_gfn_range() (or a guest_memfd walk over its bindings) is visiting, absent
   * outside such a walk; fired faults carry it, so the oracle knows which slot a conversion failed in.
   */
  readonly rangeSlot = new Map<number, number>();
  /**
   * kvm->srcu: the grace period each active read-side section (a vCPU handling a fault) began in. Memslot
   * deletion waits for the sections that began before its synchronize_srcu(), not for later ones.
   */
  readonly srcuReaders: number[] = [];
  srcuGen = 0;
  readonly vcpus: Vcpu[];
  /** kvm_tdx->state: BUILD until KVM_TDX_FINALIZE_VM, then RUNNABLE. */
  tdState: 'BUILD' | 'RUNNABLE' = 'RUNNABLE';
  /** Source contents for the PAGE.ADD of the page KVM_TDX_INIT_MEM_REGION is populating (page_add_src). */
  pageAddSrc: number | null = null;
  /** kvm_vm_bugged(): KVM_BUG_ON / TDX_BUG_ON fired; the VM is dead (kernel-facts.md 2.1). */
  bugged = false;
  /** kvm_tdx->wait_for_sept_zap: vCPUs may not enter while the one BUSY retry runs. */
  waitForSeptZap = false;
  /** mmu_invalidate_in_progress / mmu_invalidate_seq and the range being invalidated [A]. */
  invalidateInProgress = 0;
  invalidateSeq = 0;
  invalidateStart = 0;
  invalidateEnd = 0;
  readonly stats = { pages2m: 0, pages4k: 0 };
  /** WARN_ON_ONCE sites that have fired (one System is one boot): each warns once. */
  readonly warnedOnce = new Set<string>();
  /** Dynamic PAMT: KVM's count of 4K TDX uses per physical 2M region (tdx_pamt_get/put). */
  readonly pamtRefcount: Int32Array;
  /** Per-vCPU PAMT page cache, topped up before a fault (tdx->prealloc, 003:L56). */
  readonly vcpuPamtCache: number[] = [];
  /** Per-VM external split cache (prealloc_split_cache) and its spinlock (003:L291-296). */
  readonly splitCache: number[] = [];
  readonly splitCacheLock = new SpinLock();

  constructor(ptrs: number, regions: number, physPages: number, vcpus = 1, memslots = 1) {
    this.slotDeleted = new Array<boolean>(memslots).fill(false);
    this.slotInvalid = new Array<boolean>(memslots).fill(false);
    this.vcpus = Array.from({ length: vcpus }, () => new Vcpu());
    this.mirror = new MirrorRoot(ptrs, regions);
    this.lpage = new LpageInfo(regions);
    this.sharedEpt = i32(ptrs * regions).fill(-1);
    this.attrs = u8(ptrs * regions);
    this.sharedBacking = i32(ptrs * regions).fill(-1);
    this.pamtRefcount = i32(Math.ceil(physPages / ptrs));
  }
}
