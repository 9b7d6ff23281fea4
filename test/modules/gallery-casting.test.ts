import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectNoOrphans, startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { jpeg } from '../helpers/images.js';
import { STORAGES } from '../helpers/storage.js';
import { video } from '../helpers/videos.js';

function photoForm(file: Buffer, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('media_file', new Blob([file], { type: 'image/jpeg' }), 'look.jpg');
  form.append('name', fields.name ?? 'Look');
  for (const [key, value] of Object.entries(fields)) if (key !== 'name') form.append(key, value);
  return form;
}

/** A camera JPEG that says when it was taken (EXIF DateTimeOriginal, "YYYY:MM:DD hh:mm:ss"). */
function takenOn(date: string): Promise<Buffer> {
  return sharp({ create: { width: 600, height: 750, channels: 3, background: '#a0522d' } })
    .jpeg()
    .withExif({ IFD0: { Make: 'CastfolioCam' }, IFD2: { DateTimeOriginal: date } })
    .toBuffer();
}

const DAY = 86_400_000;

for (const target of DATABASES) {
  for (const storage of STORAGES) {
    describe.skipIf(target.skipReason)(`gallery casting fields on ${target.label} with ${storage.name} storage`, () => {
      let t: TestApp;
      let user: TestUser;
      const base = '/api/profile/talent/media/';
      const upload = (form: FormData, who = user) => t.http.request('POST', base, { form, headers: who.headers });
      const patch = (id: number, body: unknown, who = user) =>
        t.http.request('PATCH', `${base}${id}/`, { json: body, headers: who.headers });

      beforeAll(async () => {
        t = await startTestApp(target, { storage });
        user = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', user.email, 'platinum');
      });
      afterAll(async () => t?.close());

      it('takes slot, tags and visibility at upload and on edit; headshot and full body are one per gallery', async () => {
        const first = await upload(photoForm(await jpeg(), { slot: 'headshot', tags: 'theatrical,commercial', visibility: 'hidden' }));
        expect(first.status, first.text).toBe(201);
        expect(first.body).toMatchObject({ slot: 'headshot', tags: ['commercial', 'theatrical'], visibility: 'hidden', position: 0 });
        const second = await upload(photoForm(await jpeg(), { slot: 'headshot' }));
        expect(second.body).toMatchObject({ slot: 'headshot', tags: [], visibility: 'public', position: 1 });
        const list = await t.http.get(base, user.headers);
        expect(list.body.map((item: { id: number; slot: string | null }) => [item.id, item.slot])).toEqual([
          [first.body.id, null],
          [second.body.id, 'headshot'],
        ]);

        const edited = await patch(first.body.id, { slot: 'casual', tags: ['commercial'], visibility: 'public', name: 'Weekend' });
        expect(edited.status, edited.text).toBe(200);
        expect(edited.body).toMatchObject({ slot: 'casual', tags: ['commercial'], visibility: 'public', name: 'Weekend' });

        expect((await patch(first.body.id, { slot: 'villain' })).body).toEqual({ slot: ['"villain" is not a valid choice.'] });
        expect((await patch(first.body.id, { tags: ['cute'] })).body).toEqual({ tags: ['"cute" is not a valid choice.'] });
        expect((await patch(first.body.id, { visibility: 'secret' })).body).toEqual({ visibility: ['"secret" is not a valid choice.'] });
        expect((await patch(first.body.id, {})).status).toBe(400);
        expect((await patch(999_999, { slot: 'casual' })).status).toBe(404);
        const stranger = await createUser(t.http, 'talent');
        expect((await patch(first.body.id, { slot: 'casual' }, stranger)).status).toBe(404);
        expect((await upload(photoForm(await jpeg(), { slot: 'boss' }))).body).toEqual({ slot: ['"boss" is not a valid choice.'] });
        await t.http.request('DELETE', `${base}${first.body.id}/`, { headers: user.headers });
        await t.http.request('DELETE', `${base}${second.body.id}/`, { headers: user.headers });
        await expectNoOrphans(t);
      });

      it('reorders the whole gallery in one request, and refuses an order that is not exactly the gallery', async () => {
        const ids: number[] = [];
        for (const name of ['A', 'B', 'C']) ids.push((await upload(photoForm(await jpeg(), { name }))).body.id);
        const [a, b, c] = ids as [number, number, number];
        const reordered = await t.http.request('POST', `${base}reorder/`, { json: { order: [c, a, b] }, headers: user.headers });
        expect(reordered.status, reordered.text).toBe(200);
        expect(reordered.body.map((item: { name: string }) => item.name)).toEqual(['C', 'A', 'B']);
        const profile = await t.http.get('/api/profile/talent/', user.headers);
        expect(profile.body.media.map((item: { name: string }) => item.name)).toEqual(['C', 'A', 'B']);

        for (const order of [[c, a], [c, a, b, 99_999], [c, c, a, b], 'c,a,b', [c, a, -1]]) {
          const refused = await t.http.request('POST', `${base}reorder/`, { json: { order }, headers: user.headers });
          expect(refused.status, JSON.stringify(order)).toBe(400);
          expect(Object.keys(refused.body)).toEqual(['order']);
        }
        expect((await t.http.get(base, user.headers)).body.map((item: { name: string }) => item.name)).toEqual(['C', 'A', 'B']);

        // A form sends the list as a repeated field of digits (DRF's parsers read forms on every view).
        const form = new FormData();
        for (const id of [b, c, a]) form.append('order', String(id));
        const fromForm = await t.http.request('POST', `${base}reorder/`, { form, headers: user.headers });
        expect(fromForm.status, fromForm.text).toBe(200);
        expect(fromForm.body.map((item: { name: string }) => item.name)).toEqual(['B', 'C', 'A']);
        const fromUrlencoded = await t.http.request('POST', `${base}reorder/`, {
          body: new URLSearchParams([a, b, c].map((id): [string, string] => ['order', String(id)])).toString(),
          headers: { ...user.headers, 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(fromUrlencoded.status, fromUrlencoded.text).toBe(200);
        expect(fromUrlencoded.body.map((item: { name: string }) => item.name)).toEqual(['A', 'B', 'C']);
        for (const id of ids) await t.http.request('DELETE', `${base}${id}/`, { headers: user.headers });
      });

      it('promotes a photo to headshot: it becomes the profile picture at once, the old picture goes', async () => {
        const pictureForm = new FormData();
        pictureForm.append('profile_picture', new Blob([await jpeg(400, 400, '#111111')], { type: 'image/jpeg' }), 'old.jpg');
        const withPicture = await t.http.request('POST', '/api/profile/talent/', { form: pictureForm, headers: user.headers });
        expect(withPicture.status, withPicture.text).toBe(200);
        const oldPicture = (await t.http.get('/api/profile/talent/', user.headers)).body.profile_picture as string;
        expect((await fetch(oldPicture)).status).toBe(200);

        const photo = await upload(photoForm(await jpeg(500, 625, '#22aa22'), { name: 'New headshot' }));
        const promoted = await t.http.request('POST', `${base}${photo.body.id}/promote/`, { headers: user.headers });
        expect(promoted.status, promoted.text).toBe(200);
        expect(promoted.body).toMatchObject({ id: photo.body.id, slot: 'headshot' });
        const profile = (await t.http.get('/api/profile/talent/', user.headers)).body;
        expect(profile.profile_picture).toBe(photo.body.media_file);
        await t.settled(); // the replaced files are deleted once the answer is written
        expect((await fetch(oldPicture)).status).toBe(404);
        await expectNoOrphans(t);

        // The gallery item goes; the file stays while it is the profile picture.
        expect((await t.http.request('DELETE', `${base}${photo.body.id}/`, { headers: user.headers })).status).toBe(204);
        expect((await fetch(photo.body.media_file)).status).toBe(200);
        await expectNoOrphans(t);

        const clip = await upload(
          (() => {
            const form = new FormData();
            form.append('media_file', new Blob([Buffer.alloc(0)]), 'x');
            return form;
          })(),
        );
        expect(clip.status).toBe(400);
        const tape = new FormData();
        tape.append('media_file', new Blob([await video({ seconds: 1 })], { type: 'video/mp4' }), 'tape.mp4');
        tape.append('name', 'Tape');
        const videoItem = await upload(tape);
        expect(videoItem.status, videoItem.text).toBe(201);
        const refused = await t.http.request('POST', `${base}${videoItem.body.id}/promote/`, { headers: user.headers });
        expect(refused.status).toBe(400);
        expect(refused.body).toEqual({ detail: 'Only a photo can become your profile picture.' });
        expect((await patch(videoItem.body.id, { slot: 'headshot' })).body).toEqual({ slot: ['Only a photo can fill a casting slot.'] });
        expect((await t.http.request('POST', `${base}999999/promote/`, { headers: user.headers })).status).toBe(404);
        await t.http.request('DELETE', `${base}${videoItem.body.id}/`, { headers: user.headers });
        await expectNoOrphans(t);
      });

      it('shows others only the public items, in order', async () => {
        const owner = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', owner.email, 'premium');
        const shown = await upload(photoForm(await jpeg(), { name: 'Shown' }), owner);
        await upload(photoForm(await jpeg(), { name: 'Kept back', visibility: 'hidden' }), owner);
        const viewer = await createUser(t.http, 'background');
        const portfolio = await t.http.get(`/api/portfolio/${owner.id}/`, viewer.headers);
        expect(portfolio.status).toBe(200);
        expect(portfolio.body).toEqual({ user_id: owner.id, media: [expect.objectContaining({ id: shown.body.id, name: 'Shown' })] });
        expect((await t.http.get(`/api/portfolio/${owner.id}/`)).status).toBe(401);
        expect((await t.http.get('/api/portfolio/abc/', viewer.headers)).status).toBe(404);
      });

      it('says how long ago a photo was taken, from its capture date, and reminds once about an old headshot', async () => {
        const performer = await createUser(t.http, 'talent');
        const old = await upload(photoForm(await takenOn('2025:01:15 10:30:00'), { slot: 'headshot' }), performer);
        expect(old.status, old.text).toBe(201);
        const now = t.clock.now().getTime();
        const days = Math.floor(now / DAY) - Math.floor(Date.UTC(2025, 0, 15, 10, 30) / DAY);
        expect(old.body.freshness).toMatchObject({
          taken_at: '2025-01-15T10:30:00.000Z',
          source: 'capture_date',
          age_days: days,
          stale: true,
        });
        expect(old.body.freshness.label).toMatch(/^taken (\d+ months?|\d+ years?) ago$/);
        const stored = await sharp(Buffer.from(await (await fetch(old.body.media_file)).arrayBuffer())).metadata();
        expect(stored.exif).toBeUndefined();

        const fresh = await upload(photoForm(await jpeg()), await createUser(t.http, 'talent'));
        expect(fresh.body.freshness).toMatchObject({ source: 'upload_date', age_days: 0, label: 'uploaded today', stale: false });

        // The profile shows the same, and its gallery ages with the calendar day (no stale text from a cache).
        const profileOf = async () => {
          // Signed in again at the clock's time (an access token does not last a day).
          const tokens = await t.http.post('/api/token/', { email: performer.email, password: performer.password });
          const headers = { ...performer.headers, Authorization: `Bearer ${tokens.body.access}` };
          const read = await t.http.get('/api/profile/talent/', headers);
          expect(read.status, read.text).toBe(200);
          return read.body.media[0].freshness;
        };
        expect(await profileOf()).toEqual(old.body.freshness);
        t.clock.advance(DAY);
        try {
          expect(await profileOf()).toMatchObject({ age_days: days + 1, stale: true });
        } finally {
          t.clock.advance(-DAY);
        }
        expect((await profileOf()).age_days).toBe(days);

        const mails = () =>
          t.database.db
            .selectFrom('outbox_emails')
            .select(['subject', 'text_body'])
            .where('to_address', '=', performer.email)
            .where('subject', 'like', '%headshot%')
            .execute();
        expect((await cli(t, 'media', 'remind-headshots')).out).toMatch(/^queued [1-9]\d* headshot reminder mail/);
        const sent = await mails();
        expect(sent).toHaveLength(1);
        expect(sent[0]!.subject).toMatch(/time for a new headshot/);
        expect(sent[0]!.text_body).toMatch(/Your headshot on castfolio is \d+ months old/);
        await cli(t, 'media', 'remind-headshots');
        expect(await mails()).toHaveLength(1);

        // A headshot without a capture date is judged by its upload date.
        const uploadedOnly = await createUser(t.http, 'talent');
        const recent = await upload(photoForm(await jpeg(), { slot: 'headshot' }), uploadedOnly);
        await cli(t, 'media', 'remind-headshots');
        const count = async () =>
          (
            await t.database.db
              .selectFrom('outbox_emails')
              .select('id')
              .where('to_address', '=', uploadedOnly.email)
              .where('subject', 'like', '%headshot%')
              .execute()
          ).length;
        expect(await count()).toBe(0);
        await t.database.db
          .updateTable('gallery_media')
          .set({ created_at: new Date(Date.now() - 200 * DAY).toISOString() })
          .where('id', '=', recent.body.id)
          .execute();
        await cli(t, 'media', 'remind-headshots');
        expect(await count()).toBe(1);
      });
    });
  }
}
