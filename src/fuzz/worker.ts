// The piscina worker: settings arrive once through workerData; the tasks run in a runner (runner.ts), the
// same code the coordinator's main thread runs its first cases with. Claiming a health slot at load tells
// the coordinator this thread has loaded its modules and can take tasks.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { SharedCounters } from './counters.js';
import { createRunner, type WorkerReply, type WorkerSettings, type WorkerTask } from './runner.js';

export type { BatchReply, BatchTask, EarlyFailure, MinimizeReply, MinimizeTask, SeedReply, SeedTask, WorkerReply, WorkerSettings, WorkerTask } from './runner.js';

const settings = (workerData ?? {}) as WorkerSettings;
const counters = settings.countersBuffer ? new SharedCounters(settings.countersBuffer) : null;
const slot = counters ? counters.claimSlot(threadId) : -1;
// A batch's first failure goes to the coordinator at once (piscina re-emits it as the pool's 'message').
const runner = createRunner(settings, counters, slot, (f) => parentPort?.postMessage(f));

export default function handleTask(task: WorkerTask): WorkerReply {
  return runner.handle(task);
}
