// TD build time (model-spec.md 3.3): KVM_TDX_INIT_MEM_REGION adds initial private pages 4K by 4K with
// TDH.MEM.PAGE.ADD (no guest ACCEPT needed), and KVM_TDX_FINALIZE_VM seals the TD with TDH.MR.FINALIZE.
import { EAGAIN, EEXIST, EINVAL, EIO } from '../errno.js';
import type { Path, System } from '../system.js';
import { isOperandBusy, isSuccess } from '../tdx/status.js';
import { writeLock, writeUnlock } from './locks.js';
import { Spte } from './mirror.js';
import { kvmTdpPageFault } from './fault.js';
import { RET_PF_RETRY } from './tdpMmu.js';
import { tdxBugOn } from './tdxGlue.js';

/** Is gfn already mapped by a mirror leaf (4K or 2M)? */
function mapped(sys: System, gfn: number): boolean {
  const m = sys.kvm.mirror;
  const r = sys.region(gfn);
  return m.m2m[r] === Spte.LEAF || (m.m2m[r] === Spte.NONLEAF && m.m4k[gfn] === Spte.LEAF);
}

/**
 * KVM_TDX_INIT_MEM_REGION over gfns [start, end), page by page (kvm_gmem_populate): the gfn must be private
 * and not yet mapped; KVM maps it through the TDP MMU at the level gmem allows, and the set_external_spte
 * hook issues PAGE.ADD with contents `data + i`. Pages before a failing one stay added; `region.pages` counts
 * them, as tdx_vcpu_init_mem_region() advances region.gpa and region.nr_pages past each page it added and
 * copies the struct back to userspace, error or not.
 */
export function* kvmTdxInitMemRegion(sys: System, start: number, end: number, data: number, region = { pages: 0 }): Path<number> {
  const k = sys.kvm;
  if (k.bugged) return -EIO;
  if (k.tdState !== 'BUILD') return -EINVAL;
  if (start >= end || sys.index(start) < 0 || sys.index(end - 1) < 0) return -EINVAL;
  for (let g = start; g < end; g++) {
    if (!sys.isPrivate(g)) return -EINVAL;
    if (mapped(sys, g)) return -EEXIST;
    k.pageAddSrc = data + (g - start);
    let ret: number;
    do {
      ret = yield* kvmTdpPageFault(sys, g, true, -1);
      if (k.bugged) ret = -EIO;
      if (ret === RET_PF_RETRY) yield 'init-mem-region-retry:retry'; // kvm_tdp_map_page() loops
    } while (ret === RET_PF_RETRY);
    k.pageAddSrc = null;
    if (ret < 0) return ret;
    region.pages++;
    yield 'init-mem-region-page';
  }
  return 0;
}

/** KVM_TDX_FINALIZE_VM: TDH.MR.FINALIZE, then the TD is RUNNABLE and vCPUs may enter. */
export function* kvmTdxFinalizeVm(sys: System): Path<number> {
  const k = sys.kvm;
  if (k.bugged) return -EIO;
  if (k.tdState !== 'BUILD') return -EINVAL;
  // [M] under mmu_lock held for write, so a zap (which decides whether to TRACK from the state) sees one
  // state from its BLOCK to its REMOVE
  yield* writeLock(sys, 'tdx_td_finalize');
  const err = sys.tdx.tdhMrFinalize();
  if (!isOperandBusy(err) && isSuccess(err)) k.tdState = 'RUNNABLE';
  yield 'seamcall';
  yield* writeUnlock(sys, 'tdx_td_finalize');
  if (isOperandBusy(err)) return -EAGAIN; // userspace retries KVM_TDX_FINALIZE_VM
  if (tdxBugOn(sys, err, 'TDH.MR.FINALIZE')) return -EIO;
  sys.trace.event('TD finalized: state RUNNABLE');
  return 0;
}
