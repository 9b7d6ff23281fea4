import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import sharp from 'sharp';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import type { S3Storage } from '../../src/storage/s3.js';
import { expectNoOrphans, referencedNames, startTestApp, storedNames, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type Role, type TestUser } from '../helpers/factories.js';
import {
  animatedGif,
  avif,
  BAD_FILES,
  HTML_PAYLOAD,
  jpeg,
  jpegHtmlPolyglot,
  jpegWithExif,
  noisyJpeg,
  pngClaiming,
  pngWithAlpha,
  webp,
} from '../helpers/images.js';
import { STORAGES } from '../helpers/storage.js';

const INVALID = 'Upload a valid image. The file you uploaded was either not an image or a corrupted image.';
const PATHS: Record<Role, string> = { background: '/api/profile/background/', talent: '/api/profile/talent/' };
const FOLDERS: Record<Role, string> = { background: 'background_profile_pictures', talent: 'profile_pictures' };

function pictureForm(bytes: Buffer, filename = 'photo.jpg', fields: Record<string, string> = {}, type = 'image/jpeg'): FormData {
  const form = new FormData();
  form.append('profile_picture', new Blob([bytes], { type }), filename);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}

function nameOf(url: string): string {
  const match = /\/media\/((?:background_)?profile_pictures\/[^/]+)$/.exec(url);
  if (!match) throw new Error(`not a media URL: ${url}`);
  return match[1] as string;
}

