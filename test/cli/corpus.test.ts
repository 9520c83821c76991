// CI's regression gate: every case committed under corpus/ gives the verdict it records.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, tdxfuzz } from '../helpers/cli.js';

it('tdxfuzz replay corpus/ passes', () => {
  const r = tdxfuzz(['replay', join(ROOT, 'corpus')], ROOT);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^\d+ passed, 0 failed/m);
});
