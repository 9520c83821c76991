// A piscina task that does nothing: the per-task cost of the pool itself (bench/overhead.ts).
export default function noop(x: number): number {
  return x;
}
