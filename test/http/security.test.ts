import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { uploadInTwoHalves } from '../helpers/http.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, DEFAULT_PASSWORD, registration } from '../helpers/factories.js';
import { jpeg } from '../helpers/images.js';
import { startSmtpServer } from '../helpers/smtp.js';

/** A request with headers fetch() will not send (Host), over plain node:http. */
function rawRequest(baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (value: unknown) => ({
  'content-type': 'application/json',
  'content-length': String(Buffer.byteLength(JSON.stringify(value))),
});

/** The reset link and code of the first reset mail to `email` after the first `after` of them, once it arrives. */
async function resetMail(
  smtp: Awaited<ReturnType<typeof startSmtpServer>>,
  email: string,
  after: number,
): Promise<{ link: string; code: string }> {
  const resets = () =>
    smtp.mails
      .filter((m) => m.to.includes(email))
      .map((m) => m.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '='))
      .filter((raw) => raw.includes('#reset?'));
  await expect.poll(() => resets().length, { timeout: 10_000 }).toBeGreaterThan(after);
  const raw = resets()[after]!;
  const link = /(https?:\/\/[^\s"<]+#reset\?[^\s"<]+)/.exec(raw)![1]!;
  return { link, code: /code=(\d{6})/.exec(link)![1]! };
}