for (const db of DATABASES) {
  for (const store of STORAGES) {
    describe.skipIf(db.skipReason)(`profile pictures on ${db.label} with ${store.name} storage`, () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await startTestApp(db, { storage: store });
      });
      afterAll(async () => t?.close());
      afterEach(async () => {
        t.storage.heal();
        // Every request removes its temporary upload files, whatever its outcome (just after answering).
        const uploads = path.join(t.dataDir, 'uploads');
        await expect.poll(() => (existsSync(uploads) ? readdirSync(uploads) : []), { timeout: 2000 }).toEqual([]);
      });

      async function upload(user: TestUser, form: FormData, query = '') {
        return t.http.request('POST', `${PATHS[user.role]}${query}`, { form, headers: user.headers });
      }

      /** The stored object as a client loading the URL sees it. */
      async function fetchPicture(url: string) {
        const response = await fetch(url);
        return {
          status: response.status,
          contentType: response.headers.get('content-type'),
          cacheControl: response.headers.get('cache-control'),
          bytes: Buffer.from(await response.arrayBuffer()),
        };
      }

      it('stores a sanitised JPEG under background_profile_pictures/ and returns its absolute URL', async () => {
        const user = await createUser(t.http, 'background');
        const original = await jpegWithExif({ width: 1200, height: 800, orientation: 6 });
        expect(original.includes('CastfolioCam')).toBe(true);

        const res = await upload(user, pictureForm(original, '../../etc/passwd\u0000.jpg', { country: 'Canada' }));
        expect(res.status).toBe(200);
        expect(res.body.message).toBe('Background profile updated successfully');
        expect(res.body.profile.country).toBe('Canada');
        const url: string = res.body.profile.profile_picture;
        expect(url).toMatch(new RegExp(`^https?://.+/media/background_profile_pictures/${user.id}_[A-Za-z0-9_-]{22}\\.jpg$`));
        if (store.name === 's3') expect(url).toContain(`/${(t.config.storage.s3 as { bucket: string }).bucket}/media/`);
        else expect(url.startsWith(t.http.baseUrl)).toBe(true);

        const got = await t.http.get(PATHS.background, user.headers);
        expect(got.body.profile.profile_picture).toBe(url);

        const stored = await t.storage.inner.get(nameOf(url));
        expect(stored?.contentType).toBe('image/jpeg');
        if (store.name === 's3') expect(stored?.cacheControl).toBe('public, max-age=31536000, immutable');
        const served = await fetchPicture(url);
        expect(served.status).toBe(200);
        expect(served.contentType).toContain('image/jpeg');
        if (store.name === 'local') expect(served.cacheControl).toBe('public, max-age=31536000, immutable');

        const meta = await sharp(served.bytes).metadata();
        expect(meta.format).toBe('jpeg');
        // Orientation 6 applied: the 1200×800 landscape is stored upright as 800×1200.
        expect([meta.width, meta.height]).toEqual([800, 1200]);
        expect(meta.exif).toBeUndefined();
        expect(meta.orientation).toBeUndefined();
        for (const trace of ['CastfolioCam', 'SerialTest-XZ9', 'secret-location-photo', 'GPS']) {
          expect(served.bytes.includes(trace), trace).toBe(false);
        }
        await expectNoOrphans(t);
      });

      it('caps the longest side at 2048 without enlarging small images', async () => {
        const user = await createUser(t.http, 'background');
        const big = await upload(user, pictureForm(await jpeg(4000, 1000)));
        expect(big.status).toBe(200);
        const bigMeta = await sharp((await fetchPicture(big.body.profile.profile_picture)).bytes).metadata();
        expect([bigMeta.width, bigMeta.height]).toEqual([2048, 512]);
        const small = await upload(user, pictureForm(await jpeg(300, 200)));
        const smallMeta = await sharp((await fetchPicture(small.body.profile.profile_picture)).bytes).metadata();
        expect([smallMeta.width, smallMeta.height]).toEqual([300, 200]);
        await expectNoOrphans(t);
      });

      it.each([
        ['PNG with transparency', pngWithAlpha, 'png', true],
        ['animated GIF (first frame only)', () => animatedGif(3), 'png', true],
        ['WebP', webp, 'webp', true],
        ['AVIF', avif, 'jpg', false],
      ])('accepts a %s', async (_label, make, extension, alpha) => {
        const user = await createUser(t.http, 'background');
        const res = await upload(user, pictureForm(await make(), 'upload.bin', {}, 'application/octet-stream'));
        expect(res.status).toBe(200);
        const url: string = res.body.profile.profile_picture;
        expect(url.endsWith(`.${extension}`)).toBe(true);
        const meta = await sharp((await fetchPicture(url)).bytes, { animated: true }).metadata();
        expect(meta.format).toBe(extension === 'jpg' ? 'jpeg' : extension);
        expect(meta.hasAlpha).toBe(alpha);
        expect(meta.pages ?? 1).toBe(1);
        await expectNoOrphans(t);
      });

      it('replaces the picture: new URL, the old object really gone, nothing left over', async () => {
        const user = await createUser(t.http, 'background');
        const first = await upload(user, pictureForm(await jpeg(400, 300, '#ff0000')));
        const second = await upload(user, pictureForm(await jpeg(400, 300, '#00ff00')), '?partial=true');
        expect(second.status).toBe(200);
        const oldUrl: string = first.body.profile.profile_picture;
        const newUrl: string = second.body.profile.profile_picture;
        expect(newUrl).not.toBe(oldUrl);
        await t.settled(); // the replaced files are deleted once the answer is written
        expect(await t.storage.inner.exists(nameOf(oldUrl))).toBe(false);
        expect(await t.storage.inner.exists(nameOf(newUrl))).toBe(true);
        expect((await fetchPicture(oldUrl)).status).toBe(404);
        expect((await fetchPicture(newUrl)).status).toBe(200);
        await expectNoOrphans(t);
      });

      it('works the same for talent under profile_pictures/, and the picture counts in the score', async () => {
        const user = await createUser(t.http, 'talent');
        const before = await t.http.get(PATHS.talent, user.headers);
        const res = await upload(user, pictureForm(await jpeg()));
        expect(res.status).toBe(200);
        expect(res.body.message).toBe('Profile updated successfully');
        expect(res.body.profile.profile_picture).toContain(`/media/${FOLDERS.talent}/${user.id}_`);
        expect(res.body.profile.profile_score).toBe(before.body.profile.profile_score + 5);
        await expectNoOrphans(t);
      });

      it.each(Object.keys(BAD_FILES))('refuses a %s with the DRF message and stores nothing', async (label) => {
        const user = await createUser(t.http, 'background');
        const kept = await upload(user, pictureForm(await jpeg()));
        const before = await storedNames(t);
        const res = await upload(user, pictureForm(await BAD_FILES[label]!(), 'picture.jpg', { country: 'Spain' }));
        expect(res.status).toBe(400);
        expect(res.body.profile_picture[0]).toBe(INVALID);
        expect(await storedNames(t)).toEqual(before);
        const after = await t.http.get(PATHS.background, user.headers);
        expect(after.body.profile.profile_picture).toBe(kept.body.profile.profile_picture);
        expect(after.body.profile.country).toBe('USA');
        await expectNoOrphans(t);
      });

      it('refuses a decompression bomb by its header and says why', async () => {
        const user = await createUser(t.http, 'background');
        const res = await upload(user, pictureForm(await pngClaiming(50000, 50000), 'bomb.png'));
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          profile_picture: [INVALID, 'Image is 50000×50000 pixels; the limit is 52 megapixels.'],
        });
        await expectNoOrphans(t);
      });

      it('takes a 50 MP phone camera’s full-resolution photo (8192 × 6144) at the default limits', async () => {
        const user = await createUser(t.http, 'background');
        // A red quarter in the top left of a blue picture: a few hundred kB, far under the size limit.
        const quarter = await sharp({ create: { width: 4096, height: 3072, channels: 3, background: '#d02020' } })
          .png()
          .toBuffer();
        const photo = await sharp({ create: { width: 8192, height: 6144, channels: 3, background: '#2060a0' } })
          .composite([{ input: quarter, left: 0, top: 0 }])
          .jpeg({ quality: 90 })
          .toBuffer();
        const res = await upload(user, pictureForm(photo, 'IMG_20261206_101500.jpg'));
        expect(res.status, res.text).toBe(200);
        const served = await fetchPicture(res.body.profile.profile_picture);
        const { data, info } = await sharp(served.bytes).raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height]).toEqual([2048, 1536]);
        expect([...data.subarray(0, 3)].map((value) => Math.round(value / 16))).toEqual([13, 2, 2]);
        await expectNoOrphans(t);
      });

      it('removes the HTML of a JPEG+HTML polyglot', async () => {
        const user = await createUser(t.http, 'background');
        const polyglot = await jpegHtmlPolyglot();
        expect(polyglot.includes(HTML_PAYLOAD)).toBe(true);
        const res = await upload(user, pictureForm(polyglot));
        expect(res.status).toBe(200);
        const stored = (await fetchPicture(res.body.profile.profile_picture)).bytes;
        expect(stored.includes('<script')).toBe(false);
        expect(stored.includes('<html')).toBe(false);
        await expectNoOrphans(t);
      });

      it('refuses a file over the size limit with 413 while reading, and stores nothing', async () => {
        const user = await createUser(t.http, 'background');
        const before = await storedNames(t);
        const oversized = Buffer.concat([await jpeg(), Buffer.alloc(10 * 1024 * 1024 + 1, 0)]);
        const res = await upload(user, pictureForm(oversized));
        expect(res.status).toBe(413);
        expect(res.body).toEqual({ profile_picture: ['Image file size cannot exceed 10 MB.'] });
        expect(await storedNames(t)).toEqual(before);
      });

      it('refuses a second file and a file in another field', async () => {
        const user = await createUser(t.http, 'background');
        const image = await jpeg();
        const two = pictureForm(image);
        two.append('profile_picture', new Blob([image], { type: 'image/jpeg' }), 'second.jpg');
        const twoFiles = await upload(user, two);
        expect(twoFiles.status).toBe(400);
        expect(twoFiles.body).toEqual({ detail: 'Only one file may be uploaded per request.' });

        const other = new FormData();
        other.append('avatar', new Blob([image], { type: 'image/jpeg' }), 'a.jpg');
        const wrongField = await upload(user, other);
        expect(wrongField.status).toBe(400);
        expect(wrongField.body).toEqual({ avatar: ['Unexpected file. Only "profile_picture" accepts a file.'] });
        await expectNoOrphans(t);
      });

      it('refuses text in profile_picture, and validates the other fields before storing anything', async () => {
        const user = await createUser(t.http, 'background');
        const text = await t.http.post(PATHS.background, { profile_picture: 'https://evil.example/x.jpg' }, user.headers);
        expect(text.status).toBe(400);
        expect(text.body).toEqual({ profile_picture: ['The submitted data was not a file. Check the encoding type on the form.'] });
        // A client that sends the picture's bytes as a plain field (a part without a filename), small or past the text limit.
        for (const picture of [await jpeg(), await noisyJpeg(400, 300)]) {
          const form = new FormData();
          form.append('profile_picture', picture.toString('latin1'));
          const noFilename = await upload(user, form);
          expect(noFilename.status).toBe(400);
          expect(noFilename.body).toEqual({ profile_picture: ['The submitted data was not a file. Check the encoding type on the form.'] });
        }

        const bad = await upload(user, pictureForm(await jpeg(), 'a.jpg', { date_of_birth: '2023-02-30' }));
        expect(bad.status).toBe(400);
        expect(bad.body.date_of_birth).toBeDefined();
        expect(await storedNames(t)).toEqual(await referencedNames(t));
      });

      it('removes the picture when profile_picture is sent empty, and on DELETE', async () => {
        const user = await createUser(t.http, 'background');
        const first = await upload(user, pictureForm(await jpeg()));
        const form = new FormData();
        form.append('profile_picture', '');
        const cleared = await upload(user, form);
        expect(cleared.status).toBe(200);
        expect(cleared.body.profile.profile_picture).toBeNull();
        await t.settled(); // the replaced files are deleted once the answer is written
        expect(await t.storage.inner.exists(nameOf(first.body.profile.profile_picture))).toBe(false);

        const second = await upload(user, pictureForm(await jpeg()));
        const deleted = await t.http.request('DELETE', PATHS.background, { headers: user.headers });
        expect(deleted.status).toBe(200);
        expect(deleted.body).toMatchObject({ message: 'Profile picture removed', profile: { profile_picture: null } });
        await t.settled(); // the replaced files are deleted once the answer is written
        expect(await t.storage.inner.exists(nameOf(second.body.profile.profile_picture))).toBe(false);
        const again = await t.http.request('DELETE', PATHS.background, { headers: user.headers });
        expect(again.status).toBe(200);
        await expectNoOrphans(t);
      });

      it('creates the profile row of a user who has none, on a field update and on an upload', async () => {
        const fields = await createUser(t.http, 'background');
        const pictured = await createUser(t.http, 'background');
        await t.database.db.deleteFrom('background_profiles').where('user_id', 'in', [fields.id, pictured.id]).execute();

        const updated = await t.http.post(PATHS.background, { country: 'Peru' }, fields.headers);
        expect(updated.status).toBe(200);
        expect(updated.body.profile).toMatchObject({ country: 'Peru', profile_picture: null });

        const uploaded = await upload(pictured, pictureForm(await jpeg()));
        expect(uploaded.status).toBe(200);
        expect(uploaded.body.profile.profile_picture).toMatch(/background_profile_pictures\//);
        const got = await t.http.get(PATHS.background, pictured.headers);
        expect(got.body.profile.profile_picture).toBe(uploaded.body.profile.profile_picture);
        await expectNoOrphans(t);
      });

      it('answers 503 when the object cannot be written, and keeps the old picture', async () => {
        const user = await createUser(t.http, 'background');
        const first = await upload(user, pictureForm(await jpeg()));
        t.storage.failNext('put');
        const res = await upload(user, pictureForm(await jpeg(), 'b.jpg', { country: 'Norway' }));
        expect(res.status).toBe(503);
        expect(Object.keys(res.body)).toEqual(['detail']);
        const after = await t.http.get(PATHS.background, user.headers);
        expect(after.body.profile.profile_picture).toBe(first.body.profile.profile_picture);
        expect(after.body.profile.country).toBe('USA');
        expect((await fetchPicture(first.body.profile.profile_picture)).status).toBe(200);
        await expectNoOrphans(t);
      });

      it('deletes the new object when the database commit fails', async () => {
        const user = await createUser(t.http, 'background');
        const first = await upload(user, pictureForm(await jpeg()));
        // A real database failure at commit time: a trigger that refuses this user's next update.
        if (db.name === 'sqlite') {
          await sql
            .raw(
              `CREATE TRIGGER refuse_update BEFORE UPDATE ON background_profiles WHEN NEW.user_id = ${user.id}
            BEGIN SELECT RAISE(ABORT, 'injected commit failure'); END`,
            )
            .execute(t.database.db);
        } else {
          await sql
            .raw(
              `CREATE FUNCTION refuse_update() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_update BEFORE UPDATE ON background_profiles FOR EACH ROW WHEN (NEW.user_id = ${user.id}) EXECUTE FUNCTION refuse_update();`,
            )
            .execute(t.database.db);
        }
        try {
          const res = await upload(user, pictureForm(await jpeg()));
          expect(res.status).toBe(500);
          expect(res.text).not.toContain('injected');
        } finally {
          await sql
            .raw('DROP TRIGGER refuse_update' + (db.name === 'postgres' ? ' ON background_profiles; DROP FUNCTION refuse_update()' : ''))
            .execute(t.database.db);
        }
        const after = await t.http.get(PATHS.background, user.headers);
        expect(after.body.profile.profile_picture).toBe(first.body.profile.profile_picture);
        await expectNoOrphans(t);
      });

      it('succeeds when deleting the old object fails, keeps the deletion queued and retries it', async () => {
        const user = await createUser(t.http, 'background');
        const first = await upload(user, pictureForm(await jpeg()));
        t.storage.failNext('delete');
        const second = await upload(user, pictureForm(await jpeg()));
        expect(second.status).toBe(200);
        await t.settled(); // the deletion is tried once the answer is written
        const oldName = nameOf(first.body.profile.profile_picture);
        expect(await t.storage.inner.exists(oldName)).toBe(true);
        const pending = await t.database.db.selectFrom('pending_deletions').select(['name', 'attempts']).execute();
        expect(pending).toEqual([{ name: oldName, attempts: 1 }]);

        const out: string[] = [];
        const code = await runCli(['media', 'sweep'], t.config, { out: (l) => out.push(l), err: (l) => out.push(l) }, t.database);
        expect(code).toBe(0);
        expect(out.join('\n')).toContain('retried 1 pending deletion(s)');
        expect(await t.storage.inner.exists(oldName)).toBe(false);
        await expectNoOrphans(t);
      });

      it('keeps one winner when one user uploads several pictures at once', async () => {
        const user = await createUser(t.http, 'background');
        const colours = ['#ff0000', '#00ff00', '#0000ff', '#ffff00'];
        const results = await Promise.all(colours.map(async (c) => upload(user, pictureForm(await jpeg(500, 400, c)))));
        for (const res of results) expect(res.status).toBe(200);
        const final = await t.http.get(PATHS.background, user.headers);
        const finalName = nameOf(final.body.profile.profile_picture);
        expect(await t.storage.inner.exists(finalName)).toBe(true);
        const mine = (await storedNames(t)).filter((n) => n.startsWith(`${FOLDERS.background}/${user.id}_`));
        // The winner and its variants; nothing of the three losers.
        const variants = final.body.profile.profile_picture_info.variants.map((v: { url: string }) => nameOf(v.url));
        expect(variants.length).toBeGreaterThan(0);
        expect(mine).toEqual([finalName, ...variants].sort());
        await expectNoOrphans(t);
      });

      it('media sweep removes unreferenced objects past the grace period and reports dangling rows', async () => {
        const user = await createUser(t.http, 'background');
        const kept = await upload(user, pictureForm(await jpeg()));
        const orphan = `${FOLDERS.background}/${user.id}_orphanorphanorphan0000.jpg`;
        await t.storage.inner.put(orphan, await jpeg(), { contentType: 'image/jpeg', cacheControl: 'no-cache' });
        const run = async (...argv: string[]) => {
          const out: string[] = [];
          await runCli(['media', 'sweep', ...argv], t.config, { out: (l) => out.push(l), err: (l) => out.push(l) }, t.database);
          return out.join('\n');
        };

        expect(await run()).toContain('kept 1 younger than the grace period');
        expect(await t.storage.inner.exists(orphan)).toBe(true);
        expect(await run('--dry-run', '--grace', '0')).toContain(`would delete orphan ${orphan}`);
        expect(await t.storage.inner.exists(orphan)).toBe(true);
        expect(await run('--grace', '0')).toContain(`deleted orphan ${orphan}`);
        expect(await t.storage.inner.exists(orphan)).toBe(false);
        expect(await t.storage.inner.exists(nameOf(kept.body.profile.profile_picture))).toBe(true);

        if (store.name === 'local') {
          // A write interrupted by a crash before its rename.
          const partial = path.join(
            t.config.storage.localRoot,
            FOLDERS.background,
            `${user.id}_interruptedwrite0000.jpg.0123456789ab.partial`,
          );
          writeFileSync(partial, 'half a picture');
          expect(await run('--grace', '0')).toContain('deleted orphan');
          expect(existsSync(partial)).toBe(false);
        }

        // An object another tool put under the same prefix (e.g. from the platform this replaces) is not ours.
        const foreign = `${FOLDERS.background}/user_${user.id}_bg.jpg`;
        if (store.name === 'local') {
          mkdirSync(path.join(t.config.storage.localRoot, FOLDERS.background), { recursive: true });
          writeFileSync(path.join(t.config.storage.localRoot, foreign), await jpeg());
        } else {
          const s3 = t.storage.inner as S3Storage;
          const config = t.config.storage.s3 as { bucket: string };
          await s3.client.send(
            new PutObjectCommand({ Bucket: config.bucket, Key: `${t.config.storage.mediaPrefix}/${foreign}`, Body: await jpeg() }),
          );
        }
        const swept = await run('--grace', '0');
        expect(swept).not.toContain(foreign);
        if (store.name === 'local') {
          expect(existsSync(path.join(t.config.storage.localRoot, foreign))).toBe(true);
          rmSync(path.join(t.config.storage.localRoot, foreign));
        } else {
          const s3 = t.storage.inner as S3Storage;
          const config = t.config.storage.s3 as { bucket: string };
          const key = `${t.config.storage.mediaPrefix}/${foreign}`;
          expect((await s3.client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key }))).ContentLength).toBeGreaterThan(0);
          await s3.client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key }));
        }

        const keptName = nameOf(kept.body.profile.profile_picture);
        await t.storage.inner.delete(keptName);
        expect(await run('--grace', '0')).toContain(`dangling reference ${keptName}`);
        await t.http.request('DELETE', PATHS.background, { headers: user.headers });
        await expectNoOrphans(t);
      });
    });
  }
}

