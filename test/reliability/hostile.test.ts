import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { expectNoOrphans, startTestApp, storedNames, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, registration, type TestUser } from '../helpers/factories.js';
import { isDrfShaped, type HttpResponse } from '../helpers/http.js';
import { video } from '../helpers/videos.js';
import { animatedGif, BAD_FILES, cameraLike, HTML_PAYLOAD, jpeg, jpegHtmlPolyglot, jpegWithExif, pngClaiming } from '../helpers/images.js';
import { jpegtranAvailable, MOST_SCANS, progressiveJpeg, withSegments } from '../helpers/jpeg-markers.js';
import { withChunks } from '../helpers/webp.js';
import { withSequence } from '../helpers/heif.js';

/**
 * What real users and attackers send, generated here: every case must get its documented 4xx in
 * DRF's shape, never a 5xx, store nothing, and leave the server healthy.
 */

interface Case {
  name: string;
  status: number;
  send: () => Promise<HttpResponse>;
}

const PROFILE = '/api/profile/background/';
const ITEMS = '/api/profile/background/items/';
const GALLERY = '/api/profile/background/media/';

/** A GIF whose logical screen claims width × height (the pixels are one tiny frame). */
function gifClaiming(width: number, height: number): Buffer {
  const header = Buffer.from('GIF89a', 'latin1');
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80; // global colour table of 2 entries
  const palette = Buffer.from([0, 0, 0, 255, 255, 255]);
  const image = Buffer.from([0x2c, 0, 0, 0, 0]);
  const frame = Buffer.alloc(4);
  frame.writeUInt16LE(width, 0);
  frame.writeUInt16LE(height, 2);
  const data = Buffer.from([0x00, 0x02, 0x02, 0x4c, 0x01, 0x00, 0x3b]);
  return Buffer.concat([header, screen, palette, image, frame, data]);
}

const hasJpegtran = await jpegtranAvailable();

