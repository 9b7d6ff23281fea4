import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';

export type NodeEnv = 'development' | 'production' | 'test';

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string; busyTimeoutMs?: number }
  | { kind: 'postgres'; url: string; statementTimeoutMs?: number; poolSize?: number; preparedStatements?: boolean };

export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
  /** Canned ACL for new objects; undefined sends none (R2, buckets with ACLs disabled). */
  acl: string | undefined;
  /** Per-request timeout of the S3 client; a hung storage must not hang uploads. */
  requestTimeoutMs: number;
}

export interface StorageConfig {
  driver: 'local' | 's3';
  /** Folder of the local driver. */
  localRoot: string;
  /** Key prefix in the bucket and URL path prefix of the local driver ("media"). */
  mediaPrefix: string;
  publicBaseUrl: string | undefined;
  s3: S3Config | undefined;
  /** Upper bound of any one storage call, whatever the driver. */
  timeoutMs: number;
}

export interface ImageConfig {
  maxBytes: number;
  maxPixels: number;
  /** Largest AVIF (width × height, and its tiles together), whose decoder takes about 17 bytes a pixel. */
  maxAvifPixels: number;
  maxDimension: number;
  maxFrames: number;
  /** Images processed at once. */
  concurrency: number;
  /** Images allowed to wait for a slot; beyond it uploads get 503 + Retry-After. */
  queueLimit: number;
  /** Where multipart uploads are streamed before they are decoded. */
  uploadTmpDir: string;
  /** Bytes of small uploads held in memory at once instead of in temporary files (0: none). */
  uploadMemoryBytes: number;
  /** Responsive variants stored beside each picture: WebP always, AVIF too when asked (slow to encode). */
  variantFormats: readonly ('webp' | 'avif')[];
  /** How long one HEIC decode may take in its worker thread before the upload is refused. */
  heifTimeoutMs: number;
  /** How long a picture's face check may take before it is skipped (0: no face checks; variants framed by attention). */
  faceCheckTimeoutMs: number;
}

export interface VideoConfig {
  maxBytes: number;
  /** Longest accepted video. */
  maxSeconds: number;
  /** Longest side of an accepted video's picture. */
  maxDimension: number;
  /** Videos probed and remuxed at once (each is an ffmpeg process). */
  concurrency: number;
  queueLimit: number;
  ffmpegPath: string;
  ffprobePath: string;
  /** Upper bound of one ffprobe/ffmpeg run. */
  timeoutMs: number;
}

export interface MediaConfig {
  /** Unreferenced objects younger than this are left alone by the sweep (uploads in flight). */
  sweepGraceSeconds: number;
  /** How often the in-process worker retries failed deletions; 0 disables it. */
  deleteRetryIntervalSeconds: number;
}

export interface HttpTimeoutConfig {
  /** Time to receive a request's headers. */
  headersMs: number;
  /** Time to receive a whole JSON or form body. */
  bodyMs: number;
  /** Uploads (multipart) slower than this many bytes a second over `uploadRateWindowMs` are cut off. */
  uploadMinBytesPerSecond: number;
  uploadRateWindowMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: number;
}

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
    /** Tokens a Django installation issued (LEGACY_JWT_SECRET = its SECRET_KEY), honoured until `until`. */
    legacy: { secret: string; until: Date } | undefined;
  };
  /**
   * Which X-Forwarded-* entries to believe: false (none), a hop count (the last N proxies, e.g. 1
   * behind one load balancer) or a list of proxy addresses/CIDRs. `true` (every entry, spoofable by
   * any client) is refused in production.
   */
  trustProxy: boolean | number | string[];
  /** Other origins allowed to call the API from a browser (the app's own page needs none). */
  corsOrigins: string[];
  timeouts: HttpTimeoutConfig;
  /** Serve the built web front end at /. */
  serveWeb: boolean;
  /** HTTP server processes (node:cluster) sharing the port. */
  workers: number;
  storage: StorageConfig;
  images: ImageConfig;
  videos: VideoConfig;
  media: MediaConfig;
  accounts: AccountsConfig;
  mail: MailConfig;
  rateLimit: RateLimitConfig;
  metrics: MetricsConfig;
}

