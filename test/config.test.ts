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
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://app:pw@db:5432/castfolio' });
    expect(config.migrateOnStart).toBe(false);
    expect(parseConfig({ DATABASE_URL: 'postgresql://db/x', MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
  });

  it('reads a sqlite: DATABASE_URL', () => {
    expect(parseConfig({ DATABASE_URL: 'sqlite:/var/lib/castfolio.db' }).database).toEqual({
      kind: 'sqlite',
      file: '/var/lib/castfolio.db',
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