for (const db of DATABASES) {
  describe.skipIf(db.skipReason)(`security on ${db.label}`, () => {
    describe('links in mails', () => {
      let t: TestApp;
      let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
      beforeAll(async () => {
        smtp = await startSmtpServer();
        // Behind one proxy: X-Forwarded-Host would count for absolute URLs if anything used it.
        t = await startTestApp(db, { env: { SMTP_URL: smtp.url, OUTBOX_INTERVAL: '1', TRUST_PROXY: '1' } });
      });
      afterAll(async () => {
        await t?.close();
        await smtp?.close();
      });

      it('never builds a reset link from the request’s Host or X-Forwarded-Host', async () => {
        const user = await createUser(t.http, 'background');
        const own = new URL(t.http.baseUrl).port;
        const attempts: Record<string, string>[] = [
          { host: 'attacker.example' },
          { host: `127.0.0.1:${own}`, 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https' },
        ];
        for (const [i, headers] of attempts.entries()) {
          // One reset mail a minute per address: move on a minute between the two.
          t.clock.advance(61_000 * i);
          const body = { email: user.email };
          const res = await rawRequest(t.http.baseUrl, 'POST', '/api/password-reset/', { ...json(body), ...headers }, JSON.stringify(body));
          expect(res.status).toBe(200);
          const { link } = await resetMail(smtp, user.email, i);
          expect(link).not.toContain('attacker');
          // No PUBLIC_WEB_URL in tests: the server's own address as it listens.
          expect(link.startsWith(`http://127.0.0.1:${own}/#reset?`)).toBe(true);
        }
      });
    });

    describe('sessions end at a password change or reset, whatever the second', () => {
      let t: TestApp;
      let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
      beforeAll(async () => {
        smtp = await startSmtpServer();
        // Rotation on: the attacker in the reset case keeps refreshing to stay in.
        t = await startTestApp(db, { env: { SMTP_URL: smtp.url, OUTBOX_INTERVAL: '1', REFRESH_TOKEN_ROTATION: 'true' } });
      });
      afterAll(async () => {
        await t?.close();
        await smtp?.close();
      });

      const profile = (access: string) => t.http.get('/api/profile/talent/', { Authorization: `Bearer ${access}`, 'is-talent': 'true' });

      it('a change in the same second as the sign-in ends that session (access and refresh)', async () => {
        const user = await createUser(t.http, 'talent');
        // Everything below happens within one second of the clock.
        t.clock.freeze(Math.floor(Date.now() / 1000) * 1000 + 100);
        try {
          const stolen = (await t.http.post('/api/token/', { email: user.email, password: user.password })).body;
          const changed = await t.http.post(
            '/api/password/change/',
            { old_password: user.password, new_password: 'Fresh-Casting-2027' },
            { Authorization: `Bearer ${user.access}` },
          );
          expect(changed.status).toBe(200);
          expect((await profile(stolen.access)).status).toBe(401);
          expect((await profile(user.access)).status).toBe(401);
          expect((await t.http.post('/api/token/refresh/', { refresh: stolen.refresh })).status).toBe(401);
          // The pair the change returned belongs to the new session.
          expect((await profile(changed.body.access)).status).toBe(200);
          const next = await t.http.post('/api/token/refresh/', { refresh: changed.body.refresh });
          expect(next.status).toBe(200);
          expect((await profile(next.body.access)).status).toBe(200);
        } finally {
          t.clock.thaw();
        }
      });

      it('an attacker refreshing in the same second as a reset does not survive it', async () => {
        const user = await createUser(t.http, 'talent');
        expect((await t.http.post('/api/password-reset/', { email: user.email })).status).toBe(200);
        const { code } = await resetMail(smtp, user.email, 0);
        t.clock.freeze(Math.floor(Date.now() / 1000) * 1000 + 50);
        try {
          const rotated = await t.http.post('/api/token/refresh/', { refresh: user.refresh });
          expect(rotated.status).toBe(200);
          const reset = await t.http.post('/api/password-reset/confirm/', { email: user.email, code, new_password: 'Reset-Casting-2027' });
          expect(reset.status).toBe(200);
          expect((await t.http.post('/api/token/refresh/', { refresh: rotated.body.refresh })).status).toBe(401);
          expect((await profile(rotated.body.access)).status).toBe(401);
          const signIn = await t.http.post('/api/token/', { email: user.email, password: 'Reset-Casting-2027' });
          expect((await profile(signIn.body.access)).status).toBe(200);
        } finally {
          t.clock.thaw();
        }
      });
    });

    describe('brute-force limits cannot lock the owner out', () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await startTestApp(db, {
          env: {
            RATE_LIMIT: 'true',
            RATE_LIMIT_FAILED_LOGINS: '4',
            RATE_LIMIT_FAILED_LOGINS_PER_ACCOUNT: '10',
            RATE_LIMIT_AUTH_PER_IP: '100000',
            RATE_LIMIT_GENERAL: '1000000',
            TRUST_PROXY: '1',
          },
        });
      });
      afterAll(async () => t?.close());

      // The load balancer appends the address it saw: the right-most entry is the client.
      const from = (address: string, spoofed = '') => ({ 'X-Forwarded-For': spoofed ? `${spoofed}, ${address}` : address });

      it('stops one source after a handful of guesses, spoofed left-most addresses or not; the owner elsewhere signs in', async () => {
        const owner = await createUser(t.http, 'background');
        const guesses: number[] = [];
        for (let i = 0; i < 7; i++) {
          const res = await t.http.post('/api/token/', { email: owner.email, password: `guess-${i}` }, from('198.51.100.7', `10.9.8.${i}`));
          guesses.push(res.status);
        }
        expect(guesses).toEqual([401, 401, 401, 401, 429, 429, 429]);
        // Even the right password is refused to that source for the window...
        expect(
          (await t.http.post('/api/login/background/', { email: owner.email, password: owner.password }, from('198.51.100.7'))).status,
        ).toBe(429);
        // ...while the owner, at another address, is not affected, on every sign-in route.
        expect((await t.http.post('/api/token/', { email: owner.email, password: owner.password }, from('203.0.113.5'))).status).toBe(200);
        expect(
          (await t.http.post('/api/login/background/', { email: owner.email, password: owner.password }, from('203.0.113.5'))).status,
        ).toBe(200);
      });

      it('counts an IPv6 client per /64, so walking through its addresses gains nothing', async () => {
        const owner = await createUser(t.http, 'background');
        const statuses: number[] = [];
        for (let i = 1; i <= 5; i++)
          statuses.push(
            (await t.http.post('/api/token/', { email: owner.email, password: `x${i}` }, from(`2001:db8:1:2::${i.toString(16)}`))).status,
          );
        expect(statuses).toEqual([401, 401, 401, 401, 429]);
        expect((await t.http.post('/api/token/', { email: owner.email, password: owner.password }, from('2001:db8:1:3::1'))).status).toBe(
          200,
        );
      });

      it('stops a guess spread over many sources at the looser per-account limit', async () => {
        const owner = await createUser(t.http, 'background');
        const statuses: number[] = [];
        for (let i = 0; i < 12; i++)
          statuses.push((await t.http.post('/api/token/', { email: owner.email, password: `g${i}` }, from(`192.0.2.${i}`))).status);
        expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
        expect(statuses.slice(10)).toEqual([429, 429]);
      });

      it('counts wrong old passwords on password change and wrong passwords on account deletion (a stolen token)', async () => {
        const owner = await createUser(t.http, 'background');
        const change = (old: string) =>
          t.http.post(
            '/api/password/change/',
            { old_password: old, new_password: 'Another-Casting-2027' },
            { ...owner.headers, ...from('198.51.100.20') },
          );
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await change(`old-${i}`)).status);
        const remove = (password: string) =>
          t.http.request('DELETE', '/api/account/', { json: { password }, headers: { ...owner.headers, ...from('198.51.100.20') } });
        statuses.push((await remove('nope')).status, (await remove('nope-again')).status);
        expect(statuses).toEqual([400, 400, 400, 400, 429]);
        // A weak new password is not a wrong guess: it does not count.
        const weak = await t.http.post(
          '/api/password/change/',
          { old_password: owner.password, new_password: '123' },
          { ...owner.headers, ...from('203.0.113.30') },
        );
        expect(weak.status).toBe(400);
        expect(weak.body.new_password).toBeDefined();
        expect(
          (
            await t.http.post(
              '/api/password/change/',
              { old_password: owner.password, new_password: 'Another-Casting-2027' },
              { ...owner.headers, ...from('203.0.113.30') },
            )
          ).status,
        ).toBe(200);
      });

      it('counts wrong verification and reset codes per account and source too', async () => {
        const owner = await createUser(t.http, 'talent');
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++)
          statuses.push((await t.http.post('/api/verify-code/', { email: owner.email, code: `00000${i}` }, from('198.51.100.40'))).status);
        expect(statuses).toEqual([400, 400, 400, 400, 429]);
        const confirm = await t.http.post(
          '/api/password-reset/confirm/',
          { email: owner.email, code: '123456', new_password: 'Reset-Casting-2027' },
          from('198.51.100.40'),
        );
        expect(confirm.status).toBe(429);
      });

      it('keeps a live counter however many junk keys are created (no eviction by age)', async () => {
        const owner = await createUser(t.http, 'talent');
        for (let i = 0; i < 3; i++)
          expect((await t.http.post('/api/token/', { email: owner.email, password: `w${i}` }, from('198.51.100.60'))).status).toBe(401);
        // 6 000 failures for throw-away accounts from the same source: cheap (no such user, no hashing).
        const junk = Array.from({ length: 6000 }, (_, i) => i);
        const workers = Array.from({ length: 16 }, async (_, w) => {
          for (let i = w; i < junk.length; i += 16) {
            await t.http.post('/api/verify-code/', { email: `junk-${i}@example.com`, code: '000000' }, from('198.51.100.60'));
          }
        });
        await Promise.all(workers);
        expect((await t.http.post('/api/token/', { email: owner.email, password: 'w3' }, from('198.51.100.60'))).status).toBe(401);
        expect((await t.http.post('/api/token/', { email: owner.email, password: owner.password }, from('198.51.100.60'))).status).toBe(
          429,
        );
      }, 120_000);
    });
  });
}

