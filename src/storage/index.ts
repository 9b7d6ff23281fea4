import type { StorageConfig } from '../config.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { Storage } from './types.js';

export type { Storage, StoredObject, PutOptions, PutBody } from './types.js';

export function createStorage(config: StorageConfig): Storage {
  if (config.driver === 's3') {
    if (!config.s3) throw new Error('STORAGE_DRIVER=s3 needs the S3_* settings');
    return new S3Storage({ ...config.s3, prefix: config.mediaPrefix, publicBaseUrl: config.publicBaseUrl });
  }
  return new LocalStorage({ root: config.localRoot, urlPrefix: config.mediaPrefix, publicBaseUrl: config.publicBaseUrl });
}
