// Orders a linearizability search that gave up keeps (src/oracle/attributeOrders.ts): each conversion that
// no conversion of its gfns follows in real time is last on them in some order (corpus/regression/flow-mapgpa-vmm-conversion-ends-after-later-convert.json).
import { describe, expect, it } from 'vitest';
import { attributeOrders, type TimedEvent } from '../../src/oracle/attributeOrders.js';

interface Ev extends TimedEvent { name: string; foot: [number, number] }
const ev = (name: string, op: string, beganAt: number, endedAt: number, foot: [number, number], prev?: Ev): Ev => ({ name, ctx: { op: { op }, beganAt }, endedAt, foot, prev });
const names = (window: Ev[], max = 32): string[] => attributeOrders(window, (e) => e.foot, max).map((o) => o.map((e) => e.name).join(' '));

describe('attributeOrders', () => {
  it('puts a long conversion before a shorter one inside its interval, as well as the completion order', () => {
    // the MapGPA's VMM conversion (b18..e435) overlaps the ioctl conversion (b250..e259) of the same gfn
    const shared = ev('shared', 'convert', 18, 435, [17, 18]);
    const priv = ev('private', 'convert', 250, 259, [17, 18]);
    const punch = ev('punch', 'punch', 261, 373, [16, 32]);
    expect(names([priv, punch, shared])).toEqual(['private punch shared', 'shared private punch']);
  });

  it('never moves a conversion before one that ended before it began', () => {
    const a = ev('a', 'convert', 0, 5, [0, 1]);
    const b = ev('b', 'convert', 10, 20, [0, 1]);
    const c = ev('c', 'convert', 3, 30, [0, 1]);
    // a precedes b in real time, so only b and c may be last; with c last, b goes to its beginning, after a
    for (const o of names([a, b, c])) expect(o.indexOf('a')).toBeLessThan(o.indexOf('b'));
    expect(names([a, b, c])).toContain('a c b');
    expect(names([a, b, c])).toContain('a b c');
  });

  it('lets a conversion be last on the gfns that no later conversion writes again, although one follows it on others', () => {
    // the ioctl converts [0x0, 0x12) to private inside the MapGPA's interval (its VMM conversion of 0x11 to shared
    // done early, the op ended late); a conversion of gfn 0 begins after it ended, so it is last only on 0x1..0x11
    const mapGpa = ev('mapGpa', 'mapGpa', 0, 100, [0x11, 0x12]);
    const wide = ev('wide', 'convert', 5, 10, [0, 0x12]);
    const later = ev('later', 'convert', 20, 30, [0, 1]);
    expect(names([wide, later, mapGpa])).toEqual(['wide later mapGpa', 'mapGpa wide later']);
    // followed on every gfn of it, a conversion is never last
    const cover = ev('cover', 'convert', 20, 30, [0, 0x12]);
    expect(names([wide, cover, mapGpa])).toEqual(['wide cover mapGpa', 'mapGpa wide cover']);
    expect(names([wide, cover, mapGpa]).some((o) => o.endsWith('wide'))).toBe(false);
  });

  it('keeps program order and combines choices on disjoint gfns, up to max', () => {
    const x1 = ev('x1', 'convert', 0, 50, [0, 1]);
    const x2 = ev('x2', 'convert', 10, 20, [0, 1]);
    const y1 = ev('y1', 'convert', 0, 50, [5, 6]);
    const y2 = ev('y2', 'convert', 10, 20, [5, 6]);
    const step = ev('step', 'accept', 0, 50, [0, 1], x1);
    const all = names([x2, y2, x1, step, y1]);
    for (const o of all) expect(o.indexOf('x1')).toBeLessThan(o.indexOf('step'));
    // the last conversion of each gfn, in every combination
    const lastOf = (o: string, a: string, b: string): string => (o.indexOf(a) > o.indexOf(b) ? a : b);
    expect(new Set(all.map((o) => `${lastOf(o, 'x1', 'x2')}/${lastOf(o, 'y1', 'y2')}`))).toEqual(new Set(['x1/y1', 'x2/y1', 'x1/y2', 'x2/y2']));
    expect(names([x2, y2, x1, step, y1], 2).length).toBeLessThanOrEqual(2);
  });
});