export interface RateLimitConfig {
  enabled: boolean;
  /** Shared counters across instances; in-memory per process without it. */
  redisUrl: string | undefined;
  /** Key prefix in Redis, so several deployments can share one Redis. */
  redisPrefix: string;
  /** Sign-in, registration, codes and resets, per client IP per minute. */
  authPerIpPerMinute: number;
  /** Failed credential checks (sign-in, codes, reset, password change, account deletion) per email and client address per 15 minutes. */
  failedCredentialsPerSource: number;
  /** Failed credential checks per email from all sources together per 15 minutes (looser: no single source reaches it). */
  failedCredentialsPerAccount: number;
  /** Multipart uploads per user per minute. */
  uploadsPerUserPerMinute: number;
  /** Every API request, per user (or IP when anonymous) per minute. */
  generalPerMinute: number;
}

export interface MetricsConfig {
  /** Bearer token /metrics requires. */
  token: string | undefined;
  /**
   * Without a token or a port: clients on this machine may read metrics (development only; in
   * production a reverse proxy on the same host would make every client look local).
   */
  allowLoopback: boolean;
  /** Serve /metrics on this internal port instead of the API's. */
  port: number | undefined;
  host: string;
}

export interface AccountsConfig {
  verificationCodeTtlSeconds: number;
  passwordResetTtlSeconds: number;
  /** /api/token/refresh/ returns a new refresh token and revokes the one it was given. */
  rotateRefreshTokens: boolean;
  /** Imported Django (PBKDF2) password checks running at once; the rest wait. */
  legacyPasswordConcurrency: number;
  /**
   * Base of links in mails (the web page). Never taken from a request: unset, the server's own
   * address is used (development only; production refuses to start without it).
   */
  publicWebUrl: string | undefined;
}

export interface MailConfig {
  appName: string;
  from: string;
  /** smtp(s)://user:pass@host:port; unset: mails go to DATA_DIR/outbox/ as .eml files. */
  smtpUrl: string | undefined;
  outboxDir: string;
  /** .eml files in the outbox folder older than this are removed. */
  outboxRetentionSeconds: number;
  /** MAIL_TRANSPORT=outbox was set: the folder is wanted even in production. */
  outboxChosen: boolean;
  /** Seconds between passes of the outbox worker. */
  intervalSeconds: number;
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

/** Seconds in "90", "90s", "60m", "12h" or "7d"; undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

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

  /** "10485760", "512KB", "10MB", "10MiB" (KB/MB are binary, as the 10 MB upload limit always was). */
  bytes(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const match = /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(value);
    const unit = (match?.[2] ?? 'b').toLowerCase().replace('i', '');
    const multiplier = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit] ?? 1;
    const bytes = match ? Number(match[1]) * multiplier : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max) {
      this.problems.push(`${name}="${value}" must be a size from ${min} to ${max} bytes, e.g. 10MB`);
      return fallback;
    }
    return bytes;
  }

  url(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value.replace(/\/+$/, '');
    } catch {
      // reported below
    }
    this.problems.push(`${name}="${value}" must be an http(s) URL`);
    return undefined;
  }

  /** "90" (seconds), "90s", "60m", "12h", "7d". */
  duration(name: string, fallbackSeconds: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallbackSeconds;
    const seconds = parseDuration(value);
    if (seconds === undefined || seconds <= 0) {
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
  reader.problems.push('DATABASE_URL must be sqlite:<file> or postgres://user:password@host:port/database');
  return { kind: 'sqlite', file: path.join(dataDir, 'castfolio.db') };
}

function parseStorage(reader: EnvReader, dataDir: string): StorageConfig {
  const driver = reader.oneOf('STORAGE_DRIVER', ['local', 's3'] as const, 'local');
  const mediaPrefix = reader.string('MEDIA_PREFIX', 'media').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9._-]*(\/[A-Za-z0-9._-]+)*$/.test(mediaPrefix)) {
    reader.problems.push(`MEDIA_PREFIX="${mediaPrefix}" may hold only letters, digits, ".", "_", "-" and "/"`);
  }
  let s3: S3Config | undefined;
  if (driver === 's3') {
    const bucket = reader.raw('S3_BUCKET');
    if (!bucket) reader.problems.push('S3_BUCKET is required when STORAGE_DRIVER=s3');
    const acl = reader.string('S3_ACL', 'public-read');
    s3 = {
      endpoint: reader.url('S3_ENDPOINT'),
      region: reader.string('S3_REGION', 'us-east-1'),
      bucket: bucket ?? '',
      accessKeyId: reader.raw('S3_ACCESS_KEY_ID'),
      secretAccessKey: reader.raw('S3_SECRET_ACCESS_KEY'),
      forcePathStyle: reader.boolean('S3_FORCE_PATH_STYLE', false),
      acl: acl === 'none' ? undefined : acl,
      requestTimeoutMs: reader.duration('S3_REQUEST_TIMEOUT', 30) * 1000,
    };
    if (Boolean(s3.accessKeyId) !== Boolean(s3.secretAccessKey)) {
      reader.problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together');
    }
  }
  return {
    driver,
    localRoot: reader.string('MEDIA_ROOT', path.join(dataDir, 'media')),
    mediaPrefix,
    publicBaseUrl: reader.url('PUBLIC_MEDIA_BASE_URL'),
    s3,
    timeoutMs: reader.duration('STORAGE_TIMEOUT', 30) * 1000,
  };
}

