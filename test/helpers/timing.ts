import { performance } from 'node:perf_hooks';

/** What `work` resolved to, and the wall-clock milliseconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}
