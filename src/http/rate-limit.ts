import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';
import { createRequire } from 'node:module';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { normaliseEmail } from '../auth/email.js';
import type { RateLimitConfig } from '../config.js';
import { ApiError, CredentialError } from '../errors.js';

/**
 * What a route declares in its `config.rateLimit`:
 * - `auth`: a sign-in, registration, code or reset endpoint, limited per client address;
 * - `credentials`: it checks a password or a code, so its failures count against the account;
 * - `upload`: a multipart request to it is an upload, limited per user.
 * Every /api/ route also counts against the general per-user (or per-address) limit.
 */
export type RateLimitClass = 'auth' | 'credentials' | 'upload';

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: RateLimitClass[];
  }
  interface FastifyRequest {
    /** Set when the request failed because a presented secret was wrong (CredentialError). */
    credentialFailed?: boolean;
  }
}

const MINUTE_S = 60;
const FAILURE_WINDOW_S = 15 * 60;

function throttled(seconds: number): ApiError {
  return new ApiError(
    429,
    { detail: `Request was throttled. Expected available in ${seconds} seconds.` },
    { 'Retry-After': String(seconds) },
  );
}

/**
 * The client's address as a limit key. IPv6 clients usually hold a whole /64, so they are counted
 * per /64: otherwise one client could walk through 2^64 addresses, each with a fresh budget.
 */
function sourceKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The account a credential check is about: the signed-in user, or the email the body names. */
function accountOf(request: FastifyRequest): string | undefined {
  if (request.user) return `user:${request.user.id}`;
  const email = (request.body as { email?: unknown } | null | undefined)?.email;
  return typeof email === 'string' && email.length <= 254 ? `email:${normaliseEmail(email)}` : undefined;
}

interface Counter {
  /** Requests (or failures) counted so far in the window, and seconds until it ends. */
  read(key: string): Promise<{ count: number; retryAfter: number }>;
  /** Adds one; returns the new count and seconds until the window ends. */
  add(key: string): Promise<{ count: number; retryAfter: number }>;
  readonly max: number;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * One policy's counters, in Redis when configured (shared by every instance), in memory otherwise.
 * The memory store drops a counter when its window ends and never earlier, so no amount of junk
 * keys can push a live counter out (a size-bounded cache would evict the oldest).
 */
function counter(name: string, max: number, windowSeconds: number, redis: Redis | undefined, prefix: string): Counter {
  const options = { keyPrefix: `${prefix}${name}`, points: max, duration: windowSeconds };
  const limiter: RateLimiterAbstract = redis ? new RateLimiterRedis({ ...options, storeClient: redis }) : new RateLimiterMemory(options);
  const state = (res: RateLimiterRes | null) => ({
    count: res?.consumedPoints ?? 0,
    retryAfter: res ? seconds(res.msBeforeNext) : windowSeconds,
  });
  return {
    max,
    read: async (key) => state(await limiter.get(key)),
    add: async (key) => {
      try {
        return state(await limiter.penalty(key, 1));
      } catch (error) {
        if (error instanceof RateLimiterRes) return state(error);
        throw error;
      }
    },
  };
}

interface Policy {
  name: string;
  counter: Counter;
  /** The counter this request adds to; undefined when the policy does not apply to it. */
  key(request: FastifyRequest): string | undefined;
  /** Only failed credential checks count (wrong password or code): successes never lock anyone out. */
  failuresOnly?: boolean;
}

/**
 * Brute-force and abuse limits. Failed credential checks are counted per account and client
 * address (a strict limit: one source gets a handful of guesses per account per window) and per
 * account from all sources together (a much looser limit no single source can reach), so an
 * attacker cannot lock the owner out from their own address. Account endpoints are limited per
 * client address, uploads per user, every API request per user (or address). One hook applies
 * the policies after authentication and body parsing; failures are counted when their response
 * is sent. A counter store that fails lets the request through: limits must not take the API down.
 */
export async function registerRateLimits(app: FastifyInstance, config: RateLimitConfig): Promise<void> {
  app.addHook('onError', (request, _reply, error, done) => {
    if (error instanceof CredentialError) request.credentialFailed = true;
    done();
  });
  if (!config.enabled) return;
  const redis = config.redisUrl
    ? new (createRequire(import.meta.url)('ioredis') as typeof IORedis).Redis(config.redisUrl, {
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
      })
    : undefined;
  if (redis) {
    redis.on('error', (error) => app.log.warn({ err: error }, 'Redis (rate limits) error'));
    app.addHook('onClose', async () => void redis.disconnect());
  }
  const make = (name: string, max: number, windowSeconds: number) => counter(name, max, windowSeconds, redis, config.redisPrefix);
  const declares = (request: FastifyRequest, kind: RateLimitClass) => request.routeOptions.config?.rateLimit?.includes(kind) === true;
  const source = (request: FastifyRequest) => sourceKey(request.ip);

  const policies: Policy[] = [
    {
      name: 'auth-ip',
      counter: make('auth-ip', config.authPerIpPerMinute, MINUTE_S),
      key: (r) => (declares(r, 'auth') ? source(r) : undefined),
    },
    {
      name: 'failures-account-source',
      counter: make('failures-account-source', config.failedCredentialsPerSource, FAILURE_WINDOW_S),
      key: (r) => {
        const account = declares(r, 'credentials') ? accountOf(r) : undefined;
        return account && `${account}|${source(r)}`;
      },
      failuresOnly: true,
    },
    {
      name: 'failures-account',
      counter: make('failures-account', config.failedCredentialsPerAccount, FAILURE_WINDOW_S),
      key: (r) => (declares(r, 'credentials') ? accountOf(r) : undefined),
      failuresOnly: true,
    },
    {
      name: 'uploads-user',
      counter: make('uploads-user', config.uploadsPerUserPerMinute, MINUTE_S),
      key: (r) => (declares(r, 'upload') && r.user && r.isMultipart() ? `user:${r.user.id}` : undefined),
    },
    {
      name: 'general',
      counter: make('general', config.generalPerMinute, MINUTE_S),
      key: (r) => (r.routeOptions.url?.startsWith('/api/') ? (r.user ? `user:${r.user.id}` : `ip:${source(r)}`) : undefined),
    },
  ];

  const storeFailed = (error: unknown) => {
    app.log.warn({ err: error }, 'rate-limit store unavailable; request let through');
    return undefined;
  };

  app.addHook('preHandler', async (request) => {
    for (const policy of policies) {
      const key = policy.key(request);
      if (key === undefined) continue;
      // Failure counters are only read here; onResponse adds the failures.
      const state = await (policy.failuresOnly ? policy.counter.read(key) : policy.counter.add(key)).catch(storeFailed);
      if (state && (policy.failuresOnly ? state.count >= policy.counter.max : state.count > policy.counter.max)) {
        request.log.info({ policy: policy.name }, 'request throttled');
        throw throttled(state.retryAfter);
      }
    }
  });

  app.addHook('onResponse', async (request) => {
    if (!request.credentialFailed) return;
    for (const policy of policies) {
      const key = policy.failuresOnly ? policy.key(request) : undefined;
      if (key !== undefined) await policy.counter.add(key).catch(storeFailed);
    }
  });
}
