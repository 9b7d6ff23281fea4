import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heicOf, heifEncAvailable, withUnreadableImage } from './helpers/heif.js';
import { Http } from './helpers/http.js';
import { jpeg } from './helpers/images.js';
import { s3Env, startS3rver } from './helpers/storage.js';
import { buildServer, SERVER_JS, startServerProcess, youngGenerationBytes } from './helpers/process.js';

const hasHeifEnc = await heifEncAvailable();
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** A server's output as log lines: those that parse as JSON objects, and those that do not. */
function logLines(output: string): { records: Record<string, unknown>[]; notJson: string[] } {
  const records: Record<string, unknown>[] = [];
  const notJson: string[] = [];
  for (const line of output.split('\n').filter((text) => text.trim() !== '')) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null) records.push(parsed as Record<string, unknown>);
      else notJson.push(line);
    } catch {
      notJson.push(line);
    }
  }
  return { records, notJson };
}

/** The compiled server as `npm start` runs it on a fresh machine: nothing set but the port and `env`. */
const startServer = (cwd: string, env: Record<string, string>) => startServerProcess(env, cwd, { embeddedDefaults: true });

describe('the compiled server on the embedded defaults', () => {
  let cwd: string;
  beforeAll(() => {
    buildServer();
    cwd = mkdtempSync(path.join(tmpdir(), 'castfolio-fresh-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('starts in an empty folder, creates ./data, serves the guide flow, and stops on SIGTERM', async () => {
    const { child, baseUrl, exited } = await startServer(cwd, {});
    try {
      const http = new Http(baseUrl);
      expect(existsSync(path.join(cwd, 'data', 'castfolio.db'))).toBe(true);
      expect(existsSync(path.join(cwd, 'data', 'jwt-secret'))).toBe(true);
      expect((await http.get('/ready')).status).toBe(200);

      const email = 'background@example.com';
      const register = await http.post('/api/register/', {
        email,
        password: 'Quick-Start-1',
        first_name: 'Bea',
        last_name: 'Ground',
        role: 'background',
        country: 'USA',
        date_of_birth: '1985-05-15',
        gender: 'Male',
      });
      expect(register.status).toBe(201);
      const token = await http.post('/api/token/', { email, password: 'Quick-Start-1' });
      const headers = { Authorization: `Bearer ${token.body.access}`, 'is-background': 'true' };
      const form = new FormData();
      form.append('country', 'Canada');
      const updated = await http.request('POST', '/api/profile/background/', { form, headers });
      expect(updated.status).toBe(200);
      expect(updated.body.profile.country).toBe('Canada');
      expect((await http.get('/api/profile/background/', headers)).body.profile.country).toBe('Canada');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  // V8 keeps the young generation start-up grew (64 MB on Node 24 without a cap) and the pages
  // start-up garbage filled; the server gives them back once it is up and the face check's models
  // are loaded. The collection that shrinks the young generation needs V8 12 (Node 22) or later.
  it.runIf(nodeMajor >= 22)('gives back the memory start-up grew once it is ready', async () => {
    const token = 'server-test-metrics-token-00000000';
    const { child, baseUrl, exited } = await startServer(cwd, { METRICS_TOKEN: token });
    try {
      const youngGeneration = () => youngGenerationBytes(baseUrl, token);
      const deadline = Date.now() + 20_000;
      let bytes = await youngGeneration();
      while (bytes > 8 * 1024 * 1024 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        bytes = await youngGeneration();
      }
      expect(bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
      // And it still serves.
      expect((await fetch(`${baseUrl}/ready`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  // The HEIC decoder (libheif compiled to WebAssembly) writes what it finds wrong with a file to the
  // console; from its worker thread that would land between the server's JSON log lines. libvips
  // warns through GLib on stderr about a HEIF side it cannot hold.
  it.skipIf(!hasHeifEnc)('writes nothing but JSON log lines when the HEIC decoder finds fault with an upload', async () => {
    const { child, baseUrl, output } = await startServer(cwd, {});
    const closed = new Promise((resolve) => child.on('close', resolve));
    try {
      const http = new Http(baseUrl);
      const user = { email: 'heic@example.com', password: 'Quick-Start-1' };
      const body = { ...user, first_name: 'Hei', last_name: 'Sea', role: 'talent', date_of_birth: '1990-01-02' };
      expect((await http.post('/api/register/', body)).status).toBe(201);
      const token = await http.post('/api/token/', user);
      const headers = { Authorization: `Bearer ${token.body.access}`, 'is-talent': 'true' };
      // A HEIC whose second image cannot be opened: its primary (the first) is still a photo.
      const heic = withUnreadableImage(await heicOf([await jpeg(640, 480), await jpeg(480, 640)], 'jpg'), 1);
      const form = new FormData();
      form.append('profile_picture', new Blob([heic], { type: 'image/heic' }), 'IMG_0007.HEIC');
      const uploaded = await http.request('POST', '/api/profile/talent/', { form, headers });
      expect(uploaded.status).toBe(200);
      expect(uploaded.body.profile.profile_picture_info).toMatchObject({ width: 640, height: 480 });
      // An AVIF declaring a side over what libvips can hold, whose header it would read with a GLib
      // warning on stderr: refused, with its size, before libvips sees it.
      const avif = await sharp(await jpeg(64, 64))
        .avif()
        .toBuffer();
      avif.writeUInt32BE(200_000_000, avif.indexOf('ispe') + 8);
      const wide = new FormData();
      wide.append('profile_picture', new Blob([avif], { type: 'image/avif' }), 'wide.avif');
      const refused = await http.request('POST', '/api/profile/talent/', { form: wide, headers });
      expect(refused.status).toBe(400);
      expect(refused.body.profile_picture[1]).toBe('Image is 200000000×64 pixels; the limit is 52 megapixels.');
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    const { records, notJson } = logLines(output());
    expect(notJson).toEqual([]);
    expect(records.some((line) => line.msg === 'request completed' && (line.res as { statusCode?: number })?.statusCode === 200)).toBe(
      true,
    );
  });

  // Node prints a process warning (the AWS SDK's, on Node 20, about the Node versions its next
  // releases need) as plain text on stderr, and the primary of a cluster used to say so when a
  // worker died; both are JSON log lines now.
  it('writes JSON log lines only: process warnings and the cluster primary included', async () => {
    const s3 = await startS3rver();
    const { child, baseUrl, output, waitForOutput } = await startServer(cwd, { ...s3Env(s3), WEB_CONCURRENCY: '2' });
    const closed = new Promise((resolve) => child.on('close', resolve));
    try {
      expect((await fetch(`${baseUrl}/ready`)).status).toBe(200);
      const workers = () => readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      // Both workers listening: the primary then keeps the shared socket open when one dies (with
      // every worker gone it closes it, and PORT=0 would give the next one another port).
      const listening = () => output().split('Server listening at').length - 1;
      await expect.poll(listening, { timeout: 60_000, interval: 100 }).toBe(2);
      expect(workers()).toHaveLength(2);
      const [victim] = workers();
      process.kill(Number(victim), 'SIGKILL');
      await waitForOutput('worker exited; starting another');
      await expect.poll(() => workers().length, { timeout: 20_000 }).toBe(2);
      if (nodeMajor < 22) await waitForOutput('NodeVersionSupportWarning');
      // Serving all along; the replacement listens too.
      expect((await fetch(`${baseUrl}/ready`)).status).toBe(200);
      await expect.poll(listening, { timeout: 60_000, interval: 100 }).toBe(3);
      expect((await fetch(`${baseUrl}/ready`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await closed;
      await s3.close();
    }
    const { records, notJson } = logLines(output());
    expect(notJson).toEqual([]);
    expect(records.find((line) => line.msg === 'worker exited; starting another')).toMatchObject({ level: 50, exit: 'SIGKILL' });
    if (nodeMajor < 22) {
      expect(records.find((line) => line.msg === 'process warning')).toMatchObject({
        level: 40,
        warning: { message: expect.stringContaining('NodeVersionSupportWarning') },
      });
    }
  }, 90_000);

  it('refuses to start on an invalid variable and names it', () => {
    const result = spawnSync(process.execPath, [SERVER_JS], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty', NODE_ENV: 'production' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT="eighty"');
    expect(result.stderr).toContain('JWT_SECRET is required when NODE_ENV=production');
  });

  it('refuses to start in production without an address for mail links, a mail server, or with TRUST_PROXY=true', () => {
    const result = spawnSync(process.execPath, [SERVER_JS], {
      cwd,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', JWT_SECRET: 'hV3q9Lx2-Tz7Wm4Rb8Kc1Nf6Yp0Gd5Sj', TRUST_PROXY: 'true' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PUBLIC_WEB_URL is required when NODE_ENV=production');
    expect(result.stderr).toContain('SMTP_URL is required when NODE_ENV=production');
    expect(result.stderr).toContain('TRUST_PROXY=true believes any X-Forwarded-For');
  });
});
