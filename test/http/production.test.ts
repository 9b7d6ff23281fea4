import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, registration } from '../helpers/factories.js';
import { jpeg } from '../helpers/images.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisAvailable(): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const limits = {
  RATE_LIMIT: 'true',
  RATE_LIMIT_AUTH_PER_IP: '8',
  RATE_LIMIT_FAILED_LOGINS: '3',
  RATE_LIMIT_UPLOADS: '2',
  RATE_LIMIT_GENERAL: '12',
};

const STORES = [
  { name: 'memory', env: {} as Record<string, string>, skip: undefined as string | undefined },
  {
    name: 'Redis',
    env: { REDIS_URL, RATE_LIMIT_REDIS_PREFIX: `test-${randomBytes(6).toString('hex')}:` },
    skip: undefined as string | undefined,
  },
];

describe.each(STORES)('rate limits with the $name store', (store) => {
  let t: TestApp;
  let available = true;
  beforeAll(async () => {
    if (store.name === 'Redis') available = await redisAvailable();
    if (!available) return;
    t = await startTestApp(DATABASES[0]!, { env: { ...limits, RATE_LIMIT_AUTH_PER_IP: '1000', ...store.env } });
  });
  afterAll(async () => t?.close());

  it('stops a brute force on one account with 429, Retry-After and a DRF body; successful sign-ins never count', async (context) => {
    if (!available) context.skip(`Redis is not reachable at ${REDIS_URL}`);
    const body = registration('background');
    expect((await t.http.post('/api/register/', body)).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await t.http.post('/api/token/', { email: body.email, password: body.password })).status).toBe(200);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await t.http.post('/api/token/', { email: body.email, password: `wrong-guess-${i}` });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.body.detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds\.$/);
    // The right password does not get through either while the account is throttled.
    expect((await t.http.post('/api/token/', { email: body.email.toUpperCase(), password: body.password })).status).toBe(429);
  });
});

describe('rate limits per client IP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { env: limits });
  });
  afterAll(async () => t?.close());

  it('limits sign-in endpoints per IP whatever the email', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push((await t.http.post('/api/token/', { email: `someone-${i}@example.com`, password: 'x' })).status);
    expect(statuses.slice(0, 8).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(8)).toEqual([429, 429]);
  });
});

describe('rate limits per user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { env: { ...limits, RATE_LIMIT_AUTH_PER_IP: '1000' } });
  });
  afterAll(async () => t?.close());

  it('limits uploads per user and every request per user', async () => {
    const user = await createUser(t.http, 'background');
    const upload = async () => {
      const form = new FormData();
      form.append('profile_picture', new Blob([await jpeg(200, 200)], { type: 'image/jpeg' }), 'p.jpg');
      return (await t.http.request('POST', '/api/profile/background/', { form, headers: user.headers })).status;
    };
    expect([await upload(), await upload(), await upload()]).toEqual([200, 200, 429]);
    // JSON updates are not uploads; the general limit (12 a minute) still counts them.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await t.http.get('/api/profile/background/', user.headers)).status);
    expect(statuses).toContain(429);
    // Another user is not affected.
    const other = await createUser(t.http, 'background');
    expect((await t.http.get('/api/profile/background/', other.headers)).status).toBe(200);
  });

  it('always answers mail requests with 200: the service itself sends at most one mail a minute', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.http.post('/api/password-reset/', { email: 'mailbomb@example.com' })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });
});

