import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { outboxFolderTransport } from '../../src/modules/mail/transport.js';
import { expectNoOrphans, startTestApp, storedNames, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, DEFAULT_PASSWORD, registration, roleHeader } from '../helpers/factories.js';
import { isVariantName, jpeg } from '../helpers/images.js';
import { holdTransaction } from '../helpers/locks.js';
import { startSmtpServer } from '../helpers/smtp.js';
import { STORAGES } from '../helpers/storage.js';

const HOUR = 3600 * 1000;

/** Mail bodies are quoted-printable: soft line breaks and =XX escapes. */
const decodeQuotedPrintable = (raw: string) =>
  raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

for (const db of DATABASES) {
  describe.skipIf(db.skipReason)(`account lifecycle on ${db.label}`, () => {
    let t: TestApp;
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
    beforeAll(async () => {
      smtp = await startSmtpServer();
      // The strict refresh mode: rotation with reuse detection.
      t = await startTestApp(db, {
        env: { SMTP_URL: smtp.url, APP_NAME: 'Castfolio Test', OUTBOX_INTERVAL: '1', REFRESH_TOKEN_ROTATION: 'true' },
      });
    });
    afterAll(async () => {
      await t?.close();
      await smtp?.close();
    });

    const mailsTo = (email: string) => smtp.mails.filter((m) => m.to.includes(email)).length;

    describe('email verification', () => {
      it('sends a code on registration that verifies the email and adds 25 points to the talent score', async () => {
        const user = await createUser(t.http, 'talent');
        const code = await smtp.codeFor(user.email);
        const mail = smtp.mails.find((m) => m.to.includes(user.email))!;
        expect(mail.raw).toContain('Castfolio Test');
        expect(mail.raw).toMatch(/Content-Type: text\/html/i);

        const before = await t.http.get('/api/profile/talent/', user.headers);
        expect(before.body.profile.email_verified).toBe(false);
        const res = await t.http.post('/api/verify-code/', { email: user.email.toUpperCase(), code });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ success: true, message: 'Email verified successfully', email_verified: true });
        const after = await t.http.get('/api/profile/talent/', user.headers);
        expect(after.body.profile.email_verified).toBe(true);
        expect(after.body.profile_score.verification).toBe(25);
        expect(after.body.profile_score.total).toBe(before.body.profile_score.total + 25);

        const again = await t.http.post('/api/verify-code/', { email: user.email, code });
        expect(again.status).toBe(400);
        // The live service's `success`/`message` (the web app shows `message`), DRF's field beside them.
        expect(again.body).toEqual({ success: false, message: 'Invalid or expired code.', code: ['Invalid or expired code.'] });
      });

      it('stores codes only as keyed hashes', async () => {
        const user = await createUser(t.http, 'background');
        const code = await smtp.codeFor(user.email);
        const rows = await t.database.db.selectFrom('verification_codes').select('code_hash').where('user_id', '=', user.id).execute();
        expect(rows).toHaveLength(1);
        expect(rows[0]!.code_hash).not.toContain(code);
        expect(rows[0]!.code_hash).toMatch(/^[0-9a-f]{64}$/);
      });

      it('refuses wrong codes and kills the code after 5 wrong tries', async () => {
        const user = await createUser(t.http, 'background');
        const code = await smtp.codeFor(user.email);
        const wrong = code === '000000' ? '111111' : '000000';
        for (let i = 1; i <= 5; i++) {
          const res = await t.http.post('/api/verify-code/', { email: user.email, code: wrong });
          expect(res.status).toBe(400);
          expect(res.body.code[0]).toBe(i < 5 ? 'Invalid or expired code.' : 'Too many wrong attempts (5). Request a new code.');
        }
        const right = await t.http.post('/api/verify-code/', { email: user.email, code });
        expect(right.status).toBe(400);
        const profile = await t.http.get('/api/profile/background/', user.headers);
        expect(profile.body.profile.email_verified).toBe(false);
      });

      it('stops a parallel brute force at 5 tries too', async () => {
        const user = await createUser(t.http, 'background');
        const code = await smtp.codeFor(user.email);
        const guesses = Array.from({ length: 20 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
        await Promise.all(guesses.map((guess) => t.http.post('/api/verify-code/', { email: user.email, code: guess })));
        const row = await t.database.db
          .selectFrom('verification_codes')
          .select('attempts')
          .where('user_id', '=', user.id)
          .executeTakeFirstOrThrow();
        expect(row.attempts).toBe(5);
        expect((await t.http.post('/api/verify-code/', { email: user.email, code })).status).toBe(400);
      });

      it('expires codes after 24 hours', async () => {
        const user = await createUser(t.http, 'background');
        const code = await smtp.codeFor(user.email);
        t.clock.advance(25 * HOUR);
        try {
          expect((await t.http.post('/api/verify-code/', { email: user.email, code })).status).toBe(400);
        } finally {
          t.clock.advance(-25 * HOUR);
        }
        // Within the day the same code works: the refusal was the expiry.
        expect((await t.http.post('/api/verify-code/', { email: user.email, code })).status).toBe(200);
      });

      it('resends at most one mail a minute, never says whether the address exists, and retires the old code', async () => {
        const user = await createUser(t.http, 'background');
        const first = await smtp.codeFor(user.email);
        const unknown = await t.http.post('/api/resend-code/', { email: 'nobody-here@example.com' });
        const known = await t.http.post('/api/resend-code/', { email: user.email });
        expect(unknown.status).toBe(200);
        expect(known.status).toBe(200);
        expect(known.body).toEqual(unknown.body);
        await new Promise((r) => setTimeout(r, 300));
        expect(mailsTo(user.email)).toBe(1);

        t.clock.advance(61_000);
        try {
          expect((await t.http.post('/api/resend-code/', { email: user.email })).status).toBe(200);
          const second = await smtp.codeFor(user.email, 1);
          expect(mailsTo(user.email)).toBe(2);
          if (second !== first) expect((await t.http.post('/api/verify-code/', { email: user.email, code: first })).status).toBe(400);
          expect((await t.http.post('/api/verify-code/', { email: user.email, code: second })).status).toBe(200);
        } finally {
          t.clock.advance(-61_000);
        }
        expect(smtp.mails.some((m) => m.to.includes('nobody-here@example.com'))).toBe(false);
      });

      it('validates the code format', async () => {
        const res = await t.http.post('/api/verify-code/', { email: 'a@example.com', code: '12ab' });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ success: false, code: ['Enter the 6-digit code from the email.'] });
      });

      it('queues the mail when the SMTP server refuses it and delivers it on a later pass', async () => {
        smtp.refuseNext(1);
        const body = registration('background');
        expect((await t.http.post('/api/register/', body)).status).toBe(201);
        await expect
          .poll(
            async () =>
              (await t.database.db.selectFrom('outbox_emails').select('attempts').where('to_address', '=', body.email).executeTakeFirst())
                ?.attempts,
            { timeout: 5000 },
          )
          .toBe(1);
        expect(mailsTo(body.email)).toBe(0);
        t.clock.advance(20_000);
        const code = await smtp.codeFor(body.email).finally(() => t.clock.advance(-20_000));
        expect(code).toMatch(/^\d{6}$/);
        // The SMTP server holds the message before the sender hears its 250 and marks the row sent.
        const outboxRow = () =>
          t.database.db.selectFrom('outbox_emails').selectAll().where('to_address', '=', body.email).executeTakeFirstOrThrow();
        await expect.poll(async () => (await outboxRow()).sent_at, { timeout: 5000 }).not.toBeNull();
        const row = await outboxRow();
        // Codes are stored hashed; a sent mail no longer keeps one in clear in the outbox.
        expect(JSON.stringify(row)).not.toContain(code);
      });
    });

    describe('password reset', () => {
      it('resets with a single-use code, ends every session, and says the same for unknown addresses', async () => {
        const user = await createUser(t.http, 'background');
        await smtp.codeFor(user.email); // the verification mail of the registration
        const received = mailsTo(user.email);
        const unknown = await t.http.post('/api/password-reset/', { email: 'ghost@example.com' });
        const known = await t.http.post('/api/password-reset/', { email: user.email });
        expect(unknown.status).toBe(200);
        expect(known.body).toEqual(unknown.body);
        const code = await smtp.codeFor(user.email, received);
        const resetMail = decodeQuotedPrintable(smtp.mails.filter((m) => m.to.includes(user.email)).at(-1)!.raw);
        expect(resetMail).toContain(`/#reset?email=${encodeURIComponent(user.email)}&code=${code}`);

        const weak = await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: '123' });
        expect(weak.status).toBe(400);
        expect(Object.keys(weak.body)).toEqual(['new_password']);
        const wrong = await t.http.post('/api/password-reset/confirm/', {
          email: user.email,
          code: code === '999999' ? '000000' : '999999',
          new_password: 'Brand-New-Pass-1',
        });
        expect(wrong.status).toBe(400);
        expect(Object.keys(wrong.body)).toEqual(['code']);

        t.clock.advance(2000);
        try {
          const ok = await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: 'Brand-New-Pass-1' });
          expect(ok.status).toBe(200);
          expect((await t.http.post('/api/token/refresh/', { refresh: user.refresh })).status).toBe(401);
          expect((await t.http.get('/api/profile/background/', user.headers)).status).toBe(401);
          expect((await t.http.post('/api/token/', { email: user.email, password: DEFAULT_PASSWORD })).status).toBe(401);
          const signIn = await t.http.post('/api/token/', { email: user.email, password: 'Brand-New-Pass-1' });
          expect(signIn.status).toBe(200);
          expect(
            (await t.http.get('/api/profile/background/', { Authorization: `Bearer ${signIn.body.access}`, ...roleHeader('background') }))
              .status,
          ).toBe(200);
          const reused = await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: 'Another-Pass-22' });
          expect(reused.status).toBe(400);
        } finally {
          t.clock.advance(-2000);
        }
      });

      it('expires reset codes after an hour', async () => {
        const user = await createUser(t.http, 'talent');
        await smtp.codeFor(user.email);
        const received = mailsTo(user.email);
        await t.http.post('/api/password-reset/', { email: user.email });
        const code = await smtp.codeFor(user.email, received);
        t.clock.advance(HOUR + 60_000);
        try {
          // The right code, from the reset mail itself, an hour and a minute late.
          const late = await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: 'Brand-New-Pass-1' });
          expect(late.body).toEqual({ code: ['Invalid or expired code.'] });
        } finally {
          t.clock.advance(-(HOUR + 60_000));
        }
        // Back in time, the same code works: it was the expiry that refused it.
        expect(
          (await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: 'Brand-New-Pass-1' })).status,
        ).toBe(200);
      });

      it("refuses a code confirmed while its account is being deleted with the code's 400, and sets no password", async () => {
        const user = await createUser(t.http, 'background');
        await smtp.codeFor(user.email);
        const received = mailsTo(user.email);
        expect((await t.http.post('/api/password-reset/', { email: user.email })).status).toBe(200);
        const code = await smtp.codeFor(user.email, received);
        // Another client deletes the account; the confirmation arrives before that commits and
        // writes after it.
        const deletion = await holdTransaction(t.directDatabase, `DELETE FROM users WHERE id = ${Number(user.id)}`, 1000, 'COMMIT');
        const confirm = await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: 'Brand-New-Pass-1' });
        await deletion.released;
        expect(confirm.status, confirm.text).toBe(400);
        expect(Object.keys(confirm.body)).toContain('code');
        expect((await t.http.post('/api/token/', { email: user.email, password: 'Brand-New-Pass-1' })).status).toBe(401);
        expect(await t.database.db.selectFrom('users').select('id').where('id', '=', user.id).executeTakeFirst()).toBeUndefined();
      });
    });

    describe('sessions', () => {
      it('changes the password with the old one, returns a new pair and ends the old tokens', async () => {
        const user = await createUser(t.http, 'background');
        const auth = { Authorization: `Bearer ${user.access}` };
        const wrong = await t.http.post('/api/password/change/', { old_password: 'nope-nope-1', new_password: 'Changed-Pass-77' }, auth);
        expect(wrong.status).toBe(400);
        expect(wrong.body).toEqual({ old_password: ['Your old password was entered incorrectly. Please enter it again.'] });
        expect(
          (await t.http.post('/api/password/change/', { old_password: DEFAULT_PASSWORD, new_password: 'Changed-Pass-77' })).status,
        ).toBe(401);
        t.clock.advance(2000);
        try {
          const ok = await t.http.post('/api/password/change/', { old_password: DEFAULT_PASSWORD, new_password: 'Changed-Pass-77' }, auth);
          expect(ok.status).toBe(200);
          expect(ok.body.message).toBe('Password updated successfully.');
          expect((await t.http.get('/api/profile/background/', user.headers)).status).toBe(401);
          expect(
            (await t.http.get('/api/profile/background/', { Authorization: `Bearer ${ok.body.access}`, ...roleHeader('background') }))
              .status,
          ).toBe(200);
          expect((await t.http.post('/api/token/refresh/', { refresh: user.refresh })).status).toBe(401);
        } finally {
          t.clock.advance(-2000);
        }
      });

      it('logs out: the refresh token and its rotations stop working', async () => {
        const user = await createUser(t.http, 'background');
        const rotated = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
        expect(rotated.status).toBe(200);
        const out = await t.http.post('/api/logout/', { refresh: rotated.body.refresh });
        expect(out.status).toBe(200);
        expect(out.body).toEqual({ success: true, message: 'Logged out successfully' });
        expect((await t.http.post('/api/token/refresh/', { refresh: rotated.body.refresh })).status).toBe(401);
        // The session's access token ends with it.
        expect((await t.http.get('/api/profile/background/', { Authorization: `Bearer ${rotated.body.access}` })).status).toBe(401);
        expect((await t.http.post('/api/logout/', { refresh: 'not-a-token' })).status).toBe(401);
      });

      it('logs out with no body, as the live web app does: the access token’s session ends, others do not', async () => {
        const user = await createUser(t.http, 'background');
        const other = (await t.http.post('/api/token/', { email: user.email, password: DEFAULT_PASSWORD })).body;
        const bearer = { Authorization: `Bearer ${user.access}` };
        const out = await t.http.request('POST', '/api/logout/', { headers: bearer });
        expect(out.status).toBe(200);
        expect(out.body).toEqual({ success: true, message: 'Logged out successfully' });
        expect((await t.http.get('/api/profile/background/', bearer)).status).toBe(401);
        expect((await t.http.post('/api/token/refresh/', { refresh: user.refresh })).status).toBe(401);
        // An empty JSON body (axios with a JSON content type) is the same sign-out.
        const empty = await t.http.request('POST', '/api/logout/', {
          body: '',
          headers: { Authorization: `Bearer ${other.access}`, 'content-type': 'application/json' },
        });
        expect(empty.status).toBe(200);
        expect((await t.http.get('/api/profile/background/', { Authorization: `Bearer ${other.access}` })).status).toBe(401);
        // Without a token or a refresh token there is nothing to end.
        expect((await t.http.request('POST', '/api/logout/')).status).toBe(401);
        // A new sign-in works.
        const again = await t.http.post('/api/token/', { email: user.email, password: DEFAULT_PASSWORD });
        expect((await t.http.get('/api/profile/background/', { Authorization: `Bearer ${again.body.access}` })).status).toBe(200);
      });

      it('rotates refresh tokens, and a reused one revokes the whole session', async () => {
        const user = await createUser(t.http, 'background');
        const first = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
        expect(first.status).toBe(200);
        expect(first.body.refresh).not.toBe(user.refresh);
        const reuse = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
        expect(reuse.status).toBe(401);
        expect(reuse.body).toMatchObject({ detail: 'Token is blacklisted', code: 'token_not_valid' });
        // The thief's reuse also ended the legitimate chain.
        expect((await t.http.post('/api/token/refresh/', { refresh: first.body.refresh })).status).toBe(401);
        // Another session of the same user is unaffected.
        const other = await t.http.post('/api/token/', { email: user.email, password: DEFAULT_PASSWORD });
        expect((await t.http.post('/api/token/refresh/', { refresh: other.body.refresh })).status).toBe(200);
      });

      it('prunes revocations once the tokens they name have expired', async () => {
        const user = await createUser(t.http, 'background');
        await t.http.post('/api/logout/', { refresh: user.refresh });
        const count = async () =>
          (await t.database.db.selectFrom('revoked_tokens').select('jti').execute()).length +
          (await t.database.db.selectFrom('revoked_token_families').select('family').execute()).length;
        const before = await count();
        expect(before).toBeGreaterThan(0);
        const { RevocationRepository } = await import('../../src/modules/accounts/revocations.js');
        const repository = new RevocationRepository(t.database.db);
        expect(await repository.prune(new Date().toISOString())).toBe(0);
        const pruned = await repository.prune(new Date(Date.now() + 2 * 24 * HOUR).toISOString());
        expect(pruned).toBeGreaterThanOrEqual(2);
        expect(await count()).toBe(0);
      });

      it('lets only one of two simultaneous refreshes with the same token win', async () => {
        const user = await createUser(t.http, 'background');
        const results = await Promise.all([1, 2, 3].map(() => t.http.post('/api/token/refresh/', { refresh: user.refresh })));
        expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      });
    });
  });
}

