// Pictures v2: HEIC in, responsive variants and a ThumbHash placeholder out, variants living and
// dying with their master. HEIC fixtures are encoded here by Debian's heif-enc (helpers/heif.ts).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import sharp from 'sharp';
import { thumbHashToRGBA } from 'thumbhash';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeFacePool, faceCheckState } from '../../src/images/faces.js';
import { closeHeifPool, heifDecoderState } from '../../src/images/heif.js';
import { cli, expectNoOrphans, startTestApp, storedNames, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { iccWithPipeline, jpegWithIcc } from '../helpers/icc.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { uploadInTwoHalves } from '../helpers/http.js';
import { DISPLAY_P3_NCLX, heicFrom, heicOf, heifEncAvailable, overlayBomb, withNclx, withPrimary, withRotation } from '../helpers/heif.js';
import {
  cameraLikeJpeg,
  colourPatches,
  displayP3Patches,
  isVariantName,
  jpeg,
  noisyJpeg,
  patchDistance,
  portraitOnCanvas,
} from '../helpers/images.js';
import { STORAGES } from '../helpers/storage.js';

const INVALID = 'Upload a valid image. The file you uploaded was either not an image or a corrupted image.';
const PROFILE = '/api/profile/talent/';
const hasHeifEnc = await heifEncAvailable();

interface Variant {
  url: string;
  shape: 'avatar' | 'card';
  width: number;
  height: number;
  format: string;
  bytes: number;
}

function pictureForm(bytes: Buffer, filename = 'photo.jpg', type = 'image/jpeg'): FormData {
  const form = new FormData();
  form.append('profile_picture', new Blob([bytes], { type }), filename);
  return form;
}

const nameOf = (url: string) => /\/media\/(.+)$/.exec(url)![1]!;

async function fetched(url: string): Promise<{ type: string | null; bytes: Buffer }> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return { type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

/**
 * A camera-style photo: the sensor's pixels (landscape) with a red block in their top-left corner,
 * and EXIF orientation 6 (turn 90° clockwise to show). Upright, the block is top-right.
 */
async function sensorPhoto(withGps = false): Promise<Buffer> {
  const width = 1200;
  const height = 900;
  const block = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#2060a0' } })
    .composite([{ input: block, left: 0, top: 0 }])
    .jpeg({ quality: 92 })
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Make: 'Apple', Model: 'iPhone 15' },
      IFD2: { DateTimeOriginal: '2026:03:14 09:26:53' },
      ...(withGps ? { IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } } : {}),
    })
    .toBuffer();
}

/** Where the red block ended up in a stored picture: 'top-left', 'top-right', … */
async function redCorner(bytes: Buffer): Promise<string> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const red = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return data[i]! > 200 && data[i + 1]! < 80 && data[i + 2]! < 80;
  };
  const x = [5, info.width - 6];
  const y = [5, info.height - 6];
  const corners = { 'top-left': [x[0], y[0]], 'top-right': [x[1], y[0]], 'bottom-left': [x[0], y[1]], 'bottom-right': [x[1], y[1]] };
  return Object.entries(corners).find(([, [cx, cy]]) => red(cx!, cy!))?.[0] ?? 'none';
}

afterAll(async () => closeHeifPool());

