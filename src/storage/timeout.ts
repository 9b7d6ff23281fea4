import type { BackgroundWork } from '../background.js';
import type { Log } from '../log.js';
import type { ListedNames, PutBody, PutOptions, Storage, StoredObject } from './types.js';

class StorageTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(operation: string, ms: number) {
    super(`storage ${operation} did not answer within ${ms} ms`);
    this.name = 'StorageTimeoutError';
  }
}

/** How many more storage timeouts the clean-up of a timed-out put waits for it to end. */
const LATE_PUT_TIMEOUTS = 5;

/** `work`, or a StorageTimeoutError after `ms`; `abandoned` is called with `work` when the timeout won. */
function within<T>(operation: string, ms: number, work: Promise<T>, abandoned?: (work: Promise<T>) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned?.(work);
      reject(new StorageTimeoutError(operation, ms));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Bounds every storage call, whatever the driver: a hung storage makes a request fail (503)
 * instead of hang; a timed-out delete stays queued and is retried. A timed-out put may still land
 * after its caller gave up (and after the caller's own clean-up ran). For a new name
 * (PutOptions.newName), which nothing references once its put failed, the object is deleted here
 * once the put ends, as background work (shutdown and the CLI wait for it): the driver's own
 * request deadline ends it (S3_REQUEST_TIMEOUT, 30 s by default, as STORAGE_TIMEOUT is), and this
 * waits up to LATE_PUT_TIMEOUTS more timeouts for that. A put that ended in an error may still be
 * completed by the server after the client gave up, so its name is deleted again one timeout
 * later. Only if the put runs on past that wait, or a delete fails, is the object left to the
 * media sweep.
 */
export class TimeoutStorage implements Storage {
  constructor(
    readonly inner: Storage,
    private readonly ms: number,
    private readonly deps: { background: BackgroundWork; log: Log },
  ) {}

  get driver() {
    return this.inner.driver;
  }

  put(name: string, body: PutBody, options: PutOptions): Promise<void> {
    return within(
      'put',
      this.ms,
      this.inner.put(name, body, options),
      options.newName ? (late) => this.deleteWhenLanded(name, late) : undefined,
    );
  }

  /** The caller of a timed-out put of a new name never references it: whatever the put does, its object goes. */
  private deleteWhenLanded(name: string, late: Promise<void>): void {
    this.deps.background.start('deleting the object of a timed-out put', async () => {
      const outcome = await within('put', LATE_PUT_TIMEOUTS * this.ms, late).then(
        () => 'landed' as const,
        (error: unknown) => (error instanceof StorageTimeoutError ? ('running' as const) : ('failed' as const)),
      );
      if (outcome === 'running') {
        this.deps.log.warn({ name }, 'a timed-out put is still running; the media sweep will remove its object');
        return;
      }
      // Failed or not, a put may have written the object before it failed.
      await this.delete(name);
      if (outcome === 'failed') {
        // The server may complete a write whose client gave up; once more, a timeout later.
        await new Promise((resolve) => setTimeout(resolve, this.ms));
        await this.delete(name);
      }
      this.deps.log.info({ name }, 'deleted the object of a put that ended after its timeout');
    });
  }

  delete(name: string): Promise<void> {
    return within('delete', this.ms, this.inner.delete(name));
  }

  exists(name: string): Promise<boolean> {
    return within('exists', this.ms, this.inner.exists(name));
  }

  list(folder: string, names?: ListedNames): AsyncIterable<StoredObject> {
    return this.inner.list(folder, names);
  }

  get(name: string) {
    // A read that answers after its timeout: its body is never read, so its connection is closed.
    return within('get', this.ms, this.inner.get(name), (late) => {
      late.then((got) => got?.body.destroy()).catch(() => undefined);
    });
  }

  publicUrl(name: string, origin: string): string {
    return this.inner.publicUrl(name, origin);
  }

  check(): Promise<void> {
    return within('check', this.ms, this.inner.check());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