for (const db of DATABASES) {
  for (const store of STORAGES) {
    describe.skipIf(db.skipReason)(`account deletion on ${db.label} with ${store.name} storage`, () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await startTestApp(db, { storage: store });
      });
      afterAll(async () => t?.close());

      it('needs the password, then removes every row and every stored file of the user', async () => {
        const user = await createUser(t.http, 'background');
        const bystander = await createUser(t.http, 'background');
        for (const u of [user, bystander]) {
          await runCli(
            ['subscription', 'grant', u.email, 'background_jobs'],
            t.config,
            { out: () => undefined, err: () => undefined },
            t.database,
          );
          const picture = new FormData();
          picture.append('profile_picture', new Blob([await jpeg()], { type: 'image/jpeg' }), 'me.jpg');
          expect((await t.http.request('POST', '/api/profile/background/', { form: picture, headers: u.headers })).status).toBe(200);
          const item = new FormData();
          item.append('item_type', 'memorabilia');
          item.append('name', 'Signed poster');
          item.append('image', new Blob([await jpeg()], { type: 'image/jpeg' }), 'p.jpg');
          item.append('authenticity_certificate', new Blob([await jpeg()], { type: 'image/jpeg' }), 'c.jpg');
          expect((await t.http.request('POST', '/api/profile/background/items/', { form: item, headers: u.headers })).status).toBe(201);
        }
        const mine = async () => (await storedNames(t)).filter((n) => n.split('/')[1]!.startsWith(`${user.id}_`));
        const masters = async () => (await mine()).filter((n) => !isVariantName(n));
        // The picture, the item image and the certificate (the two pictures have variants too).
        expect(await masters()).toHaveLength(3);
        const before = (await mine()).length;
        expect(before).toBeGreaterThan(3);

        const auth = { Authorization: `Bearer ${user.access}` };
        const wrong = await t.http.request('DELETE', '/api/account/', { json: { password: 'not-my-password' }, headers: auth });
        expect(wrong.status).toBe(400);
        expect(wrong.body).toEqual({ password: ['Incorrect password.'] });
        expect(await mine()).toHaveLength(before);

        const res = await t.http.request('DELETE', '/api/account/', { json: { password: DEFAULT_PASSWORD }, headers: auth });
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        for (const [table, column] of [
          ['users', 'id'],
          ['background_profiles', 'user_id'],
          ['items', 'user_id'],
          ['subscriptions', 'user_id'],
          ['verification_codes', 'user_id'],
        ] as const) {
          expect(await t.database.db.selectFrom(table).select(column).where(column, '=', user.id).execute(), table).toEqual([]);
        }
        expect(await mine()).toEqual([]);
        expect((await t.http.get('/api/profile/background/', user.headers)).status).toBe(401);
        expect((await t.http.get('/api/profile/background/', bystander.headers)).body.profile.profile_picture).toMatch(/^http/);
        await expectNoOrphans(t);
      });
    });
  }
}