describe.each(STORAGES)('upload back-pressure with $name storage', (store) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { storage: store, env: { IMAGE_CONCURRENCY: '1', IMAGE_QUEUE_LIMIT: '0' } });
  });
  afterAll(async () => t?.close());

  it('answers 503 with Retry-After beyond the queue bound instead of queueing without limit', async () => {
    const user = await createUser(t.http, 'background');
    const photo = await jpeg(4000, 3000, '#808080');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => t.http.request('POST', PATHS.background, { form: pictureForm(photo), headers: user.headers })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses).toContain(200);
    const refused = results.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) {
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.body.detail).toContain('busy');
    }
    await expectNoOrphans(t);
  });
});

describe.each(STORAGES)('the deletion retry worker with $name storage', (store) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { storage: store, env: { DELETE_RETRY_INTERVAL: '1' } });
  });
  afterAll(async () => t?.close());

  it('retries a failed deletion in the background once its backoff has passed', async () => {
    const user = await createUser(t.http, 'background');
    const first = await t.http.request('POST', PATHS.background, { form: pictureForm(await jpeg()), headers: user.headers });
    const oldName = nameOf(first.body.profile.profile_picture);
    t.storage.failNext('delete', 2, 'error', 0, 0, (name) => name === oldName);
    const second = await t.http.request('POST', PATHS.background, { form: pictureForm(await jpeg()), headers: user.headers });
    expect(second.status).toBe(200);
    await t.settled(); // the deletion is tried once the answer is written
    const pending = () => t.database.db.selectFrom('pending_deletions').select(['name', 'attempts', 'next_attempt_at']).execute();
    const [queued] = await pending();
    expect(queued).toMatchObject({ name: oldName, attempts: 1 });
    // 30 s backoff: nothing happens before it.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await pending())[0]?.attempts).toBe(1);

    t.clock.advance(31_000);
    await expect.poll(async () => (await pending())[0]?.attempts ?? 0, { timeout: 5000 }).toBe(2);
    const [rescheduled] = await pending();
    expect(Date.parse(rescheduled!.next_attempt_at) - t.clock.now().getTime()).toBeGreaterThan(50_000);

    t.clock.advance(61_000);
    await expect.poll(async () => (await pending()).length, { timeout: 5000 }).toBe(0);
    expect(await t.storage.inner.exists(oldName)).toBe(false);
    await expectNoOrphans(t);
  });
});

