import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../src/config.js';

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
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://app:pw@db:5432/castfolio', statementTimeoutMs: 10_000, poolSize: 10, preparedStatements: true });
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
    expect(() => parseConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).not.toThrow();
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
    expect(config.images).toMatchObject({ maxBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, maxDimension: 2048 });
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
