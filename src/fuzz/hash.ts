// Small deterministic hashes for ids and file names (no crypto needed: these name things, they do not
// protect anything).

/**
 * 64-bit FNV-1a over a string's UTF-16 code units, as 16 hex digits. Computed on two 32-bit halves (BigInt
 * arithmetic took about 56 us per corpus case id): h * (2^40 + 0x1b3) mod 2^64 is h * 0x1b3 plus the low half
 * shifted into the high one by 8 bits.
 */
export function fnv1a64Hex(s: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < s.length; i++) {
    lo = (lo ^ s.charCodeAt(i)) >>> 0;
    const a = lo * 0x1b3; // below 2^41: exact
    const carry = Math.floor(a / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = a >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
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

/**
 * 32-bit FNV-1a built up piece by piece without building the string: fnv1a32(`a:${n}`) ===
 * fnvEnd(fnvNum(fnvStr(FNV32_START, 'a:'), n)). Coverage features are hashed this way on the hot path.
 */
export const FNV32_START = 0x811c9dc5;

export function fnvStr(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Mix a number as its template-literal text (`${n}`); integers below 2^53 without building a string. */
export function fnvNum(h: number, n: number): number {
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return fnvStr(h, String(n));
  if (n < 0) {
    h = Math.imul(h ^ 0x2d, 0x01000193); // '-'
    n = -n;
  }
  // digits lowest first ((n - d) / 10 is exact for integers), then mixed highest first
  let k = 0;
  do {
    const d = n % 10;
    DIGITS[k++] = d;
    n = (n - d) / 10;
  } while (n > 0);
  while (k > 0) h = Math.imul(h ^ (0x30 + DIGITS[--k]), 0x01000193);
  return h;
}

const DIGITS = new Uint8Array(20);

/** The 32-bit FNV-1a of the pieces mixed so far. */
export function fnvEnd(h: number): number {
  return h >>> 0;
}
