import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase } from '../../src/db/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { Http } from '../helpers/http.js';
import { noisyJpeg } from '../helpers/images.js';
import { buildServer, startServerProcess } from '../helpers/process.js';

/** Sends a multipart upload slowly, chunk by chunk, calling `midway` once part of it is out. */
function slowUpload(
  url: string,
  headers: Record<string, string>,
  file: Buffer,
  midway: () => void,
): Promise<{ status: number; body: any }> {
  const boundary = 'slowboundary7MA4YWxkTrZu0gW';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="profile_picture"; filename="slow.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
  );
  const body = Buffer.concat([head, file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    request.on('error', reject);
    const pieces = 10;
    const size = Math.ceil(body.length / pieces);
    let sent = 0;
    const next = () => {
      request.write(body.subarray(sent * size, (sent + 1) * size));
      sent += 1;
      if (sent === 2) midway();
      if (sent < pieces) setTimeout(next, 150);
      else request.end();
    };
    next();
  });
}

describe('graceful shutdown', () => {
  let cwd: string;
  beforeAll(() => {
    buildServer();
    cwd = mkdtempSync(path.join(tmpdir(), 'castfolio-shutdown-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('lets an upload in flight during SIGTERM finish, then exits cleanly with nothing leaked', async () => {
    const server = await startServerProcess(
      { JWT_SECRET: TEST_JWT_SECRET, SERVE_WEB: 'false', UPLOAD_TMP_DIR: path.join(cwd, 'uploads') },
      cwd,
    );
    const api = new Http(server.baseUrl);
    const email = 'shutdown@example.com';
    await api.post('/api/register/', {
      email,
      password: 'Shut-Down-2026',
      first_name: 'S',
      last_name: 'D',
      role: 'background',
      date_of_birth: '1980-01-01',
    });
    const token = await api.post('/api/token/', { email, password: 'Shut-Down-2026' });
    const headers = { authorization: `Bearer ${token.body.access}`, 'is-background': 'true' };

    let refusedAfterSignal: Promise<boolean> | undefined;
    const upload = await slowUpload(`${server.baseUrl}/api/profile/background/`, headers, await noisyJpeg(800, 600), () => {
      server.child.kill('SIGTERM');
      // A new request once the server is shutting down is not served. It is sent 100 ms after the
      // server says so, not 100 ms after the signal: a signal can wait behind a pause of the
      // server's main thread (a garbage collection), and a request that arrives before the server
      // has seen the signal is rightly served.
      refusedAfterSignal = server
        .waitForOutput('shutting down')
        .then(() => new Promise((resolve) => setTimeout(resolve, 100)))
        .then(() => fetch(`${server.baseUrl}/health`))
        .then(
          (res) => res.status === 503,
          () => true,
        );
    });
    expect(upload.status).toBe(200);
    expect(upload.body.profile.profile_picture).toMatch(/\/media\/background_profile_pictures\//);
    expect(await server.exited).toBe(0);
    expect(await refusedAfterSignal).toBe(true);
    expect(server.output()).toContain('shutting down');

    // What the database references is exactly what is stored; no temporary upload is left.
    const database = createDatabase({ kind: 'sqlite', file: path.join(cwd, 'data', 'castfolio.db') });
    const masters = (
      await database.db.selectFrom('background_profiles').select('profile_picture').where('profile_picture', 'is not', null).execute()
    ).map((r) => r.profile_picture as string);
    // The picture and the variants recorded with it.
    const pictures = await database.db.selectFrom('pictures').select(['name', 'variants']).execute();
    expect(pictures.map((p) => p.name)).toEqual(masters);
    const referenced = [...masters, ...pictures.flatMap((p) => (JSON.parse(p.variants) as { name: string }[]).map((v) => v.name))].sort();
    const pending = await database.db
      .selectFrom('pending_deletions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    await database.destroy();
    const folder = path.join(cwd, 'data', 'media', 'background_profile_pictures');
    const stored = readdirSync(folder)
      .map((f) => `background_profile_pictures/${f}`)
      .sort();
    expect(stored).toEqual(referenced);
    expect(Number(pending.n)).toBe(0);
    const uploads = path.join(cwd, 'uploads');
    expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
  });
});
