import type { ListedNames, PutBody, PutOptions, Storage, StoredObject } from './types.js';

class StorageTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(operation: string, ms: number) {
    super(`storage ${operation} did not answer within ${ms} ms`);
    this.name = 'StorageTimeoutError';
  }
}

function within<T>(operation: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(operation, ms)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Bounds every storage call, whatever the driver: a hung storage makes a request fail (503)
 * instead of hang. A put that finishes after its timeout leaves an unreferenced object, which
 * the media sweep removes; a timed-out delete stays queued and is retried.
 */
export class TimeoutStorage implements Storage {
  constructor(
    readonly inner: Storage,
    private readonly ms: number,
  ) {}

  get driver() {
    return this.inner.driver;
  }

  put(name: string, body: PutBody, options: PutOptions): Promise<void> {
    return within('put', this.ms, this.inner.put(name, body, options));
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
    return within('get', this.ms, this.inner.get(name));
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
