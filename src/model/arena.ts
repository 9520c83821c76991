// Typed arrays for a case's model and oracle state, carved from shared 64 KB buffers. A case builds about 60
// small arrays; a fresh ArrayBuffer for each is an off-heap allocation with GC bookkeeping of its own, which
// was about half the time of building a case (issue 14). Carved memory is zero, as a new array's is: a region
// is handed out once. A buffer is freed when no array carved from it is alive any more.
const CHUNK = 64 * 1024;
/** Larger arrays get a buffer of their own. */
const MAX_CARVED = CHUNK / 8;

let buf = new ArrayBuffer(CHUNK);
let off = 0;

/** Byte offset of a fresh zeroed region of `bytes` in `buf`, or -1 when the array should have its own buffer. */
function carve(bytes: number): number {
  if (bytes > MAX_CARVED) return -1;
  const size = (bytes + 7) & ~7; // 8-byte aligned for every element type
  if (off + size > CHUNK) {
    buf = new ArrayBuffer(CHUNK);
    off = 0;
  }
  const at = off;
  off += size;
  return at;
}

export function u8(n: number): Uint8Array {
  const at = carve(n);
  return at < 0 ? new Uint8Array(n) : new Uint8Array(buf, at, n);
}

export function i16(n: number): Int16Array {
  const at = carve(2 * n);
  return at < 0 ? new Int16Array(n) : new Int16Array(buf, at, n);
}

export function i32(n: number): Int32Array {
  const at = carve(4 * n);
  return at < 0 ? new Int32Array(n) : new Int32Array(buf, at, n);
}
