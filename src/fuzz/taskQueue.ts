// The pool's task queue: minimisations first (issue 14: minimise first failures before everything else), then
// corpus seeding (the campaign commits no coverage before it; meanwhile the main thread runs the first
// batches), then batches. Within a kind, first in first out (batches reach each worker in index order).
import type { FixedQueue, PiscinaTask, TaskQueue } from 'piscina';
import type { WorkerTask } from './runner.js';

const RANK: Record<WorkerTask['kind'], number> = { minimize: 0, seed: 1, batch: 2 };

/** The kind of a queued piscina task, by the payload it carries. */
function rank(t: PiscinaTask): number {
  const payload = (t as unknown as { task?: WorkerTask }).task;
  return payload ? RANK[payload.kind] : RANK.batch;
}

export class PriorityTaskQueue implements TaskQueue {
  private readonly queues: FixedQueue[];

  /** `Queue`: piscina's FixedQueue, handed in because the coordinator loads piscina only when the worker threads start. */
  constructor(Queue: typeof FixedQueue) {
    this.queues = [new Queue(), new Queue(), new Queue()];
  }

  /** Tasks of this kind waiting for a worker. */
  waiting(kind: WorkerTask['kind']): number {
    return this.queues[RANK[kind]].size;
  }

  get size(): number {
    return this.queues.reduce((n, q) => n + q.size, 0);
  }

  push(task: PiscinaTask): void {
    this.queues[rank(task)].push(task);
  }

  unshift(task: PiscinaTask): void {
    this.queues[rank(task)].unshift(task);
  }

  shift(): PiscinaTask | null {
    for (const q of this.queues) if (q.size > 0) return q.shift() as PiscinaTask | null;
    return null;
  }

  remove(task: PiscinaTask): void {
    this.queues[rank(task)].remove(task);
  }
}
