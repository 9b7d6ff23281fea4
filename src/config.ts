import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type NodeEnv = 'development' | 'production' | 'test';

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string };

export interface Config {
  env: NodeEnv;
  host: string;
  port: number;
  logLevel: string;
  dataDir: string;
  database: DatabaseConfig;
  migrateOnStart: boolean;
  jwt: {
    /** Undefined only before resolveJwtSecret() ran; buildApp refuses to start without it. */
    secret: string | undefined;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  /** Passed to Fastify's trustProxy: false, true, a hop count or a list of addresses. */
  trustProxy: boolean | number | string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Collects every problem instead of stopping at the first, so one start-up names all bad variables. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}="${value}" must be one of: ${allowed.join(', ')}`);
    return fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name}="${value}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name}="${value}" must be true or false`);
    return fallback;
  }

  /** "90" (seconds), "90s", "60m", "12h", "7d". */
  duration(name: string, fallbackSeconds: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallbackSeconds;
    const match = /^(\d+)([smhd]?)$/.exec(value);
    const seconds = match ? Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1) : 0;
    if (!match || seconds <= 0 || !Number.isSafeInteger(seconds)) {
      this.problems.push(`${name}="${value}" must be a positive duration such as 3600, 90s, 60m, 12h or 7d`);
      return fallbackSeconds;
    }
    return seconds;
  }
}

function parseDatabaseUrl(reader: EnvReader, dataDir: string): DatabaseConfig {
  const value = reader.raw('DATABASE_URL');
  if (value === undefined) return { kind: 'sqlite', file: path.join(dataDir, 'castfolio.db') };
  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') {
      reader.problems.push('DATABASE_URL="sqlite:" must name a file, e.g. sqlite:./data/castfolio.db');
      return { kind: 'sqlite', file: path.join(dataDir, 'castfolio.db') };
    }
    return { kind: 'sqlite', file };
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
      return { kind: 'postgres', url: value };
    } catch {
      // fall through to the problem below
    }
  }
  reader.problems.push(
    'DATABASE_URL must be sqlite:<file> or postgres://user:password@host:port/database',
  );
  return { kind: 'sqlite', file: path.join(dataDir, 'castfolio.db') };
}

function parseTrustProxy(reader: EnvReader): boolean | number | string {
  const value = reader.raw('TRUST_PROXY');
  if (value === undefined) return false;
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/** Pure: environment in, typed config out; throws ConfigError naming every bad variable. */
export function parseConfig(env: Env): Config {
  const reader = new EnvReader(env);
  const nodeEnv = reader.oneOf<NodeEnv>('NODE_ENV', ['development', 'production', 'test'], 'development');
  const dataDir = reader.string('DATA_DIR', './data');
  const database = parseDatabaseUrl(reader, dataDir);

  const secret = reader.raw('JWT_SECRET');
  if (secret !== undefined && secret.length < 32) {
    reader.problems.push('JWT_SECRET must be at least 32 characters long');
  }
  if (secret === undefined && nodeEnv === 'production') {
    reader.problems.push('JWT_SECRET is required when NODE_ENV=production');
  }

  const config: Config = {
    env: nodeEnv,
    host: reader.string('HOST', '127.0.0.1'),
    port: reader.integer('PORT', 8000, 0, 65535),
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    dataDir,
    database,
    migrateOnStart: reader.boolean('MIGRATE_ON_START', database.kind === 'sqlite'),
    jwt: {
      secret,
      accessTtlSeconds: reader.duration('ACCESS_TOKEN_LIFETIME', 60 * 60),
      refreshTtlSeconds: reader.duration('REFRESH_TOKEN_LIFETIME', 24 * 60 * 60),
    },
    trustProxy: parseTrustProxy(reader),
  };
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return config;
}

/**
 * Development convenience: without JWT_SECRET a random secret is generated once and kept
 * in DATA_DIR, so tokens survive restarts. parseConfig already refused this in production.
 */
export function resolveJwtSecret(config: Config): Config {
  if (config.jwt.secret !== undefined) return config;
  const file = path.join(config.dataDir, 'jwt-secret');
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 32) throw new ConfigError([`${file} holds a JWT secret shorter than 32 characters; delete it or set JWT_SECRET`]);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    secret = randomBytes(48).toString('base64url');
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { ...config, jwt: { ...config.jwt, secret } };
}

export function loadConfig(env: Env = process.env): Config {
  return resolveJwtSecret(parseConfig(env));
}
