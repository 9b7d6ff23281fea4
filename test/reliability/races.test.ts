import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectNoOrphans, startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { jpeg, noisyJpeg } from '../helpers/images.js';
import { holdTransaction } from '../helpers/locks.js';
import { STORAGES } from '../helpers/storage.js';

/**
 * One user's changes at the same time, as a client retrying or two open tabs send them: profile
 * pictures, re-framings, gallery uploads, edits, reorders, promotions and deletions, items with
 * photos, and at the end the account's deletion in the middle of them. Every answer is one the API
 * documents for a conflict (never a 5xx: a deadlock answered 503, a row deleted meanwhile 500),
 * and storage holds exactly what the database names (a re-framing's swap and a release read the
 * same variants and left the new ones behind; an account deletion listed its files before an
 * upload in flight committed one more).
 */
type Answer = { status: number; text: string; what: string };

for (const db of DATABASES) {
  for (const store of STORAGES) {
    describe.skipIf(db.skipReason)(`one user's changes at once on ${db.label} with ${store.name} storage`, () => {
      let t: TestApp;
      let photos: Buffer[];
      beforeAll(async () => {
        t = await startTestApp(db, { storage: store, env: { FACE_CHECK: 'false' } });
        photos = [await jpeg(800, 1000), await noisyJpeg(600, 600), await jpeg(400, 500, '#aa3355')];
      });
      afterAll(async () => t?.close());

      const send = async (what: string, method: string, path: string, user: TestUser, body: { form?: FormData; json?: unknown } = {}) => {
        const res = await t.http.request(method, path, { ...body, headers: user.headers });
        return { status: res.status, text: res.text, what } satisfies Answer;
      };
      const photoForm = (field: string, i: number, fields: Record<string, string> = {}) => {
        const form = new FormData();
        for (const [key, value] of Object.entries(fields)) form.append(key, value);
        form.append(field, new Blob([photos[i % photos.length]!], { type: 'image/jpeg' }), 'photo.jpg');
        return form;
      };

      it('answer each with a documented status and leave storage matching the database, the account deletion included', async () => {
        const answers: Answer[] = [];
        for (let pair = 0; pair < 2; pair++) {
          const talent = await createUser(t.http, 'talent');
          const extra = await createUser(t.http, 'background');
          expect((await cli(t, 'subscription', 'grant', extra.email, 'background_jobs')).code).toBe(0);
          const galleryIds = async () => {
            // Once the account is gone the list answers 401: there are no ids to name.
            const list: unknown = (await t.http.get('/api/profile/talent/media/', talent.headers)).body;
            return Array.isArray(list) ? list.map((item: { id: number }) => item.id) : [];
          };
          const itemIds = async () =>
            [...(await t.http.get('/api/profile/background/items/', extra.headers)).text.matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
          const some = (ids: number[], i: number) => ids[i % Math.max(1, ids.length)] ?? 1;
          const changes: ((i: number) => Promise<Answer>)[] = [
            (i) => send('picture', 'POST', '/api/profile/talent/', talent, { form: photoForm('profile_picture', i) }),
            () => send('frame', 'PUT', '/api/profile/talent/picture-focus/', talent, { json: { x: 5, y: 5 } }),
            (i) =>
              send('gallery upload', 'POST', '/api/profile/talent/media/', talent, { form: photoForm('media_file', i, { name: 'Look' }) }),
            async (i) => send('gallery delete', 'DELETE', `/api/profile/talent/media/${some(await galleryIds(), i)}/`, talent),
            async () =>
              send('reorder', 'POST', '/api/profile/talent/media/reorder/', talent, { json: { order: (await galleryIds()).reverse() } }),
            async (i) =>
              send('gallery edit', 'PATCH', `/api/profile/talent/media/${some(await galleryIds(), i)}/`, talent, {
                json: { name: 'Edit' },
              }),
            async (i) => send('promote', 'POST', `/api/profile/talent/media/${some(await galleryIds(), i)}/promote/`, talent),
            () => send('picture removal', 'DELETE', '/api/profile/talent/', talent),
            (i) =>
              send('item', 'POST', '/api/profile/background/items/', extra, {
                form: photoForm('image', i, { item_type: 'prop', name: 'Prop' }),
              }),
            async (i) =>
              send('item photo', 'PATCH', `/api/profile/background/items/prop/${some(await itemIds(), i)}/`, extra, {
                form: photoForm('image', i),
              }),
            async (i) => send('item delete', 'DELETE', `/api/profile/background/items/prop/${some(await itemIds(), i)}/`, extra),
            (i) => send('background picture', 'POST', '/api/profile/background/', extra, { form: photoForm('profile_picture', i) }),
          ];
          for (let round = 0; round < 5; round++)
            answers.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => changes[(i * 5 + round * 3) % changes.length]!(i)))));
          // The accounts go while uploads and edits of theirs are in flight.
          answers.push(
            ...(await Promise.all([
              ...[0, 2, 8, 11, 9, 6].map((n, i) => changes[n]!(i)),
              send('account deletion', 'DELETE', '/api/account/', talent, { json: { password: talent.password } }),
              send('account deletion', 'DELETE', '/api/account/', extra, { json: { password: extra.password } }),
              ...[2, 0, 11, 8, 3, 1].map((n, i) => changes[n]!(i)),
            ])),
          );
        }
        await t.settled();
        const unexpected = answers.filter(({ status }) => ![200, 201, 204, 400, 401, 404, 409].includes(status));
        expect(unexpected.map(({ what, status, text }) => `${what}: ${status} ${text.slice(0, 120)}`)).toEqual([]);
        // An upload that lost the race to its account's deletion is told the account is gone.
        for (const { text } of answers.filter((answer) => answer.status === 401)) expect(JSON.parse(text).code).toBe('user_not_found');
        expect(answers.filter(({ what, status }) => what === 'account deletion' && status === 204)).toHaveLength(4);
        await expectNoOrphans(t);
      });

      it('tell a change that reaches the database after its account was deleted: an upload or a password change 401 (nothing kept), a field edit 409', async () => {
        const user = await createUser(t.http, 'background');
        // Another client deletes the account while the two requests are under way: both were
        // authenticated before the deletion committed, and both write after it.
        const deletion = await holdTransaction(t.directDatabase, `DELETE FROM users WHERE id = ${Number(user.id)}`, 1500, 'COMMIT');
        const [upload, edit, password] = await Promise.all([
          send('picture', 'POST', '/api/profile/background/', user, { form: photoForm('profile_picture', 0) }),
          send('fields', 'POST', '/api/profile/background/', user, { json: { country: 'Peru' } }),
          send('password', 'POST', '/api/password/change/', user, {
            json: { old_password: user.password, new_password: 'Fresh-Start-2026!' },
          }),
        ]);
        await deletion.released;
        expect(upload.status, upload.text).toBe(401);
        expect(JSON.parse(upload.text)).toEqual({ detail: 'User not found', code: 'user_not_found' });
        expect(password.status, password.text).toBe(401);
        expect(JSON.parse(password.text).code).toBe('user_not_found');
        expect(edit.status, edit.text).toBe(409);
        expect(JSON.parse(edit.text).detail).toMatch(/deleted meanwhile/);
        await t.settled();
        await expectNoOrphans(t);
      });
    });
  }
}
