import v8 from 'node:v8';
import { Piscina } from 'piscina';

// From source (tests, `npm run dev`) a worker is TypeScript and loads through tsx; built, it is JavaScript.
const fromSource = import.meta.url.endsWith('.ts');

let threadsSizeTheirYoungGeneration = false;

/**
 * V8's `--max-semi-space-size` (which `npm start` and the image set for the server's own thread)
 * is process-wide and overrides a worker's `resourceLimits.maxYoungGenerationSizeMb`: under it the
 * face check's thread took a 32 MB young generation instead of its 8. It is read only when a heap
 * is set up, so clearing it once the server's thread is running leaves that thread as it started,
 * and lets each worker thread's own limit hold.
 */
function letThreadsSizeTheirYoungGeneration(): void {
  if (threadsSizeTheirYoungGeneration) return;
  v8.setFlagsFromString('--max-semi-space-size=0');
  threadsSizeTheirYoungGeneration = true;
}

/**
 * One worker thread running `worker` (a module in this folder), started on first use; left idle for
 * `idleTimeout` ms it exits, and the WebAssembly memory it grew goes with it. `youngGenerationMb`
 * sizes the thread's young generation (V8's default lets a busy worker's short-lived garbage
 * hold tens of MB, and Node 24's default is larger than Node 20's).
 */
export function lazyWorker(worker: string, idleTimeout: number, options: { youngGenerationMb: number }) {
  let pool: Piscina | undefined;
  return {
    get(): Piscina {
      if (!pool) letThreadsSizeTheirYoungGeneration();
      pool ??= new Piscina({
        filename: new URL(`./${worker}.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
        execArgv: fromSource ? ['--import', 'tsx'] : [],
        minThreads: 0,
        maxThreads: 1,
        idleTimeout,
        resourceLimits: { maxYoungGenerationSizeMb: options.youngGenerationMb },
      });
      return pool;
    },
    /** Whether the thread is running (started and not yet ended). */
    running(): boolean {
      return (pool?.threads.length ?? 0) > 0;
    },
    /** Ends the thread (tests and shutdown). */
    async close(): Promise<void> {
      const current = pool;
      pool = undefined;
      await current?.destroy();
    },
  };
}