for (const db of DATABASES) {
  for (const store of STORAGES) {
    describe.skipIf(db.skipReason)(`pictures v2 on ${db.label} with ${store.name} storage`, () => {
      let t: TestApp;
      let user: TestUser;
      beforeAll(async () => {
        t = await startTestApp(db, { storage: store });
        user = await createUser(t.http, 'talent');
      });
      afterAll(async () => t?.close());
      afterEach(() => t.storage.heal());

      const upload = (form: FormData, who = user) => t.http.request('POST', PROFILE, { form, headers: who.headers });

      it('stores WebP avatar and card variants and a ThumbHash beside the unchanged master, and says so in the profile', async () => {
        const res = await upload(pictureForm(await noisyJpeg(1600, 2000)));
        expect(res.status, res.text).toBe(200);
        const read = await t.http.get(PROFILE, user.headers);
        const profile = read.body.profile;
        // The existing field is what it always was: one JPEG URL.
        expect(profile.profile_picture).toMatch(/\/media\/profile_pictures\/\d+_[\w-]{22}\.jpg$/);
        expect(read.body.profile_picture).toBe(profile.profile_picture);
        const info = profile.profile_picture_info;
        expect(read.body.profile_picture_info).toEqual(info);
        // The read splices the description in as cached JSON: the same object the update answered with.
        expect(profile).toEqual(res.body.profile);
        expect(info).toMatchObject({ width: 1600, height: 2000 });
        const shapes = info.variants.map((v: Variant) => `${v.shape}-${v.width}x${v.height}-${v.format}`);
        expect(shapes).toEqual([
          'avatar-96x96-webp',
          'avatar-192x192-webp',
          'avatar-384x384-webp',
          'card-320x400-webp',
          'card-640x800-webp',
        ]);
        for (const variant of info.variants as Variant[]) {
          expect(variant.url).not.toBe(profile.profile_picture);
          const { type, bytes } = await fetched(variant.url);
          expect(type).toBe('image/webp');
          expect(bytes.length).toBe(variant.bytes);
          const meta = await sharp(bytes).metadata();
          expect([meta.format, meta.width, meta.height]).toEqual(['webp', variant.width, variant.height]);
          expect(meta.exif).toBeUndefined();
        }
        expect(info.srcset.avatar).toBe(
          info.variants
            .filter((v: Variant) => v.shape === 'avatar')
            .map((v: Variant) => `${v.url} ${v.width}w`)
            .join(', '),
        );
        expect(info.srcset.card).toMatch(/-card-320\.webp 320w, .+-card-640\.webp 640w$/);
        // The placeholder is a ThumbHash a client decodes into a small preview of the same proportions.
        const preview = thumbHashToRGBA(Buffer.from(info.placeholder, 'base64'));
        expect(preview.w).toBeLessThanOrEqual(32);
        expect(preview.h).toBeGreaterThan(preview.w);
        await expectNoOrphans(t);
      });

      it('tells any client the upload limits, including the long edge pictures are kept at', async () => {
        const res = await t.http.get('/api/upload-limits/');
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ image_max_mb: 10, video_max_mb: 100, image_max_dimension: 2048 });
      });

      it('makes only the variants a small picture can fill, and none for a tiny one', async () => {
        const someone = await createUser(t.http, 'talent');
        expect((await upload(pictureForm(await jpeg(200, 220)), someone)).status).toBe(200);
        let info = (await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture_info;
        expect(info.variants.map((v: Variant) => `${v.shape}-${v.width}`)).toEqual(['avatar-96', 'avatar-192']);
        expect(info.srcset.card).toBeNull();
        expect((await upload(pictureForm(await jpeg(40, 40)), someone)).status).toBe(200);
        info = (await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture_info;
        expect(info).toMatchObject({ width: 40, height: 40, variants: [], srcset: { avatar: null, card: null } });
        expect(typeof info.placeholder).toBe('string');
        await expectNoOrphans(t);
      });

      it('deletes the variants with their master when the picture is replaced or removed, and with the account', async () => {
        const someone = await createUser(t.http, 'talent');
        await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
        const first = (await t.http.get(PROFILE, someone.headers)).body.profile;
        const firstNames = [nameOf(first.profile_picture), ...first.profile_picture_info.variants.map((v: Variant) => nameOf(v.url))];
        expect(firstNames.length).toBe(6);
        await upload(pictureForm(await noisyJpeg(900, 900)), someone);
        const stored = await storedNames(t);
        for (const name of firstNames) expect(stored).not.toContain(name);
        await expectNoOrphans(t);

        const remove = await t.http.request('DELETE', PROFILE, { headers: someone.headers });
        expect(remove.status).toBeLessThan(300);
        expect((await storedNames(t)).filter((name) => name.includes(`/${someone.id}_`))).toEqual([]);
        await expectNoOrphans(t);

        await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
        expect((await storedNames(t)).filter((name) => name.includes(`/${someone.id}_`)).length).toBe(6);
        expect((await cli(t, 'user', 'delete', someone.email)).code).toBe(0);
        expect((await storedNames(t)).filter((name) => name.includes(`/${someone.id}_`))).toEqual([]);
        await expectNoOrphans(t);
      });

      it('answers 503 and keeps nothing when a variant cannot be stored, and keeps the old picture', async () => {
        const someone = await createUser(t.http, 'talent');
        await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
        const before = (await t.http.get(PROFILE, someone.headers)).body.profile;
        t.storage.failNext('put', 1, 'error', 0, 0, isVariantName);
        const res = await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
        expect(res.status).toBe(503);
        expect((await t.http.get(PROFILE, someone.headers)).body.profile).toEqual(before);
        await expectNoOrphans(t);
      });

      it('records a picture in the transaction that references it: a failed commit leaves no record, even one nothing could drop', async () => {
        const someone = await createUser(t.http, 'talent');
        const refuse = async (name: string, event: 'UPDATE' | 'DELETE', table: string) => {
          if (db.name === 'sqlite') {
            await sql
              .raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
              .execute(t.database.db);
            return async () => void (await sql.raw(`DROP TRIGGER ${name}`).execute(t.database.db));
          }
          await sql
            .raw(
              `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`,
            )
            .execute(t.database.db);
          await sql
            .raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`)
            .execute(t.database.db);
          return async () => void (await sql.raw(`DROP TRIGGER ${name} ON ${table}`).execute(t.database.db));
        };
        // The profile cannot change (the commit fails), and picture records cannot be deleted.
        const allowUpdate = await refuse('refuse_profile_update', 'UPDATE', 'talent_profiles');
        const allowDelete = await refuse('refuse_picture_delete', 'DELETE', 'pictures');
        let res;
        try {
          res = await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
          await t.settled();
        } finally {
          await allowUpdate();
          await allowDelete();
        }
        expect(res.status).toBe(500);
        expect((await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture).toBeNull();
        expect(await t.database.db.selectFrom('pictures').select('name').where('user_id', '=', someone.id).execute()).toEqual([]);
        await cli(t, 'media', 'sweep', '--grace', '0');
        await expectNoOrphans(t);
      });

      it('media sweep drops the record and variants of a picture nothing references (a crash before the commit)', async () => {
        const someone = await createUser(t.http, 'talent');
        await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
        const picture = (await t.http.get(PROFILE, someone.headers)).body.profile;
        // As if the process had died between storing and committing: the row no longer points at it.
        await t.database.db.updateTable('talent_profiles').set({ profile_picture: null }).where('user_id', '=', someone.id).execute();
        const dry = await cli(t, 'media', 'sweep', '--dry-run', '--grace', '0');
        expect(dry.out).toMatch(/would drop 1 unreferenced picture record/);
        const swept = await cli(t, 'media', 'sweep', '--grace', '0');
        expect(swept.out).toMatch(/deleted 6 orphan\(s\).*dropped 1 unreferenced picture record/s);
        for (const variant of picture.profile_picture_info.variants as Variant[]) {
          expect(await t.storage.inner.exists(nameOf(variant.url))).toBe(false);
        }
        await expectNoOrphans(t);
      });

      it('media backfill describes pictures stored before variants existed, resumably, and reports what it cannot', async () => {
        const someone = await createUser(t.http, 'talent');
        await upload(pictureForm(await noisyJpeg(800, 1000)), someone);
        const made = (await t.http.get(PROFILE, someone.headers)).body.profile;
        const master = nameOf(made.profile_picture);
        // As a picture stored by the previous version: no record, no variants.
        for (const variant of made.profile_picture_info.variants as Variant[]) await t.storage.inner.delete(nameOf(variant.url));
        await t.database.db.deleteFrom('pictures').where('name', '=', master).execute();
        expect((await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture_info).toBeNull();
        // A picture adopted from Django under its own name, and one whose stored bytes are not an image.
        const adopted = await createUser(t.http, 'talent');
        const legacyName = 'profile_pictures/headshot_2024.jpg';
        await t.storage.inner.put(legacyName, await noisyJpeg(600, 600), { contentType: 'image/jpeg', cacheControl: 'no-cache' });
        await t.database.db.updateTable('talent_profiles').set({ profile_picture: legacyName }).where('user_id', '=', adopted.id).execute();
        const broken = await createUser(t.http, 'talent');
        const brokenName = `profile_pictures/${broken.id}_brokenbrokenbroken0000.jpg`;
        await t.storage.inner.put(brokenName, Buffer.from('not a picture at all'), { contentType: 'image/jpeg', cacheControl: 'no-cache' });
        await t.database.db.updateTable('talent_profiles').set({ profile_picture: brokenName }).where('user_id', '=', broken.id).execute();

        const dry = await cli(t, 'media', 'backfill', '--dry-run');
        expect(dry.out).toMatch(/dry run: 3 picture\(s\) without variants or analysis would be backfilled/);
        expect(await t.database.db.selectFrom('pictures').select('name').where('name', 'in', [master, legacyName]).execute()).toEqual([]);

        const run = await cli(t, 'media', 'backfill', '--concurrency', '2');
        expect(run.code).toBe(1);
        expect(run.out).toMatch(new RegExp(`failed ${brokenName}: not a decodable image`));
        expect(run.out).toMatch(/backfilled 2 of 3 picture\(s\), 1 failed/);
        const info = (await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture_info;
        expect(info).toMatchObject({ width: 800, height: 1000 });
        expect(info.variants).toHaveLength(5);
        for (const variant of info.variants as Variant[]) expect((await fetched(variant.url)).type).toBe('image/webp');
        const adoptedInfo = (await t.http.get(PROFILE, adopted.headers)).body.profile.profile_picture_info;
        expect(adoptedInfo).toMatchObject({ width: 600, height: 600 });
        // Variants of an adopted picture are named by castfolio, in the profile pictures folder.
        expect(nameOf(adoptedInfo.variants[0].url)).toMatch(new RegExp(`^profile_pictures/${adopted.id}_[\\w-]{22}-avatar-96\\.webp$`));
        // The master itself is untouched.
        expect((await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture).toBe(made.profile_picture);

        // Resumable: a second run finds only what failed.
        expect((await cli(t, 'media', 'backfill')).out).toMatch(/backfilled 0 of 1 picture\(s\), 1 failed/);
        await t.database.db.updateTable('talent_profiles').set({ profile_picture: null }).where('user_id', '=', broken.id).execute();
        await t.storage.inner.delete(brokenName);
        await t.database.db.updateTable('talent_profiles').set({ profile_picture: null }).where('user_id', '=', adopted.id).execute();
        await t.storage.inner.delete(legacyName);
        expect((await cli(t, 'media', 'sweep', '--grace', '0')).code).toBe(0);
        await expectNoOrphans(t);
      });

      it('frames the variants around the face and returns the faces, focus, hints and capture date with the profile', async () => {
        // A headshot (public-domain NASA portrait, test/fixtures/faces) set right of centre on a wider
        // portrait canvas, with a camera and a capture date in its EXIF.
        const photo = await portraitOnCanvas({
          width: 1000,
          height: 1250,
          size: 900,
          left: 100,
          top: 200,
          exif: { IFD0: { Make: 'Canon', Model: 'EOS R6' }, IFD2: { DateTimeOriginal: '2026:05:14 16:02:11' } },
        });
        const res = await upload(pictureForm(photo));
        expect(res.status, res.text).toBe(200);
        const info = (await t.http.get(PROFILE, user.headers)).body.profile.profile_picture_info;
        expect(info.faces).toHaveLength(1);
        const [face] = info.faces;
        expect(face.x).toBeGreaterThan(100);
        expect(face.y).toBeGreaterThan(200);
        expect(info.focus).toEqual({ x: face.x, y: face.y, width: face.width, height: face.height, source: 'face' });
        expect(info.hints).toEqual([]);
        expect(info.captured_at).toBe('2026-05-14T16:02:11.000Z');
        // The avatar shows the face, not the canvas's centre: its middle is the portrait's, not flat grey.
        const avatar = (info.variants as Variant[]).find((v) => v.shape === 'avatar' && v.width === 384)!;
        const { channels } = await sharp((await fetched(avatar.url)).bytes).stats();
        expect(channels[0]!.stdev).toBeGreaterThan(20);

        // A landscape photo without a face: framed by attention, and the hints say why.
        const landscape = await upload(pictureForm(await noisyJpeg(1600, 900)));
        expect(landscape.status).toBe(200);
        const described = landscape.body.profile.profile_picture_info;
        expect(described.faces).toEqual([]);
        expect(described.focus).toBeNull();
        expect(described.hints.map((hint: { code: string }) => hint.code)).toEqual(expect.arrayContaining(['no_face', 'landscape']));
        for (const hint of described.hints) expect(hint.message).toMatch(/\w.+\.$/);
        await expectNoOrphans(t);
      });

      it('loads the face check’s models while a picture is still arriving, and not for a gallery video', async () => {
        // No thread running, as after start-up or a minute without uploads.
        await closeFacePool();
        expect(faceCheckState()).toBe('idle');
        const photo = await portraitOnCanvas({ width: 1000, height: 1250, size: 900, left: 100, top: 200 });
        const status = await uploadInTwoHalves({
          url: `${t.http.baseUrl}${PROFILE}`,
          headers: user.headers,
          field: 'profile_picture',
          bytes: photo,
          // Half of the picture has been sent: the models load meanwhile, not once it is all in.
          between: () => expect.poll(faceCheckState, { timeout: 30_000, interval: 50 }).toBe('ready'),
        });
        expect(status).toBe(200);
        expect((await t.http.get(PROFILE, user.headers)).body.profile.profile_picture_info.faces).toHaveLength(1);

        await closeFacePool();
        const uploads = t.config.images.uploadTmpDir;
        const received = () => (existsSync(uploads) ? readdirSync(uploads).filter((n) => n.startsWith('upload-')) : []);
        const before = new Set(received());
        const answer = await uploadInTwoHalves({
          url: `${t.http.baseUrl}/api/profile/talent/media/`,
          headers: user.headers,
          field: 'media_file',
          // Over what is held in memory: the file goes to a temporary file, whose first bytes show it has started to arrive.
          bytes: randomBytes(3 * 1024 * 1024),
          filename: 'reel.mp4',
          type: 'video/mp4',
          between: async () => {
            await expect
              .poll(() => received().some((n) => !before.has(n) && statSync(path.join(uploads, n)).size > 0), { timeout: 10_000 })
              .toBe(true);
            expect(faceCheckState()).toBe('idle');
          },
        });
        expect(answer).toBe(400);
        expect(faceCheckState()).toBe('idle');
      }, 90_000);

      describe('re-framing', () => {
        const FOCUS = PROFILE + 'picture-focus/';
        const headshot = () => portraitOnCanvas({ width: 1000, height: 1600, size: 900, left: 100, top: 700 });
        const framed = async (who: TestUser) => (await t.http.get(PROFILE, who.headers)).body.profile;

        it('sets a rectangle: new variants under new URLs framed around it, the old ones deleted, the master and faces kept; DELETE returns to the face', async () => {
          const someone = await createUser(t.http, 'talent');
          expect((await upload(pictureForm(await headshot()), someone)).status).toBe(200);
          const before = await framed(someone);
          const res = await t.http.request('PUT', FOCUS, { json: { x: 0, y: 0, width: 600, height: 600 }, headers: someone.headers });
          expect(res.status, res.text).toBe(200);
          expect(res.body.message).toBe('Profile picture framed');
          const after = await framed(someone);
          expect(res.body.profile).toEqual(after);
          expect(after.profile_picture).toBe(before.profile_picture);
          const info = after.profile_picture_info;
          expect(info.focus).toEqual({ x: 0, y: 0, width: 600, height: 600, source: 'user' });
          expect(info.faces).toEqual(before.profile_picture_info.faces);
          expect(info.hints).toEqual(before.profile_picture_info.hints);
          const oldUrls = (before.profile_picture_info.variants as Variant[]).map((v) => v.url);
          const newUrls = (info.variants as Variant[]).map((v) => v.url);
          expect(newUrls).toHaveLength(oldUrls.length);
          for (const url of newUrls) expect(oldUrls).not.toContain(url);
          await t.settled(); // the replaced files are deleted once the answer is written
          for (const url of oldUrls) expect(await t.storage.inner.exists(nameOf(url))).toBe(false);
          // The top-left square is the flat grey canvas above the portrait: the new avatar shows it, not the face.
          const avatar = (info.variants as Variant[]).find((v) => v.shape === 'avatar' && v.width === 384)!;
          const { channels } = await sharp((await fetched(avatar.url)).bytes).stats();
          expect(channels[0]!.stdev).toBeLessThan(12);
          await expectNoOrphans(t);

          const back = await t.http.request('DELETE', FOCUS, { headers: someone.headers });
          expect(back.status, back.text).toBe(200);
          const face = back.body.profile.profile_picture_info.faces[0];
          expect(back.body.profile.profile_picture_info.focus).toEqual({
            x: face.x,
            y: face.y,
            width: face.width,
            height: face.height,
            source: 'face',
          });
          await expectNoOrphans(t);
        });

        it('takes a point: the largest frame centred on it', async () => {
          const someone = await createUser(t.http, 'talent');
          await upload(pictureForm(await headshot()), someone);
          const res = await t.http.request('PUT', FOCUS, { json: { x: 500, y: 1000 }, headers: someone.headers });
          expect(res.status, res.text).toBe(200);
          expect(res.body.profile.profile_picture_info.focus).toEqual({ x: 500, y: 1000, width: 0, height: 0, source: 'user' });
          await expectNoOrphans(t);
        });

        it('takes the frame from a form too, urlencoded or multipart, its text read as integers ("1.5" is none)', async () => {
          const someone = await createUser(t.http, 'talent');
          await upload(pictureForm(await headshot()), someone);
          const fields = { x: '100', y: '200', width: '300', height: '400' };
          const urlencoded = await t.http.request('PUT', FOCUS, { urlencoded: fields, headers: someone.headers });
          expect(urlencoded.status, urlencoded.text).toBe(200);
          expect(urlencoded.body.profile.profile_picture_info.focus).toEqual({ x: 100, y: 200, width: 300, height: 400, source: 'user' });
          const form = new FormData();
          for (const [name, value] of Object.entries({ ...fields, x: ' 50 ' })) form.append(name, value);
          const multipart = await t.http.request('PUT', FOCUS, { form, headers: someone.headers });
          expect(multipart.status, multipart.text).toBe(200);
          expect(multipart.body.profile.profile_picture_info.focus).toEqual({ x: 50, y: 200, width: 300, height: 400, source: 'user' });
          const fraction = await t.http.request('PUT', FOCUS, { urlencoded: { ...fields, x: '1.5' }, headers: someone.headers });
          expect(fraction.status).toBe(400);
          expect(fraction.body).toEqual({ x: ['A valid integer is required.'] });
          await expectNoOrphans(t);
        });

        it('refuses a frame outside the picture, a bad body, or no picture, with field errors and nothing changed', async () => {
          const someone = await createUser(t.http, 'talent');
          const none = await t.http.request('PUT', FOCUS, { json: { x: 1, y: 1 }, headers: someone.headers });
          expect(none.status).toBe(400);
          expect(none.body.profile_picture[0]).toMatch(/no picture/);
          await upload(pictureForm(await headshot()), someone);
          const before = await framed(someone);
          const outside = await t.http.request('PUT', FOCUS, { json: { x: 900, y: 0, width: 200, height: 200 }, headers: someone.headers });
          expect(outside.status).toBe(400);
          expect(outside.body.x[0]).toMatch(/at most the picture's width, 1000/);
          const half = await t.http.request('PUT', FOCUS, { json: { x: 10, y: 10, width: 200 }, headers: someone.headers });
          expect(half.status).toBe(400);
          expect(half.body.width).toBeDefined();
          for (const json of [{ x: -1, y: 0 }, { x: 'a', y: 0 }, { y: 0 }, { x: 0, y: 0, extra: 1 }, [1, 2]]) {
            const bad = await t.http.request('PUT', FOCUS, { json, headers: someone.headers });
            expect(bad.status, JSON.stringify(json)).toBe(400);
          }
          expect(await framed(someone)).toEqual(before);
          expect((await t.http.request('PUT', FOCUS, { json: { x: 1, y: 1 } })).status).toBe(401);
          await expectNoOrphans(t);
        });

        it('answers 503 and keeps the old variants when a new one cannot be stored', async () => {
          const someone = await createUser(t.http, 'talent');
          await upload(pictureForm(await headshot()), someone);
          const before = await framed(someone);
          t.storage.failNext('put', 1, 'error', 0, 0, isVariantName);
          const res = await t.http.request('PUT', FOCUS, { json: { x: 0, y: 0, width: 400, height: 500 }, headers: someone.headers });
          expect(res.status).toBe(503);
          expect(await framed(someone)).toEqual(before);
          for (const variant of before.profile_picture_info.variants as Variant[])
            expect(await t.storage.inner.exists(nameOf(variant.url))).toBe(true);
          await expectNoOrphans(t);
        });

        it('answers 503 with Retry-After and changes nothing when the stored picture cannot be read', async () => {
          const someone = await createUser(t.http, 'talent');
          await upload(pictureForm(await headshot()), someone);
          const before = await framed(someone);
          t.storage.failNext('get');
          const res = await t.http.request('PUT', FOCUS, { json: { x: 0, y: 0, width: 400, height: 500 }, headers: someone.headers });
          expect(res.status, res.text).toBe(503);
          expect(res.headers.get('retry-after')).toBe('5');
          expect(res.body.detail).toMatch(/could not be read right now/);
          expect(await framed(someone)).toEqual(before);
          await expectNoOrphans(t);
        });

        it('re-framings racing replacements and removals answer 200, 400 or 409, never a server error, and leave nothing behind', async () => {
          const someone = await createUser(t.http, 'talent');
          const photos = [await headshot(), await noisyJpeg(1200, 900)];
          const replace = (i: number) => upload(pictureForm(photos[i % 2]!), someone);
          const reframe = () => t.http.request('PUT', FOCUS, { json: { x: 10, y: 20, width: 300, height: 300 }, headers: someone.headers });
          const statuses = new Set<number>();
          await replace(0);
          for (let round = 0; round < 6; round++) {
            const answers = await Promise.all([
              reframe(),
              replace(round),
              reframe(),
              t.http.request('DELETE', FOCUS, { headers: someone.headers }),
              round % 3 === 2 ? t.http.request('DELETE', PROFILE, { headers: someone.headers }) : replace(round + 1),
              reframe(),
            ]);
            for (const answer of answers) {
              statuses.add(answer.status);
              expect([200, 400, 409], answer.text).toContain(answer.status);
            }
          }
          expect(statuses).toContain(200);
          await t.settled();
          await expectNoOrphans(t);
        });

        it('media sweep removes the new variants of a re-framing that never committed (a crash between storing and committing)', async () => {
          const someone = await createUser(t.http, 'talent');
          await upload(pictureForm(await headshot()), someone);
          const master = nameOf((await framed(someone)).profile_picture);
          const row = await t.database.db.selectFrom('pictures').selectAll().where('name', '=', master).executeTakeFirstOrThrow();
          const oldVariants = (await framed(someone)).profile_picture_info.variants as Variant[];
          const oldBytes = await Promise.all(oldVariants.map(async (v) => (await fetched(v.url)).bytes));
          expect(
            (await t.http.request('PUT', FOCUS, { json: { x: 0, y: 0, width: 400, height: 500 }, headers: someone.headers })).status,
          ).toBe(200);
          // As if the process had died after storing the new variants, before the commit: the record
          // still names the old ones, which are still stored.
          await t.database.db
            .updateTable('pictures')
            .set({ variant_set: row.variant_set, variants: row.variants, analysis: row.analysis })
            .where('name', '=', master)
            .execute();
          for (const [i, variant] of oldVariants.entries()) {
            await t.storage.inner.put(nameOf(variant.url), oldBytes[i]!, {
              contentType: 'image/webp',
              cacheControl: 'public, max-age=31536000, immutable',
            });
          }
          const swept = await cli(t, 'media', 'sweep', '--grace', '0');
          expect(swept.out).toMatch(/deleted 5 orphan\(s\)/);
          expect((await framed(someone)).profile_picture_info.variants).toEqual(oldVariants);
          await expectNoOrphans(t);
        });
      });

      it('media backfill analyses pictures recorded before the face check: faces and hints, variants made again around the face', async () => {
        const someone = await createUser(t.http, 'talent');
        await upload(pictureForm(await portraitOnCanvas({ width: 1000, height: 1250, size: 900, left: 100, top: 200 })), someone);
        const made = (await t.http.get(PROFILE, someone.headers)).body.profile;
        const master = nameOf(made.profile_picture);
        // As a picture stored by the version before the face check: variants, no analysis.
        await t.database.db.updateTable('pictures').set({ analysis: null }).where('name', '=', master).execute();
        const dry = await cli(t, 'media', 'backfill', '--dry-run');
        expect(dry.out).toMatch(/dry run: 1 picture\(s\) without variants or analysis would be backfilled/);
        const run = await cli(t, 'media', 'backfill');
        expect(run.code, run.out).toBe(0);
        const info = (await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture_info;
        expect(info.faces).toHaveLength(1);
        expect(info.focus.source).toBe('face');
        expect(info.hints).toEqual([]);
        const oldUrls = (made.profile_picture_info.variants as Variant[]).map((v) => v.url);
        for (const variant of info.variants as Variant[]) expect(oldUrls).not.toContain(variant.url);
        for (const url of oldUrls) expect(await t.storage.inner.exists(nameOf(url))).toBe(false);
        expect((await cli(t, 'media', 'backfill', '--dry-run')).out).toMatch(/dry run: 0 picture/);
        await expectNoOrphans(t);
      });

      it('gives item photos and gallery photos the same description', async () => {
        const performer = await createUser(t.http, 'talent');
        const form = new FormData();
        form.append('media_file', new Blob([await noisyJpeg(900, 1200)], { type: 'image/jpeg' }), 'look.jpg');
        form.append('name', 'Look');
        const added = await t.http.request('POST', '/api/profile/talent/media/', { form, headers: performer.headers });
        expect(added.status, added.text).toBe(201);
        expect(added.body.media_file_info).toMatchObject({ width: 900, height: 1200 });
        expect(added.body.media_file_info.variants).toHaveLength(5);
        const listed = await t.http.get('/api/profile/talent/media/', performer.headers);
        expect(listed.body[0].media_file_info).toEqual(added.body.media_file_info);
        // The profile lists the same item without its variants (they tripled a profile read's size).
        const profile = await t.http.get(PROFILE, performer.headers);
        const { media_file_info: _info, ...rest } = listed.body[0];
        expect(profile.body.media).toEqual([rest]);

        const owner = await createUser(t.http, 'background');
        await cli(t, 'subscription', 'grant', owner.email, 'background_jobs');
        const item = new FormData();
        item.append('item_type', 'prop');
        item.append('name', 'Lamp');
        item.append('image', new Blob([await noisyJpeg(1000, 800)], { type: 'image/jpeg' }), 'lamp.jpg');
        const created = await t.http.request('POST', '/api/profile/background/items/', { form: item, headers: owner.headers });
        expect(created.status, created.text).toBe(201);
        const items = await t.http.get('/api/profile/background/items/?item_type=prop', owner.headers);
        const shown = items.body.items.find((i: { id: number }) => i.id === created.body.id);
        expect(shown.image_info).toMatchObject({ width: 1000, height: 800 });
        expect(shown.image_info.variants.length).toBe(5);
        expect(shown.image_info.hints.map((hint: { code: string }) => hint.code)).toContain('no_face');
        expect(added.body.media_file_info.hints.map((hint: { code: string }) => hint.code)).toContain('no_face');
        await expectNoOrphans(t);
      });

      it('a 48-avatar grid at device pixel ratio 2 transfers at most 1.5 MB from the variants', async () => {
        const someone = await createUser(t.http, 'talent');
        // A camera-like 12 MP photo: gradients, texture and sensor noise.
        expect((await upload(pictureForm(await cameraLikeJpeg(3024, 4032)), someone)).status).toBe(200);
        const info = (await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture_info;
        // A 96 px avatar slot at DPR 2 picks the 192 px variant from the srcset.
        const avatar = (info.variants as Variant[]).find((v) => v.shape === 'avatar' && v.width === 192)!;
        const master = await fetched((await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture);
        expect(48 * avatar.bytes).toBeLessThanOrEqual(1.5 * 1024 * 1024);
        expect(avatar.bytes * 10).toBeLessThan(master.bytes.length);
      });

      /** The master and a card of the user's picture show the drawn colour patches, each channel within 5 levels. */
      async function expectDrawnColours(who: TestUser): Promise<void> {
        const profile = (await t.http.get(PROFILE, who.headers)).body.profile;
        const card = (profile.profile_picture_info.variants as Variant[]).find((v) => v.shape === 'card' && v.width === 320)!;
        for (const url of [profile.profile_picture, card.url]) {
          const { worst, at } = await patchDistance((await fetched(url)).bytes);
          expect(worst, `${at} in ${url}`).toBeLessThanOrEqual(5);
        }
      }

      it('shows an Android-style AVIF in its drawn colours: the Display P3 its colour box declares is applied', async () => {
        // The drawn sRGB colours as Display P3 numbers, declared by an nclx colour box and no ICC
        // profile, as Android phones declare wide-gamut photos. Read as sRGB, the red of 200 shows as 184.
        const encoded = await sharp(await displayP3Patches(false))
          .avif({ quality: 90, chromaSubsampling: '4:4:4' })
          .toBuffer();
        const avif = withNclx(encoded, DISPLAY_P3_NCLX);
        expect((await sharp(avif).metadata()).icc).toBeUndefined();
        const someone = await createUser(t.http, 'talent');
        const res = await upload(pictureForm(avif, 'PXL_20261205.avif', 'image/avif'), someone);
        expect(res.status, res.text).toBe(200);
        await expectDrawnColours(someone);
        await expectNoOrphans(t);
      });

      it('takes a JPEG whose embedded profile is a float pipeline of 20 000 stages in its drawn colours, without using the profile', async () => {
        // 160 kB of profile: littleCMS took 135 s of CPU and 1.4 GB building its transform (src/images/icc.ts).
        const tagged = jpegWithIcc(
          await sharp(await colourPatches())
            .jpeg({ quality: 95 })
            .toBuffer(),
          iccWithPipeline(20_000),
        );
        const someone = await createUser(t.http, 'talent');
        const res = await upload(pictureForm(tagged), someone);
        expect(res.status, res.text).toBe(200);
        await expectDrawnColours(someone);
        await expectNoOrphans(t);
      });

      it('never starts the HEIC decoder’s thread for an AVIF, named or typed as one: its colour box is read from its header', async () => {
        // sharp decodes an AVIF itself; only its nclx colours were once read in that thread (half a
        // second and tens of MB to start, and behind any HEIC decoding there).
        const avif = withNclx(
          await sharp(await displayP3Patches(false))
            .avif({ quality: 90, chromaSubsampling: '4:4:4' })
            .toBuffer(),
          DISPLAY_P3_NCLX,
        );
        for (const [filename, type] of [
          ['PXL_20261205.avif', 'application/octet-stream'],
          ['photo', 'image/avif'],
        ]) {
          await closeHeifPool();
          const someone = await createUser(t.http, 'talent');
          const status = await uploadInTwoHalves({
            url: `${t.http.baseUrl}${PROFILE}`,
            headers: someone.headers,
            field: 'profile_picture',
            bytes: avif,
            filename: filename!,
            type: type!,
            // Half of the file has been sent: the face check's thread starting shows its arrival was seen.
            between: async () => {
              await expect.poll(faceCheckState, { timeout: 10_000 }).not.toBe('idle');
              expect(heifDecoderState()).toBe('idle');
            },
          });
          expect(status, `${filename} ${type}`).toBe(200);
          expect(heifDecoderState()).toBe('idle');
          await expectDrawnColours(someone);
        }
        await expectNoOrphans(t);
      }, 60_000);

      describe.skipIf(!hasHeifEnc)('HEIC', () => {
        it('takes an iPhone-style HEIC: rotated by its container once, same size and orientation as its JPEG twin, no metadata', async () => {
          const camera = await sensorPhoto(true);
          // The twin: the same sensor pixels in HEIC, EXIF (orientation 6, GPS) carried, and the
          // container's own rotation (irot: 3 quarter turns anticlockwise = 90° clockwise).
          const heic = withRotation(await heicFrom(camera, 'jpg'), 3);
          expect(heic.toString('latin1', 4, 12)).toBe('ftypheic');

          const jpegUser = await createUser(t.http, 'talent');
          expect((await upload(pictureForm(camera), jpegUser)).status).toBe(200);
          const heicUser = await createUser(t.http, 'talent');
          const res = await upload(pictureForm(heic, 'IMG_0001.HEIC', 'image/heic'), heicUser);
          expect(res.status, res.text).toBe(200);

          const fromJpeg = (await t.http.get(PROFILE, jpegUser.headers)).body.profile;
          const fromHeic = (await t.http.get(PROFILE, heicUser.headers)).body.profile;
          expect(fromHeic.profile_picture).toMatch(/\.jpg$/);
          const [a, b] = await Promise.all([fetched(fromJpeg.profile_picture), fetched(fromHeic.profile_picture)]);
          const [ma, mb] = await Promise.all([sharp(a.bytes).metadata(), sharp(b.bytes).metadata()]);
          expect([mb.format, mb.width, mb.height]).toEqual(['jpeg', ma.width, ma.height]);
          expect([mb.width, mb.height]).toEqual([900, 1200]);
          expect(await redCorner(b.bytes)).toBe('top-right');
          expect(await redCorner(a.bytes)).toBe('top-right');
          expect(mb.exif).toBeUndefined();
          expect(mb.orientation).toBeUndefined();
          expect(b.bytes.includes(Buffer.from('iPhone'))).toBe(false);
          expect(fromHeic.profile_picture_info).toMatchObject({ width: 900, height: 1200 });
          expect(fromHeic.profile_picture_info.variants).toHaveLength(5);
          await expectNoOrphans(t);
        });

        it('shows an iPhone HEIC in its JPEG twin’s colours: the container’s Display P3 profile is applied, not dropped', async () => {
          // The drawn sRGB colours as Display P3 numbers, tagged as iPhones tag their photos. Read as
          // sRGB, those numbers are duller: the red of 200 would show as 184.
          const p3 = await displayP3Patches(true);
          const heic = await heicFrom(p3, 'png', 90);
          expect((await sharp(heic).metadata()).icc).toBeDefined();
          const twin = await sharp(p3).keepIccProfile().jpeg({ quality: 95 }).toBuffer();

          const heicUser = await createUser(t.http, 'talent');
          const res = await upload(pictureForm(heic, 'IMG_0004.HEIC', 'image/heic'), heicUser);
          expect(res.status, res.text).toBe(200);
          const jpegUser = await createUser(t.http, 'talent');
          expect((await upload(pictureForm(twin), jpegUser)).status).toBe(200);

          for (const who of [heicUser, jpegUser]) await expectDrawnColours(who);
          await expectNoOrphans(t);
        });

        it('shows a HEIC’s primary image when the file holds several and the primary is not the first', async () => {
          const wide = await jpeg(640, 480, '#ff0000');
          const upright = await jpeg(480, 640, '#0000ff');
          const heic = withPrimary(await heicOf([wide, upright], 'jpg'), 1);
          const someone = await createUser(t.http, 'talent');
          const res = await upload(pictureForm(heic, 'IMG_0005.HEIC', 'image/heic'), someone);
          expect(res.status, res.text).toBe(200);
          const master = await fetched(res.body.profile.profile_picture);
          const { data, info } = await sharp(master.bytes).raw().toBuffer({ resolveWithObject: true });
          expect([info.width, info.height]).toEqual([480, 640]);
          const [red, , blue] = data;
          expect(blue).toBeGreaterThan(200);
          expect(red).toBeLessThan(40);
          expect(res.body.profile.profile_picture_info).toMatchObject({ width: 480, height: 640 });
          await expectNoOrphans(t);
        });

        it('starts the HEIC decoder while a HEIC is still arriving, named or typed as one, and not for a JPEG', async () => {
          const heic = await heicFrom(await sensorPhoto(), 'jpg');
          const send = (bytes: Buffer, filename: string, type: string, between: () => Promise<void>) =>
            uploadInTwoHalves({
              url: `${t.http.baseUrl}${PROFILE}`,
              headers: user.headers,
              field: 'profile_picture',
              bytes,
              filename,
              type,
              between,
            });
          // Half of the file has been sent: the decoder's thread starts and readies meanwhile (after 30 s idle it is not running).
          for (const [filename, type] of [
            ['IMG_0002.HEIC', 'application/octet-stream'],
            ['photo', 'image/heic'],
          ]) {
            await closeHeifPool();
            const status = await send(heic, filename!, type!, () => expect.poll(heifDecoderState, { timeout: 10_000 }).toBe('ready'));
            expect(status, `${filename} ${type}`).toBe(200);
          }
          await closeHeifPool();
          const jpegStatus = await send(await sensorPhoto(), 'p.jpg', 'image/jpeg', async () => {
            // The face check's thread starting shows the picture's arrival was seen.
            await expect.poll(faceCheckState, { timeout: 10_000 }).not.toBe('idle');
            expect(heifDecoderState()).toBe('idle');
          });
          expect(jpegStatus).toBe(200);
          expect(heifDecoderState()).toBe('idle');
        }, 60_000);

        it('keeps a HEIC’s transparency: the master is WebP with its alpha, clear where the photo was clear', async () => {
          // Transparent, with an opaque blue quarter at the bottom right.
          const png = await sharp({ create: { width: 640, height: 480, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
            .composite([{ input: { create: { width: 320, height: 240, channels: 4, background: '#0000ff' } }, left: 320, top: 240 }])
            .png()
            .toBuffer();
          const someone = await createUser(t.http, 'talent');
          const res = await upload(pictureForm(await heicFrom(png, 'png'), 'IMG_0003.HEIC', 'image/heic'), someone);
          expect(res.status, res.text).toBe(200);
          const master = await fetched(res.body.profile.profile_picture);
          expect(res.body.profile.profile_picture).toMatch(/\.webp$/);
          const { data, info } = await sharp(master.bytes).raw().toBuffer({ resolveWithObject: true });
          expect([info.width, info.height, info.channels]).toEqual([640, 480, 4]);
          const pixel = (x: number, y: number) => [...data.subarray((y * 640 + x) * 4, (y * 640 + x) * 4 + 4)];
          expect(pixel(100, 100)[3]).toBe(0);
          const [red, green, blue, alpha] = pixel(480, 360);
          expect(alpha).toBe(255);
          expect(blue).toBeGreaterThan(200);
          expect(Math.max(red!, green!)).toBeLessThan(40);
          await expectNoOrphans(t);
        });

        it('keeps a HEIC gallery photo’s capture date and nothing else of its metadata', async () => {
          const performer = await createUser(t.http, 'talent');
          const form = new FormData();
          form.append('media_file', new Blob([await heicFrom(await sensorPhoto(true), 'jpg')], { type: 'image/heic' }), 'IMG_0002.HEIC');
          form.append('name', 'Beach');
          const added = await t.http.request('POST', '/api/profile/talent/media/', { form, headers: performer.headers });
          expect(added.status, added.text).toBe(201);
          expect(added.body.freshness).toMatchObject({ source: 'capture_date', taken_at: '2026-03-14T09:26:53.000Z' });
          const stored = await fetched(added.body.media_file);
          expect((await sharp(stored.bytes).metadata()).exif).toBeUndefined();
        });

        it('refuses bad HEIC with the usual 400, fast, storing nothing', async () => {
          const good = await heicFrom(await jpeg(640, 480), 'jpg');
          const truncated = good.subarray(0, Math.floor(good.length * 0.6));
          const headerOnOtherBytes = Buffer.concat([good.subarray(0, 32), Buffer.alloc(4096, 0x5a)]);
          // The same file declaring 100 000 × 100 000 pixels in its ispe property.
          const huge = Buffer.from(good);
          const ispe = huge.indexOf(Buffer.from('ispe'));
          huge.writeUInt32BE(100_000, ispe + 8);
          huge.writeUInt32BE(100_000, ispe + 12);
          const someone = await createUser(t.http, 'talent');
          const before = await storedNames(t);
          for (const [label, bytes] of [
            ['truncated', truncated],
            ['header on other bytes', headerOnOtherBytes],
            ['100 000 × 100 000', huge],
          ] as const) {
            const started = performance.now();
            const res = await upload(pictureForm(bytes, 'IMG.HEIC', 'image/heic'), someone);
            expect(res.status, label).toBe(400);
            expect(res.body.profile_picture[0], label).toBe(INVALID);
            if (label === '100 000 × 100 000') {
              expect(res.body.profile_picture[1]).toMatch(/100000×100000 pixels; the limit is 52 megapixels/);
              expect(performance.now() - started).toBeLessThan(2000);
            }
          }
          expect(await storedNames(t)).toEqual(before);
          expect((await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture).toBeNull();
          await expectNoOrphans(t);
        });

        it('refuses a HEIC or AVIF overlay of a few hundred bytes whose canvas is 16 000 × 16 000, whatever its ispe says, keeping the picture before', async () => {
          // Decoded, such a file took a process to 860 MB (HEIC, libheif in its thread); an AVIF grid, to 1.1 GB.
          const heic = overlayBomb(await heicFrom(await jpeg(64, 64), 'jpg'));
          const avif = overlayBomb(
            await sharp(await jpeg(64, 64))
              .avif({ effort: 0 })
              .toBuffer(),
          );
          expect(Math.max(heic.length, avif.length)).toBeLessThan(2000);
          const someone = await createUser(t.http, 'talent');
          await t.http.request('POST', PROFILE, { form: pictureForm(await jpeg(800, 600)), headers: someone.headers });
          const kept = (await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture;
          const before = await storedNames(t);
          for (const [name, bytes, type] of [
            ['IMG_0003.HEIC', heic, 'image/heic'],
            ['overlay.avif', avif, 'image/avif'],
          ] as const) {
            const res = await upload(pictureForm(bytes, name, type), someone);
            expect(res.status, name).toBe(400);
            expect(res.body, name).toEqual({ profile_picture: [INVALID, 'Image is 16000×16000 pixels; the limit is 52 megapixels.'] });
          }
          expect(await storedNames(t)).toEqual(before);
          expect((await t.http.get(PROFILE, someone.headers)).body.profile.profile_picture).toBe(kept);
          await expectNoOrphans(t);
        });
      });
    });
  }
}
