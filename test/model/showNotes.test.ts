// What `show` prints for a reviewer (issue 11): the vCPU kick after TRACK, the pages each WBINVD covered,
// content resets, PAMT refcount changes and page pairs added or removed, every leaked page with its reason.
// These are trace notes: shown, never hashed, so trace hashes do not move.
import { describe, expect, it } from 'vitest';
import { runCase } from '../../src/fuzz/run.js';
import { accept, convert, mkCase, P, touch, traced, withFaults } from '../helpers/model.js';

describe('show notes', () => {
  const ops = [touch(0), accept(3, '4K'), convert(3, 4, 'shared'), withFaults({ op: 'destroy' }, { leaf: 'TDH.PHYMEM.PAGE.RECLAIM', nth: 1, status: 'TDX_SW_ERROR' })];
  it('name the kick after TRACK, the pages WBINVD covered, the content reset, PAMT refcounts and pairs, and leaks with reasons', () => {
    const { all } = traced({ backing: '4K' }, ops);
    const text = all.join('\n');
    expect(text).toMatch(/after TRACK: every vCPU kicked out of the guest \(KVM_REQ_OUTSIDE_GUEST_MODE\), TD epoch \d+/);
    expect(text).toMatch(/TDH\.PHYMEM\.PAGE\.WBINVD x1 \(pfn 0x[0-9a-f]+\.\.0x[0-9a-f]+\) = TDX_SUCCESS/);
    expect(text).toMatch(/tdx_quirk_reset_folio: contents of pfn 0x[0-9a-f]+\.\.0x[0-9a-f]+ reset to 0/);
    expect(text).toMatch(/DPAMT: region \d+ refcount (\d+) -> \d+ \(get pfn 0x[0-9a-f]+\)/);
    expect(text).toMatch(/DPAMT: region \d+ refcount \d+ -> \d+ \(put pfn 0x[0-9a-f]+\)/);
    expect(text).toMatch(/leak pfn 0x[0-9a-f]+ \((SEPT|CTRL|GMEM)\): TDX could not take it back/);
  });
  it('a region\'s first 4K use adds its PAMT pair and the last one removes it', () => {
    const { opLines } = traced({ tdxHugePage: false }, [touch(1), convert(0, P, 'shared')]);
    expect(opLines(0).join('\n')).toMatch(/DPAMT: region 0 refcount 0 -> 1 \(get pfn 0x1\)[^]*DPAMT: pair 0x[0-9a-f]+, 0x[0-9a-f]+ added for physical 2M region 0/);
    expect(opLines(1).join('\n')).toMatch(/DPAMT: region 0 refcount 1 -> 0 \(put pfn 0x1\)[^]*DPAMT: pair 0x[0-9a-f]+, 0x[0-9a-f]+ of physical 2M region 0 removed and freed/);
  });
  it('a 2M removal says WBINVD covered all of the range', () => {
    const { all } = traced({}, [touch(0), accept(0, '2M'), convert(0, P, 'shared')]);
    expect(all.join('\n')).toContain(`TDH.PHYMEM.PAGE.WBINVD x${P} (pfn`);
  });
  it('are quiet in the hash: the same case hashes the same with and without lines kept', () => {
    const c = mkCase({ backing: '4K' }, ops);
    expect(runCase(c, { trace: true }).traceHash).toBe(runCase(c).traceHash);
  });
});
