// Fault classification (architecture principle 5), written from the design's promises rather than from
// the model's code: a tolerable fault must never kill the VM, lose data or leak; a fatal-by-design fault
// may kill the VM and leak.
import type { FiredFault } from '../model/faults.js';

export function isTolerable(f: FiredFault, kvmLoopsOnInterruptedDemote = false): boolean {
  // -ENOMEM, a failed folio split and a transient reference are answered with errors or waits by design;
  // memory TDX cannot use (non-convertible, or no struct page) in guest_memfd is a host bug the design
  // may die of (KVM_MMU_WARN_ON, 003:L651).
  if (f.site !== null) return f.site !== 'NON_TDX_PFN' && f.site !== 'NO_STRUCT_PFN';
  if (f.status === 'TDX_INTERRUPTED_RESTARTABLE') {
    // v3 maps huge pages only on modules that never return it (003:L157-160, V3-24), so there it is a module
    // misbehaving and KVM answers TDX_BUG_ON; the G3-off workaround loops on it instead (an endless storm is INV-30).
    return kvmLoopsOnInterruptedDemote;
  }
  // tdx_mmu_release_hkid() loops on TDX_INTERRUPTED_RESUMABLE and takes TDX_NO_HKID_READY_TO_WBCACHE as success.
  if (f.leaf === 'TDH.PHYMEM.CACHE.WB' && (f.status === 'TDX_INTERRUPTED_RESUMABLE' || f.status === 'TDX_NO_HKID_READY_TO_WBCACHE')) return true;
  if (f.status !== 'TDX_OPERAND_BUSY') return false; // "Other errors ... are not expected, triggering TDX_BUG_ON()"
  switch (f.leaf) {
    case 'TDH.MEM.PAGE.AUG':
    case 'TDH.MEM.SEPT.ADD':
      return true; // the fault returns RET_PF_RETRY and the vCPU faults again (kernel-facts.md 2.2)
    case 'TDG.MEM.PAGE.ACCEPT':
      return true; // the guest sees TDX_OPERAND_BUSY and retries
    case 'TDH.MEM.RANGE.BLOCK':
    case 'TDH.MEM.TRACK':
    case 'TDH.MEM.PAGE.REMOVE':
    case 'TDH.MEM.PAGE.DEMOTE':
      // kick all vCPUs and retry once, "which should succeed on the second attempt" (003:L238-240)
      return !f.afterKick;
    default:
      return false;
  }
}

export function faultKind(f: FiredFault): string {
  if (f.site !== null) return `${f.site}@site`;
  return `${f.status}@${f.leaf}${f.afterKick ? '(after kick)' : ''}`;
}