describe('client addresses behind a proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { env: { RATE_LIMIT: 'true', RATE_LIMIT_AUTH_PER_IP: '3', TRUST_PROXY: '1' } });
  });
  afterAll(async () => t?.close());

  it('limits two clients behind the same load balancer separately, whatever they put in front', async () => {
    const a: number[] = [];
    for (let i = 0; i < 5; i++)
      a.push(
        (await t.http.post('/api/password-reset/', { email: 'a@example.com' }, { 'X-Forwarded-For': `1.1.1.${i}, 198.51.100.1` })).status,
      );
    expect(a).toEqual([200, 200, 200, 429, 429]);
    const b = await t.http.post('/api/password-reset/', { email: 'b@example.com' }, { 'X-Forwarded-For': '198.51.100.2' });
    expect(b.status).toBe(200);
  });
});

describe('metrics are not public behind a reverse proxy on the same machine', () => {
  let dev: TestApp;
  let production: TestApp;
  beforeAll(async () => {
    dev = await startTestApp(DATABASES[0]!);
    production = await startTestApp(DATABASES[0]!, { env: { NODE_ENV: 'production', LOG_LEVEL: 'silent' } });
  });
  afterAll(async () => {
    await dev?.close();
    await production?.close();
  });

  it('development: a direct local client only, not a relayed request', async () => {
    expect((await dev.http.get('/metrics')).status).toBe(200);
    const relays: Record<string, string>[] = [
      { 'X-Forwarded-For': '203.0.113.9' },
      { Forwarded: 'for=203.0.113.9' },
      { 'X-Real-IP': '203.0.113.9' },
    ];
    for (const relayed of relays) {
      const res = await dev.http.get('/metrics', relayed);
      expect(res.status).toBe(403);
      expect(res.body.detail).toContain('METRICS_TOKEN');
    }
  });

  it('production: never without METRICS_TOKEN or METRICS_PORT, not even from this machine', async () => {
    const res = await production.http.get('/metrics');
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ detail: 'Metrics need METRICS_TOKEN or METRICS_PORT in production.' });
  });
});

