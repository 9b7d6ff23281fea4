import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundWork } from '../../src/background.js';
import type { Log } from '../../src/log.js';
import { S3Storage } from '../../src/storage/s3.js';
import { TimeoutStorage } from '../../src/storage/timeout.js';
import type { PutBody, PutOptions } from '../../src/storage/types.js';
import { TcpProxy } from '../helpers/proxy.js';
import { PassThroughStorage, s3rverOptions, startS3rver } from '../helpers/storage.js';

/**
 * The storage timeout around a real S3-protocol server reached through a proxy that can slow the
 * link: a put the caller gave up on may still land, and must not stay as an object nothing references.
 */
describe('storage timeout', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let proxy: TcpProxy;
  let direct: S3Storage;
  let slowable: S3Storage;
  const lines: { level: string; msg: string }[] = [];
  const log: Log = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [
      level,
      (_: unknown, msg?: string) => lines.push({ level, msg: msg ?? '' }),
    ]),
  ) as unknown as Log;
  const options = { contentType: 'image/jpeg', cacheControl: 'public, max-age=31536000, immutable' };
  const s3Options = (endpoint: string) => s3rverOptions({ endpoint, bucket: s3.bucket });

  beforeAll(async () => {
    s3 = await startS3rver();
    proxy = new TcpProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
    const port = await proxy.start();
    direct = new S3Storage(s3Options(s3.endpoint));
    slowable = new S3Storage(s3Options(`http://127.0.0.1:${port}`));
  });
  afterAll(async () => {
    await slowable?.close();
    await direct?.close();
    await proxy?.close();
    await s3?.close();
  });

  it('deletes the object of a new name whose put lands after its timeout; leaves an imported name', async () => {
    const background = new BackgroundWork(log);
    // Each way takes 2 s: the puts land after 2 s and answer after 4 s, past their 2.5 s timeout
    // and within the one more timeout the clean-up waits for them.
    const storage = new TimeoutStorage(slowable, 2500, { background, log });
    const fresh = 'gallery_media/5_latelatelatelatelatelat.jpg';
    // An import writes the file a Django row already points at: its late object is wanted.
    const imported = 'background_profile_pictures/portrait_2019.jpg';
    proxy.delayMs = 2000;
    proxy.setMode('slow');
    try {
      const puts = [
        storage.put(fresh, Buffer.alloc(50_000, 7), { ...options, newName: true }),
        storage.put(imported, Buffer.alloc(50_000, 8), options),
      ];
      for (const put of puts) await expect(put).rejects.toThrow(/put did not answer within 2500 ms/);
      // The callers have given up, yet the objects are there.
      expect(await direct.exists(fresh)).toBe(true);
      expect(await direct.exists(imported)).toBe(true);
    } finally {
      proxy.setMode('pass');
    }
    await background.settled();
    expect(await direct.exists(fresh)).toBe(false);
    expect(await direct.exists(imported)).toBe(true);
    expect(lines).toContainEqual({ level: 'info', msg: 'deleted the object of a put that ended after its timeout' });
    await direct.delete(imported);
  });

  it('waits for a timed-out put that runs on past one more timeout, and deletes its object once it lands', async () => {
    const background = new BackgroundWork(log);
    // Each way takes 1 s: the put lands after about 1 s and answers after 2 s, three timeouts late.
    const storage = new TimeoutStorage(slowable, 500, { background, log });
    const fresh = 'gallery_media/5_slowslowslowslowslowslo.jpg';
    proxy.delayMs = 1000;
    proxy.setMode('slow');
    try {
      await expect(storage.put(fresh, Buffer.from('late bytes'), { ...options, newName: true })).rejects.toThrow(/within 500 ms/);
      await background.settled();
      // Past the put's landing, whoever stopped waiting for it.
      await new Promise((resolve) => setTimeout(resolve, 2500));
    } finally {
      proxy.setMode('pass');
    }
    expect(await direct.exists(fresh)).toBe(false);
  });

  it('deletes a failed put’s name again a timeout later: the server may finish a write whose client gave up', async () => {
    const background = new BackgroundWork(log);
    const fresh = 'gallery_media/5_abortabortabortabortabo.jpg';
    // The client gives up at 600 ms with an error of its own; the server's write lands at 750 ms.
    const abandoning = new (class extends PassThroughStorage {
      override put(name: string, body: PutBody, putOptions: PutOptions) {
        void new Promise((resolve) => setTimeout(resolve, 750)).then(() => this.inner.put(name, body, putOptions));
        return new Promise<void>((_, reject) => setTimeout(() => reject(new Error('socket hang up')), 600));
      }
      override async close() {}
    })(direct);
    const storage = new TimeoutStorage(abandoning, 300, { background, log });
    await expect(storage.put(fresh, Buffer.from('bytes'), { ...options, newName: true })).rejects.toThrow(/within 300 ms/);
    await background.settled();
    // Past the server's late write.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await direct.exists(fresh)).toBe(false);
  });

  it('keeps what a put stored in time, and answers a slow read with a timeout', async () => {
    const background = new BackgroundWork(log);
    const storage = new TimeoutStorage(slowable, 2000, { background, log });
    const name = 'gallery_media/5_intimeintimeintimeintim.jpg';
    await storage.put(name, Buffer.from('bytes'), options);
    await background.settled();
    expect(await direct.exists(name)).toBe(true);

    const impatient = new TimeoutStorage(slowable, 300, { background, log });
    proxy.delayMs = 1000;
    proxy.setMode('slow');
    try {
      await expect(impatient.get(name)).rejects.toThrow(/get did not answer within 300 ms/);
    } finally {
      proxy.setMode('pass');
    }
    await background.settled();
    // Reads never delete anything.
    expect(await direct.exists(name)).toBe(true);
    await direct.delete(name);
  });
});
