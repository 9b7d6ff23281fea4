import { IMMUTABLE_CACHE_CONTROL, type Storage } from '../../storage/types.js';

/**
 * A group of writes of new names that succeeds whole or leaves nothing: every write started is
 * waited for before any clean-up (so none lands after its delete), then on a failure each name is
 * deleted again (best effort; the sweep removes what stays). Once discarded, the group starts no
 * more writes (an encode still running after a failure calls put too late).
 */
export class WriteGroup {
  readonly #puts: Promise<void>[] = [];
  readonly #names: string[] = [];
  #closed = false;

  constructor(private readonly storage: Storage) {}

  put(name: string, buffer: Buffer, contentType: string): void {
    if (this.#closed) return;
    this.#names.push(name);
    const put = this.storage.put(name, buffer, { contentType, cacheControl: IMMUTABLE_CACHE_CONTROL, newName: true });
    // Awaited in done() or discard(); until then a failure must not count as unhandled.
    put.catch(() => undefined);
    this.#puts.push(put);
  }

  /** Resolves once every write has landed; else deletes them all and throws the first failure. */
  async done(): Promise<void> {
    const settled = await Promise.allSettled(this.#puts);
    const failed = settled.find((put) => put.status === 'rejected');
    if (!failed) return;
    await this.discard();
    throw failed.reason;
  }

  /** Starts no more writes, waits for those started, and deletes every name. */
  async discard(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#puts);
    await Promise.allSettled(this.#names.map((name) => this.storage.delete(name)));
  }
}
