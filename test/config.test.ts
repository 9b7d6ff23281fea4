import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, serverConfigProblems } from '../src/config.js';

const STRONG_SECRET = 'hV3q9Lx2-Tz7Wm4Rb8Kc1Nf6Yp0Gd5Sj';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('config', () => {
  it('has embedded defaults: SQLite under ./data, port 8000 on 127.0.0.1, migrations on start', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 8000,
      dataDir: './data',
      database: { kind: 'sqlite', file: 'data/castfolio.db' },
      migrateOnStart: true,
      jwt: { accessTtlSeconds: 3600, refreshTtlSeconds: 86400 },
    });
  });

  it('reads a PostgreSQL DATABASE_URL and does not migrate it on start unless asked', () => {
    const config = parseConfig({ DATABASE_URL: 'postgres://app:pw@db:5432/castfolio' });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://app:pw@db:5432/castfolio',
      statementTimeoutMs: 10_000,
      poolSize: 10,
      preparedStatements: true,
    });
    expect(config.migrateOnStart).toBe(false);
    expect(parseConfig({ DATABASE_URL: 'postgresql://db/x', MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
  });

  it('reads a sqlite: DATABASE_URL', () => {
    expect(parseConfig({ DATABASE_URL: 'sqlite:/var/lib/castfolio.db', DB_TIMEOUT: '3s' }).database).toEqual({
      kind: 'sqlite',
      file: '/var/lib/castfolio.db',
      busyTimeoutMs: 3000,
    });
  });

  it('parses durations', () => {
    const config = parseConfig({ ACCESS_TOKEN_LIFETIME: '15m', REFRESH_TOKEN_LIFETIME: '7d' });
    expect(config.jwt).toMatchObject({ accessTtlSeconds: 900, refreshTtlSeconds: 604800 });
    expect(parseConfig({ ACCESS_TOKEN_LIFETIME: '90' }).jwt.accessTtlSeconds).toBe(90);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({
      PORT: '80000',
      NODE_ENV: 'staging',
      DATABASE_URL: 'mysql://x',
      LOG_LEVEL: 'loud',
      ACCESS_TOKEN_LIFETIME: '-5m',
      MIGRATE_ON_START: 'perhaps',
      JWT_SECRET: 'short',
    });
    const named = problems.map((p) => p.split(/[=\s]/)[0]);
    expect(named.sort()).toEqual(
      ['ACCESS_TOKEN_LIFETIME', 'DATABASE_URL', 'JWT_SECRET', 'LOG_LEVEL', 'MIGRATE_ON_START', 'NODE_ENV', 'PORT'].sort(),
    );
  });

  it('requires JWT_SECRET in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET is required when NODE_ENV=production']);
    expect(() => parseConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET })).not.toThrow();
  });

  it('refuses placeholder and guessable secrets, such as the ones sample deploy files ship', () => {
    for (const secret of [
      'change-me-to-48-random-bytes-base64',
      'x'.repeat(40),
      'your-jwt-secret-goes-here-0123456789',
      'replace-with-a-long-random-string-please',
      '0123456789012345678901234567890123',
      'an-example-secret-for-the-readme-only-0000',
    ]) {
      expect(problemsOf({ JWT_SECRET: secret }), secret).toEqual([expect.stringMatching(/^JWT_SECRET looks like a placeholder/)]);
    }
    expect(problemsOf({ METRICS_TOKEN: 'change-me' })).toEqual(['METRICS_TOKEN must be at least 16 characters long']);
    expect(problemsOf({ METRICS_TOKEN: 'change-me-metrics-token' })).toEqual([
      expect.stringMatching(/^METRICS_TOKEN looks like a placeholder/),
    ]);
    expect(problemsOf({ JWT_SECRET: STRONG_SECRET, METRICS_TOKEN: 'q8Zr2LmT5vXe9WcB' })).toEqual([]);
  });

  it('names what a production server refuses to start without; the CLI (migrate job) needs none of it', () => {
    const production = parseConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, TRUST_PROXY: 'true' });
    expect(serverConfigProblems(production).map((p) => p.split(/[=\s]/)[0])).toEqual(['PUBLIC_WEB_URL', 'SMTP_URL', 'TRUST_PROXY']);
    const ready = parseConfig({
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_SECRET,
      PUBLIC_WEB_URL: 'https://app.example.com',
      SMTP_URL: 'smtps://u:p@smtp.example.com:465',
      TRUST_PROXY: '1',
    });
    expect(serverConfigProblems(ready)).toEqual([]);
    // Keeping mails as files is allowed in production only when asked for by name.
    const outbox = parseConfig({
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_SECRET,
      PUBLIC_WEB_URL: 'https://app.example.com',
      MAIL_TRANSPORT: 'outbox',
    });
    expect(serverConfigProblems(outbox)).toEqual([]);
    // Development keeps its embedded defaults.
    expect(serverConfigProblems(parseConfig({ TRUST_PROXY: 'true' }))).toEqual([]);
  });

  it('reads TRUST_PROXY as off, a hop count or a list of proxy addresses', () => {
    expect(parseConfig({}).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(parseConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,loopback' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', 'loopback']);
    expect(problemsOf({ TRUST_PROXY: 'lb.internal' })).toEqual([expect.stringContaining('TRUST_PROXY entry "lb.internal"')]);
    expect(problemsOf({ TRUST_PROXY: '10.0.0.0/40' })).toHaveLength(1);
  });

  it('requires the per-account failure limit to be looser than the per-source one', () => {
    expect(problemsOf({ RATE_LIMIT_FAILED_LOGINS: '10', RATE_LIMIT_FAILED_LOGINS_PER_ACCOUNT: '10' })).toEqual([
      expect.stringContaining('RATE_LIMIT_FAILED_LOGINS_PER_ACCOUNT must be larger'),
    ]);
  });

  it('accepts Django tokens only with a real key and an end date (LEGACY_JWT_SECRET, LEGACY_JWT_UNTIL)', () => {
    const legacy = parseConfig({ LEGACY_JWT_SECRET: 'the-django-production-secret-key', LEGACY_JWT_UNTIL: '2026-12-31T00:00:00Z' }).jwt
      .legacy;
    expect(legacy).toEqual({ secret: 'the-django-production-secret-key', until: new Date('2026-12-31T00:00:00Z') });
    expect(parseConfig({}).jwt.legacy).toBeUndefined();
    const named = (env: Record<string, string>) => problemsOf(env).map((p) => p.split(/[=\s]/)[0]);
    expect(named({ LEGACY_JWT_SECRET: 'the-django-production-secret-key' })).toEqual(['LEGACY_JWT_UNTIL']);
    expect(named({ LEGACY_JWT_UNTIL: '2026-12-31' })).toEqual(['LEGACY_JWT_UNTIL']);
    expect(named({ LEGACY_JWT_SECRET: 'the-django-production-secret-key', LEGACY_JWT_UNTIL: 'next friday' })).toEqual(['LEGACY_JWT_UNTIL']);
    // The development fallback committed in the Django repository is public.
    expect(named({ LEGACY_JWT_SECRET: '7@aaku@q1$6&^xg6re*i&(_&@m69-#&^ql%sh^u9!96ljm#cq=', LEGACY_JWT_UNTIL: '2026-12-31' })).toEqual([
      'LEGACY_JWT_SECRET',
    ]);
  });

  it('generates a development secret once and keeps it under DATA_DIR', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-config-'));
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(first.jwt.secret).toBeDefined();
    expect(first.jwt.secret!.length).toBeGreaterThanOrEqual(32);
    expect(second.jwt.secret).toBe(first.jwt.secret);
    const file = path.join(dataDir, 'jwt-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.jwt.secret);
    expect(statSync(file).mode & 0o077).toBe(0);
  });
});

