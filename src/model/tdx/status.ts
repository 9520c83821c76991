// TDX status codes as returned in RAX (kernel-facts.md 1.1). The 64-bit value is kept as two 32-bit
// halves because JS numbers cannot hold all 64 bits: `code` is bits 63:32, `detail` bits 31:0.

export interface SeamStatus {
  readonly code: number;
  readonly detail: number;
}

/** Status code names with their bits 63:32 (ERRNO-U, ERRNO-I and the module-ABI table). */
export const STATUS_CODES = {
  TDX_SUCCESS: 0x00000000,
  TDX_NON_RECOVERABLE_VCPU: 0x40000001,
  TDX_NON_RECOVERABLE_TD: 0x40000002,
  TDX_INTERRUPTED_RESUMABLE: 0x80000003,
  TDX_INTERRUPTED_RESTARTABLE: 0x80000004,
  TDX_OPERAND_BUSY: 0x80000200,
  TDX_PREVIOUS_TLB_EPOCH_BUSY: 0x80000201,
  TDX_SYS_BUSY: 0x80000202,
  TDX_OPERAND_INVALID: 0xc0000100,
  TDX_OPERAND_ADDR_RANGE_ERROR: 0xc0000101,
  TDX_PAGE_METADATA_INCORRECT: 0xc0000300,
  TDX_PAGE_ALREADY_FREE: 0x00000301,
  TDX_HPA_RANGE_NOT_FREE: 0xc0000304,
  TDX_KEY_STATE_INCORRECT: 0xc0000811,
  TDX_FLUSHVP_NOT_DONE: 0x80000824,
  TDX_NO_HKID_READY_TO_WBCACHE: 0x00000821,
  TDX_EPT_WALK_FAILED: 0xc0000b00,
  TDX_EPT_ENTRY_FREE: 0xc0000b01,
  TDX_EPT_ENTRY_NOT_FREE: 0xc0000b02,
  TDX_EPT_ENTRY_NOT_PRESENT: 0xc0000b03,
  TDX_EPT_ENTRY_NOT_LEAF: 0xc0000b04,
  TDX_EPT_ENTRY_LEAF: 0xc0000b05,
  TDX_GPA_RANGE_NOT_BLOCKED: 0xc0000b06,
  TDX_GPA_RANGE_ALREADY_BLOCKED: 0x00000b07,
  TDX_TLB_TRACKING_NOT_DONE: 0xc0000b08,
  TDX_EPT_INVALID_PROMOTE_CONDITIONS: 0xc0000b09,
  TDX_PAGE_ALREADY_ACCEPTED: 0x00000b0a,
  TDX_PAGE_SIZE_MISMATCH: 0xc0000b0b,
  TDX_GPA_RANGE_BLOCKED: 0xc0000b0c,
  TDX_EPT_ENTRY_STATE_INCORRECT: 0xc0000b0d,
  TDX_EPT_PAGE_NOT_FREE: 0xc0000b0e,
  /** Software-defined: TDX_ERROR | GENMASK(47,40) (ERRNO-I). */
  TDX_SW_ERROR: 0x8000ff00,
} as const;
export type StatusName = keyof typeof STATUS_CODES;

/** Operand ids carried in bits 31:0 (ERRNO-U). */
export const OPERAND_ID = { RCX: 0x01, TDR: 0x80, SEPT: 0x92, TD_EPOCH: 0xa9 } as const;

const NAME_OF = new Map<number, StatusName>(
  (Object.entries(STATUS_CODES) as [StatusName, number][]).map(([n, c]) => [c, n]),
);

export const SUCCESS: SeamStatus = Object.freeze({ code: 0, detail: 0 });

export function status(name: StatusName, detail = 0): SeamStatus {
  return name === 'TDX_SUCCESS' && detail === 0 ? SUCCESS : { code: STATUS_CODES[name], detail };
}

export function isSuccess(s: SeamStatus): boolean {
  return s.code === 0 && s.detail === 0;
}

/** tdx_operand_busy(): (err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY, any operand id. */
export function isOperandBusy(s: SeamStatus): boolean {
  return s.code === STATUS_CODES.TDX_OPERAND_BUSY;
}

export function statusIs(s: SeamStatus, name: StatusName): boolean {
  return s.code === STATUS_CODES[name];
}

export function statusName(s: SeamStatus): string {
  return NAME_OF.get(s.code) ?? `0x${s.code.toString(16).padStart(8, '0')}`;
}

/** "TDX_PAGE_SIZE_MISMATCH|0x1 (0xC0000B0B00000001)": what a kernel developer sees in dmesg. */
export function formatStatus(s: SeamStatus): string {
  const hex = `0x${s.code.toString(16).padStart(8, '0')}${s.detail.toString(16).padStart(8, '0')}`.toUpperCase().replace('0X', '0x');
  const name = statusName(s);
  return s.detail ? `${name}|0x${s.detail.toString(16)} (${hex})` : `${name} (${hex})`;
}

export function isStatusName(x: string): x is StatusName {
  return Object.prototype.hasOwnProperty.call(STATUS_CODES, x);
}
