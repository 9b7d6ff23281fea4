import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local.js';
import { isLegacyName, isSafeName, newObjectName } from '../../src/storage/names.js';

describe('stored names', () => {
  it('accepts castfolio’s own names, videos included, and nothing else as its own', () => {
    expect(isSafeName(newObjectName('gallery_media', 7, 'mp4'))).toBe(true);
    expect(isSafeName(newObjectName('gallery_media', 7, 'webm'))).toBe(true);
    expect(isSafeName('gallery_media/7_short.mp4')).toBe(false);
    expect(isSafeName(`gallery_media/7_${'a'.repeat(22)}.mov`)).toBe(false);
  });

  it('adopts Django’s names, talent media one folder deeper, and never a path that climbs or nests further', () => {
    for (const name of [
      'profile_pictures/lina_Ab3dE9x.jpg',
      'talent_media/user_42/0b5c9e2f4a1d4e6f.mp4',
      'talent_media/user_42/Portr\u00e4t.JPG',
    ])
      expect(isLegacyName(name), name).toBe(true);
    for (const name of [
      'talent_media/0b5c.jpg',
      'talent_media/user_42/../../etc/passwd',
      'talent_media/user_42/sub/x.jpg',
      'talent_media/user_x/a.jpg',
      'talent_media/user_42/.hidden',
      'thumbnails/a.jpg',
      'band_media/band_1/a.jpg',
    ])
      expect(isLegacyName(name), name).toBe(false);
  });
});

describe('local storage lists adopted talent media inside its user folders', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'castfolio-names-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds talent_media/user_<id>/ files only when asked for adopted names', async () => {
    const storage = new LocalStorage({ root, urlPrefix: 'media', publicBaseUrl: undefined });
    await storage.put('talent_media/user_3/clip.mp4', Buffer.from('x'));
    await storage.put('talent_media/user_4/look.jpg', Buffer.from('y'));
    const adopted: string[] = [];
    for await (const object of storage.list('talent_media', 'adopted')) adopted.push(object.name);
    expect(adopted.sort()).toEqual(['talent_media/user_3/clip.mp4', 'talent_media/user_4/look.jpg']);
    const own: string[] = [];
    for await (const object of storage.list('talent_media')) own.push(object.name);
    expect(own).toEqual([]);
  });
});
