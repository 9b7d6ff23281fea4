import { mkdtempSync, rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from 's3rver';
import type { S3StorageOptions } from '../../src/storage/s3.js';
import type { ListedNames, PutBody, PutOptions, Storage, StoredObject } from '../../src/storage/types.js';

export interface StorageTarget {
  name: 'local' | 's3';
  /** Environment for the app's config; a fresh folder or bucket each time. */
  create(): Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

// s3rver keeps each object as files in folders and removes a folder when its last object is
// deleted. A PUT into that folder at the same moment (deletions run after each answer, beside the
// next request) then opens its file in a folder that is gone, on a stream without an error handler:
// an uncaught exception in the test process. S3 has no folders, so here they simply stay.
const filesystemStore = createRequire(import.meta.url)('s3rver/lib/stores/filesystem.js') as {
  prototype: {
    deleteObject(bucket: string, key: string): Promise<void>;
    getResourcePath(bucket: string, key: string, type: string): string;
  };
};
filesystemStore.prototype.deleteObject = async function deleteObject(bucket: string, key: string): Promise<void> {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map((type) =>
      unlink(this.getResourcePath(bucket, key, type)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      }),
    ),
  );
};

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

/** S3Storage's options for an s3rver bucket (the test's own settings in `overrides`). */
export function s3rverOptions(s3: { endpoint: string; bucket: string }, overrides: Partial<S3StorageOptions> = {}): S3StorageOptions {
  return {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: s3.bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    requestTimeoutMs: 10_000,
    prefix: 'media',
    publicBaseUrl: undefined,
    acl: undefined,
    ...overrides,
  };
}

/** The environment that points the app at an S3-protocol server's bucket. */
export function s3Env(s3: { endpoint: string; bucket: string }): Record<string, string> {
  return {
    STORAGE_DRIVER: 's3',
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: 'us-east-1',
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
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
      return { env: { ...s3Env(s3), S3_REQUEST_TIMEOUT: '5' }, close: s3.close };
    },
  },
];

type Operation = 'put' | 'delete' | 'exists' | 'list' | 'get' | 'check';
export type FaultKind = 'error' | 'hang' | 'slow';

interface Fault {
  times: number;
  kind: FaultKind;
  delayMs: number;
  /** Calls let through before the fault starts (a video's second put, after its poster). */
  skip: number;
  /** Only calls for the names this accepts count (a picture's master, not its variants). */
  only: ((name: string) => boolean) | undefined;
}

/** The real driver behind a wrapper that passes every call through; tests override what they steer. */
export class PassThroughStorage implements Storage {
  constructor(readonly inner: Storage) {}

  get driver() {
    return this.inner.driver;
  }
  put(name: string, body: PutBody, options: PutOptions) {
    return this.inner.put(name, body, options);
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
  exists(name: string) {
    return this.inner.exists(name);
  }
  list(folder: string, names?: ListedNames): AsyncIterable<StoredObject> {
    return this.inner.list(folder, names);
  }
  get(name: string) {
    return this.inner.get(name);
  }
  publicUrl(name: string, origin: string) {
    return this.inner.publicUrl(name, origin);
  }
  check() {
    return this.inner.check();
  }
  close() {
    return this.inner.close();
  }
}

/** Wraps the real driver and makes chosen calls fail, hang or crawl: the driver itself is never replaced. */
export class FaultyStorage extends PassThroughStorage {
  readonly #faults = new Map<Operation, Fault>();
  calls: Record<Operation, number> = { put: 0, delete: 0, exists: 0, list: 0, get: 0, check: 0 };

  /** The next `times` calls of `operation` (after `skip` good ones) fail (error), never answer (hang) or answer late (slow). */
  failNext(
    operation: Operation,
    times = 1,
    kind: FaultKind = 'error',
    delayMs = 1500,
    skip = 0,
    only: ((name: string) => boolean) | undefined = undefined,
  ): void {
    this.#faults.set(operation, { times, kind, delayMs, skip, only });
  }

  heal(): void {
    this.#faults.clear();
  }

  private async trip(operation: Operation, name = ''): Promise<void> {
    this.calls[operation] += 1;
    const fault = this.#faults.get(operation);
    if (!fault || fault.times <= 0 || (fault.only && !fault.only(name))) return;
    if (fault.skip > 0) {
      fault.skip -= 1;
      return;
    }
    fault.times -= 1;
    if (fault.kind === 'slow') return new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.kind === 'hang') return new Promise(() => undefined);
    throw Object.assign(new Error(`injected ${operation} failure`), { code: 'EINJECTED' });
  }

  override async put(name: string, body: PutBody, options: PutOptions) {
    await this.trip('put', name);
    return this.inner.put(name, body, options);
  }
  override async delete(name: string) {
    await this.trip('delete', name);
    return this.inner.delete(name);
  }
  override async exists(name: string) {
    await this.trip('exists', name);
    return this.inner.exists(name);
  }
  override async *list(folder: string, names?: ListedNames): AsyncIterable<StoredObject> {
    await this.trip('list');
    yield* this.inner.list(folder, names);
  }
  override async get(name: string) {
    await this.trip('get', name);
    return this.inner.get(name);
  }
  override async check() {
    await this.trip('check');
    return this.inner.check();
  }
}
