// Shards: n machines run disjoint parts of one campaign's case space. Shard i of n runs the case indices
// i, i+n, i+2n, ...; together the shards run exactly the cases of the unsharded campaign, and each case is
// the same case (it comes from (seed, global index)) wherever it runs.
import type { Shard } from './campaignState.js';

/** Global case index of a shard's k-th case. */
export function globalIndex(shard: Shard | null | undefined, k: number): number {
  return shard ? k * shard.count + shard.index : k;
}

/** The shard-local index of a global case index of the shard. */
export function localIndex(shard: Shard | null | undefined, i: number): number {
  return shard ? (i - shard.index) / shard.count : i;
}

/** How many of the global indices 0..cases-1 fall in the shard. */
export function shardCases(shard: Shard | null | undefined, cases: number): number {
  if (!shard) return cases;
  return cases <= shard.index ? 0 : Math.ceil((cases - shard.index) / shard.count);
}

export class ShardError extends Error {}

/**
 * "i/n" (0 <= i < n), or "auto" / "auto/n": i from JOB_COMPLETION_INDEX, the index a Kubernetes Indexed Job
 * gives each pod, and n from "/n" or else the TDXFUZZ_SHARDS variable.
 */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const t = text.trim();
  const m = /^(auto|\d+)(?:\/(\d+))?$/.exec(t);
  if (!m) throw new ShardError('expected i/n (e.g. 0/4), auto (index from JOB_COMPLETION_INDEX, count from TDXFUZZ_SHARDS) or auto/n');
  let index: number;
  if (m[1] === 'auto') {
    const v = env.JOB_COMPLETION_INDEX;
    if (v === undefined || !/^\d+$/.test(v.trim())) throw new ShardError(`auto needs JOB_COMPLETION_INDEX set to the shard index (it is ${v === undefined ? 'not set' : `"${v}"`})`);
    index = Number(v.trim());
  } else index = Number(m[1]);
  let countText: string | undefined = m[2];
  if (countText === undefined) {
    if (m[1] !== 'auto') throw new ShardError('expected i/n (e.g. 0/4): the number of shards is missing');
    const fromEnv = env.TDXFUZZ_SHARDS?.trim();
    if (fromEnv === undefined || !/^\d+$/.test(fromEnv)) throw new ShardError(`auto needs the number of shards: auto/n, or TDXFUZZ_SHARDS (it is ${fromEnv === undefined ? 'not set' : `"${fromEnv}"`})`);
    countText = fromEnv;
  }
  const count = Number(countText);
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000) throw new ShardError(`the number of shards must be from 1 to 1000000, got ${countText}`);
  if (!Number.isSafeInteger(index) || index >= count) throw new ShardError(`the shard index must be from 0 to ${count - 1}, got ${index}`);
  return { index, count };
}
