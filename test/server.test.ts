import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http } from './helpers/http.js';
import { youngGenerationBytes } from './helpers/process.js';

const root = path.resolve(import.meta.dirname, '..');
const serverJs = path.join(root, 'dist', 'server.js');

/** Starts the compiled server as `npm start` does and waits for its "listening" log line. */
function startServer(cwd: string, env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serverJs], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, baseUrl: match[1] as string });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

describe('the compiled server on the embedded defaults', () => {
  let cwd: string;
  beforeAll(() => {
    const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-if-stale.mjs')], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    cwd = mkdtempSync(path.join(tmpdir(), 'castfolio-fresh-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('starts in an empty folder, creates ./data, serves the guide flow, and stops on SIGTERM', async () => {
    const { child, baseUrl } = await startServer(cwd, {});
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
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  // V8 keeps the young generation start-up grew (64 MB on Node 24 without a cap) and the pages
  // start-up garbage filled; the server gives them back once it is up and the face check's models
  // are loaded. The collection that shrinks the young generation needs V8 12 (Node 22) or later.
  it.runIf(Number(process.versions.node.split('.')[0]) >= 22)('gives back the memory start-up grew once it is ready', async () => {
    const token = 'server-test-metrics-token-00000000';
    const { child, baseUrl } = await startServer(cwd, { METRICS_TOKEN: token });
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
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('refuses to start on an invalid variable and names it', () => {
    const result = spawnSync(process.execPath, [serverJs], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty', NODE_ENV: 'production' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT="eighty"');
    expect(result.stderr).toContain('JWT_SECRET is required when NODE_ENV=production');
  });

  it('refuses to start in production without an address for mail links, a mail server, or with TRUST_PROXY=true', () => {
    const result = spawnSync(process.execPath, [serverJs], {
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
