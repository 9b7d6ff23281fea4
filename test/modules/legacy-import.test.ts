import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { DJANGO_HASHES, DJANGO_SECRET, DjangoFixture, djangoToken } from '../helpers/django.js';
import { STORAGES } from '../helpers/storage.js';
import { video } from '../helpers/videos.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL;
const CDN = 'https://ganspace.fra1.cdn.digitaloceanspaces.com';
const jpeg = (colour: string) =>
  sharp({ create: { width: 40, height: 40, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
const put = async (t: TestApp, name: string, body: Buffer) =>
  t.storage.inner.put(name, body, { contentType: 'image/jpeg', cacheControl: 'max-age=86400' });

for (const target of DATABASES) {
  describe.skipIf(target.skipReason || !ADMIN_URL)(`import from a Django database into ${target.label}`, () => {
    let t: TestApp;
    let source: DjangoFixture;
    let oldServer: string;

    beforeAll(async () => {
      t = await startTestApp(target, {
        storage: STORAGES.find((s) => s.name === 's3'),
        env: { PUBLIC_MEDIA_BASE_URL: CDN, LEGACY_JWT_SECRET: DJANGO_SECRET, LEGACY_JWT_UNTIL: '2099-01-01T00:00:00Z' },
      });
      source = await DjangoFixture.create(ADMIN_URL as string);
      oldServer = mkdtempSync(path.join(tmpdir(), 'django-media-'));

      // A talent whose emails differ only in case from an older account; the newer one signs in.
      await source.user({ id: 7, email: 'Lina@Example.com', is_talent: true, last_login: '2025-01-01T00:00:00Z' });
      await source.user({
        id: 42,
        email: 'lina@example.com',
        password: DJANGO_HASHES.horse.hash,
        is_talent: true,
        gender: 'Female',
        last_login: '2025-09-01T00:00:00Z',
      });
      await source.talentProfile(1, 42, {
        picture: 'profile_pictures/lina_Ab3dE9x.jpg',
        aboutyou: 'Stage and screen.',
        account_type: 'premium',
      });
      await source.query(
        `insert into profiles_socialmedialinks (id, facebook, instagram, youtube, tiktok, user_id) values (1, null, 'https://instagram.com/lina', null, null, 1)`,
      );
      // A background user with two objects from one upload (Django's double save), items and a subscription.
      await source.user({ id: 50, email: 'Omar@example.com', password: DJANGO_HASHES.passw0rd.hash, is_background: true });
      await source.backgroundProfile(5, 50, { picture: 'background_profile_pictures/omar_Qw8rTy1.JPG', country: 'Egypt' });
      await source.query(`insert into profiles_genre (id, name, description) values (3, 'Period', null)`);
      await source.prop(11, 5, { genreId: 3 });
      await source.memorabilia(11, 5, 'certificates/poster.pdf');
      await source.plan(1, 'background_jobs');
      await source.plan(2, 'bands');
      await source.subscription(100, 50, 1);
      await source.subscription(101, 50, 2);
      // Unusable and plaintext passwords; a dashboard-only account; a picture that never reached the bucket.
      await source.user({ id: 60, email: 'unusable@example.com', password: `!${'a'.repeat(40)}`, is_background: true });
      await source.user({ id: 61, email: 'plain@example.com', password: 'plaintext-password', is_talent: true });
      await source.user({ id: 62, email: 'staff@example.com', is_dashboard: true });
      await source.user({ id: 63, email: 'old@example.com', is_background: true });
      await source.backgroundProfile(6, 63, { picture: 'background_profile_pictures/old_upload.png' });

      await put(t, 'profile_pictures/lina_Ab3dE9x.jpg', await jpeg('#a33'));
      await put(t, 'background_profile_pictures/omar.JPG', await jpeg('#3a3'));
      await put(t, 'background_profile_pictures/omar_Qw8rTy1.JPG', await jpeg('#3a3'));
      await put(t, 'item_images/lantern.jpg', await jpeg('#33a'));
      await put(t, 'item_images/poster.jpg', await jpeg('#aa3'));
      await t.storage.inner.put('certificates/poster.pdf', Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'), {
        contentType: 'application/pdf',
        cacheControl: 'x',
      });
      mkdirSync(path.join(oldServer, 'background_profile_pictures'), { recursive: true });
      writeFileSync(
        path.join(oldServer, 'background_profile_pictures', 'old_upload.png'),
        await sharp({ create: { width: 30, height: 30, channels: 3, background: '#999' } })
          .png()
          .toBuffer(),
      );
    });

    afterAll(async () => {
      await source?.close();
      await t?.close();
      rmSync(oldServer, { recursive: true, force: true });
    });

    it('a dry run reports what it would do and writes nothing', async () => {
      const run = await cli(t, 'import', 'django', '--from', source.url, '--dry-run');
      expect(run.code).toBe(0);
      expect(run.out).toMatch(
        /^users: 7 read, 5 would be created, 0 would be updated, 0 unchanged, 0 would be deleted \(gone from the source\), 2 skipped$/m,
      );
      expect(run.out).toContain('dry run: nothing was written');
      expect(await t.database.db.selectFrom('users').select('id').execute()).toEqual([]);
    });

    it('imports accounts, profiles, links, items and subscriptions, saying what it skipped and why', async () => {
      const run = await cli(t, 'import', 'django', '--from', source.url);
      expect(run.code, run.out).toBe(0);
      expect(run.out).toMatch(/^users: 7 read, 5 created, 0 updated, 0 unchanged, 0 deleted \(gone from the source\), 2 skipped$/m);
      expect(run.out).toMatch(/^items: 2 read, 2 created/m);
      expect(run.out).toMatch(/altered subscriptions 42: talent account type premium without a subscription: granted premium/);
      expect(run.out).toMatch(/skipped users 7: its email differs only in letter case from user 42/);
      expect(run.out).toMatch(/skipped users 62: neither a talent nor a background account/);
      expect(run.out).toMatch(/skipped subscriptions 101: plan bands is not sold by castfolio/);
      expect(run.out).toMatch(
        /altered background_profiles 63: profile_picture background_profile_pictures\/old_upload.png: not in the bucket/,
      );
      const ids = (await t.database.db.selectFrom('users').select(['id', 'email']).orderBy('id').execute()).map(
        (u) => `${u.id}:${u.email}`,
      );
      expect(ids).toEqual([
        '42:lina@example.com',
        '50:omar@example.com',
        '60:unusable@example.com',
        '61:plain@example.com',
        '63:old@example.com',
      ]);
    });

    it('signs in with the original password, then keeps it under argon2id', async () => {
      const login = await t.http.post('/api/login/talent/', { email: 'LINA@example.com', password: DJANGO_HASHES.horse.password });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      const stored = await t.database.db.selectFrom('users').select('password_hash').where('id', '=', 42).executeTakeFirstOrThrow();
      expect(stored.password_hash).toMatch(/^\$argon2id\$/);
      expect((await t.http.post('/api/login/talent/', { email: 'lina@example.com', password: DJANGO_HASHES.horse.password })).status).toBe(
        200,
      );
      const refused = (body: { code?: string }) => expect(body.code).toBe('no_active_account');
      refused((await t.http.post('/api/login/talent/', { email: 'lina@example.com', password: 'correct horse battery' })).body);
      // Unusable and plaintext values match nothing, not even themselves.
      refused((await t.http.post('/api/login/background/', { email: 'unusable@example.com', password: `!${'a'.repeat(40)}` })).body);
      refused((await t.http.post('/api/login/talent/', { email: 'plain@example.com', password: 'plaintext-password' })).body);
    });

    it('honours a Django access token and shows the picture at the URL Django gave it', async () => {
      const access = await djangoToken(50, 'access', Math.floor(Date.now() / 1000));
      const profile = await t.http.get('/api/profile/background/', { Authorization: `Bearer ${access}`, 'is-background': 'true' });
      expect(profile.status, JSON.stringify(profile.body)).toBe(200);
      expect(profile.body.profile.profile_picture).toBe(`${CDN}/media/background_profile_pictures/omar_Qw8rTy1.JPG`);
      expect(profile.body.profile.country).toBe('Egypt');
      expect(profile.body.subscription_status.has_subscription).toBe(true);
      const items = await t.http.get('/api/profile/background/items/', { Authorization: `Bearer ${access}` });
      expect(items.status).toBe(200);
      expect(items.body.items.prop).toEqual([
        expect.objectContaining({ name: 'Lantern', price: '12.50', genre: 'Period', image: `${CDN}/media/item_images/lantern.jpg` }),
      ]);
      expect(items.body.items.memorabilia[0].authenticity_certificate).toBe(`${CDN}/media/certificates/poster.pdf`);
    });

    it('exchanges a Django refresh token for castfolio tokens', async () => {
      const refresh = await djangoToken(42, 'refresh', Math.floor(Date.now() / 1000), 12 * 3600);
      const exchanged = await t.http.post('/api/token/refresh/', { refresh });
      expect(exchanged.status).toBe(200);
      const talent = await t.http.get('/api/profile/talent/', { Authorization: `Bearer ${exchanged.body.access}` });
      expect(talent.status).toBe(200);
      expect(talent.body).toMatchObject({
        email: 'lina@example.com',
        gender: 'Female',
        aboutyou: 'Stage and screen.',
        account_type: 'premium',
      });
      expect(talent.body.social_media_links.instagram).toBe('https://instagram.com/lina');
      expect(talent.body.profile_picture).toBe(`${CDN}/media/profile_pictures/lina_Ab3dE9x.jpg`);
    });

    it('a re-run changes nothing; changes in the source are carried over, changes made here are kept', async () => {
      const again = await cli(t, 'import', 'django', '--from', source.url);
      expect(again.out).toMatch(/^users: 7 read, 0 created, 0 updated, 5 unchanged/m);
      expect(await t.database.db.selectFrom('users').select('password_hash').where('id', '=', 42).executeTakeFirstOrThrow()).toMatchObject({
        password_hash: expect.stringMatching(/^\$argon2id\$/),
      });
      await source.query(`update users_baseuser set first_name = 'Omari' where id = 50`);
      await source.query(`delete from profiles_prop where id = 11`);
      const changed = await cli(t, 'import', 'django', '--from', source.url, '--legacy-media-dir', oldServer);
      expect(changed.out).toMatch(/^users: 7 read, 0 created, 1 updated, 4 unchanged/m);
      expect(changed.out).toMatch(/^items: 1 read, 0 created, 0 updated, 1 unchanged, 1 deleted/m);
      expect(changed.out).toMatch(/files: \d+ checked, 1 missing from storage, 1 uploaded/);
      const omar = await t.database.db
        .selectFrom('users')
        .select(['first_name', 'password_hash'])
        .where('id', '=', 50)
        .executeTakeFirstOrThrow();
      expect(omar.first_name).toBe('Omari');
      const old = await t.database.db
        .selectFrom('background_profiles')
        .select('profile_picture')
        .where('user_id', '=', 63)
        .executeTakeFirstOrThrow();
      expect(old.profile_picture).toBe('background_profile_pictures/old_upload.png');
      expect(await t.storage.inner.exists('background_profile_pictures/old_upload.png')).toBe(true);
      // The deleted item's picture went with it; the untouched items' stay.
      expect(await t.storage.inner.exists('item_images/lantern.jpg')).toBe(false);
      expect(await t.storage.inner.exists('item_images/poster.jpg')).toBe(true);
    });

    it('new accounts continue after the highest imported id', async () => {
      const registered = await t.http.post('/api/register/', {
        email: 'new@example.com',
        password: 'A-New-Member-2026',
        first_name: 'New',
        last_name: 'Member',
        role: 'talent',
        date_of_birth: '1995-05-05',
      });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      const row = await t.database.db.selectFrom('users').select('id').where('email', '=', 'new@example.com').executeTakeFirstOrThrow();
      expect(row.id).toBeGreaterThan(63);
    });

    it('lists Django’s unreferenced objects, deletes them only when asked, and never in a normal sweep', async () => {
      const sweep = await cli(t, 'media', 'sweep', '--grace', '0');
      expect(sweep.code).toBe(0);
      expect(await t.storage.inner.exists('background_profile_pictures/omar.JPG')).toBe(true);
      const listed = await cli(t, 'media', 'sweep', '--legacy');
      expect(listed.out).toContain('unreferenced background_profile_pictures/omar.JPG');
      expect(listed.out).not.toContain('omar_Qw8rTy1');
      expect(await t.storage.inner.exists('background_profile_pictures/omar.JPG')).toBe(true);
      const deleted = await cli(t, 'media', 'sweep', '--legacy', '--delete');
      expect(deleted.out).toMatch(/1 adopted object\(s\) no row references, 1 deleted/);
      expect(await t.storage.inner.exists('background_profile_pictures/omar.JPG')).toBe(false);
      expect(await t.storage.inner.exists('background_profile_pictures/omar_Qw8rTy1.JPG')).toBe(true);
    });

    it('replacing an imported picture deletes the adopted object like any other', async () => {
      const login = await t.http.post('/api/login/background/', { email: 'omar@example.com', password: DJANGO_HASHES.passw0rd.password });
      expect(login.status).toBe(200);
      const form = new FormData();
      form.append('profile_picture', new Blob([await jpeg('#fff')], { type: 'image/jpeg' }), 'new.jpg');
      const upload = await t.http.request('POST', '/api/profile/background/', {
        form,
        headers: { Authorization: `Bearer ${login.body.access}` },
      });
      expect(upload.status, JSON.stringify(upload.body)).toBe(200);
      await t.settled(); // the replaced files are deleted once the answer is written
      expect(await t.storage.inner.exists('background_profile_pictures/omar_Qw8rTy1.JPG')).toBe(false);
    });

    it('imports the talent media gallery under its Django names, follows the source on re-runs, and sweeps its leftovers', async () => {
      const media = (id: number, talentId: number, type: string, file: string, extra = '') =>
        source.query(
          `insert into profiles_talentmedia (id, name, media_info, media_type, media_file, thumbnail, created_at, updated_at, is_test_video, test_video_number, is_about_yourself_video, talent_id)
           values ($1, $2, 'From Django', $3, $4, null, '2025-06-01T10:00:00Z', '2025-06-01T10:00:00Z', $5, $6, $7, $8)`,
          [
            id,
            `Item ${id}`,
            type,
            file,
            extra === 'test',
            extra === 'test' ? 2 : extra === 'about' ? 5 : null,
            extra === 'about',
            talentId,
          ],
        );
      await media(1, 1, 'image', 'talent_media/user_42/0b5c9e2f4a1d.jpg');
      await media(2, 1, 'video', 'talent_media/user_42/7f3e1c9a2b4d.mp4', 'test');
      await media(3, 1, 'audio', 'talent_media/user_42/song.mp3');
      await put(t, 'talent_media/user_42/0b5c9e2f4a1d.jpg', await jpeg('#c96'));
      // A leftover Django never deleted, and the video only the old server's folder holds (uploads before 2025-07-10).
      await put(t, 'talent_media/user_42/leftover.jpg', await jpeg('#000'));
      mkdirSync(path.join(oldServer, 'talent_media', 'user_42'), { recursive: true });
      writeFileSync(path.join(oldServer, 'talent_media', 'user_42', '7f3e1c9a2b4d.mp4'), await video({ seconds: 1 }));

      const run = await cli(t, 'import', 'django', '--from', source.url, '--legacy-media-dir', oldServer);
      expect(run.code, run.out).toBe(0);
      expect(run.out).toMatch(/^gallery_media: 3 read, 2 created, 0 updated, 0 unchanged, 0 deleted \(gone from the source\), 1 skipped$/m);
      expect(run.out).toMatch(/skipped gallery_media 3: media_type audio is neither image nor video/);
      expect(await t.storage.inner.exists('talent_media/user_42/7f3e1c9a2b4d.mp4')).toBe(true);

      const login = await t.http.post('/api/login/talent/', { email: 'lina@example.com', password: DJANGO_HASHES.horse.password });
      const headers = { Authorization: `Bearer ${login.body.access}` };
      const profile = await t.http.get('/api/profile/talent/', headers);
      expect(profile.body.media).toEqual([
        expect.objectContaining({
          talent: 42,
          name: 'Item 1',
          media_type: 'image',
          media_file: `${CDN}/media/talent_media/user_42/0b5c9e2f4a1d.jpg`,
          is_test_video: false,
          freshness: expect.objectContaining({ taken_at: '2025-06-01T10:00:00.000Z', source: 'upload_date' }),
        }),
        expect.objectContaining({
          media_type: 'video',
          media_file: `${CDN}/media/talent_media/user_42/7f3e1c9a2b4d.mp4`,
          is_test_video: true,
          test_video_number: 2,
        }),
      ]);

      // The performer hides the video here; then the source deletes the photo and renames the video.
      const videoId = profile.body.media[1].id;
      await t.http.request('PATCH', `/api/profile/talent/media/${videoId}/`, { json: { visibility: 'hidden' }, headers });
      await source.query('delete from profiles_talentmedia where id = 1');
      await source.query(`update profiles_talentmedia set name = 'Scene two' where id = 2`);
      const again = await cli(t, 'import', 'django', '--from', source.url, '--legacy-media-dir', oldServer);
      expect(again.out).toMatch(/^gallery_media: 2 read, 0 created, 1 updated, 0 unchanged, 1 deleted/m);
      expect(await t.storage.inner.exists('talent_media/user_42/0b5c9e2f4a1d.jpg')).toBe(false);
      // The next read shows both changes, and what the performer set here is kept.
      expect((await t.http.get('/api/profile/talent/', headers)).body.media).toEqual([
        expect.objectContaining({ id: videoId, name: 'Scene two', visibility: 'hidden' }),
      ]);

      const listed = await cli(t, 'media', 'sweep', '--legacy');
      expect(listed.out).toContain('unreferenced talent_media/user_42/leftover.jpg');
      expect(listed.out).not.toContain('7f3e1c9a2b4d');
      // Deleting an imported video from castfolio deletes its adopted object.
      const id = (await t.http.get('/api/profile/talent/', headers)).body.media[0].id;
      expect((await t.http.request('DELETE', `/api/media/${id}/delete/`, { headers })).status).toBe(204);
      await t.settled(); // the replaced files are deleted once the answer is written
      expect(await t.storage.inner.exists('talent_media/user_42/7f3e1c9a2b4d.mp4')).toBe(false);
    });
  });
}
