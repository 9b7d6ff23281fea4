import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { RateLimitConfig } from '../config.js';
import { ApiError } from '../errors.js';
import { normaliseEmail } from '../modules/common.js';

interface Policy {
  name: string;
  max: number;
  windowMs: number;
  /** The counter this request adds to; undefined when the policy does not apply to it. */
  key: (request: FastifyRequest) => string | undefined;
  /** Count only requests that fail (wrong password, wrong code): successes never lock anyone out. */
  failuresOnly?: boolean;
}

interface LimitState {
  isAllowed: boolean;
  isExceeded?: boolean;
  remaining?: number;
  ttlInSeconds?: number;
}
type Checker = (request: FastifyRequest, options?: { increment?: boolean }) => Promise<LimitState>;

const MINUTE = 60_000;

const CREDENTIAL_ROUTES = new Set(['/api/token/', '/api/login/talent/', '/api/login/background/', '/api/verify-code/', '/api/password-reset/confirm/']);
const AUTH_ROUTES = new Set([
  ...CREDENTIAL_ROUTES,
  '/api/register/',
  '/api/token/refresh/',
  '/api/logout/',
  '/api/resend-code/',
  '/api/password-reset/',
]);
const UPLOAD_ROUTES = new Set(['/api/profile/background/', '/api/profile/talent/', '/api/profile/background/items/', '/api/profile/background/items/:item_type/:id/']);

function emailOf(request: FastifyRequest): string | undefined {
  const email = (request.body as { email?: unknown } | null | undefined)?.email;
  return typeof email === 'string' && email.length <= 254 ? normaliseEmail(email) : undefined;
}

export function throttled(seconds: number): ApiError {
  return new ApiError(429, { detail: `Request was throttled. Expected available in ${seconds} seconds.` }, { 'Retry-After': String(seconds) });
}

/**
 * Brute-force and abuse limits: account endpoints per client IP, failed credential checks per
 * email (a password or code guessed from many addresses still stops; successful sign-ins never
 * count), uploads per user, and a general per-user limit. Counters live in Redis when REDIS_URL
 * is set (shared by every instance), in memory otherwise. One hook applies every policy that
 * matches a request, after authentication and body parsing, so it can count per user and email;
 * failures are counted when their response is sent.
 */
export async function registerRateLimits(app: FastifyInstance, config: RateLimitConfig): Promise<void> {
  if (!config.enabled) return;
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  if (redis) {
    redis.on('error', (error) => app.log.warn({ err: error }, 'Redis (rate limits) error'));
    app.addHook('onClose', async () => void redis.disconnect());
  }
  // Counting must not take the API down with Redis: a store error lets the request through.
  await app.register(rateLimit, { global: false, skipOnError: true, nameSpace: config.redisPrefix, ...(redis ? { redis } : {}) });

  const clientKey = (request: FastifyRequest) => (request.user ? `user:${request.user.id}` : `ip:${request.ip}`);
  const policies: { when: (request: FastifyRequest, route: string) => boolean; policy: Policy }[] = [
    {
      when: (_r, route) => AUTH_ROUTES.has(route),
      policy: { name: 'auth-ip', max: config.authPerIpPerMinute, windowMs: MINUTE, key: (r) => `ip:${r.ip}` },
    },
    {
      when: (_r, route) => CREDENTIAL_ROUTES.has(route),
      policy: { name: 'failures-email', max: config.failedCredentialsPerEmail, windowMs: 15 * MINUTE, key: emailOf, failuresOnly: true },
    },
    {
      when: (r, route) => UPLOAD_ROUTES.has(route) && r.method !== 'GET' && r.method !== 'DELETE' && r.isMultipart(),
      policy: { name: 'uploads-user', max: config.uploadsPerUserPerMinute, windowMs: MINUTE, key: (r) => (r.user ? `user:${r.user.id}` : undefined) },
    },
    {
      when: (_r, route) => route.startsWith('/api/'),
      policy: { name: 'general', max: config.generalPerMinute, windowMs: MINUTE, key: clientKey },
    },
  ];
  const checkers = new Map<string, Checker>();
  for (const { policy } of policies) {
    checkers.set(
      policy.name,
      app.createRateLimit({
        max: policy.max,
        timeWindow: policy.windowMs,
        // One store for every policy: the policy's name keeps their counters apart.
        keyGenerator: (request: FastifyRequest) => `${policy.name}|${policy.key(request) ?? ''}`,
      }) as unknown as Checker,
    );
  }
  const applicable = (request: FastifyRequest) => {
    const route = request.routeOptions.url;
    return route ? policies.filter(({ when, policy }) => when(request, route) && policy.key(request) !== undefined).map((p) => p.policy) : [];
  };

  app.addHook('preHandler', async (request) => {
    for (const policy of applicable(request)) {
      const check = checkers.get(policy.name) as Checker;
      // Failure counters are only read here; onResponse adds the failures.
      const state = await check(request, policy.failuresOnly ? { increment: false } : undefined);
      const exceeded = policy.failuresOnly ? !state.isAllowed && (state.remaining ?? 1) <= 0 : !state.isAllowed && state.isExceeded;
      if (exceeded) {
        request.log.info({ policy: policy.name }, 'request throttled');
        throw throttled(Math.max(1, state.ttlInSeconds ?? 1));
      }
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 400 && reply.statusCode !== 401) return;
    for (const policy of applicable(request)) {
      if (policy.failuresOnly) await (checkers.get(policy.name) as Checker)(request).catch(() => undefined);
    }
  });
}
