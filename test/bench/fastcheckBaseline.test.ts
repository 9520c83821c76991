import { describe, expect, test } from 'vitest';
import { parseCase, serializeCase } from '../../src/fuzz/case.js';
import { runCase } from '../../src/fuzz/run.js';
import { signatureOf } from '../../src/fuzz/signature.js';
import { BUGS, bugDesign } from '../../bench/bugs.js';
import { fastCheckHunt } from '../../bench/fastcheck.js';

describe('fast-check baseline', () => {
  // its ops once carried enum defaults literally (alias 'believed'), which the model read as a shared
  // access and the case format drops: counterexamples that did not replay
  test.each(['BUG-1', 'BUG-10'])('the shrunk counterexample of %s replays from its file to the same signature', (name) => {
    const b = BUGS.find((x) => x.bug === name)!;
    const r = fastCheckHunt(bugDesign(b), 1, 20_000, false);
    expect(r.found).toBe(true);
    const c = parseCase(JSON.parse(serializeCase(r.counterexample!)), 'counterexample');
    for (const op of c.ops) expect(Object.values(op)).not.toContain('believed');
    const res = runCase(c);
    expect(res.failure && signatureOf(res.failure)).toBe(r.signature);
  });
});
