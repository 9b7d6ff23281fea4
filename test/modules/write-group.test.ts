import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteGroup } from '../../src/modules/media/writes.js';
import { LocalStorage } from '../../src/storage/local.js';
import { S3Storage } from '../../src/storage/s3.js';
import type { PutBody, PutOptions, Storage } from '../../src/storage/types.js';
import { PassThroughStorage, s3rverOptions, startS3rver } from '../helpers/storage.js';

/**
 * An upload's files are written as each is encoded (the master while its variants are still being
 * made), as one group: all of them land, or none stays. Each case runs on a real folder and a real
 * S3-protocol server, behind a wrapper that slows or fails chosen writes.
 */
class Steered extends PassThroughStorage {
  readonly slow = new Map<string, number>();
  readonly failing = new Set<string>();
  readonly landed: string[] = [];
  puts = 0;

  override async put(name: string, body: PutBody, options: PutOptions) {
    this.puts += 1;
    const delay = this.slow.get(name);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    if (this.failing.has(name)) throw Object.assign(new Error('injected put failure'), { code: 'EINJECTED' });
    await this.inner.put(name, body, options);
    this.landed.push(name);
  }
}

const drivers: { name: string; open(): Promise<{ storage: Storage; close(): Promise<void> }> }[] = [
  {
    name: 'local',
    open: async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'castfolio-writes-'));
      return {
        storage: new LocalStorage({ root, urlPrefix: 'media', publicBaseUrl: undefined }),
        close: async () => rmSync(root, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 's3',
    open: async () => {
      const s3 = await startS3rver();
      const storage = new S3Storage(s3rverOptions(s3));
      return {
        storage,
        close: async () => {
          await storage.close();
          await s3.close();
        },
      };
    },
  },
];

const master = 'profile_pictures/7_aaaaaaaaaaaaaaaaaaaaaa.jpg';
const avatar = 'profile_pictures/7_bbbbbbbbbbbbbbbbbbbbbb-avatar-96.webp';
const card = 'profile_pictures/7_bbbbbbbbbbbbbbbbbbbbbb-card-320.webp';
const bytes = (text: string) => Buffer.from(text);

for (const driver of drivers) {
  describe(`write group (${driver.name})`, () => {
    let opened: Awaited<ReturnType<(typeof drivers)[number]['open']>>;
    let storage: Steered;
    beforeAll(async () => {
      opened = await driver.open();
    });
    afterAll(async () => {
      await opened?.close();
    });
    const fresh = () => {
      storage = new Steered(opened.storage);
      return new WriteGroup(storage);
    };
    const present = async (...names: string[]) => Promise.all(names.map((name) => storage.inner.exists(name)));

    it('lands every file', async () => {
      const group = fresh();
      group.put(master, bytes('master'), 'image/jpeg');
      group.put(avatar, bytes('avatar'), 'image/webp');
      await group.done();
      expect(await present(master, avatar)).toEqual([true, true]);
      await Promise.all([master, avatar].map((name) => storage.delete(name)));
    });

    it('leaves nothing when one write fails, including a file that lands after the failure', async () => {
      const group = fresh();
      storage.slow.set(master, 300);
      storage.failing.add(card);
      group.put(master, bytes('master'), 'image/jpeg');
      group.put(avatar, bytes('avatar'), 'image/webp');
      group.put(card, bytes('card'), 'image/webp');
      await expect(group.done()).rejects.toMatchObject({ code: 'EINJECTED' });
      // The slow master landed after the card had failed, and was deleted once it had.
      expect(storage.landed).toEqual([avatar, master]);
      expect(await present(master, avatar, card)).toEqual([false, false, false]);
    });

    it('once discarded (the image work failed), waits for the writes in flight, deletes them, and starts no more', async () => {
      const group = fresh();
      storage.slow.set(master, 300);
      group.put(master, bytes('master'), 'image/jpeg');
      const discarded = group.discard();
      // A variant whose encode ends after the failure.
      group.put(avatar, bytes('avatar'), 'image/webp');
      await discarded;
      expect(storage.puts).toBe(1);
      expect(storage.landed).toEqual([master]);
      expect(await present(master, avatar)).toEqual([false, false]);
    });
  });
}
