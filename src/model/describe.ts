// A text picture of the system for `tdxfuzz show`: per 2M range, the mirror SPTE, the S-EPT entry, the
// guest_memfd folios and attributes, and lpage_info; 4K entries are run-length compressed.
import { SPTE_NAMES, Spte } from './kvm/mirror.js';
import type { System } from './system.js';
import { SEPT_STATE_NAMES, SeptState } from './tdx/sept.js';

function runs(n: number, at: (i: number) => string): string {
  const out: string[] = [];
  let i = 0;
  while (i < n) {
    const v = at(i);
    let j = i + 1;
    while (j < n && at(j) === v) j++;
    out.push(j - i > 1 ? `${v}x${j - i}` : v);
    i = j;
  }
  return out.join(' ');
}

export function describeState(sys: System): string[] {
  const lines: string[] = [];
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const { mirror: m, lpage } = sys.kvm;
  const s = sys.tdx.sept;
  const gm = sys.gmem;
  for (let r = 0; r < sys.regions; r++) {
    const base = r * sys.ptrs;
    const flags = [lpage.mixed[r] ? 'MIXED' : '', lpage.guestInhibit[r] ? 'GUEST_INHIBIT' : '', lpage.disallowCount[r] ? `disallow=${lpage.disallowCount[r]}` : '']
      .filter(Boolean)
      .join(',');
    lines.push(`2M range ${r} [gfn ${hex(base)}, ${hex(base + sys.ptrs)})${flags ? '  lpage ' + flags : ''}`);
    const mm = m.m2m[r];
    const mirror =
      mm === Spte.LEAF ? `2M LEAF pfn ${hex(m.pfn2m[r])}` : mm === Spte.NONLEAF ? `4K table (external_spt ${hex(m.externalSpt[r])}): ${runs(sys.ptrs, (i) => SPTE_NAMES[m.m4k[base + i]])}` : SPTE_NAMES[mm];
    lines.push(`  mirror  ${mirror}`);
    const e = s.e2m[r];
    const sept =
      e === SeptState.NL_MAPPED || e === SeptState.NL_BLOCKED
        ? `${SEPT_STATE_NAMES[e]} (page ${hex(s.table[r])}): ${runs(sys.ptrs, (i) => SEPT_STATE_NAMES[s.e4k[base + i]])}`
        : e === SeptState.FREE
          ? 'FREE'
          : `2M ${SEPT_STATE_NAMES[e]} pfn ${hex(s.pfn2m[r])}`;
    lines.push(`  S-EPT   ${sept}`);
    const folio = (g: number): string => {
      const idx = sys.index(g);
      const head = idx < 0 ? -1 : gm.folioHead[idx];
      return idx < 0 ? '-' : head < 0 ? 'none' : gm.folioOrder[head] > 0 ? '2M' : '4K';
    };
    lines.push(`  folios  ${runs(sys.ptrs, (i) => folio(base + i))}`);
    lines.push(`  attrs   ${runs(sys.ptrs, (i) => (sys.index(base + i) < 0 ? '-' : sys.isPrivate(base + i) ? 'P' : 'S'))}`);
  }
  lines.push(`VM ${sys.kvm.bugged ? 'BUGGED (dead)' : 'alive'}, TD epoch ${sys.tdx.epoch}, pages_2m ${sys.kvm.stats.pages2m}, pages_4k ${sys.kvm.stats.pages4k}`);
  return lines;
}
