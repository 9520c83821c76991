// Faults of the environment rather than of tdxfuzz or of the user's input: a read-only or full output
// folder, a folder that cannot be read, a symlink loop. They get one message naming the path and the
// cause, and their own exit code (src/cli/common.ts EXIT_ENVIRONMENT), never "internal error".

/** errno codes that say the file system, not tdxfuzz, refused. */
const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'symbolic link loop',
  ENAMETOOLONG: 'path too long (a symbolic link loop?)',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  EBUSY: 'resource busy',
  EFBIG: 'file too large',
};

export class EnvironmentError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    readonly cause_: string,
  ) {
    super(`${path}: ${cause_} (${code})`);
  }
}

/** `e` as an EnvironmentError if it is a file-system refusal we can name; otherwise null. */
export function asEnvironmentError(e: unknown, fallbackPath = '?'): EnvironmentError | null {
  if (e instanceof EnvironmentError) return e;
  const err = e as NodeJS.ErrnoException | null;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !(err.code in CAUSES)) return null;
  return new EnvironmentError(err.path ?? fallbackPath, err.code, CAUSES[err.code]);
}

/** Run `f`; a file-system refusal becomes an EnvironmentError naming `path` (when the error names none). */
export function onDisk<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asEnvironmentError(e, path) ?? e;
  }
}
