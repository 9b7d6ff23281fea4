import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from 's3rver';
import type { PutOptions, Storage, StoredObject } from '../../src/storage/types.js';

export interface StorageTarget {
  name: 'local' | 's3';
  /** Environment for the app's config; a fresh folder or bucket each time. */
  create(): Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

/** s3rver in-process on 127.0.0.1 with an ephemeral port: a real S3-protocol server. */
export async function startS3rver(): Promise<{ endpoint: string; bucket: string; close(): Promise<void> }> {
  const directory = mkdtempSync(path.join(tmpdir(), 'castfolio-s3rver-'));
  const bucket = `castfolio-${randomBytes(4).toString('hex')}`;
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export const STORAGES: StorageTarget[] = [
  {
    name: 'local',
    create: async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'castfolio-media-'));
      return { env: { STORAGE_DRIVER: 'local', MEDIA_ROOT: root }, close: async () => rmSync(root, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    create: async () => {
      const s3 = await startS3rver();
      return {
        env: {
          STORAGE_DRIVER: 's3',
          S3_ENDPOINT: s3.endpoint,
          S3_REGION: 'us-east-1',
          S3_BUCKET: s3.bucket,
          S3_ACCESS_KEY_ID: 'S3RVER',
          S3_SECRET_ACCESS_KEY: 'S3RVER',
          S3_FORCE_PATH_STYLE: 'true',
          S3_REQUEST_TIMEOUT: '5',
        },
        close: s3.close,
      };
    },
  },
];

type Operation = 'put' | 'delete' | 'exists' | 'list' | 'get' | 'check';

/** Wraps the real driver and makes chosen calls fail: the driver itself is never replaced. */
export class FaultyStorage implements Storage {
  readonly #failures = new Map<Operation, number>();
  calls: Record<Operation, number> = { put: 0, delete: 0, exists: 0, list: 0, get: 0, check: 0 };

  constructor(readonly inner: Storage) {}

  get driver() {
    return this.inner.driver;
  }

  /** The next `times` calls of `operation` throw. */
  failNext(operation: Operation, times = 1): void {
    this.#failures.set(operation, times);
  }

  heal(): void {
    this.#failures.clear();
  }

  private trip(operation: Operation): void {
    this.calls[operation] += 1;
    const left = this.#failures.get(operation) ?? 0;
    if (left > 0) {
      this.#failures.set(operation, left - 1);
      throw Object.assign(new Error(`injected ${operation} failure`), { code: 'EINJECTED' });
    }
  }

  async put(name: string, body: Buffer, options: PutOptions) {
    this.trip('put');
    return this.inner.put(name, body, options);
  }
  async delete(name: string) {
    this.trip('delete');
    return this.inner.delete(name);
  }
  async exists(name: string) {
    this.trip('exists');
    return this.inner.exists(name);
  }
  async *list(folder: string): AsyncIterable<StoredObject> {
    this.trip('list');
    yield* this.inner.list(folder);
  }
  async get(name: string) {
    this.trip('get');
    return this.inner.get(name);
  }
  publicUrl(name: string, origin: string) {
    return this.inner.publicUrl(name, origin);
  }
  async check() {
    this.trip('check');
    return this.inner.check();
  }
  close() {
    return this.inner.close();
  }
}
