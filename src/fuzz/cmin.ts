// Corpus minimisation (afl-cmin, libFuzzer -merge=1): the fewest cases that keep a corpus's coverage.
// For each coverage feature the smallest case reaching it is a candidate (fewest ops, then case id, so
// the choice is deterministic); then candidates made redundant by the others are dropped, largest first.

export interface CminEntry {
  /** Case id (caseId): equal cases are one entry. */
  id: string;
  ops: number;
  features: ArrayLike<number>;
}

const smallerFirst = (a: CminEntry, b: CminEntry): number => a.ops - b.ops || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The ids of a subset of `entries` whose features together are all the features of `entries`. */
export function coverCorpus(entries: readonly CminEntry[]): string[] {
  const sorted = [...entries].sort(smallerFirst);
  // the smallest case per feature
  const owner = new Map<number, CminEntry>();
  for (const e of sorted) for (let i = 0; i < e.features.length; i++) if (!owner.has(e.features[i])) owner.set(e.features[i], e);
  const chosen = new Set(owner.values());
  // how many chosen cases reach each feature; drop a case whose every feature another chosen case reaches
  const count = new Map<number, number>();
  for (const e of chosen) for (let i = 0; i < e.features.length; i++) count.set(e.features[i], (count.get(e.features[i]) ?? 0) + 1);
  for (const e of [...chosen].sort(smallerFirst).reverse()) {
    let redundant = true;
    for (let i = 0; i < e.features.length && redundant; i++) if ((count.get(e.features[i]) ?? 0) < 2) redundant = false;
    if (!redundant) continue;
    chosen.delete(e);
    for (let i = 0; i < e.features.length; i++) count.set(e.features[i], count.get(e.features[i])! - 1);
  }
  return [...chosen].sort(smallerFirst).map((e) => e.id);
}
