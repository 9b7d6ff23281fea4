import { mkdirSync, readdirSync, watch } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_MEMORY_UPLOAD_BYTES, UploadMemory } from '../../src/http/multipart.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser } from '../helpers/factories.js';
import { uploadInTwoHalves } from '../helpers/http.js';
import { jpeg, noisyJpeg } from '../helpers/images.js';

describe('upload memory budget (unit)', () => {
  it('holds bodies up to the per-upload size while the budget has room, and gives the room back', () => {
    const memory = new UploadMemory(300_000);
    expect(memory.reserve(IN_MEMORY_UPLOAD_BYTES + 1)).toBe(false);
    expect(memory.reserve(200_000)).toBe(true);
    expect(memory.reserve(200_000)).toBe(false);
    expect(memory.reserve(100_000)).toBe(true);
    expect(memory.heldBytes).toBe(300_000);
    memory.release(200_000);
    expect(memory.reserve(150_000)).toBe(true);
    expect(new UploadMemory(0).reserve(1)).toBe(false);
  });
});

describe('small uploads are held in memory, within the budget', () => {
  let t: TestApp;
  let uploads: string;
  const created: string[] = [];
  let watcher: ReturnType<typeof watch>;

  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { env: { UPLOAD_MEMORY_BUDGET: '600KB' } });
    uploads = t.config.images.uploadTmpDir;
    mkdirSync(uploads, { recursive: true, mode: 0o700 });
    // Every temporary upload file the server creates, however briefly it lives.
    watcher = watch(uploads, (_event, name) => {
      if (name?.startsWith('upload-') && !created.includes(name)) created.push(name);
    });
  });
  afterAll(async () => {
    watcher?.close();
    await t?.close();
  });

  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  it('stores a small photo without writing a temporary file', async () => {
    const user = await createUser(t.http, 'talent');
    const form = new FormData();
    form.append('profile_picture', new Blob([await noisyJpeg(600, 800)], { type: 'image/jpeg' }), 'me.jpg');
    created.length = 0;
    const res = await t.http.request('POST', '/api/profile/talent/', { form, headers: user.headers });
    expect(res.status, res.text).toBe(200);
    expect(res.body.profile.profile_picture).toMatch(/\.jpg$/);
    expect((await fetch(res.body.profile.profile_picture)).status).toBe(200);
    await settle();
    expect(created).toEqual([]);
  });

  it('streams a body over 2 MB to a temporary file, as before', async () => {
    const user = await createUser(t.http, 'talent');
    const big = await noisyJpeg(2600, 2600);
    expect(big.length).toBeGreaterThan(IN_MEMORY_UPLOAD_BYTES);
    const form = new FormData();
    form.append('profile_picture', new Blob([big], { type: 'image/jpeg' }), 'big.jpg');
    created.length = 0;
    const res = await t.http.request('POST', '/api/profile/talent/', { form, headers: user.headers });
    expect(res.status, res.text).toBe(200);
    await settle();
    expect(created).toHaveLength(1);
  });

  it('sends an upload to disk when the budget is taken by others, and both succeed', async () => {
    const [first, second] = [await createUser(t.http, 'talent'), await createUser(t.http, 'talent')];
    // 2 × ~400 KB against a 600 KB budget: the first holds its room while it is half sent.
    const photoA = await noisyJpeg(700, 900);
    const photoB = await noisyJpeg(700, 900);
    expect(photoA.length).toBeGreaterThan(310_000);
    expect(photoB.length).toBeGreaterThan(310_000);
    created.length = 0;
    let secondStatus = 0;
    const url = `${t.http.baseUrl}/api/profile/talent/`;
    const firstStatus = await uploadInTwoHalves({
      url,
      headers: first.headers,
      field: 'profile_picture',
      bytes: photoA,
      between: async () => {
        await settle();
        expect(created).toEqual([]); // the first is in memory
        const form = new FormData();
        form.append('profile_picture', new Blob([photoB], { type: 'image/jpeg' }), 'b.jpg');
        secondStatus = (await t.http.request('POST', '/api/profile/talent/', { form, headers: second.headers })).status;
        expect(created).toHaveLength(1); // the second had no room: written to disk
      },
    });
    expect(firstStatus).toBe(200);
    expect(secondStatus).toBe(200);
    // The room is given back: a third small upload is held in memory again.
    created.length = 0;
    const form = new FormData();
    form.append('profile_picture', new Blob([await jpeg(300, 300)], { type: 'image/jpeg' }), 'c.jpg');
    expect((await t.http.request('POST', '/api/profile/talent/', { form, headers: first.headers })).status).toBe(200);
    await settle();
    expect(created).toEqual([]);
    // Nothing left behind in the upload folder.
    await expect.poll(() => readdirSync(uploads).filter((n) => n.startsWith('upload-'))).toEqual([]);
  });
});