describe('rate limits shared by two instances through Redis', () => {
  let a: TestApp;
  let b: TestApp;
  let available = true;
  beforeAll(async () => {
    available = await redisAvailable();
    if (!available) return;
    // Two apps on one Redis (one key prefix, fresh for this test): the counters are the same.
    const shared = { ...limits, REDIS_URL, RATE_LIMIT_REDIS_PREFIX: `test-${randomBytes(6).toString('hex')}:` };
    a = await startTestApp(DATABASES[0]!, { env: shared });
    b = await startTestApp(DATABASES[0]!, { env: shared });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('counts an account brute force across both instances', async (context) => {
    if (!available) context.skip(`Redis is not reachable at ${REDIS_URL}`);
    const email = `shared-${randomBytes(4).toString('hex')}@example.com`;
    const statuses: number[] = [];
    for (const [i, t] of [a, b, a, b].entries())
      statuses.push((await t.http.post('/api/token/', { email, password: `guess-${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('headers, CORS, request ids and metrics', () => {
  let t: TestApp;
  const logs = new PassThrough();
  const lines: string[] = [];
  beforeAll(async () => {
    logs.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    t = await startTestApp(DATABASES[0]!, {
      env: { CORS_ORIGINS: 'https://app.example.com', TRUST_PROXY: 'true', LOG_LEVEL: 'info', METRICS_TOKEN: 'k3Vn8-metrics-Q7xz2-wL9p' },
      deps: { logStream: logs },
    });
  });
  afterAll(async () => t?.close());

  it('sends security headers fit for an API that serves a page', async () => {
    const page = await t.http.get('/health');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('strict-transport-security')).toContain('max-age=');
    // Clients on other origins show the pictures: cross-origin resource sharing of media stays open.
    expect(page.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it('allows the configured origins only', async () => {
    const allowed = await t.http.request('OPTIONS', '/api/profile/background/', {
      headers: {
        Origin: 'https://app.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,is-background',
      },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('is-background');
    const other = await t.http.get('/health', { Origin: 'https://evil.example.com' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives every response an X-Request-Id found in its log lines, keeping a trusted proxy’s', async () => {
    const own = await t.http.get('/health');
    const id = own.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const given = await t.http.get('/health', { 'X-Request-Id': 'lb-abc-123' });
    expect(given.headers.get('x-request-id')).toBe('lb-abc-123');
    const hostile = await t.http.get('/health', { 'X-Request-Id': 'x'.repeat(300) });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // The completion line is written after the response has gone out.
    await expect.poll(() => lines.map((l) => JSON.parse(l)).filter((l) => l.reqId === 'lb-abc-123').length).toBeGreaterThanOrEqual(2);
  });

  it('exposes Prometheus metrics behind a token', async () => {
    const user = await createUser(t.http, 'background');
    const form = new FormData();
    form.append('profile_picture', new Blob([await jpeg(300, 200)], { type: 'image/jpeg' }), 'p.jpg');
    expect((await t.http.request('POST', '/api/profile/background/', { form, headers: user.headers })).status).toBe(200);
    expect((await t.http.get('/metrics')).status).toBe(401);
    const res = await t.http.get('/metrics', { Authorization: 'Bearer k3Vn8-metrics-Q7xz2-wL9p' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toMatch(/castfolio_http_requests_total\{method="POST",route="\/api\/profile\/background\/",status="200"\} 1/);
    expect(res.text).toMatch(/castfolio_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/health"/);
    expect(res.text).toMatch(/castfolio_upload_bytes_total [1-9]\d*/);
    expect(res.text).toMatch(/castfolio_image_processing_seconds_count\{format="jpeg",outcome="stored"\} 1/);
    expect(res.text).toMatch(/castfolio_pending_deletions 0/);
    expect(res.text).toMatch(/castfolio_mail_outbox_depth \d+/);
    expect(res.text).toContain('castfolio_process_resident_memory_bytes');
  });
});

describe('metrics without a token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { env: { TRUST_PROXY: 'true' } });
  });
  afterAll(async () => t?.close());

  it('answers this machine and refuses everyone else', async () => {
    expect((await t.http.get('/metrics')).status).toBe(200);
    const remote = await t.http.get('/metrics', { 'X-Forwarded-For': '203.0.113.9' });
    expect(remote.status).toBe(403);
    expect(remote.body.detail).toContain('METRICS_TOKEN');
  });
});