describe.each(STORAGES)('deleting replaced files after the answer with $name storage', (store) => {
  const variantUrls = (body: { profile: { profile_picture_info: { variants: { url: string }[] } } }) =>
    body.profile.profile_picture_info.variants.map((variant) => variant.url);

  it('answers a replacement without waiting for the old files, which are gone right after', async () => {
    const t = await startTestApp(DATABASES[0]!, { storage: store });
    try {
      const user = await createUser(t.http, 'background');
      const first = await t.http.request('POST', PATHS.background, { form: pictureForm(await jpeg(800, 1000)), headers: user.headers });
      const oldUrls: string[] = [first.body.profile.profile_picture, ...variantUrls(first.body)];
      const old = oldUrls.map(nameOf);
      expect(old.length).toBeGreaterThan(1);
      // Every deletion crawls: an upload that waited for them would find the old files gone.
      t.storage.failNext('delete', 100, 'slow', 800);
      const second = await t.http.request('POST', PATHS.background, { form: pictureForm(await jpeg(800, 1000)), headers: user.headers });
      expect(second.status).toBe(200);
      expect(await Promise.all(old.map((name) => t.storage.inner.exists(name)))).toContain(true);
      await t.settled();
      expect(await Promise.all(old.map((name) => t.storage.inner.exists(name)))).toEqual(old.map(() => false));
      for (const url of oldUrls) expect((await fetch(url)).status).toBe(404);
      await expectNoOrphans(t);
    } finally {
      await t.close();
    }
  });

  it('finishes the deletions under way before the server stops', async () => {
    const t = await startTestApp(DATABASES[0]!, { storage: store });
    let closed = false;
    try {
      const user = await createUser(t.http, 'background');
      const first = await t.http.request('POST', PATHS.background, { form: pictureForm(await jpeg(800, 1000)), headers: user.headers });
      const old = [first.body.profile.profile_picture, ...variantUrls(first.body)].map(nameOf);
      t.storage.failNext('delete', 100, 'slow', 500);
      const second = await t.http.request('POST', PATHS.background, { form: pictureForm(await jpeg(800, 1000)), headers: user.headers });
      expect(second.status).toBe(200);
      await t.app.close();
      closed = true;
      expect(await Promise.all(old.map((name) => t.storage.inner.exists(name)))).toEqual(old.map(() => false));
      expect(await t.database.db.selectFrom('pending_deletions').select('name').execute()).toEqual([]);
    } finally {
      if (!closed) await t.app.close();
      await t.close();
    }
  });
});
