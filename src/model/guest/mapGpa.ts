// The guest's MapGPA hypercall (TDG.VP.VMCALL<MapGPA>) and KVM's side of it (tdx.c tdx_map_gpa(),
// __tdx_map_gpa(), tdx_complete_vmcall_map_gpa()): KVM checks the range, then exits to userspace with
// KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) once per TDX_MAP_GPA_MAX_LEN (2M) chunk; the VMM converts the chunk
// and sets hypercall.ret; a non-zero ret ends the hypercall with TDVMCALL_STATUS_INVALID_OPERAND and r11 =
// the chunk's gpa. The model's VMM is assumed to have enabled KVM_CAP_EXIT_HYPERCALL (the selftests do).
import { EINVAL } from '../errno.js';
import { type MapGpaExit, PAGE_SIZE } from '../kvm/exit.js';
import type { MapGpaOutcome, VmmStep } from '../outcome.js';
import type { Path, System } from '../system.js';
import { vmmHandleExit } from '../vmm.js';
import { enter, exit, type Guest } from './guest.js';

export const TDVMCALL_STATUS_INVALID_OPERAND = 'TDVMCALL_STATUS_INVALID_OPERAND';

/** MapGPA of gfns [start, end) to private or shared on vCPU v; with `vmm` the vCPU thread's userspace serves each exit. */
export function* guestMapGpa(sys: System, guest: Guest, start: number, end: number, toPrivate: boolean, vmm: boolean, v = 0): Path<MapGpaOutcome> {
  if (!sys.kvm.bugged && sys.kvm.tdState !== 'RUNNABLE') return { kind: 'mapGpa', result: 'exit', errno: -EINVAL }; // tdx_vcpu_pre_run()
  if (!(yield* enter(sys, v))) return { kind: 'mapGpa', result: 'vm-dead' };
  exit(sys, v); // the TDVMCALL exits the TD
  // "gpa + size <= gpa || !kvm_vcpu_is_legal_gpa(...)": an empty range, or one past the GPA space
  if (end <= start || end > sys.gfns) {
    sys.trace.event(`guest MapGPA [${sys.hex(start)}, ${sys.hex(end)}): ${TDVMCALL_STATUS_INVALID_OPERAND}`);
    return { kind: 'mapGpa', result: 'error', status: TDVMCALL_STATUS_INVALID_OPERAND };
  }
  const vc = sys.kvm.vcpus[v];
  const steps: VmmStep[] = [];
  for (let next = start; next < end; next += sys.ptrs) {
    // __tdx_map_gpa(): at most TDX_MAP_GPA_MAX_LEN (2M) per exit
    const ex: MapGpaExit = { reason: 'map-gpa', gpa: next * PAGE_SIZE, npages: Math.min(end, next + sys.ptrs) - next, private: toPrivate };
    vc.run = ex;
    sys.trace.event(`guest MapGPA [${sys.hex(start)}, ${sys.hex(end)}) -> ${toPrivate ? 'private' : 'shared'}: KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) gpa ${sys.hex(ex.gpa)} npages ${ex.npages}`);
    if (!vmm) return { kind: 'mapGpa', result: 'exit', errno: 0, exit: ex, ...(steps.length ? { vmm: steps } : {}) };
    yield 'vmm-exit'; // KVM_RUN returned to the vCPU thread's userspace; others run meanwhile
    const ret = yield* vmmHandleExit(sys, guest, ex);
    steps.push({ exit: ex, ret });
    // KVM_RUN again: complete_userspace_io (tdx_complete_vmcall_map_gpa) runs first; a dead VM is not entered
    if (sys.kvm.bugged) return { kind: 'mapGpa', result: 'vm-dead', vmm: steps };
    if (ret !== 0) {
      sys.trace.event(`guest MapGPA: hypercall.ret ${ret} -> ${TDVMCALL_STATUS_INVALID_OPERAND}, r11 = ${sys.hex(ex.gpa)}`);
      return { kind: 'mapGpa', result: 'error', status: TDVMCALL_STATUS_INVALID_OPERAND, at: next, vmm: steps };
    }
  }
  // the last chunk done: the guest resumes with TDVMCALL_STATUS_SUCCESS
  if (!(yield* enter(sys, v))) return { kind: 'mapGpa', result: 'vm-dead', vmm: steps };
  exit(sys, v);
  return { kind: 'mapGpa', result: 'mapped', vmm: steps };
}