function parseOrigins(reader: EnvReader): string[] {
  const value = reader.raw('CORS_ORIGINS');
  if (value === undefined) return [];
  const origins = value
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === '*') continue;
    try {
      const url = new URL(origin);
      if (url.origin !== origin) throw new Error('not an origin');
    } catch {
      reader.problems.push(`CORS_ORIGINS entry "${origin}" must be an origin like https://app.example.com, or *`);
    }
  }
  return origins;
}

function parseRedisUrl(reader: EnvReader): string | undefined {
  const value = reader.raw('REDIS_URL');
  if (value !== undefined && !/^rediss?:\/\//.test(value)) {
    reader.problems.push('REDIS_URL must look like redis://host:6379 or rediss://user:password@host:6380/0');
    return undefined;
  }
  return value;
}

function parseMail(reader: EnvReader, dataDir: string): MailConfig {
  const appName = reader.string('APP_NAME', 'castfolio');
  const smtpUrl = reader.raw('SMTP_URL');
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl)) {
    reader.problems.push('SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465');
  }
  const transport = reader.oneOf('MAIL_TRANSPORT', ['smtp', 'outbox'] as const, smtpUrl === undefined ? 'outbox' : 'smtp');
  if (transport === 'smtp' && smtpUrl === undefined) reader.problems.push('MAIL_TRANSPORT=smtp needs SMTP_URL');
  const outboxChosen = reader.raw('MAIL_TRANSPORT') === 'outbox';
  return {
    appName,
    from: reader.string('MAIL_FROM', `"${appName}" <no-reply@localhost>`),
    smtpUrl: transport === 'smtp' ? smtpUrl : undefined,
    outboxChosen,
    outboxDir: path.join(dataDir, 'outbox'),
    outboxRetentionSeconds: reader.duration('OUTBOX_RETENTION', 7 * 86400),
    intervalSeconds: reader.integer('OUTBOX_INTERVAL', 5, 1, 3600),
  };
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function parseTrustProxy(reader: EnvReader): boolean | number | string[] {
  const value = reader.raw('TRUST_PROXY');
  if (value === undefined || /^false$/i.test(value) || value === '0') return false;
  if (/^true$/i.test(value)) return true;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!PROXY_NAMES.includes(entry) && (family === 0 || !bitsOk)) {
      reader.problems.push(
        `TRUST_PROXY entry "${entry}" must be a hop count, an IP address, a CIDR range (10.0.0.0/8) or one of ${PROXY_NAMES.join(', ')}`,
      );
    }
  }
  return entries;
}

// Values that sample files and tutorials ship: a deployment that kept one is open to forged tokens.
const PLACEHOLDER_SECRET =
  /change[-_ ]?me|changeit|replace[-_ ]?(me|this|with)|your[-_ ]?(own[-_ ]?)?(jwt[-_ ]?)?secret|placeholder|example|secret[-_ ]?key|^(0123456789|abcdef|1234567890|qwerty|password|secret)/i;