describe('mail without SMTP_URL (the embedded default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!);
  });
  afterAll(async () => t?.close());

  it('writes each mail to DATA_DIR/outbox as an .eml file a developer can read', async () => {
    const user = await createUser(t.http, 'background');
    const dir = path.join(t.dataDir, 'outbox');
    await expect.poll(() => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')).length : 0), { timeout: 5000 }).toBe(1);
    const eml = readFileSync(path.join(dir, readdirSync(dir)[0]!), 'utf8');
    expect(eml).toContain(`To: ${user.email}`);
    const code = /verification code (\d{6})/.exec(eml)?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect((await t.http.post('/api/verify-code/', { email: user.email, code })).status).toBe(200);
  });

  it('shows a reader of the folder whole mails only, never one still being written', async () => {
    const dir = mkdtempSync(path.join(t.dataDir, 'outbox-watch-'));
    const transport = outboxFolderTransport(dir, { info: () => undefined });
    const seen = new Map<string, number>();
    let sending = true;
    const watching = (async () => {
      while (sending) {
        for (const name of readdirSync(dir).filter((f) => f.endsWith('.eml'))) {
          if (!seen.has(name)) seen.set(name, readFileSync(path.join(dir, name)).length);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const text = 'x'.repeat(200_000);
    for (let i = 0; i < 30; i++)
      await transport.send({
        from: 'castfolio <no-reply@localhost>',
        to: `reader${i}@example.com`,
        subject: 'Hello',
        text,
        html: `<p>${text}</p>`,
      });
    sending = false;
    await watching;
    transport.close();
    expect(seen.size).toBeGreaterThan(0);
    // Every mail, the moment its name appeared, was whole (each is over 400 KB).
    expect([...seen.values()].filter((bytes) => bytes < 400_000)).toEqual([]);
  });
});
