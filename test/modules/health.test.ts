import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/app.js';
import { Http } from '../helpers/http.js';

describe('readiness when the database is unreachable', () => {
  let app: FastifyInstance;
  let http: Http;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-health-'));
    // Nothing listens on port 1: every connection attempt is refused.
    const config = {
      ...testConfig(dataDir),
      database: { kind: 'postgres' as const, url: 'postgres://postgres@127.0.0.1:1/none' },
      migrateOnStart: false,
    };
    app = await buildApp(config);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    http = new Http(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps /health up and reports the database down on /ready', async () => {
    expect((await http.get('/health')).status).toBe(200);
    const ready = await http.get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'unavailable', checks: { database: 'unavailable', storage: 'ok' } });
  });

  it('answers a request that needs the database with a 503 and Retry-After that leaks nothing, and keeps serving', async () => {
    const res = await http.post('/api/token/', { email: 'a@example.com', password: 'Whatever-123' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(Object.keys(res.body)).toEqual(['detail']);
    expect(res.text).not.toMatch(/ECONNREFUSED|postgres|stack/i);
    expect((await http.get('/health')).status).toBe(200);
  });
});
