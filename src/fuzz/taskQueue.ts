// The pool's task queue: minimisations first, then batches, then corpus seeding (issue 14: minimise first
// failures before everything else; a campaign's first cases before the coverage bookkeeping of its corpus).
// Within a kind, first in first out (batches must reach each worker in increasing index order).
import { FixedQueue, type PiscinaTask, type TaskQueue } from 'piscina';
import type { WorkerTask } from './runner.js';

const RANK: Record<WorkerTask['kind'], number> = { minimize: 0, batch: 1, seed: 2 };

/** The kind of a queued piscina task, by the payload it carries. */
function rank(t: PiscinaTask): number {
  const payload = (t as unknown as { task?: WorkerTask }).task;
  return payload ? RANK[payload.kind] : RANK.batch;
}

export class PriorityTaskQueue implements TaskQueue {
  private readonly queues = [new FixedQueue(), new FixedQueue(), new FixedQueue()];

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