/** A secret from the environment: long enough, and not a placeholder copied from a sample. */
function secretProblem(name: string, value: string, minLength: number): string | undefined {
  if (value.length < minLength) return `${name} must be at least ${minLength} characters long`;
  if (PLACEHOLDER_SECRET.test(value) || new Set(value).size < 8) {
    return `${name} looks like a placeholder or a guessable value; generate one, e.g. openssl rand -base64 48`;
  }
  return undefined;
}

/** Pure: environment in, typed config out; throws ConfigError naming every bad variable. */
export function parseConfig(env: Env): Config {
  const reader = new EnvReader(env);
  const nodeEnv = reader.oneOf<NodeEnv>('NODE_ENV', ['development', 'production', 'test'], 'development');
  const dataDir = reader.string('DATA_DIR', './data');
  const parsedDatabase = parseDatabaseUrl(reader, dataDir);
  const dbTimeoutMs = reader.duration('DB_TIMEOUT', 10) * 1000;
  const database: DatabaseConfig =
    parsedDatabase.kind === 'sqlite'
      ? { ...parsedDatabase, busyTimeoutMs: dbTimeoutMs }
      : {
          ...parsedDatabase,
          statementTimeoutMs: dbTimeoutMs,
          poolSize: reader.integer('DB_POOL_SIZE', 10, 1, 1000),
          preparedStatements: reader.boolean('DB_PREPARED_STATEMENTS', true),
        };

  const secret = reader.raw('JWT_SECRET');
  const secretIssue = secret === undefined ? undefined : secretProblem('JWT_SECRET', secret, 32);
  if (secretIssue) reader.problems.push(secretIssue);
  if (secret === undefined && nodeEnv === 'production') {
    reader.problems.push('JWT_SECRET is required when NODE_ENV=production');
  }
  const metricsToken = reader.raw('METRICS_TOKEN');
  const metricsTokenIssue = metricsToken === undefined ? undefined : secretProblem('METRICS_TOKEN', metricsToken, 16);
  if (metricsTokenIssue) reader.problems.push(metricsTokenIssue);
  const host = reader.string('HOST', '127.0.0.1');
  const port = reader.integer('PORT', 8000, 0, 65535);
  const publicWebUrl = reader.url('PUBLIC_WEB_URL');

  const config: Config = {
    env: nodeEnv,
    host,
    port,
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    dataDir,
    database,
    migrateOnStart: reader.boolean('MIGRATE_ON_START', database.kind === 'sqlite'),
    jwt: {
      secret,
      accessTtlSeconds: reader.duration('ACCESS_TOKEN_LIFETIME', 60 * 60),
      refreshTtlSeconds: reader.duration('REFRESH_TOKEN_LIFETIME', 24 * 60 * 60),
      legacy: parseLegacyJwt(reader),
    },
    trustProxy: parseTrustProxy(reader),
    corsOrigins: parseOrigins(reader),
    timeouts: {
      headersMs: reader.duration('HEADERS_TIMEOUT', 15) * 1000,
      bodyMs: reader.duration('BODY_TIMEOUT', 15) * 1000,
      uploadMinBytesPerSecond: reader.bytes('UPLOAD_MIN_RATE', 2048, 1, 1024 ** 3),
      uploadRateWindowMs: reader.duration('UPLOAD_RATE_WINDOW', 20) * 1000,
      keepAliveMs: reader.duration('KEEP_ALIVE_TIMEOUT', 5) * 1000,
    },
    serveWeb: reader.boolean('SERVE_WEB', true),
    workers: reader.integer('WEB_CONCURRENCY', nodeEnv === 'production' ? availableParallelism() : 1, 1, 256),
    storage: parseStorage(reader, dataDir),
    images: {
      maxBytes: reader.bytes('MAX_IMAGE_SIZE', 10 * 1024 * 1024, 1024, 1024 ** 3),
      // 48 and 50 MP phone cameras' full-resolution photos (up to 8192 × 6144, 50.3 MP) are in.
      maxPixels: reader.integer('MAX_IMAGE_PIXELS', 52_000_000, 1, 1_000_000_000),
      // 4096 × 4096: libaom, which decodes AVIF in sharp's libvips, takes about 17 bytes a pixel.
      maxAvifPixels: reader.integer('MAX_AVIF_PIXELS', 4096 * 4096, 1, 1_000_000_000),
      maxDimension: reader.integer('MAX_IMAGE_DIMENSION', 2048, 16, 16384),
      maxFrames: reader.integer('MAX_IMAGE_FRAMES', 1000, 1, 100_000),
      concurrency: reader.integer('IMAGE_CONCURRENCY', availableParallelism(), 1, 256),
      queueLimit: reader.integer('IMAGE_QUEUE_LIMIT', 64, 0, 100_000),
      uploadTmpDir: reader.string('UPLOAD_TMP_DIR', path.join(tmpdir(), 'castfolio-uploads')),
      uploadMemoryBytes: reader.bytes('UPLOAD_MEMORY_BUDGET', 32 * 1024 * 1024, 0, 1024 ** 3),
      variantFormats: reader.boolean('IMAGE_VARIANTS_AVIF', false) ? ['webp', 'avif'] : ['webp'],
      heifTimeoutMs: reader.duration('HEIF_DECODE_TIMEOUT', 30) * 1000,
      faceCheckTimeoutMs: reader.boolean('FACE_CHECK', true) ? reader.duration('FACE_CHECK_TIMEOUT', 2) * 1000 : 0,
    },
    videos: {
      maxBytes: reader.bytes('MAX_VIDEO_SIZE', 100 * 1024 * 1024, 1024, 10 * 1024 ** 3),
      maxSeconds: reader.integer('MAX_VIDEO_DURATION', 600, 1, 86_400),
      maxDimension: reader.integer('MAX_VIDEO_DIMENSION', 4096, 16, 16384),
      concurrency: reader.integer('VIDEO_CONCURRENCY', 1, 1, 64),
      queueLimit: reader.integer('VIDEO_QUEUE_LIMIT', 8, 0, 10_000),
      ffmpegPath: reader.string('FFMPEG_PATH', 'ffmpeg'),
      ffprobePath: reader.string('FFPROBE_PATH', 'ffprobe'),
      timeoutMs: reader.duration('VIDEO_PROCESS_TIMEOUT', 120) * 1000,
    },
    accounts: {
      verificationCodeTtlSeconds: reader.duration('VERIFICATION_CODE_TTL', 24 * 3600),
      passwordResetTtlSeconds: reader.duration('PASSWORD_RESET_TTL', 3600),
      rotateRefreshTokens: reader.boolean('REFRESH_TOKEN_ROTATION', false),
      legacyPasswordConcurrency: reader.integer('LEGACY_PASSWORD_CONCURRENCY', 2, 1, 64),
      publicWebUrl,
    },
    mail: parseMail(reader, dataDir),
    rateLimit: {
      enabled: reader.boolean('RATE_LIMIT', true),
      redisUrl: parseRedisUrl(reader),
      redisPrefix: reader.string('RATE_LIMIT_REDIS_PREFIX', 'castfolio-rl:'),
      authPerIpPerMinute: reader.integer('RATE_LIMIT_AUTH_PER_IP', 300, 1, 1_000_000),
      failedCredentialsPerSource: reader.integer('RATE_LIMIT_FAILED_LOGINS', 10, 1, 1_000_000),
      failedCredentialsPerAccount: reader.integer('RATE_LIMIT_FAILED_LOGINS_PER_ACCOUNT', 100, 1, 1_000_000),
      uploadsPerUserPerMinute: reader.integer('RATE_LIMIT_UPLOADS', 60, 1, 1_000_000),
      generalPerMinute: reader.integer('RATE_LIMIT_GENERAL', 1200, 1, 10_000_000),
    },
    metrics: {
      token: metricsToken,
      allowLoopback: nodeEnv !== 'production',
      port: reader.raw('METRICS_PORT') === undefined ? undefined : reader.integer('METRICS_PORT', 9100, 1, 65535),
      host: reader.string('METRICS_HOST', '127.0.0.1'),
    },
    media: {
      sweepGraceSeconds: reader.duration('MEDIA_SWEEP_GRACE', 3600),
      deleteRetryIntervalSeconds: reader.integer('DELETE_RETRY_INTERVAL', 30, 0, 86_400),
    },
  };
  if (config.rateLimit.failedCredentialsPerAccount <= config.rateLimit.failedCredentialsPerSource) {
    reader.problems.push(
      'RATE_LIMIT_FAILED_LOGINS_PER_ACCOUNT must be larger than RATE_LIMIT_FAILED_LOGINS, so that no single client address can lock an account',
    );
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return config;
}

/**
 * What a production server refuses to start without (the CLI, e.g. the migrate job, needs none of
 * it): each of these defaults is fine on a developer's machine and unsafe facing the Internet.
 */
export function serverConfigProblems(config: Config): string[] {
  if (config.env !== 'production') return [];
  const problems: string[] = [];
  // Links in mails must never be built from a request's Host: production names its address.
  if (!config.accounts.publicWebUrl) {
    problems.push(
      'PUBLIC_WEB_URL is required when NODE_ENV=production: the address of the web page that links in mails (password reset) open',
    );
  }
  // Reset and verification codes would sit in files on the server instead of reaching the user.
  if (!config.mail.smtpUrl && !config.mail.outboxChosen) {
    problems.push(
      'SMTP_URL is required when NODE_ENV=production (or set MAIL_TRANSPORT=outbox to keep mails as files in DATA_DIR/outbox on purpose)',
    );
  }
  if (config.trustProxy === true) {
    problems.push(
      'TRUST_PROXY=true believes any X-Forwarded-For a client sends (every per-IP limit can be escaped); set the number of proxies in front of the app (1 behind one load balancer, as on App Platform) or their addresses',
    );
  }
  return problems;
}

/**
 * Development convenience: without JWT_SECRET a random secret is generated once and kept
 * in DATA_DIR, so tokens survive restarts. parseConfig already refused this in production.
 */
/** The JWT secret, which resolveJwtSecret() settles before anything signs or checks a token. */
export function requireJwtSecret(config: Config): string {
  if (!config.jwt.secret) throw new Error('config.jwt.secret is missing: call resolveJwtSecret() first');
  return config.jwt.secret;
}

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

/** The development SECRET_KEY committed in the Django source repository: public, so never a key. */
const PUBLIC_DJANGO_KEY = '7@aaku@q1$6&^xg6re*i&(_&@m69-#&^ql%sh^u9!96ljm#cq=';

/** LEGACY_JWT_SECRET and LEGACY_JWT_UNTIL: both or neither, a real key, a real date. */
function parseLegacyJwt(reader: EnvReader): { secret: string; until: Date } | undefined {
  const secret = reader.raw('LEGACY_JWT_SECRET');
  const untilText = reader.raw('LEGACY_JWT_UNTIL');
  if (secret === undefined) {
    if (untilText !== undefined) reader.problems.push('LEGACY_JWT_UNTIL is set without LEGACY_JWT_SECRET');
    return undefined;
  }
  if (secret === PUBLIC_DJANGO_KEY) {
    reader.problems.push('LEGACY_JWT_SECRET is the public development key of the Django repository; set the production SECRET_KEY');
  }
  if (untilText === undefined) {
    reader.problems.push(
      'LEGACY_JWT_UNTIL is required with LEGACY_JWT_SECRET (the date Django tokens stop working, e.g. 2026-12-31T00:00:00Z)',
    );
    return undefined;
  }
  const until = new Date(untilText);
  if (!/^\d{4}-\d{2}-\d{2}/.test(untilText) || Number.isNaN(until.getTime())) {
    reader.problems.push(`LEGACY_JWT_UNTIL="${untilText}" must be an ISO-8601 date or time, e.g. 2026-12-31T00:00:00Z`);
    return undefined;
  }
  return { secret, until };
}

export function loadConfig(env: Env = process.env): Config {
  return resolveJwtSecret(parseConfig(env));
}
