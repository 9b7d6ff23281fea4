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
 * How long a thread may take to start and run its warm task (about half a second here, a second
 * with the cores busy) before the work waiting for it gives up.
 */
const WARM_LIMIT_MS = 30_000;

/** Where a lazy worker stands: no thread, a thread starting (its warm task running), or one ready for work. */
export type WorkerState = 'idle' | 'loading' | 'ready';

/**
 * One worker thread running `worker` (a module in this folder), started on first use; left idle for
 * `idleTimeout` ms it exits, and the WebAssembly memory it grew goes with it. `youngGenerationMb`
 * sizes the thread's young generation (V8's default lets a busy worker's short-lived garbage
 * hold tens of MB, and Node 24's default is larger than Node 20's). `warmTask` is what readies a
 * new thread for work (its models or its decoder loaded): see ready().
 */
export function lazyWorker(worker: string, idleTimeout: number, options: { youngGenerationMb: number; warmTask: unknown }) {
  let pool: Piscina | undefined;
  let warming: Promise<void> | undefined;
  const get = (): Piscina => {
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
  };
  const running = () => (pool?.threads.length ?? 0) > 0;
  /** Runs (and their waits for the thread) not yet over. */
  let inFlight = 0;
  let ending: NodeJS.Timeout | undefined;
  /**
   * Resolves once the thread is running and has run the warm task; when there is no thread (on
   * first use, or once it idled out) it starts one, and every call meanwhile shares that start.
   * Rejects when the warm task fails or overruns WARM_LIMIT_MS (the thread is then ended).
   */
  const ready = (): Promise<void> => {
    if (warming) return warming;
    if (running()) return Promise.resolve();
    const started = get()
      .run(options.warmTask, { signal: AbortSignal.timeout(WARM_LIMIT_MS) })
      .then(() => undefined)
      .finally(() => {
        if (warming === started) warming = undefined;
      });
    warming = started;
    return started;
  };
  return {
    ready,
    /**
     * Runs `task` on the thread once it is ready, and aborts it (ending the thread) after
     * `timeoutMs` counted from then: a thread's start is never counted as the work's time.
     */
    async run<T>(task: unknown, timeoutMs: number): Promise<T> {
      inFlight++;
      try {
        await ready();
        return (await get().run(task, { signal: AbortSignal.timeout(timeoutMs) })) as T;
      } finally {
        inFlight--;
      }
    },
    /**
     * Ends the thread `delayMs` from now instead of after `idleTimeout`, unless work is then
     * running or waiting for it (that work's caller may ask again): what it holds, such as
     * WebAssembly memory grown by a large task, goes at once. A later run starts a new thread.
     */
    endWhenIdle(delayMs: number): void {
      clearTimeout(ending);
      ending = setTimeout(() => {
        ending = undefined;
        if (inFlight > 0 || warming || !pool) return;
        const current = pool;
        pool = undefined;
        current.destroy().catch(() => undefined);
      }, delayMs).unref();
    },
    /** Whether the thread is idle (none), loading (its warm task running) or ready for work. */
    state(): WorkerState {
      if (warming) return 'loading';
      return running() ? 'ready' : 'idle';
    },
    /** Ends the thread (tests and shutdown). */
    async close(): Promise<void> {
      clearTimeout(ending);
      const current = pool;
      pool = undefined;
      warming = undefined;
      await current?.destroy();
    },
  };
}
