import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local.js';
import { newObjectName } from '../../src/storage/names.js';

/** The local driver's reads, on a real folder. */
describe('local storage reads', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'castfolio-local-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const storage = new LocalStorage({ root, urlPrefix: 'media', publicBaseUrl: undefined });
  const openFiles = () => readdirSync('/proc/self/fd').length;

  it('reads a file whole when it is deleted between the get and the read (a replacement cleaning up meanwhile)', async () => {
    const name = newObjectName('profile_pictures', 3, 'jpg');
    const bytes = Buffer.alloc(256 * 1024, 7);
    await storage.put(name, bytes);
    const object = await storage.get(name);
    expect(object).toBeDefined();
    await storage.delete(name);
    expect(await storage.exists(name)).toBe(false);
    expect((await buffer(object!.body)).equals(bytes)).toBe(true);
  });

  it('answers undefined for a missing name or a folder, and leaves no file open', async () => {
    const before = openFiles();
    expect(await storage.get(newObjectName('profile_pictures', 4, 'jpg'))).toBeUndefined();
    const folderName = newObjectName('profile_pictures', 5, 'jpg');
    mkdirSync(path.join(root, folderName), { recursive: true });
    expect(await storage.get(folderName)).toBeUndefined();
    expect(openFiles()).toBe(before);
  });

  it('closes the file once its body is read, or dropped unread', async () => {
    const name = newObjectName('profile_pictures', 6, 'jpg');
    writeFileSync(path.join(root, name), 'bytes');
    const before = openFiles();
    const read = await storage.get(name);
    expect(openFiles()).toBe(before + 1);
    expect((await buffer(read!.body)).toString()).toBe('bytes');
    const dropped = await storage.get(name);
    dropped!.body.destroy();
    await new Promise<void>((resolve) => dropped!.body.once('close', () => resolve()));
    expect(openFiles()).toBe(before);
  });
});
