import type { Readable } from 'node:stream';

/** One stored object, named relative to the media prefix, e.g. "profile_pictures/12_k3J….jpg". */
export interface StoredObject {
  name: string;
  size: number;
  lastModified: Date;
}

/** A file on local disk, copied into storage as a stream (videos): never read whole into memory. */
export interface FileBody {
  path: string;
  bytes: number;
}

export type PutBody = Buffer | FileBody;

export interface PutOptions {
  contentType: string;
  cacheControl: string;
  /** "attachment" for documents, so a browser never renders them inline. */
  contentDisposition?: string;
  /**
   * The name is new (server-made, see names.ts): nothing references it unless the caller commits
   * after this put succeeded. A put of a new name that times out is deleted once it ends
   * (TimeoutStorage); without it (a name rows already point at, as an import writes) it is left.
   */
  newName?: boolean;
}

/**
 * The only door to stored media. Names are server-made (see media/keys.ts), never a client's
 * filename. Drivers: local.ts (a folder served by the app) and s3.ts (any S3-compatible service).
 */
/** Which objects list() yields: the ones castfolio made (the default), or the ones adopted from a Django installation. */
export type ListedNames = 'own' | 'adopted';

export interface Storage {
  readonly driver: 'local' | 's3';
  put(name: string, body: PutBody, options: PutOptions): Promise<void>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(name: string): Promise<void>;
  exists(name: string): Promise<boolean>;
  /**
   * Every object under `folder/` named as castfolio names them (and, locally, a leftover partial
   * write of one); objects other tools put there are not listed, so the sweep never touches them.
   * With 'adopted': the objects named as Django named them (see storage/names.ts), instead.
   */
  list(folder: string, names?: ListedNames): AsyncIterable<StoredObject>;
  /** The object's bytes and type, or undefined when it does not exist. */
  get(name: string): Promise<{ body: Readable; contentType: string | undefined; cacheControl: string | undefined } | undefined>;
  /** The absolute URL clients load; `origin` is the request's, used when no public base URL is configured. */
  publicUrl(name: string, origin: string): string;
  /** Throws when the storage cannot be reached (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}

export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