describe('storage and image config', () => {
  it('defaults to local storage under DATA_DIR/media with the documented image limits', () => {
    const config = parseConfig({ DATA_DIR: '/srv/castfolio' });
    expect(config.storage).toMatchObject({ driver: 'local', localRoot: '/srv/castfolio/media', mediaPrefix: 'media', s3: undefined });
    expect(config.images).toMatchObject({
      maxBytes: 10 * 1024 * 1024,
      maxPixels: 52_000_000,
      maxAvifPixels: 4096 * 4096,
      maxDimension: 2048,
    });
    expect(parseConfig({ MAX_AVIF_PIXELS: '24000000' }).images.maxAvifPixels).toBe(24_000_000);
    expect(problemsOf({ MAX_AVIF_PIXELS: 'lots' }).map((p) => p.split(/[=\s]/)[0])).toEqual(['MAX_AVIF_PIXELS']);
    expect(config.images.concurrency).toBeGreaterThan(0);
    expect(config.media.sweepGraceSeconds).toBe(3600);
  });

  it('reads a DigitalOcean Spaces configuration', () => {
    const config = parseConfig({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: 'https://fra1.digitaloceanspaces.com',
      S3_REGION: 'fra1',
      S3_BUCKET: 'gan7club-spaces',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
      MAX_IMAGE_SIZE: '5MB',
    });
    expect(config.storage.s3).toMatchObject({
      endpoint: 'https://fra1.digitaloceanspaces.com',
      region: 'fra1',
      bucket: 'gan7club-spaces',
      forcePathStyle: false,
      acl: 'public-read',
    });
    expect(config.images.maxBytes).toBe(5 * 1024 * 1024);
    expect(parseConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_ACL: 'none' }).storage.s3?.acl).toBeUndefined();
  });

  it('names the missing and malformed storage variables', () => {
    const problems = problemsOf({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: 'not a url',
      S3_ACCESS_KEY_ID: 'only-half',
      MAX_IMAGE_SIZE: 'huge',
      PUBLIC_MEDIA_BASE_URL: 'ftp://cdn',
    });
    expect(problems.map((p) => p.split(/[=\s]/)[0]).sort()).toEqual(
      ['MAX_IMAGE_SIZE', 'PUBLIC_MEDIA_BASE_URL', 'S3_ACCESS_KEY_ID', 'S3_BUCKET', 'S3_ENDPOINT'].sort(),
    );
    expect(problemsOf({ STORAGE_DRIVER: 'ftp' })[0]).toContain('STORAGE_DRIVER');
  });
});
