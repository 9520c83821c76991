// Loaded with `node --import` into a `tdxfuzz fuzz` process the bench spawns (bench/throughput.ts): at exit
// it writes the process's CPU time (every thread: uv_getrusage RUSAGE_SELF) to $TDXFUZZ_BENCH_CPU_FILE, so
// throughput can be given per CPU-second of the whole process for any commit, without a hook in its code.
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.TDXFUZZ_BENCH_CPU_FILE;
if (file && isMainThread) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ userUs: u.user, systemUs: u.system }));
  });
}
