import { Piscina } from 'piscina';

// From source (tests, `npm run dev`) a worker is TypeScript and loads through tsx; built, it is JavaScript.
const fromSource = import.meta.url.endsWith('.ts');

/**
 * One worker thread running `worker` (a module in this folder), started on first use; left idle for
 * `idleTimeout` ms it exits, and the WebAssembly memory it grew goes with it. `youngGenerationMb`
 * caps the thread's young generation (V8's default lets a busy worker's short-lived garbage
 * hold tens of MB).
 */
export function lazyWorker(worker: string, idleTimeout: number, options: { youngGenerationMb?: number } = {}) {
  let pool: Piscina | undefined;
  return {
    get(): Piscina {
      pool ??= new Piscina({
        filename: new URL(`./${worker}.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
        execArgv: fromSource ? ['--import', 'tsx'] : [],
        minThreads: 0,
        maxThreads: 1,
        idleTimeout,
        ...(options.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: options.youngGenerationMb } } : {}),
      });
      return pool;
    },
    /** Ends the thread (tests and shutdown). */
    async close(): Promise<void> {
      const current = pool;
      pool = undefined;
      await current?.destroy();
    },
  };
}
