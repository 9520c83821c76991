// placeholder, replaced by the real minimiser in this change
import type { Case } from './case.js';
import type { RunResult } from './result.js';
export interface MinimizeResult { case: Case; result: RunResult; attempts: number }
export function minimizeCase(_c: Case, _opts: { maxAttempts?: number } = {}): MinimizeResult {
  throw new Error('minimiser not written yet');
}