for (const db of DATABASES) {
  describe.skipIf(db.skipReason)(`hostile inputs on ${db.label}`, () => {
    let t: TestApp;
    let user: TestUser;
    let other: TestUser;
    let star: TestUser;
    let otherItem: number;
    let otherMedia: number;
    let ownMedia: number;
    const cases: Case[] = [];

    beforeAll(async () => {
      t = await startTestApp(db);
      user = await createUser(t.http, 'background');
      other = await createUser(t.http, 'background');
      star = await createUser(t.http, 'talent');
      for (const u of [user, other])
        await runCli(
          ['subscription', 'grant', u.email, 'background_jobs'],
          t.config,
          { out: () => undefined, err: () => undefined },
          t.database,
        );
      otherItem = (await t.http.post(ITEMS, { item_type: 'prop', name: 'Theirs' }, other.headers)).body.id;
      const theirs = new FormData();
      theirs.append('media_file', new Blob([await jpeg()]), 'theirs.jpg');
      theirs.append('name', 'Theirs');
      otherMedia = (await t.http.request('POST', GALLERY, { form: theirs, headers: other.headers })).body.id;
      const mine = new FormData();
      mine.append('media_file', new Blob([await jpeg()]), 'mine.jpg');
      mine.append('name', 'Mine');
      ownMedia = (await t.http.request('POST', GALLERY, { form: mine, headers: user.headers })).body.id;
      defineCases();
    });
    afterAll(async () => t?.close());

    const add = (name: string, status: number, send: () => Promise<HttpResponse>) => cases.push({ name, status, send });
    const key = new TextEncoder().encode(TEST_JWT_SECRET);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, 'is-background': 'true' });
    const getProfile = (headers: Record<string, string>) => () => t.http.get(PROFILE, headers);
    const upload =
      (bytes: Buffer | Promise<Buffer>, filename = 'photo.jpg') =>
      async () => {
        const form = new FormData();
        form.append('profile_picture', new Blob([await bytes], { type: 'image/jpeg' }), filename);
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      };
    const register = (override: Record<string, unknown>) => () => t.http.post('/api/register/', registration('background', override));
    const raw =
      (method: string, path: string, body: string, contentType: string, headers: Record<string, string> = user.headers) =>
      () =>
        t.http.request(method, path, { body, headers: { ...headers, 'content-type': contentType } });

    /** Built once the users exist: every request below reads them. */
    function defineCases(): void {
      // --- tokens and role headers -------------------------------------------------------------
      add('JWT with alg none', 401, async () => {
        const now = Math.floor(Date.now() / 1000);
        return getProfile(
          bearer(
            `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ token_type: 'access', user_id: user.id, jti: 'x', iat: now, exp: now + 600 })}.`,
          ),
        )();
      });
      add('JWT with a wrong signature', 401, async () => getProfile(bearer(`${user.access.slice(0, -4)}AAAA`))());
      add('JWT signed with another secret', 401, async () => {
        const token = await new SignJWT({ token_type: 'access', user_id: user.id, jti: 'y' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('x'.repeat(40)));
        return getProfile(bearer(token))();
      });
      add('expired JWT', 401, async () => {
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ token_type: 'access', user_id: user.id, jti: 'z' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuedAt(now - 7200)
          .setExpirationTime(now - 60)
          .sign(key);
        return getProfile(bearer(token))();
      });
      add('refresh token used as access token', 401, async () => getProfile(bearer(user.refresh))());
      add('token of a deleted user', 401, async () => {
        const doomed = await createUser(t.http, 'background');
        await runCli(['user', 'delete', doomed.email], t.config, { out: () => undefined, err: () => undefined }, t.database);
        return getProfile(doomed.headers)();
      });
      add('SQL injection as the bearer token', 401, getProfile({ Authorization: "Bearer ' OR '1'='1' --", 'is-background': 'true' }));
      add('Authorization with three parts', 401, getProfile({ Authorization: `Bearer ${user.access} extra`, 'is-background': 'true' }));
      add('role header repeated', 403, async () =>
        t.http.request('GET', PROFILE, { headers: { Authorization: `Bearer ${user.access}`, 'is-background': 'true, true' } }),
      );
      add('role header "1"', 403, getProfile({ Authorization: `Bearer ${user.access}`, 'is-background': '1' }));
      add(
        'role header with a look-alike letter',
        403,
        getProfile({ Authorization: `Bearer ${user.access}`, 'is-background': 'tr\u00fce' }),
      );
      // --- the live web app's endpoints ------------------------------------------------------------
      const social = (body: unknown) => async () =>
        t.http.request('POST', '/api/profile/social-media/', { json: body, headers: { Authorization: `Bearer ${star.access}` } });
      add('social link without a scheme', 400, social({ instagram: 'instagram.com/me' }));
      add('social link with a javascript: scheme', 400, social({ youtube: 'javascript:alert(1)' }));
      add('social link of 5 000 characters', 400, social({ tiktok: `https://tiktok.com/${'a'.repeat(5000)}` }));
      add('social link as a number', 400, social({ facebook: 42 }));
      add('social links with no known network', 400, social({ myspace: 'https://myspace.com/me' }));
      add('social links of a background account', 403, async () =>
        t.http.get('/api/profile/social-media/', { Authorization: `Bearer ${user.access}` }),
      );
      add('checkout session (not served)', 404, async () =>
        t.http.post('/api/payments/create-checkout-session/', { plan_id: 1 }, { Authorization: `Bearer ${user.access}` }),
      );
      add('plans without a token', 401, async () => t.http.get('/api/payments/plans/'));
      add('logout with a number as the refresh token', 400, async () => t.http.post('/api/logout/', { refresh: 12345 }));
      add('logout with a forged access token and no body', 401, async () =>
        t.http.request('POST', '/api/logout/', { headers: { Authorization: 'Bearer a.b.c' } }),
      );
      add('talent header on the background endpoint', 403, getProfile({ Authorization: `Bearer ${user.access}`, 'is-talent': 'true' }));

      // --- registration and sign-in ---------------------------------------------------------------
      add('date of birth in the wrong format', 400, register({ date_of_birth: '15-05-1985' }));
      add('impossible date 2023-02-30', 400, register({ date_of_birth: '2023-02-30' }));
      add('under-18 birth date', 400, register({ date_of_birth: `${new Date().getUTCFullYear() - 10}-01-01` }));
      add('SQL injection as the email', 400, register({ email: "x@example.com' OR '1'='1" }));
      add('script tag as the email', 400, register({ email: '<script>alert(1)</script>@example.com' }));
      add('number as the email', 400, register({ email: 12345 }));
      add('array as the password', 400, register({ password: ['Casting-Call-2026'] }));
      add('operator object as a name', 400, register({ first_name: { $gt: '' } }));
      add('boolean as the birth date', 400, register({ date_of_birth: true }));
      add('1 MB string as a name', 413, register({ first_name: 'x'.repeat(1024 * 1024) }));
      add('JSON array body', 400, async () => t.http.post('/api/register/', [registration('talent')]));
      add('JSON string body', 400, raw('POST', '/api/register/', '"hello"', 'application/json', {}));
      add('malformed JSON', 400, raw('POST', '/api/register/', '{"email": "a@b.c",', 'application/json', {}));
      add(
        '__proto__ in JSON',
        400,
        raw('POST', '/api/register/', '{"__proto__": {"isAdmin": true}, "email": "p@example.com"}', 'application/json', {}),
      );
      add(
        'constructor.prototype in JSON',
        400,
        raw('POST', '/api/register/', '{"constructor": {"prototype": {"isAdmin": true}}}', 'application/json', {}),
      );
      add(
        'JSON nested 50 000 levels deep (past the body limit)',
        413,
        raw('POST', '/api/register/', `${'['.repeat(50_000)}${']'.repeat(50_000)}`, 'application/json', {}),
      );
      add(
        'JSON nested 20 000 levels deep',
        400,
        raw('POST', '/api/register/', `${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'application/json', {}),
      );
      add(
        'JSON objects nested 40 deep',
        400,
        raw('POST', '/api/token/', `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`, 'application/json', {}),
      );
      add(
        'JSON body over 64 KiB',
        413,
        raw('POST', '/api/token/', JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(70_000) }), 'application/json', {}),
      );
      add(
        'form body over 64 KiB',
        413,
        raw('POST', '/api/token/', `email=a%40b.co&password=${'x'.repeat(70_000)}`, 'application/x-www-form-urlencoded', {}),
      );
      add('invalid percent-encoding in the path', 400, async () => t.http.get('/api/profile/background/items/%zz/1/', user.headers));
      add('plain-text body', 415, raw('POST', '/api/register/', 'email=a@b.c', 'text/plain', {}));
      add('XML body', 415, raw('POST', '/api/register/', '<user><email>a@b.c</email></user>', 'application/xml', {}));
      add('empty JSON body', 400, raw('POST', '/api/register/', '', 'application/json', {}));
      add('SQL injection at sign-in', 401, async () => t.http.post('/api/token/', { email: "' OR 1=1 --", password: "' OR 1=1 --" }));
      add('null credentials', 400, async () => t.http.post('/api/token/', { email: null, password: null }));

      // --- profile updates ------------------------------------------------------------------------
      add('profile: impossible date', 400, async () => t.http.post(PROFILE, { date_of_birth: '2023-02-30' }, user.headers));
      add('profile: under-18 date', 400, async () =>
        t.http.post(PROFILE, { date_of_birth: `${new Date().getUTCFullYear() - 1}-06-01` }, user.headers),
      );
      add('profile: 1 MB multipart field', 400, async () => {
        const form = new FormData();
        form.append('country', 'x'.repeat(1024 * 1024));
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add('profile: 500 multipart fields', 400, async () => {
        const form = new FormData();
        for (let i = 0; i < 500; i++) form.append(`field${i}`, 'x');
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add(
        'profile: multipart without a boundary',
        400,
        raw('POST', PROFILE, '--x\r\nContent-Disposition: form-data; name="country"\r\n\r\nPeru\r\n--x--\r\n', 'multipart/form-data'),
      );
      add(
        'profile: multipart with the wrong boundary',
        400,
        raw(
          'POST',
          PROFILE,
          '--other\r\nContent-Disposition: form-data; name="country"\r\n\r\nPeru\r\n--other--\r\n',
          'multipart/form-data; boundary=expected',
        ),
      );
      add(
        'profile: multipart cut off mid-part',
        400,
        raw(
          'POST',
          PROFILE,
          '--b\r\nContent-Disposition: form-data; name="profile_picture"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff',
          'multipart/form-data; boundary=b',
        ),
      );
      add('profile: __proto__ as a form field', 400, async () => {
        const form = new FormData();
        form.append('__proto__', 'polluted');
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add('profile: partial=maybe', 400, async () => t.http.post(`${PROFILE}?partial=maybe`, { country: 'Peru' }, user.headers));
      add('profile: object as profile_picture', 400, async () => t.http.post(PROFILE, { profile_picture: { url: 'x' } }, user.headers));

      // --- uploads ----------------------------------------------------------------------------------
      for (const [label, make] of Object.entries(BAD_FILES)) add(`upload: ${label}`, 400, upload(Promise.resolve(make())));
      add('upload: random bytes', 400, upload(Buffer.from(Array.from({ length: 4096 }, () => (Math.random() * 256) | 0))));
      add('upload: PNG claiming 50000×50000', 400, upload(pngClaiming(50000, 50000), 'bomb.png'));
      add('upload: GIF claiming 65535×65535', 400, upload(Promise.resolve(gifClaiming(65535, 65535)), 'bomb.gif'));
      add('upload: GIF with 3000 frames', 400, upload(animatedGif(3000, 8), 'frames.gif'));
      // 8 MP, under the pixel limit, in one strip: libvips' memory grows with the width (MAX_IMAGE_SIDE).
      add(
        'upload: PNG strip of 1 000 000 × 8',
        400,
        upload(
          sharp({ create: { width: 1_000_000, height: 8, channels: 3, background: '#884422' } })
            .png()
            .toBuffer(),
          'strip.png',
        ),
      );
      // 3.8 s of CPU and 783 MB to take before the segment limit.
      add(
        'upload: JPEG of 2 000 000 empty APP1 segments',
        400,
        upload(
          cameraLike(640, 480)
            .jpeg()
            .toBuffer()
            .then((bytes) => withSegments(bytes, 2_000_000, 'header')),
          'segments.jpg',
        ),
      );
      // 808 ms of CPU and 230 MB to take before the chunk limit.
      add(
        'upload: WebP of 1 200 000 empty chunks',
        400,
        upload(
          cameraLike(640, 480)
            .webp()
            .toBuffer()
            .then((bytes) => withChunks(bytes, 1_200_000)),
          'chunks.webp',
        ),
      );
      // 1 GB in libaom, from under a kilobyte, before the AVIF limit.
      add(
        'upload: AVIF of 7200 × 7200 in under a kilobyte',
        400,
        upload(
          sharp({ create: { width: 7200, height: 7200, channels: 3, background: '#5080b0' } })
            .avif({ quality: 30, effort: 0 })
            .toBuffer(),
          'flat.avif',
        ),
      );
      // 592 MB in the PNG decoder, from 625 kB, before the limit for interlaced PNGs of 16 bits a channel.
      add(
        'upload: interlaced 16-bit PNG of 8320 × 6250 in 625 kB',
        400,
        upload(
          sharp({ create: { width: 8320, height: 6250, channels: 4, background: { r: 40, g: 90, b: 160, alpha: 0.8 } } })
            .toColourspace('rgb16')
            .png({ progressive: true, compressionLevel: 9 })
            .toBuffer(),
          'deep.png',
        ),
      );
      // 3.7 s of CPU and 685 MB in libheif, from 819 bytes, before the frame limit.
      add(
        'upload: AVIF whose movie declares 10 000 000 frames',
        400,
        upload(
          sharp({ create: { width: 64, height: 64, channels: 3, background: '#884422' } })
            .avif()
            .toBuffer()
            .then((bytes) => withSequence(bytes, 10_000_000)),
          'sequence.avif',
        ),
      );
      // Valid, and 21 s of CPU to decode at 36 MP before the scan limit.
      if (hasJpegtran) {
        const source = cameraLike(640, 480).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer();
        add(
          'upload: progressive JPEG of 1923 scans',
          400,
          upload(
            source.then((bytes) => progressiveJpeg(bytes, MOST_SCANS)),
            'scans.jpg',
          ),
        );
      }
      add(
        'upload: 11 MB file',
        413,
        upload(Promise.resolve(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(11 * 1024 * 1024)]))),
      );
      add('upload: two files', 400, async () => {
        const form = new FormData();
        const image = await jpeg();
        form.append('profile_picture', new Blob([image]), 'a.jpg');
        form.append('profile_picture', new Blob([image]), 'b.jpg');
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add('upload: file in an unknown field', 400, async () => {
        const form = new FormData();
        form.append('avatar', new Blob([await jpeg()]), 'a.jpg');
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add('upload: text file named ../../../etc/passwd', 400, upload(Buffer.from('root:x:0:0'), '../../../etc/passwd'));

      // --- items ------------------------------------------------------------------------------------
      add('items: unknown item_type', 400, async () => t.http.post(ITEMS, { item_type: 'spaceship', name: 'x' }, user.headers));
      add('items: SQL injection as item_type', 400, async () =>
        t.http.post(ITEMS, { item_type: "prop'; DROP TABLE items;--", name: 'x' }, user.headers),
      );
      add('items: negative price', 400, async () => t.http.post(ITEMS, { item_type: 'prop', name: 'x', price: -5 }, user.headers));
      add('items: price 1e309', 400, async () => t.http.post(ITEMS, { item_type: 'prop', name: 'x', price: '1e309' }, user.headers));
      add('items: year 99999', 400, async () => t.http.post(ITEMS, { item_type: 'vehicle', name: 'x', year: 99999 }, user.headers));
      add('items: unknown fields', 400, async () => t.http.post(ITEMS, { item_type: 'prop', name: 'x', owner_id: other.id }, user.headers));
      add('items: id "1 OR 1=1"', 404, async () => t.http.get(`${ITEMS}prop/1%20OR%201=1/`, user.headers));
      add("items: another user's item", 404, async () => t.http.get(`${ITEMS}prop/${otherItem}/`, user.headers));
      add("items: deleting another user's item", 404, async () =>
        t.http.request('DELETE', `${ITEMS}prop/${otherItem}/`, { headers: user.headers }),
      );
      add('items: page=-1', 400, async () => t.http.get(`${ITEMS}?page=-1`, user.headers));
      add('items: page_size=abc', 400, async () => t.http.get(`${ITEMS}?page_size=abc`, user.headers));
      add('items: page beyond any number', 404, async () => t.http.get(`${ITEMS}?page=99999999999999999999`, user.headers));
      // --- gallery ----------------------------------------------------------------------------------
      const galleryForm = async (fields: [string, string | Blob, string?][]) => {
        const form = new FormData();
        for (const [name, value, filename] of fields) {
          if (typeof value === 'string') form.append(name, value);
          else form.append(name, value, filename);
        }
        return t.http.request('POST', GALLERY, { form, headers: user.headers });
      };
      add('gallery: HTML as a photo', 400, async () =>
        galleryForm([
          ['media_file', new Blob([HTML_PAYLOAD]), 'x.jpg'],
          ['name', 'x'],
        ]),
      );
      add('gallery: two files at once', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await jpeg()]), 'a.jpg'],
          ['media_file', new Blob([await jpeg()]), 'b.jpg'],
          ['name', 'x'],
        ]),
      );
      add('gallery: media_file sent as text', 400, async () =>
        galleryForm([
          ['media_file', 'https://evil.example/x.jpg'],
          ['name', 'x'],
        ]),
      );
      add('gallery: a 10 000-character name', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await jpeg()]), 'a.jpg'],
          ['name', 'n'.repeat(10_000)],
        ]),
      );
      add('gallery: text named ../../../etc/passwd', 400, async () =>
        galleryForm([
          ['media_file', new Blob([Buffer.from('root:x:0:0')]), '../../../etc/passwd'],
          ['name', 'x'],
        ]),
      );
      add('gallery: JSON instead of a file', 400, async () => t.http.post(GALLERY, { media_file: 'x', name: 'x' }, user.headers));
      add("gallery: deleting another user's photo", 404, async () =>
        t.http.request('DELETE', `/api/media/${otherMedia}/delete/`, { headers: user.headers }),
      );
      add('gallery: id "1 OR 1=1"', 404, async () =>
        t.http.request('DELETE', '/api/media/1%20OR%201=1/delete/', { headers: user.headers }),
      );
      const HLS = Buffer.from('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n');
      add('gallery: an MP4 header wrapping an HLS playlist that names /etc/passwd', 400, async () =>
        galleryForm([
          ['media_file', new Blob([Buffer.concat([Buffer.from([0, 0, 0, 0x14]), Buffer.from('ftypisom\0\0\0\0isom'), HLS])]), 'x.mp4'],
          ['name', 'x'],
        ]),
      );
      add('gallery: a bare HLS playlist as a video', 400, async () =>
        galleryForm([
          ['media_file', new Blob([HLS], { type: 'video/mp4' }), 'x.m3u8'],
          ['name', 'x'],
        ]),
      );
      add('gallery: an ffconcat list naming /etc/passwd', 400, async () =>
        galleryForm([
          ['media_file', new Blob([Buffer.from('ffconcat version 1.0\nfile /etc/passwd\n')], { type: 'video/mp4' }), 'x.mp4'],
          ['name', 'x'],
        ]),
      );
      add('gallery: an AVI (refused unopened)', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await video({ container: 'avi', codec: 'mpeg4', audio: 'none', seconds: 1 })]), 'x.avi'],
          ['name', 'x'],
        ]),
      );
      add('gallery: a Matroska header then noise', 400, async () =>
        galleryForm([
          ['media_file', new Blob([Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(4096)])]), 'x.mkv'],
          ['name', 'x'],
        ]),
      );
      add('gallery: the test-video flag on a photo', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await jpeg()]), 'a.jpg'],
          ['name', 'x'],
          ['is_test_video', 'true'],
        ]),
      );
      add('gallery: test_video_number "1; DROP TABLE"', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await jpeg()]), 'a.jpg'],
          ['name', 'x'],
          ['is_test_video', 'true'],
          ['test_video_number', '1; DROP TABLE gallery_media'],
        ]),
      );
      add('gallery: slot "../../etc"', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await jpeg()]), 'a.jpg'],
          ['name', 'x'],
          ['slot', '../../etc'],
        ]),
      );
      add('gallery: PATCH with only __proto__', 400, async () =>
        t.http.request('PATCH', `${GALLERY}${ownMedia}/`, {
          body: '{"__proto__":{"slot":"headshot"}}',
          headers: { ...user.headers, 'content-type': 'application/json' },
        }),
      );
      add("gallery: PATCH another user's item", 404, async () =>
        t.http.request('PATCH', `${GALLERY}${otherMedia}/`, { json: { name: 'mine now' }, headers: user.headers }),
      );
      add('gallery: reorder with 5 000 ids', 400, async () =>
        t.http.request('POST', `${GALLERY}reorder/`, {
          json: { order: Array.from({ length: 5000 }, (_, i) => i + 1) },
          headers: user.headers,
        }),
      );
      add("gallery: reorder naming another user's item", 400, async () =>
        t.http.request('POST', `${GALLERY}reorder/`, { json: { order: [ownMedia, otherMedia] }, headers: user.headers }),
      );
      add("gallery: promote another user's photo", 404, async () =>
        t.http.request('POST', `${GALLERY}${otherMedia}/promote/`, { headers: user.headers }),
      );
      add('gallery: portfolio of user 1e309', 404, async () => t.http.get('/api/portfolio/1e309/', user.headers));
      add('gallery: a talent path for a background account', 403, async () =>
        t.http.request('POST', '/api/profile/talent/media/', { form: new FormData(), headers: user.headers }),
      );

      // --- null characters: PostgreSQL refuses them in text, DRF refuses them in every field -------
      const NUL = '\u0000';
      const json =
        (method: string, path: string, body: unknown, headers: Record<string, string> = user.headers) =>
        () =>
          t.http.request(method, path, { json: body, headers });
      add('null character: sign-in email', 400, json('POST', '/api/login/talent/', { email: NUL, password: ' ' }, {}));
      add('null character: token email', 400, json('POST', '/api/token/', { email: `a${NUL}@example.com`, password: 'x' }, {}));
      add('null character: token password', 400, json('POST', '/api/token/', { email: user.email, password: `pass${NUL}word` }, {}));
      add('null character: registration name', 400, register({ first_name: `Ann${NUL}` }));
      add('null character: registration email', 400, register({ email: `${NUL}x@example.com` }));
      add('null character: verification code', 400, json('POST', '/api/verify-code/', { email: user.email, code: `12${NUL}456` }, {}));
      add('null character: resend code', 400, json('POST', '/api/resend-code/', { email: `${NUL}` }, {}));
      add('null character: password reset', 400, json('POST', '/api/password-reset/', { email: `x${NUL}@example.com` }, {}));
      add('null character: refresh token', 400, json('POST', '/api/token/refresh/', { refresh: `a${NUL}b` }, {}));
      add('null character: profile field (JSON)', 400, json('POST', PROFILE, { country: `Peru${NUL}` }));
      add('null character: profile field (urlencoded)', 400, raw('POST', PROFILE, 'country=Peru%00', 'application/x-www-form-urlencoded'));
      add('null character: profile field (multipart)', 400, async () => {
        const form = new FormData();
        form.append('country', `Peru${NUL}`);
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add('null character: profile field beside a picture', 400, async () => {
        const form = new FormData();
        form.append('profile_picture', new Blob([await jpeg()], { type: 'image/jpeg' }), 'a.jpg');
        form.append('city', `Lima${NUL}`);
        return t.http.request('POST', PROFILE, { form, headers: user.headers });
      });
      add('null character: profile query flag', 400, json('POST', `${PROFILE}?partial=true%00`, { country: 'Peru' }));
      add(
        'null character: social link',
        400,
        json(
          'POST',
          '/api/profile/social-media/',
          { instagram: `https://instagram.com/me${NUL}` },
          { Authorization: `Bearer ${star.access}` },
        ),
      );
      add('null character: item name (JSON)', 400, json('POST', ITEMS, { item_type: 'prop', name: `Lamp${NUL}` }));
      add('null character: item name (multipart)', 400, async () => {
        const form = new FormData();
        form.append('item_type', 'prop');
        form.append('name', `Lamp${NUL}`);
        return t.http.request('POST', ITEMS, { form, headers: user.headers });
      });
      add('null character: item list filter', 400, async () => t.http.get(`${ITEMS}?item_type=prop%00`, user.headers));
      add('null character: gallery name', 400, async () =>
        galleryForm([
          ['media_file', new Blob([await jpeg()]), 'a.jpg'],
          ['name', `x${NUL}`],
        ]),
      );
      add('null character: gallery PATCH', 400, json('PATCH', `${GALLERY}${ownMedia}/`, { name: `mine${NUL}` }));
      add('null character: a field name', 400, raw('POST', PROFILE, '{"coun\u0000try": "Peru"}', 'application/json'));
      add(
        'null character: password change',
        400,
        json('POST', '/api/password/change/', { old_password: NUL, new_password: 'Casting-Call-2027' }),
      );

      // --- ids past PostgreSQL's integer column (2^31 - 1) ---------------------------------------
      const past = '2147483648';
      add('id past int4: an item', 404, async () => t.http.get(`${ITEMS}prop/${past}/`, user.headers));
      add('id past int4: deleting an item', 404, async () => t.http.request('DELETE', `${ITEMS}prop/${past}/`, { headers: user.headers }));
      add('id past int4: a gallery delete', 404, async () =>
        t.http.request('DELETE', `/api/media/${past}/delete/`, { headers: user.headers }),
      );
      add('id past int4: a gallery PATCH', 404, json('PATCH', `${GALLERY}${past}/`, { name: 'x' }));
      add('id past int4: a promotion', 404, async () => t.http.request('POST', `${GALLERY}${past}/promote/`, { headers: user.headers }));
      add('id past int4: a portfolio', 404, async () => t.http.get(`/api/portfolio/${past}/`, user.headers));
      add('id past int4: a reorder', 400, json('POST', `${GALLERY}reorder/`, { order: [ownMedia, Number(past)] }));
      add('id past int4: a subscription', 404, async () => t.http.get(`/api/payments/subscriptions/${past}/status/`, user.headers));
      add('id past int4: an item page', 404, async () => t.http.get(`${ITEMS}?page=${past}`, user.headers));

      add('items: item image that is HTML', 400, async () => {
        const form = new FormData();
        form.append('item_type', 'prop');
        form.append('name', 'x');
        form.append('image', new Blob([HTML_PAYLOAD]), 'x.jpg');
        return t.http.request('POST', ITEMS, { form, headers: user.headers });
      });
    }

    it('has at least 40 distinct cases', () => {
      expect(new Set(cases.map((c) => c.name)).size).toBeGreaterThanOrEqual(40);
    });

    it('answers every case with its 4xx in DRF shape, stores nothing and stays healthy', async () => {
      const before = await storedNames(t);
      const rows = async () => {
        const [users, items, media] = await Promise.all([
          t.database.db.selectFrom('users').select('id').execute(),
          t.database.db.selectFrom('items').select('id').execute(),
          t.database.db.selectFrom('gallery_media').select('id').execute(),
        ]);
        return { users: users.length, items: items.length, media: media.length };
      };
      const problems: string[] = [];
      for (const c of cases) {
        const counts = await rows();
        const res = await c.send();
        if (process.env.HOSTILE_DEBUG) console.log(c.name, res.status, res.text.slice(0, 120));
        if (res.status !== c.status) problems.push(`${c.name}: expected ${c.status}, got ${res.status} ${res.text.slice(0, 200)}`);
        if (!isDrfShaped(res.body)) problems.push(`${c.name}: body is not DRF-shaped: ${res.text.slice(0, 200)}`);
        const after = await rows();
        // The deleted-user case removes its own fresh user; nothing else may change.
        if (c.name !== 'token of a deleted user' && JSON.stringify(after) !== JSON.stringify(counts)) {
          problems.push(`${c.name}: rows changed ${JSON.stringify(counts)} → ${JSON.stringify(after)}`);
        }
        const health = await t.http.get('/health');
        if (health.status !== 200) problems.push(`${c.name}: server unhealthy afterwards`);
      }
      expect(problems).toEqual([]);
      expect(await storedNames(t)).toEqual(before);
      await expectNoOrphans(t);
    }, 120_000);

    it('names each field that holds a null character, in DRF’s words, wherever the field comes from', async () => {
      const message = ['Null characters are not allowed.'];
      const signIn = await t.http.post('/api/login/talent/', { email: '\u0000', password: 'x\u0000' });
      expect(signIn.status).toBe(400);
      // The live sign-in's own shape around DRF's field errors.
      expect(signIn.body).toEqual({
        success: false,
        message: 'Login failed',
        error: message[0],
        email: message,
        password: message,
      });
      const form = new FormData();
      form.append('item_type', 'prop');
      form.append('name', 'Lamp\u0000');
      form.append('description', 'fine');
      const item = await t.http.request('POST', ITEMS, { form, headers: user.headers });
      expect(item.status).toBe(400);
      expect(item.body).toEqual({ name: message });
      const filter = await t.http.get(`${ITEMS}?item_type=%00`, user.headers);
      expect(filter.body).toEqual({ item_type: message });
    });

    it('refuses an oversized header without touching the app', async () => {
      const res = await fetch(`${t.http.baseUrl}${PROFILE}`, { headers: { ...user.headers, 'x-padding': 'x'.repeat(20 * 1024) } }).catch(
        () => undefined,
      );
      if (res) {
        expect(res.status).toBe(431);
        expect(await res.json()).toEqual({ detail: 'The request headers are larger than 16 KB.' });
      }
      expect((await t.http.get('/health')).status).toBe(200);
    });

    it('stores valid images under server-made names whatever the client calls them, without metadata or markup', async () => {
      for (const filename of ['../../../etc/passwd.jpg', 'evil\u0000.jpg', `${'\u00e9\u4e2d\ud83c\udfac'.repeat(120)}.jpg`]) {
        const res = await upload(jpeg(), filename)();
        expect(res.status, filename).toBe(200);
        expect(res.body.profile.profile_picture).toMatch(new RegExp(`/background_profile_pictures/${user.id}_[A-Za-z0-9_-]{22}\\.jpg$`));
      }
      const polyglot = await upload(jpegHtmlPolyglot())();
      const stored = Buffer.from(await (await fetch(polyglot.body.profile.profile_picture)).arrayBuffer());
      expect(stored.includes('<script')).toBe(false);
      const gps = await upload(jpegWithExif())();
      const meta = await sharp(Buffer.from(await (await fetch(gps.body.profile.profile_picture)).arrayBuffer())).metadata();
      expect(meta.exif).toBeUndefined();
      await expectNoOrphans(t);
    });
  });
}
