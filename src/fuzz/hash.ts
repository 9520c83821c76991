// Small deterministic hashes for ids and file names (no crypto needed: these name things, they do not
// protect anything).

/** 64-bit FNV-1a over a string's UTF-16 code units, as 16 hex digits. */
export function fnv1a64Hex(s: string): string {
  let h = 0xcbf29ce484222325n;
  const p = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * p) & mask;
  }
  return h.toString(16).padStart(16, '0');
}

/** 32-bit FNV-1a, as a number. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
