import type * as S3 from '@aws-sdk/client-s3';
import type { ObjectCannedACL, S3Client } from '@aws-sdk/client-s3';
import type * as Smithy from '@smithy/node-http-handler';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { S3Config } from '../config.js';
import type { ListedNames, PutBody, PutOptions, Storage, StoredObject } from './types.js';
import { assertSafeName, isLegacyName, isSafeName } from './names.js';

export interface S3StorageOptions extends S3Config {
  /** Key prefix of every object ("media"). */
  prefix: string;
  publicBaseUrl: string | undefined;
}

/** The CDN / public base URL for a bucket when none is configured. */
export function derivePublicBaseUrl(options: Pick<S3StorageOptions, 'endpoint' | 'region' | 'bucket' | 'forcePathStyle'>): string {
  if (!options.endpoint) return `https://${options.bucket}.s3.${options.region}.amazonaws.com`;
  const endpoint = new URL(options.endpoint);
  const spaces = /^([a-z0-9-]+)\.digitaloceanspaces\.com$/.exec(endpoint.hostname);
  if (spaces) return `https://${options.bucket}.${spaces[1]}.cdn.digitaloceanspaces.com`;
  const origin = endpoint.origin;
  return options.forcePathStyle ? `${origin}/${options.bucket}` : `${endpoint.protocol}//${options.bucket}.${endpoint.host}`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

// The AWS SDK is loaded when S3 storage is created, not at start: a worker on local storage never holds it.
const requireLazily = createRequire(import.meta.url);

/** DigitalOcean Spaces, AWS S3, MinIO, Cloudflare R2: anything that speaks S3. */
export class S3Storage implements Storage {
  readonly driver = 's3' as const;
  readonly client: S3Client;
  readonly publicBase: string;

  private readonly sdk: typeof S3;

  constructor(private readonly options: S3StorageOptions) {
    this.sdk = requireLazily('@aws-sdk/client-s3') as typeof S3;
    const { NodeHttpHandler } = requireLazily('@smithy/node-http-handler') as typeof Smithy;
    this.client = new this.sdk.S3Client({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      // Spaces, MinIO, R2 and s3rver do not all speak the newer default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: Math.min(5000, options.requestTimeoutMs),
        requestTimeout: options.requestTimeoutMs,
        // Without it the SDK only prints a warning and leaves a hung request (and its socket) open.
        throwOnRequestTimeout: true,
      }),
    });
    this.publicBase = (options.publicBaseUrl ?? derivePublicBaseUrl(options)).replace(/\/+$/, '');
  }

  private keyOf(name: string): string {
    assertSafeName(name);
    return this.options.prefix ? `${this.options.prefix}/${name}` : name;
  }

  async put(name: string, body: PutBody, options: PutOptions): Promise<void> {
    // A file goes as a stream of known length: one PUT (up to 5 GB), never whole in memory.
    const stream = Buffer.isBuffer(body) ? undefined : createReadStream(body.path);
    await this.client.send(
      new this.sdk.PutObjectCommand({
        Bucket: this.options.bucket,
        Key: this.keyOf(name),
        Body: stream ?? (body as Buffer),
        ContentLength: Buffer.isBuffer(body) ? body.length : body.bytes,
        ContentType: options.contentType,
        CacheControl: options.cacheControl,
        ...(options.contentDisposition ? { ContentDisposition: options.contentDisposition } : {}),
        ...(this.options.acl ? { ACL: this.options.acl as ObjectCannedACL } : {}),
      }),
    );
  }

  async delete(name: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(name) }));
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(name) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async *list(folder: string, names: ListedNames = 'own'): AsyncIterable<StoredObject> {
    const prefix = this.options.prefix ? `${this.options.prefix}/${folder}/` : `${folder}/`;
    const strip = this.options.prefix ? this.options.prefix.length + 1 : 0;
    for await (const page of this.sdk.paginateListObjectsV2({ client: this.client }, { Bucket: this.options.bucket, Prefix: prefix })) {
      for (const object of page.Contents ?? []) {
        // Only names castfolio makes (or, when asked, names adopted from Django): nothing else is ours to sweep.
        const name = object.Key?.slice(strip);
        if (!name || !(names === 'adopted' ? isLegacyName(name) : isSafeName(name))) continue;
        yield { name, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
    }
  }

  async get(name: string) {
    try {
      const result = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(name) }));
      return { body: result.Body as Readable, contentType: result.ContentType, cacheControl: result.CacheControl };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  publicUrl(name: string): string {
    return `${this.publicBase}/${this.keyOf(name)}`;
  }

  async check(): Promise<void> {
    await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.options.bucket }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
