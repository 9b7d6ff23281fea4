import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './helpers/process.js';

const root = path.resolve(import.meta.dirname, '..');

// The image-work scripts run in processes of their own against the build (dist/), outside the type
// check: a renamed export once left `npm run bench` unable to measure uploads for a whole session.
describe('the benchmarks’ image-work scripts', () => {
  let dir: string;
  let photo: string;
  beforeAll(async () => {
    buildServer();
    dir = mkdtempSync(path.join(tmpdir(), 'castfolio-bench-test-'));
    photo = path.join(dir, 'photo.jpg');
    writeFileSync(
      photo,
      await sharp({ create: { width: 900, height: 600, channels: 3, background: '#7a5c3e' } })
        .jpeg()
        .toBuffer(),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (script: string, ...args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'bench', script), photo, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dir },
      timeout: 60_000,
    });

  it('bench/image-work.mjs times the server’s image work, face check included', () => {
    const result = run('image-work.mjs', '2');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const measured = JSON.parse(result.stdout) as { ms: number; cpu: number; faceCheck: boolean };
    expect(measured.faceCheck).toBe(true);
    expect(measured.ms).toBeGreaterThan(0);
    expect(measured.cpu).toBeGreaterThan(0);
  }, 90_000);

  it('bench/pipeline-cpu.mjs times the pipeline before Pictures v2 against this one', () => {
    const result = run('pipeline-cpu.mjs', '1');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const [pair] = JSON.parse(result.stdout) as { before: number; now: number }[];
    expect(pair!.before).toBeGreaterThan(0);
    expect(pair!.now).toBeGreaterThan(0);
  }, 90_000);
});
