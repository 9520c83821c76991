// placeholder, replaced by the real executor in this change
import type { Case } from './case.js';
import type { RunResult } from './result.js';
export interface RunOptions { trace?: boolean }
export function runCase(_c: Case, _opts: RunOptions = {}): RunResult {
  throw new Error('runCase not written yet');
}
