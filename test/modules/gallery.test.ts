import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectNoOrphans, startTestApp, storedNames, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { jpeg } from '../helpers/images.js';
import { STORAGES } from '../helpers/storage.js';

function mediaForm(fields: { file?: Buffer; filename?: string; name?: string; media_info?: string; type?: string }): FormData {
  const form = new FormData();
  if (fields.file) form.append('media_file', new Blob([fields.file], { type: fields.type ?? 'image/jpeg' }), fields.filename ?? 'look.jpg');
  if (fields.name !== undefined) form.append('name', fields.name);
  if (fields.media_info !== undefined) form.append('media_info', fields.media_info);
  return form;
}

/** The first bytes of an MP4 file ("ftyp" box), as a phone sends a video. */
const MP4_HEAD = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(64)]);

for (const target of DATABASES) {
  for (const storage of STORAGES) {
    describe.skipIf(target.skipReason)(`gallery on ${target.label} with ${storage.name} storage`, () => {
      let t: TestApp;
      let talent: TestUser;

      const upload = (user: TestUser, form: FormData, kind = 'talent') =>
        t.http.request('POST', `/api/profile/${kind}/media/`, { form, headers: user.headers });

      beforeAll(async () => {
        t = await startTestApp(target, { storage });
        talent = await createUser(t.http, 'talent');
      });
      afterAll(async () => t?.close());

      it('adds a photo with the live shape, lists it in the profile and counts it against the plan', async () => {
        const created = await upload(talent, mediaForm({ file: await jpeg(800, 1000), name: 'Headshot', media_info: 'Natural light' }));
        expect(created.status, created.text).toBe(201);
        expect(created.body).toMatchObject({
          talent: talent.id,
          name: 'Headshot',
          media_info: 'Natural light',
          media_type: 'image',
          thumbnail: null,
          is_test_video: false,
          test_video_number: null,
          is_about_yourself_video: false,
          sharing_status: { is_shared: false, shared_with: [], sharing_enabled: false },
          file_limits: { image_max_mb: 10, video_max_mb: 100 },
        });
        expect(created.body.media_file).toMatch(/\/gallery_media\/\d+_[A-Za-z0-9_-]+\.jpg$/);
        const picture = await fetch(created.body.media_file);
        expect(picture.status).toBe(200);
        expect(picture.headers.get('content-type')).toBe('image/jpeg');

        const profile = await t.http.get('/api/profile/talent/', talent.headers);
        expect(profile.body.media).toEqual([
          expect.objectContaining({ id: created.body.id, name: 'Headshot', media_file: created.body.media_file }),
        ]);
        expect(profile.body.account_limitations).toMatchObject({ images_used: 1, images_limit: 1, images_remaining: 0 });
      });

      it('refuses a photo beyond the free plan in the live words, storing nothing', async () => {
        const before = await storedNames(t);
        const refused = await upload(talent, mediaForm({ file: await jpeg(), name: 'Second look' }));
        expect(refused.status).toBe(400);
        expect(refused.body).toEqual({
          error: 'Upload limit reached for your FREE account.',
          details: 'Your free account allows 1 images. You already have 1 images.',
          account_type: 'free',
          upgrade_message: 'Upgrade your account to upload more media.',
        });
        expect(await storedNames(t)).toEqual(before);
      });

      it('names what is wrong with a bad upload and stores nothing', async () => {
        const other = await createUser(t.http, 'talent');
        const before = await storedNames(t);
        expect((await upload(other, mediaForm({ name: 'No file' }))).body).toEqual({ media_file: ['No file was submitted.'] });
        // The photo's bytes as a plain field (no filename): not a file, and the other fields are still checked.
        const noFilename = mediaForm({ name: '  ' });
        noFilename.append('media_file', (await jpeg()).toString('latin1'));
        expect((await upload(other, noFilename)).body).toEqual({
          media_file: ['The submitted data was not a file. Check the encoding type on the form.'],
          name: ['This field may not be blank.'],
        });
        expect((await upload(other, mediaForm({ file: await jpeg(), name: '  ' }))).body).toEqual({
          name: ['This field may not be blank.'],
        });
        expect((await upload(other, mediaForm({ file: await jpeg(), name: 'x'.repeat(125) }))).body).toEqual({
          name: ['Ensure this field has no more than 124 characters.'],
        });
        const text = await upload(
          other,
          mediaForm({ file: Buffer.from('just some text, not a photo'), name: 'Notes', type: 'image/jpeg' }),
        );
        expect(text.status).toBe(400);
        expect(text.body.media_file[0]).toMatch(/^Upload a valid image/);
        const video = await upload(other, mediaForm({ file: MP4_HEAD, filename: 'reel.mp4', name: 'Reel', type: 'video/mp4' }));
        expect(video.status).toBe(400);
        expect(video.body).toMatchObject({ details: 'Your free account allows 0 videos. You already have 0 videos.' });
        expect(await storedNames(t)).toEqual(before);
        await expectNoOrphans(t);
      });

      it('reads a profile’s gallery from the database only after it changed', async () => {
        const owner = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', owner.email, 'premium');
        const galleryReads = () => t.queries.filter((q) => /from "gallery_media"/.test(q) && /order by "position"/.test(q)).length;
        const first = await upload(owner, mediaForm({ file: await jpeg(), name: 'One' }));
        const read = async () => (await t.http.get('/api/profile/talent/', owner.headers)).body.media.map((m: { name: string }) => m.name);
        expect(await read()).toEqual(['One']);
        const before = galleryReads();
        expect(await read()).toEqual(['One']);
        expect(await read()).toEqual(['One']);
        expect(galleryReads()).toBe(before);
        // Every kind of change shows on the next read.
        await upload(owner, mediaForm({ file: await jpeg(), name: 'Two' }));
        expect(await read()).toEqual(['One', 'Two']);
        await t.http.request('PATCH', `/api/profile/talent/media/${first.body.id}/`, { json: { name: 'Uno' }, headers: owner.headers });
        expect(await read()).toEqual(['Uno', 'Two']);
        await t.http.request('DELETE', `/api/media/${first.body.id}/delete/`, { headers: owner.headers });
        expect(await read()).toEqual(['Two']);
        expect(galleryReads()).toBe(before + 3);
      });

      it('deletes an item by the live path and the app’s path; its file goes; others’ items are not found', async () => {
        const owner = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', owner.email, 'premium');
        const first = await upload(owner, mediaForm({ file: await jpeg(), name: 'One' }));
        const second = await upload(owner, mediaForm({ file: await jpeg(), name: 'Two' }));
        expect([first.status, second.status]).toEqual([201, 201]);

        expect((await t.http.request('DELETE', `/api/media/${first.body.id}/delete/`, { headers: talent.headers })).status).toBe(404);
        expect((await t.http.request('DELETE', `/api/media/${first.body.id}/delete/`, { headers: owner.headers })).status).toBe(204);
        expect((await t.http.request('DELETE', `/api/media/${first.body.id}/delete/`, { headers: owner.headers })).status).toBe(404);
        expect((await t.http.request('DELETE', `/api/profile/talent/media/${second.body.id}/`, { headers: owner.headers })).status).toBe(
          204,
        );
        expect((await t.http.request('DELETE', '/api/media/abc/delete/', { headers: owner.headers })).status).toBe(404);
        await t.settled(); // the replaced files are deleted once the answer is written
        expect((await fetch(first.body.media_file)).status).toBe(404);
        expect((await t.http.get('/api/profile/talent/', owner.headers)).body.media).toEqual([]);
        await expectNoOrphans(t);
      });

      it('never lets parallel uploads exceed the plan (the count is taken in the inserting transaction)', async () => {
        const busy = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', busy.email, 'premium');
        const photo = await jpeg(400, 500);
        const results = await Promise.all(Array.from({ length: 7 }, (_, i) => upload(busy, mediaForm({ file: photo, name: `Look ${i}` }))));
        expect(results.filter((r) => r.status === 201)).toHaveLength(4);
        expect(
          results.filter((r) => r.status === 400).every((r) => r.body.error === 'Upload limit reached for your PREMIUM account.'),
        ).toBe(true);
        expect((await t.http.get('/api/profile/talent/', busy.headers)).body.media).toHaveLength(4);
        await expectNoOrphans(t);
      });

      it('gives background users the same gallery once subscribed, and removes it with the account', async () => {
        const extra = await createUser(t.http, 'background');
        const unsubscribed = await upload(extra, mediaForm({ file: await jpeg(), name: 'Full body' }), 'background');
        expect(unsubscribed.status).toBe(403);
        expect(unsubscribed.body.error).toBe('Subscription required');
        await cli(t, 'subscription', 'grant', extra.email, 'background_jobs');
        const added = await upload(extra, mediaForm({ file: await jpeg(), name: 'Full body' }), 'background');
        expect(added.status, added.text).toBe(201);
        expect((await t.http.get('/api/profile/background/', extra.headers)).body.media).toEqual([
          expect.objectContaining({ name: 'Full body' }),
        ]);
        expect((await upload(extra, mediaForm({ file: await jpeg(), name: 'x' }), 'talent')).status).toBe(403);

        expect((await cli(t, 'user', 'delete', extra.email)).code).toBe(0);
        expect((await fetch(added.body.media_file)).status).toBe(404);
        await expectNoOrphans(t);
      });
    });
  }
}
