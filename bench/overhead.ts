// Per-task overhead of the worker pool, measured directly rather than as the difference of two campaign
// runs (which once came out at -208 us): empty tasks through a one-thread piscina pool set up as the
// coordinator sets up its own, against the same calls made in-thread. Two ways a campaign meets the cost:
//   queued:     many tasks submitted at once (the coordinator keeps the workers fed), time / tasks;
//   round trip: one task at a time, each awaited (a worker that waits for its next batch).
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import noop from './noop-worker.js';

export interface OverheadSample {
  queuedUs: number;
  roundTripUs: number;
  inThreadUs: number;
}

const workerFile = fileURLToPath(new URL('./noop-worker.js', import.meta.url));

/** `reps` samples, each of `tasks` empty tasks queued and `tasks` awaited one by one, after a warm-up. */
export async function poolOverhead(reps: number, tasks: number): Promise<OverheadSample[]> {
  const pool = new Piscina({ filename: workerFile, minThreads: 1, maxThreads: 1, idleTimeout: 60_000 });
  try {
    await Promise.all(Array.from({ length: 500 }, (_, i) => pool.run(i))); // start the thread, JIT both sides
    for (let i = 0; i < 200; i++) await pool.run(i);
    const out: OverheadSample[] = [];
    let sink = 0;
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      await Promise.all(Array.from({ length: tasks }, (_, i) => pool.run(i)));
      const queued = performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < tasks; i++) await pool.run(i);
      const roundTrip = performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < tasks; i++) sink += await Promise.resolve(noop(i)); // the same call, in-thread and awaited
      const inThread = performance.now() - t0;
      out.push({ queuedUs: ((queued - inThread) / tasks) * 1000, roundTripUs: ((roundTrip - inThread) / tasks) * 1000, inThreadUs: (inThread / tasks) * 1000 });
    }
    if (sink < 0) throw new Error('unreachable'); // keeps the in-thread loop from being optimised away
    return out;
  } finally {
    await pool.destroy();
  }
}
