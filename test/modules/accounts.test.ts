import { request as httpRequest } from 'node:http';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, DEFAULT_PASSWORD, registration, roleHeader } from '../helpers/factories.js';

const HOUR_MS = 60 * 60 * 1000;

for (const target of DATABASES) {
  describe.skipIf(target.skipReason)(`accounts and tokens on ${target.label}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(target);
    });
    afterAll(async () => t?.close());

    describe('POST /api/register/', () => {
      it('creates the user and the profile of its role, and answers like the original API', async () => {
        const body = registration('background', { email: 'New.Extra@Example.COM' });
        const res = await t.http.post('/api/register/', body);
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          success: true,
          message: 'User registered successfully',
          user: {
            email: 'new.extra@example.com',
            first_name: 'Alex',
            last_name: 'Doe',
            roles: { is_talent: false, is_background: true, is_dashboard: false, is_dashboard_admin: false },
          },
          // As the live view answers it.
          email_verification: { required: true, message: 'Please check your email for the verification code' },
        });
        const row = await t.database.db
          .selectFrom('users')
          .innerJoin('background_profiles', 'background_profiles.user_id', 'users.id')
          .select(['users.email', 'users.password_hash', 'background_profiles.country', 'background_profiles.date_of_birth'])
          .where('users.email', '=', 'new.extra@example.com')
          .executeTakeFirstOrThrow();
        expect(row.password_hash).toMatch(/^\$argon2id\$/);
        expect(row.password_hash).not.toContain(body.password);
        expect(row.country).toBe('USA');
        expect(row.date_of_birth).toBe('1985-05-15');
      });

      it('creates a talent profile for role talent', async () => {
        const res = await t.http.post('/api/register/', registration('talent'));
        expect(res.status).toBe(201);
        expect(res.body.user.roles).toEqual({ is_talent: true, is_background: false, is_dashboard: false, is_dashboard_admin: false });
      });

      it('refuses a duplicate email whatever its case', async () => {
        const body = registration('talent', { email: 'dup@example.com' });
        expect((await t.http.post('/api/register/', body)).status).toBe(201);
        const again = await t.http.post('/api/register/', { ...body, email: '  DUP@Example.com ' });
        expect(again.status).toBe(400);
        // The live service's envelope (the web app reads `errors`), with DRF's fields beside it.
        expect(again.body).toEqual({
          success: false,
          message: 'Registration validation failed',
          errors: { email: ['A user with this email already exists.'] },
          email: ['A user with this email already exists.'],
        });
      });

      it('lets exactly one of two simultaneous registrations of one email win', async () => {
        const body = registration('background', { email: 'race@example.com' });
        const results = await Promise.all([1, 2, 3].map(() => t.http.post('/api/register/', body)));
        expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400]);
        const count = await t.database.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('email', '=', 'race@example.com')
          .executeTakeFirstOrThrow();
        expect(Number(count.n)).toBe(1);
      });

      it.each([
        ['short', 'Ab1!', 'This password is too short. It must contain at least 8 characters.'],
        ['entirely numeric', '1234567890123', 'This password is entirely numeric.'],
        ['equal to the email', 'weakling@example.com', 'The password is too similar to the email.'],
        ['common', 'password123', 'This password is too common.'],
      ])('refuses a %s password', async (_label, password, message) => {
        const res = await t.http.post('/api/register/', registration('talent', { email: 'weakling@example.com', password }));
        expect(res.status).toBe(400);
        expect(res.body.password).toContain(message);
      });

      it('names every missing required field', async () => {
        const res = await t.http.post('/api/register/', {});
        expect(res.status).toBe(400);
        for (const field of ['email', 'password', 'first_name', 'last_name', 'role', 'date_of_birth']) {
          expect(res.body[field]).toEqual(['This field is required.']);
        }
      });

      it.each([
        [{ email: 'not-an-email' }, 'email', 'Enter a valid email address.'],
        [{ role: 'director' }, 'role', '"director" is not a valid choice.'],
        [{ gender: 'X' }, 'gender', '"X" is not a valid choice.'],
        [{ date_of_birth: '15/05/1985' }, 'date_of_birth', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
        [{ date_of_birth: '2023-02-30' }, 'date_of_birth', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
        [{ first_name: 42 }, 'first_name', 'Not a valid string.'],
        [{ first_name: '   ' }, 'first_name', 'This field may not be blank.'],
        [{ country: 'x'.repeat(26) }, 'country', 'Ensure this field has no more than 25 characters.'],
        [{ last_name: null }, 'last_name', 'This field may not be null.'],
      ])('refuses %j with a message on %s', async (override, field, message) => {
        const res = await t.http.post('/api/register/', registration('background', override));
        expect(res.status).toBe(400);
        expect(res.body[field]).toEqual([message]);
      });

      it('requires users to be 18 or older, counting to the day', async () => {
        const now = t.clock.now();
        const iso = (d: Date) => d.toISOString().slice(0, 10);
        const eighteenToday = new Date(Date.UTC(now.getUTCFullYear() - 18, now.getUTCMonth(), now.getUTCDate()));
        const eighteenTomorrow = new Date(eighteenToday.getTime() + 24 * HOUR_MS);
        const young = await t.http.post('/api/register/', registration('talent', { date_of_birth: iso(eighteenTomorrow) }));
        expect(young.status).toBe(400);
        expect(young.body).toMatchObject({ date_of_birth: ['You must be at least 18 years old.'] });
        const exactly = await t.http.post('/api/register/', registration('talent', { date_of_birth: iso(eighteenToday) }));
        expect(exactly.status).toBe(201);
      });

      it('answers malformed JSON with a 400 detail and an unsupported type with 415', async () => {
        const broken = await t.http.request('POST', '/api/register/', {
          body: '{"email": ',
          headers: { 'content-type': 'application/json' },
        });
        expect(broken.status).toBe(400);
        expect(broken.body.detail).toMatch(/^JSON parse error/);
        const xml = await t.http.request('POST', '/api/register/', {
          body: '<user/>',
          headers: { 'content-type': 'application/xml' },
        });
        expect(xml.status).toBe(415);
        expect(xml.body.detail).toContain('Unsupported media type');
        const list = await t.http.post('/api/register/', [1, 2]);
        expect(list.status).toBe(400);
        expect(list.body).toMatchObject({ success: false, non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
      });
    });

    describe('tokens', () => {
      it('issues simplejwt-shaped HS256 access and refresh tokens', async () => {
        const user = await createUser(t.http, 'talent');
        const access = decodeJwt(user.access);
        const refresh = decodeJwt(user.refresh);
        expect(decodeProtectedHeader(user.access).alg).toBe('HS256');
        expect(access).toMatchObject({ token_type: 'access', user_id: user.id });
        expect(refresh).toMatchObject({ token_type: 'refresh', user_id: user.id });
        expect(access.jti).toMatch(/^[0-9a-f]{32}$/);
        expect(access.jti).not.toBe(refresh.jti);
        expect((access.exp as number) - (access.iat as number)).toBe(3600);
        expect((refresh.exp as number) - (refresh.iat as number)).toBe(86400);
      });

      it('signs in with the email in any case', async () => {
        const user = await createUser(t.http, 'background');
        const res = await t.http.post('/api/token/', { email: user.email.toUpperCase(), password: user.password });
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['access', 'refresh']);
      });

      it('gives one answer for a wrong password and an unknown email', async () => {
        const user = await createUser(t.http, 'background');
        const expected = { detail: 'No active account found with the given credentials', code: 'no_active_account' };
        const wrong = await t.http.post('/api/token/', { email: user.email, password: 'Not-the-password-1' });
        const unknown = await t.http.post('/api/token/', { email: 'nobody@example.com', password: 'Whatever-123' });
        expect(wrong.status).toBe(401);
        expect(unknown.status).toBe(401);
        expect(wrong.body).toEqual(expected);
        expect(unknown.body).toEqual(expected);
      });

      it('requires both credentials', async () => {
        const res = await t.http.post('/api/token/', { email: 'a@example.com' });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ password: ['This field is required.'] });
      });

      it('refreshes an access token that then works', async () => {
        const user = await createUser(t.http, 'background');
        const res = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
        expect(res.status).toBe(200);
        // No rotation (the default, as the live service): an access token alone, and the same
        // refresh token keeps working until it expires (the live web app sends it every time).
        expect(Object.keys(res.body)).toEqual(['access']);
        const profile = await t.http.get('/api/profile/background/', {
          Authorization: `Bearer ${res.body.access}`,
          ...roleHeader('background'),
        });
        expect(profile.status).toBe(200);
        const again = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
        expect(again.status).toBe(200);
        // Theft protection that stays immediate: a sign-out ends the refresh token too.
        expect((await t.http.post('/api/logout/', { refresh: user.refresh })).status).toBe(200);
        expect((await t.http.post('/api/token/refresh/', { refresh: user.refresh })).status).toBe(401);
        expect((await t.http.get('/api/profile/background/', { Authorization: `Bearer ${again.body.access}` })).status).toBe(401);
      });

      it('refuses an access token or garbage as a refresh token', async () => {
        const user = await createUser(t.http, 'background');
        for (const refresh of [user.access, 'garbage', `${user.refresh}x`]) {
          const res = await t.http.post('/api/token/refresh/', { refresh });
          expect(res.status).toBe(401);
          expect(res.body.code).toBe('token_not_valid');
        }
      });

      it('refuses to refresh after the refresh token expired', async () => {
        const user = await createUser(t.http, 'background');
        t.clock.advance(25 * HOUR_MS);
        try {
          const res = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
          expect(res.status).toBe(401);
        } finally {
          t.clock.advance(-25 * HOUR_MS);
        }
      });
    });

    describe('role logins', () => {
      it('signs a background user in at /api/login/background/ with the role flags', async () => {
        const user = await createUser(t.http, 'background');
        const res = await t.http.post('/api/login/background/', { email: user.email, password: DEFAULT_PASSWORD });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          is_background: true,
          is_talent: false,
          // The live service's fields at the top level, and castfolio's `user`.
          id: user.id,
          email: user.email,
          first_name: 'Alex',
          last_name: 'Doe',
          email_verified: false,
          profile_picture: null,
          is_dashboard: false,
          is_dashboard_admin: false,
          is_staff: false,
          verification_required: true,
          user: { id: user.id, email: user.email, first_name: 'Alex', last_name: 'Doe' },
        });
        expect(typeof res.body.access).toBe('string');
        expect(typeof res.body.refresh).toBe('string');
      });

      it('refuses a user without that role with 403 and the original message', async () => {
        const talent = await createUser(t.http, 'talent');
        const background = await createUser(t.http, 'background');
        const asBackground = await t.http.post('/api/login/background/', { email: talent.email, password: DEFAULT_PASSWORD });
        expect(asBackground.status).toBe(403);
        expect(asBackground.body).toEqual({ message: 'This account is not registered as Background' });
        const asTalent = await t.http.post('/api/login/talent/', { email: background.email, password: DEFAULT_PASSWORD });
        expect(asTalent.status).toBe(403);
        expect(asTalent.body).toEqual({ message: 'This account is not registered as Talent' });
      });

      it('says nothing about roles to wrong credentials', async () => {
        const talent = await createUser(t.http, 'talent');
        const res = await t.http.post('/api/login/background/', { email: talent.email, password: 'Wrong-password-1' });
        // As the live view answers it: 400 with "Login failed" (the web app shows `message`).
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          success: false,
          message: 'Login failed',
          error: 'No active account found with the given credentials',
          detail: 'No active account found with the given credentials',
          code: 'no_active_account',
        });
      });
    });

    describe('multipart bodies on routes that take no file', () => {
      // DRF's default parsers read JSON, urlencoded and multipart on every view of the live service.
      const form = (fields: Record<string, string>, file?: { name: string; bytes: number }) => {
        const body = new FormData();
        for (const [name, value] of Object.entries(fields)) body.append(name, value);
        if (file) body.append(file.name, new Blob([Buffer.alloc(file.bytes, 7)]), 'notes.bin');
        return body;
      };

      it('registers, signs in and edits with multipart forms, a file part among the fields ignored', async () => {
        const body = registration('talent');
        const registered = await t.http.request('POST', '/api/register/', {
          form: form(Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]))),
        });
        expect(registered.status).toBe(201);
        expect(registered.body.user.roles.is_talent).toBe(true);
        const login = await t.http.request('POST', '/api/login/talent/', {
          form: form({ email: body.email, password: body.password }, { name: 'attachment', bytes: 2000 }),
        });
        expect(login.status).toBe(200);
        expect(login.body.email).toBe(body.email);
        const headers = { Authorization: `Bearer ${login.body.access}`, ...roleHeader('talent') };
        const links = await t.http.request('POST', '/api/profile/social-media/', {
          form: form({ instagram: 'https://instagram.com/alex.doe' }),
          headers,
        });
        expect(links.status).toBe(200);
        expect((await t.http.get('/api/profile/social-media/', headers)).body.instagram).toBe('https://instagram.com/alex.doe');
        const wrong = await t.http.request('POST', '/api/token/', { form: form({ email: body.email, password: 'Wrong-password-1' }) });
        expect(wrong.status).toBe(401);
        expect(wrong.body.code).toBe('no_active_account');
      });

      it('refuses a form over the JSON limit (64 KiB) with 413, declared or chunked, and two files with 400', async () => {
        const user = await createUser(t.http, 'background');
        const large = await t.http.request('POST', '/api/token/', {
          form: form({ email: user.email, password: DEFAULT_PASSWORD }, { name: 'attachment', bytes: 70 * 1024 }),
        });
        expect(large.status).toBe(413);
        expect(large.body).toEqual({ detail: 'Request body is too large.' });

        const boundary = 'castfolio-chunked';
        const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
        const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const url = new URL('/api/token/', t.http.baseUrl);
          const req = httpRequest(
            url,
            { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            },
          );
          req.on('error', reject);
          req.write(part('email', user.email));
          // No Content-Length: the body arrives in chunks until it passes the limit.
          for (let i = 0; i < 10; i++) req.write(part(`note${i}`, 'x'.repeat(8 * 1024)));
          req.end(`--${boundary}--\r\n`);
        });
        expect(chunked.status).toBe(413);
        expect(JSON.parse(chunked.body)).toEqual({ detail: 'Request body is too large.' });

        const twoFiles = form({ email: user.email, password: DEFAULT_PASSWORD }, { name: 'a', bytes: 10 });
        twoFiles.append('b', new Blob([Buffer.alloc(10)]), 'b.bin');
        const refused = await t.http.request('POST', '/api/token/', { form: twoFiles });
        expect(refused.status).toBe(400);
        expect(refused.body).toEqual({ detail: 'Only one file may be uploaded per request.' });
        expect((await t.http.get('/health')).status).toBe(200);
      });
    });

    describe('authentication of profile requests', () => {
      const profilePath = '/api/profile/background/';

      it('asks for credentials when there is no token', async () => {
        const res = await t.http.get(profilePath, roleHeader('background'));
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
        expect(res.headers.get('www-authenticate')).toContain('Bearer');
      });

      it('refuses a malformed Authorization header', async () => {
        const res = await t.http.get(profilePath, { Authorization: 'Bearer', ...roleHeader('background') });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('bad_authorization_header');
      });

      it('refuses invalid tokens with token_not_valid', async () => {
        const user = await createUser(t.http, 'background');
        const key = new TextEncoder().encode(TEST_JWT_SECRET);
        const now = Math.floor(Date.now() / 1000);
        const claims = { token_type: 'access', user_id: user.id, jti: 'a'.repeat(32) };
        const expired = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuedAt(now - 7200)
          .setExpirationTime(now - 3600)
          .sign(key);
        const wrongKey = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuedAt(now)
          .setExpirationTime(now + 3600)
          .sign(new TextEncoder().encode('another-secret-that-is-long-enough-000000'));
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iat: now, exp: now + 3600 })}.`;
        const [h, , s] = user.access.split('.');
        const tampered = `${h}.${b64({ ...decodeJwt(user.access), user_id: user.id + 1000 })}.${s}`;
        for (const token of [expired, wrongKey, algNone, tampered, user.refresh, 'not.a.jwt']) {
          const res = await t.http.get(profilePath, { Authorization: `Bearer ${token}`, ...roleHeader('background') });
          expect(res.status, token).toBe(401);
          expect(res.body).toMatchObject({ detail: 'Given token not valid for any token type', code: 'token_not_valid' });
        }
      });

      it('expires access tokens after 60 minutes', async () => {
        const user = await createUser(t.http, 'background');
        t.clock.advance(61 * 60 * 1000);
        try {
          const res = await t.http.get(profilePath, user.headers);
          expect(res.status).toBe(401);
          expect(res.body.code).toBe('token_not_valid');
        } finally {
          t.clock.advance(-61 * 60 * 1000);
        }
      });

      it('refuses the token of a deleted user', async () => {
        const user = await createUser(t.http, 'background');
        await t.database.db.deleteFrom('users').where('id', '=', user.id).execute();
        const res = await t.http.get(profilePath, user.headers);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ detail: 'User not found', code: 'user_not_found' });
        const refreshed = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
        expect(refreshed.status).toBe(401);
      });

      it.each(['false', 'yes', '1', ''])('refuses a background request whose is-background header is %j', async (value) => {
        const user = await createUser(t.http, 'background');
        const headers: Record<string, string> = { Authorization: `Bearer ${user.access}`, 'is-background': value };
        const res = await t.http.get(profilePath, headers);
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ detail: 'User must be a background user (is-background: true)' });
      });

      it('decides a request without any role header by the account’s role, as the live service did', async () => {
        const user = await createUser(t.http, 'background');
        const res = await t.http.get(profilePath, { Authorization: `Bearer ${user.access}` });
        expect(res.status).toBe(200);
        expect(res.body.profile.email).toBe(user.email);
      });

      it('accepts the role header in any letter case', async () => {
        const user = await createUser(t.http, 'background');
        const res = await t.http.get(profilePath, { Authorization: `Bearer ${user.access}`, 'is-background': 'True' });
        expect(res.status).toBe(200);
      });

      it('refuses a user who does not have the role even with the header', async () => {
        const talent = await createUser(t.http, 'talent');
        const res = await t.http.get(profilePath, { Authorization: `Bearer ${talent.access}`, 'is-background': 'true' });
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ detail: 'This account is not registered as a background user.' });
        // Without any role header the account's own role decides (the live web app sends none).
        const own = await t.http.get('/api/profile/talent/', { Authorization: `Bearer ${talent.access}` });
        expect(own.status).toBe(200);
        const notMine = await t.http.get(profilePath, { Authorization: `Bearer ${talent.access}` });
        expect(notMine.status).toBe(403);
        expect(notMine.body).toEqual({ detail: 'This account is not registered as a background user.' });
        // Declaring the other role is refused as before.
        const declared = await t.http.get('/api/profile/talent/', { Authorization: `Bearer ${talent.access}`, 'is-background': 'true' });
        expect(declared.status).toBe(403);
        expect(declared.body).toEqual({ detail: 'User must be a talent user (is-talent: true)' });
      });
    });
  });
}
