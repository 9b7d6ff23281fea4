import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** The local driver's writes, on a real folder. */
describe('local storage writes', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'castfolio-local-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const storage = new LocalStorage({ root, urlPrefix: 'media', publicBaseUrl: undefined });
  const options = { contentType: 'image/jpeg', cacheControl: 'public', newName: true };
  const filesIn = (folder: string) => readdirSync(path.join(root, folder)).sort();

  it('writes a new name whole, and refuses a new name that exists, leaving that file as it was', async () => {
    const name = newObjectName('profile_pictures', 7, 'jpg');
    const bytes = Buffer.alloc(300 * 1024, 1);
    await storage.put(name, bytes, options);
    expect(readFileSync(path.join(root, name)).equals(bytes)).toBe(true);
    await expect(storage.put(name, Buffer.from('other'), options)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(path.join(root, name)).equals(bytes)).toBe(true);
    expect(filesIn('profile_pictures')).toEqual([path.basename(name)]);
  });

  it('leaves nothing under a new name whose write failed', async () => {
    const name = newObjectName('gallery', 8, 'mp4');
    await expect(storage.put(name, { path: path.join(root, 'no-such-upload'), bytes: 10 }, options)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(await storage.exists(name)).toBe(false);
    expect(filesIn('gallery')).toEqual([]);
  });

  it('replaces the file of a name that rows already point at (an import), leaving no partial file', async () => {
    const name = newObjectName('profile_pictures', 9, 'jpg');
    await storage.put(name, Buffer.from('first'), options);
    await storage.put(name, Buffer.from('second'), { ...options, newName: false });
    expect(readFileSync(path.join(root, name), 'utf8')).toBe('second');
    expect(filesIn('profile_pictures')).not.toContainEqual(expect.stringMatching(/\.partial$/));
  });
});