describe('request bodies', () => {
  let t: TestApp;
  /** A POST with no Content-Type header (fetch always sends one with a body). */
  const untyped = (path: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const sent = httpRequest(
        `${t.http.baseUrl}${path}`,
        { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!);
  });
  afterAll(async () => t?.close());

  it('refuses deep nesting before parsing it, and bodies past 64 KiB', async () => {
    const deep = await t.http.request('POST', '/api/token/', {
      body: `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.status).toBe(400);
    expect(deep.body.detail).toMatch(/nested more than 32 levels deep/);
    const big = await t.http.post('/api/register/', registration('talent', { first_name: 'x'.repeat(70_000) }));
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ detail: 'Request body is too large.' });
    // A real body at its largest still fits: an about text of 2 000 four-byte characters, escaped.
    const user = await createUser(t.http, 'talent');
    const about = await t.http.request('POST', '/api/profile/talent/', {
      body: JSON.stringify({ aboutyou: '😀'.repeat(1000) }).replace(
        /[\u007f-\uffff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      ),
      headers: { ...user.headers, 'content-type': 'application/json' },
    });
    expect(about.status).toBe(200);
  });

  it('says where a JSON body goes wrong without quoting it (it may hold a password), and refuses prototype keys by name', async () => {
    const answer = (body: string) => t.http.request('POST', '/api/token/', { body, headers: { 'content-type': 'application/json' } });
    const cases: [string, string][] = [
      [
        '{"email": "a@example.com", "password": "hunter2-secret"',
        "JSON parse error - Expected ',' or '}' after property value in JSON at position 55.",
      ],
      ['{"email": "a@example.com", "password": hunter2}', "JSON parse error - Unexpected token 'h'."],
      ['{"email": "a@example.com", "password": "x",}', 'JSON parse error - Expected double-quoted property name in JSON at position 43.'],
      [
        '{"email": "a@example.com", "__proto__": {"is_staff": true}}',
        'JSON parse error - a key named "__proto__", or "constructor" holding "prototype", is not allowed.',
      ],
      [
        '{"constructor": {"prototype": {"is_staff": true}}}',
        'JSON parse error - a key named "__proto__", or "constructor" holding "prototype", is not allowed.',
      ],
    ];
    for (const [body, detail] of cases) {
      const res = await answer(body);
      expect(res.status, body).toBe(400);
      // Node 24 adds the line and column after the position.
      expect({ detail: String(res.body.detail).replace(/ \(line \d+ column \d+\)\./, '.') }, body).toEqual({ detail });
      expect(JSON.stringify(res.body), body).not.toContain('hunter2');
    }
  });

  it('reads an empty JSON body as no data and refuses JSON null as DRF does: the route says which fields it needs', async () => {
    const empty = (path: string, headers: Record<string, string> = {}) =>
      t.http.request('POST', path, { body: '', headers: { ...headers, 'content-type': 'application/json' } });
    const signIn = await empty('/api/token/');
    expect(signIn.status).toBe(400);
    expect(signIn.body).toEqual({ email: ['This field is required.'], password: ['This field is required.'] });
    const user = await createUser(t.http, 'talent');
    const update = await empty('/api/profile/talent/', user.headers);
    expect(update.status).toBe(400);
    expect(update.body).toEqual({ non_field_errors: ['At least one field must be provided for update.'] });
    // JSON null is no data provided; any other value that is not an object is named by its type, in Python's words.
    const json = (path: string, body: string, headers: Record<string, string> = {}) =>
      t.http.request('POST', path, { body, headers: { ...headers, 'content-type': 'application/json' } });
    for (const path of ['/api/token/', '/api/profile/talent/']) {
      const none = await json(path, 'null', user.headers);
      expect([path, none.status, none.body]).toEqual([path, 400, { non_field_errors: ['No data provided'] }]);
    }
    expect((await json('/api/token/', '[1, 2]')).body).toEqual({
      non_field_errors: ['Invalid data. Expected a dictionary, but got list.'],
    });
    expect((await json('/api/token/', '2.5')).body).toEqual({ non_field_errors: ['Invalid data. Expected a dictionary, but got float.'] });
    // No body, or a body of no declared type, is no data too; an empty body of any type is no data.
    const required = { email: ['This field is required.'], password: ['This field is required.'] };
    for (const body of ['', 'email=a%40b.co']) {
      const res = await untyped('/api/token/', body);
      expect([body, res.status, JSON.parse(res.text)]).toEqual([body, 400, required]);
    }
    for (const type of ['text/plain', 'application/xml']) {
      const res = await t.http.request('POST', '/api/token/', { body: '', headers: { 'content-type': type } });
      expect([type, res.status, res.body]).toEqual([type, 400, required]);
    }
    // fetch() sends an empty string body as text/plain: a sign-out made so signs out.
    const out = await fetch(`${t.http.baseUrl}/api/logout/`, { method: 'POST', body: '', headers: user.headers });
    expect([out.status, await out.json()]).toEqual([200, { success: true, message: 'Logged out successfully' }]);
    expect((await t.http.get('/api/profile/talent/', user.headers)).status).toBe(401);
    // Text is still not a type any route reads.
    expect((await t.http.request('POST', '/api/token/', { body: 'hi', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    // Blanks are text, and not JSON.
    const blank = await t.http.request('POST', '/api/token/', { body: '  \n', headers: { 'content-type': 'application/json' } });
    expect(blank.status).toBe(400);
    expect(blank.body.detail).toMatch(/^JSON parse error - /);
  });

  it('Node’s fetch reads the 413 of a too-large upload instead of a broken connection', async () => {
    const user = await createUser(t.http, 'talent');
    // As a phone sends it: streamed in chunks while the server reads, with or without a length.
    const boundary = 'castfolio-413';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="profile_picture"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const body = Buffer.concat([head, Buffer.alloc(13 * 1024 * 1024), Buffer.from(`\r\n--${boundary}--\r\n`)]);
    for (const declared of [false, true]) {
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (let offset = 0; offset < body.length; offset += 256 * 1024) {
            controller.enqueue(body.subarray(offset, offset + 256 * 1024));
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          controller.close();
        },
      });
      const res = await fetch(`${t.http.baseUrl}/api/profile/talent/`, {
        method: 'POST',
        headers: {
          ...user.headers,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          ...(declared ? { 'content-length': String(body.length) } : {}),
        },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status, `declared: ${declared}`).toBe(413);
      expect(await res.json()).toEqual({ profile_picture: ['Image file size cannot exceed 10 MB.'] });
    }
    // A whole file over the limit, and a JSON body past its limit, read the same way.
    const form = new FormData();
    form.append('profile_picture', new Blob([new Uint8Array(11 * 1024 * 1024)], { type: 'image/jpeg' }), 'big.jpg');
    expect((await t.http.request('POST', '/api/profile/talent/', { form, headers: user.headers })).status).toBe(413);
    expect((await t.http.post('/api/token/', { email: 'a@example.com', password: 'x'.repeat(2 * 1024 * 1024) })).status).toBe(413);
    // The server is fine afterwards.
    expect((await t.http.get('/api/profile/talent/', user.headers)).status).toBe(200);
  });

  it('refuses the most common passwords, as Django’s 20 000-entry list does', async () => {
    for (const password of ['michelle1', 'Trustno1', 'jennifer1', 'qwerty123']) {
      const res = await t.http.post('/api/register/', registration('background', { password }));
      expect(res.status, password).toBe(400);
      expect(res.body.password).toContain('This password is too common.');
    }
    expect((await t.http.post('/api/register/', registration('background', { password: DEFAULT_PASSWORD }))).status).toBe(201);
  });
});

describe('requests refused before any route sees them', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!);
  });
  afterAll(async () => t?.close());

  /** Sends `request` as raw bytes and reads the whole answer until the server closes the connection. */
  const raw = (request: string) =>
    new Promise<{ status: number; headers: string; body: unknown }>((resolve, reject) => {
      const socket = connect(Number(new URL(t.http.baseUrl).port), '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (chunk) => received.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const text = Buffer.concat(received).toString('utf8');
        const [head = '', body = ''] = text.split('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]), headers: head, body: body ? JSON.parse(body) : undefined });
      });
      socket.write(request);
    });

  it('answers a malformed request line or header, or headers past Node’s limit, in DRF’s shape and closes the connection', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['a method HTTP does not have', 'FOO /api/token/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, /^Malformed HTTP request: .+\.$/],
      ['a control character in a header', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400, /^Malformed HTTP request: .+\.$/],
      ['a request line that is not HTTP', 'hello there\r\n\r\n', 400, /^Malformed HTTP request: .+\.$/],
      [
        'two Content-Length headers that differ',
        'POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
        400,
        /^Malformed HTTP request: .+\.$/,
      ],
      [
        '20 KB of headers',
        `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'x'.repeat(20 * 1024)}\r\n\r\n`,
        431,
        /^The request headers are larger than 16 KB\.$/,
      ],
    ];
    for (const [label, request, status, detail] of cases) {
      const answer = await raw(request);
      expect(answer.status, label).toBe(status);
      expect(answer.headers, label).toMatch(/\r\nContent-Type: application\/json\r\n/i);
      expect(Object.keys(answer.body as object), label).toEqual(['detail']);
      expect((answer.body as { detail: string }).detail, label).toMatch(detail);
    }
    expect((await t.http.get('/health')).status).toBe(200);
  });
});

describe('mails kept without SMTP (the outbox folder)', () => {
  let t: TestApp;
  const logs = new PassThrough();
  const lines: string[] = [];
  beforeAll(async () => {
    logs.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    t = await startTestApp(DATABASES[0]!, { env: { LOG_LEVEL: 'debug', OUTBOX_INTERVAL: '1' }, deps: { logStream: logs } });
  });
  afterAll(async () => t?.close());

  const outbox = () => path.join(t.dataDir, 'outbox');
  const files = () => (existsSync(outbox()) ? readdirSync(outbox()) : []);

  it('never logs a code, keeps files private and nameless, and removes them with the account', async () => {
    const user = await createUser(t.http, 'background');
    expect((await t.http.post('/api/password-reset/', { email: user.email })).status).toBe(200);
    await expect.poll(() => files().length, { timeout: 10_000 }).toBe(2);
    const codes = files().map(
      (file) => /\b(\d{6})\b/.exec(readFileSync(path.join(outbox(), file), 'utf8').split(/\n\n/).slice(1).join('\n'))?.[1],
    );
    expect(codes.every((code) => code !== undefined)).toBe(true);
    for (const code of codes) expect(lines.join('\n')).not.toContain(code);
    for (const file of files()) {
      expect(file).not.toContain(user.email.split('@')[0]);
      expect(statSync(path.join(outbox(), file)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(outbox()).mode & 0o777).toBe(0o700);

    const other = await createUser(t.http, 'talent');
    await expect.poll(() => files().length, { timeout: 10_000 }).toBe(3);
    expect((await t.http.request('DELETE', '/api/account/', { json: { password: user.password }, headers: user.headers })).status).toBe(
      204,
    );
    // Only the other user's mail is left, and no queued row for the deleted address either.
    expect(files()).toHaveLength(1);
    expect(readFileSync(path.join(outbox(), files()[0]!), 'utf8')).toContain(other.email);
    expect(await t.database.db.selectFrom('outbox_emails').select('id').where('to_address', '=', user.email).execute()).toEqual([]);
  });

  it('removes outbox files older than OUTBOX_RETENTION', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-outbox-'));
    const folder = path.join(dataDir, 'outbox');
    mkdirSync(folder, { recursive: true });
    const old = path.join(folder, '2020-01-01T00-00-00-000Z-0123456789abcdef01234567.eml');
    const fresh = path.join(folder, '2099-01-01T00-00-00-000Z-0123456789abcdef01234567.eml');
    writeFileSync(old, 'Subject: old\n\n123456');
    writeFileSync(fresh, 'Subject: fresh\n\n654321');
    const eightDaysAgo = new Date(Date.now() - 8 * 86400 * 1000);
    utimesSync(old, eightDaysAgo, eightDaysAgo);
    const app = await startTestApp(DATABASES[0]!, { env: { DATA_DIR: dataDir, OUTBOX_INTERVAL: '1' } });
    try {
      await expect.poll(() => existsSync(old), { timeout: 10_000 }).toBe(false);
      expect(existsSync(fresh)).toBe(true);
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('temporary upload files', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No memory budget: every upload, however small, goes through a temporary file here.
    t = await startTestApp(DATABASES[0]!, { env: { UPLOAD_MEMORY_BUDGET: '0' } });
  });
  afterAll(async () => t?.close());

  it('are readable by this process’s user only while an upload is received', async () => {
    const user = await createUser(t.http, 'talent');
    const photo = await jpeg(400, 400);
    const uploads = t.config.images.uploadTmpDir;
    const modes: number[] = [];
    const answer = uploadInTwoHalves({
      url: `${t.http.baseUrl}/api/profile/talent/`,
      headers: user.headers,
      field: 'profile_picture',
      bytes: photo,
      // The rest once the first half sits in a temporary file.
      between: () =>
        new Promise((resolve) => {
          const check = setInterval(() => {
            const names = existsSync(uploads) ? readdirSync(uploads).filter((n) => n.startsWith('upload-')) : [];
            if (names.length === 0) return;
            clearInterval(check);
            modes.push(statSync(uploads).mode & 0o777, ...names.map((n) => statSync(path.join(uploads, n)).mode & 0o777));
            resolve();
          }, 20);
        }),
    });
    expect(await answer).toBe(200);
    expect(modes).toEqual([0o700, 0o600]);
  });
});
