// Linux errno values returned by the modelled ioctls and paths (negated, as the kernel returns them).
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EINVAL = 22;
export const EEXIST = 17;
export const EIO = 5;
export const EBADF = 9;
export const EOPNOTSUPP = 95;
export const EHWPOISON = 133;

const NAMES: Record<number, string> = { 9: 'EBADF', 17: 'EEXIST', 11: 'EAGAIN', 12: 'ENOMEM', 14: 'EFAULT', 16: 'EBUSY', 22: 'EINVAL', 5: 'EIO', 95: 'EOPNOTSUPP', 133: 'EHWPOISON' };

export function errnoName(ret: number): string {
  if (ret >= 0) return String(ret);
  return `-${NAMES[-ret] ?? String(-ret)}`;
}
