// The phases of a VM's life an op can be issued in: while the TD is built (before KVM_TDX_FINALIZE_VM), while
// it is runnable, and after destroy closed its fds (seed 000).
export const PHASES = ['BUILD', 'RUNNABLE', 'DEAD'] as const;
export type Phase = (typeof PHASES)[number];

/** The phase a system is in (read, never changed). */
export function phaseOf(sys: { destroyed: boolean; kvm: { tdState: 'BUILD' | 'RUNNABLE' } }): Phase {
  return sys.destroyed ? 'DEAD' : sys.kvm.tdState;
}
