import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage, derivePublicBaseUrl } from '../../src/storage/s3.js';
import { s3rverOptions, startS3rver } from '../helpers/storage.js';

describe('public media URLs', () => {
  it('derives the DigitalOcean Spaces CDN URL from a Spaces endpoint', () => {
    expect(
      derivePublicBaseUrl({
        endpoint: 'https://fra1.digitaloceanspaces.com',
        region: 'fra1',
        bucket: 'gan7club-spaces',
        forcePathStyle: false,
      }),
    ).toBe('https://gan7club-spaces.fra1.cdn.digitaloceanspaces.com');
  });

  it('derives AWS, path-style and virtual-host URLs', () => {
    expect(derivePublicBaseUrl({ endpoint: undefined, region: 'eu-west-1', bucket: 'b', forcePathStyle: false })).toBe(
      'https://b.s3.eu-west-1.amazonaws.com',
    );
    expect(derivePublicBaseUrl({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'b', forcePathStyle: true })).toBe(
      'http://127.0.0.1:9000/b',
    );
    expect(derivePublicBaseUrl({ endpoint: 'https://minio.example.com', region: 'x', bucket: 'b', forcePathStyle: false })).toBe(
      'https://b.minio.example.com',
    );
  });

  it('builds the guide URL shape: base + media/ + folder + name', () => {
    const storage = new S3Storage({
      endpoint: 'https://fra1.digitaloceanspaces.com',
      region: 'fra1',
      bucket: 'gan7club-spaces',
      accessKeyId: 'k',
      secretAccessKey: 's',
      forcePathStyle: false,
      acl: 'public-read',
      prefix: 'media',
      publicBaseUrl: undefined,
      requestTimeoutMs: 1000,
    });
    expect(storage.publicUrl('background_profile_pictures/123_abcdefghijklmnopqrstuv.jpg')).toBe(
      'https://gan7club-spaces.fra1.cdn.digitaloceanspaces.com/media/background_profile_pictures/123_abcdefghijklmnopqrstuv.jpg',
    );
  });
});

describe('S3 driver against an S3-protocol server', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let storage: S3Storage;
  const name = 'profile_pictures/7_abcdefghijklmnopqrstuv.jpg';
  beforeAll(async () => {
    s3 = await startS3rver();
    storage = new S3Storage(s3rverOptions(s3, { acl: 'public-read', publicBaseUrl: 'https://cdn.example.com/', requestTimeoutMs: 5000 }));
  });
  afterAll(async () => {
    await storage?.close();
    await s3?.close();
  });

  it('puts, lists, reads and deletes under the media prefix with type and cache headers', async () => {
    await storage.check();
    await storage.put(name, Buffer.from('bytes'), { contentType: 'image/jpeg', cacheControl: 'public, max-age=31536000, immutable' });
    expect(await storage.exists(name)).toBe(true);
    const listed = [];
    for await (const object of storage.list('profile_pictures')) listed.push(object);
    expect(listed.map((o) => o.name)).toEqual([name]);
    expect(listed[0]!.size).toBe(5);
    const got = await storage.get(name);
    expect(got?.contentType).toBe('image/jpeg');
    expect(got?.cacheControl).toBe('public, max-age=31536000, immutable');
    const raw = await fetch(`${s3.endpoint}/${s3.bucket}/media/${name}`);
    expect(await raw.text()).toBe('bytes');
    expect(storage.publicUrl(name)).toBe(`https://cdn.example.com/media/${name}`);
    await storage.delete(name);
    await storage.delete(name);
    expect(await storage.exists(name)).toBe(false);
    expect(await storage.get(name)).toBeUndefined();
  });

  it('refuses names it did not make', async () => {
    await expect(storage.put('../secrets.txt', Buffer.from('x'), { contentType: 'text/plain', cacheControl: '' })).rejects.toThrow(
      /unsafe/,
    );
    await expect(storage.delete('profile_pictures/../../x.jpg')).rejects.toThrow(/unsafe/);
  });

  it('reports an unreachable service on check()', async () => {
    const down = new S3Storage({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      bucket: 'nothing',
      accessKeyId: 'a',
      secretAccessKey: 'b',
      forcePathStyle: true,
      acl: undefined,
      prefix: 'media',
      publicBaseUrl: undefined,
      requestTimeoutMs: 1000,
    });
    await expect(down.check()).rejects.toThrow();
    await down.close();
  });
});
