import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { sql } from 'kysely';
import { createGuards } from './auth/guard.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/index.js';
import { migrateToLatest } from './db/migrate.js';
import { registerBodyDeadlines } from './http/deadlines.js';
import { errorHandler, sendError } from './http/errors.js';
import { JSON_BODY_LIMIT, registerJsonParser } from './http/json.js';
import { removeStaleUploads, uploadCleanupsSettled } from './http/multipart.js';
import { registerNotFound } from './http/not-found.js';
import { serveWeb } from './http/web.js';
import { Metrics, registerMetricsRoute } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { registerRateLimits } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security.js';
import { UserRepository } from './modules/accounts/repository.js';
import { accountRoutes } from './modules/accounts/routes.js';
import { AccountService } from './modules/accounts/service.js';
import { healthRoutes } from './modules/health/routes.js';
import { ProfileRepository } from './modules/profiles/repository.js';
import { profileRoutes } from './modules/profiles/routes.js';
import { ProfileService } from './modules/profiles/service.js';
import { ItemRepository } from './modules/items/repository.js';
import { AccountLifecycle } from './modules/accounts/lifecycle.js';
import { RevocationRepository } from './modules/accounts/revocations.js';
import { MailService } from './modules/mail/service.js';
import { outboxFolderTransport, smtpTransport, type MailTransport } from './modules/mail/transport.js';
import { itemRoutes } from './modules/items/routes.js';
import { SocialLinksRepository } from './modules/social/repository.js';
import { socialRoutes } from './modules/social/routes.js';
import { paymentRoutes } from './modules/payments/routes.js';
import { SocialLinksService } from './modules/social/service.js';
import { ItemService } from './modules/items/service.js';
import { SubscriptionRepository } from './modules/subscriptions/repository.js';
import { validatorCompiler } from './validation.js';
import { WorkLimiter } from './images/limiter.js';
import { serveLocalMedia } from './http/media.js';
import { MediaRepository } from './modules/media/repository.js';
import { MediaService, sizeLimitMessage } from './modules/media/service.js';
import { createStorage, type Storage } from './storage/index.js';
import { MEDIA_FOLDERS } from './storage/names.js';
import { TimeoutStorage } from './storage/timeout.js';

export interface AppDeps {
  /** A database the caller owns (tests, CLI); otherwise one is opened from config and closed with the app. */
  database?: DatabaseHandle;
  /** A storage the caller owns (tests wrap the real driver to inject faults); otherwise built from config. */
  storage?: Storage;
  /** Where mails go instead of SMTP_URL / the outbox folder. */
  mailTransport?: MailTransport;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: NodeJS.WritableStream;
  clock?: () => Date;
}

function loggerOptions(config: Config, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  if (stream) return { level: config.logLevel, stream };
  const pretty = process.stdout.isTTY && config.env !== 'production';
  return {
    level: config.logLevel,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

/** An incoming request id, kept only from a trusted proxy and only when it is short and plain. */
function requestId(header: string | string[] | undefined, trusted: boolean): string {
  return trusted && typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID();
}

/** Where pictures are loaded from when not from this server (a CDN, a bucket): the page's CSP allows it. */
function mediaOrigins(storage: Storage): string[] {
  const sample = storage.publicUrl(`${MEDIA_FOLDERS.profilePictures}/0_${'a'.repeat(22)}.jpg`, 'http://this-server.invalid');
  const origin = new URL(sample).origin;
  return origin === 'http://this-server.invalid' ? [] : [origin];
}

/**
 * Fastify refuses to honour a bare hop count (it cannot tell the proxy from a client), so the
 * count becomes a function: the last `hops` addresses (the socket's peer first) are proxies and
 * the next one to the left is the client. Right only when the app can be reached through those
 * proxies alone, as on App Platform; otherwise list the proxies' addresses.
 */
function trustProxyOption(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/** A socket with no traffic either way for this long is closed (a client that stopped reading). */
const IDLE_SOCKET_MS = 120_000;

/**
 * Base of links in mails: PUBLIC_WEB_URL, or in development this server's own address as it
 * listens. Never the request's Host or X-Forwarded-Host, which a client chooses.
 */
function webUrl(app: FastifyInstance, config: Config): () => string {
  return () => {
    if (config.accounts.publicWebUrl) return config.accounts.publicWebUrl;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    return `http://${host}:${port}`;
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  if (!config.jwt.secret) throw new Error('config.jwt.secret is missing: call resolveJwtSecret() first');
  const clock = deps.clock ?? (() => new Date());

  const app = Fastify({
    logger: loggerOptions(config, deps.logStream),
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: JSON_BODY_LIMIT,
    // Slow clients (slowloris): headers must arrive in time, idle keep-alive connections close,
    // and Node looks at its timers every second instead of every 30 (request bodies: deadlines.ts).
    http: { headersTimeout: config.timeouts.headersMs, connectionsCheckingInterval: 1000 },
    keepAliveTimeout: config.timeouts.keepAliveMs,
    connectionTimeout: IDLE_SOCKET_MS,
    // A URL the router cannot decode (/%zz) gets DRF's shape like every other 400.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, 400, { detail: error.code === 'FST_ERR_BAD_URL' ? 'Malformed URL: invalid percent-encoding.' : error.message });
    },
    // Every log line of a request carries its id; a load balancer's X-Request-Id is kept when trusted.
    requestIdHeader: false,
    genReqId: (raw) => requestId(raw.headers['x-request-id'], config.trustProxy !== false),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerBodyDeadlines(app, config.timeouts);
  registerJsonParser(app);
  app.setErrorHandler(errorHandler);
  app.decorateRequest('user', null);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  registerNotFound(app);
  await registerOpenApi(app, packageVersion());

  const database = deps.database ?? createDatabase(config.database, app.log);
  if (!deps.database) app.addHook('onClose', () => database.destroy());
  if (config.migrateOnStart) await migrateToLatest(database.db);
  const { db } = database;
  const storage = new TimeoutStorage(deps.storage ?? createStorage(config.storage), config.storage.timeoutMs);
  if (!deps.storage) app.addHook('onClose', () => storage.close());

  const users = new UserRepository(db);
  const subscriptions = new SubscriptionRepository(db);
  const tokens = new TokenService(
    config.jwt.secret,
    { access: config.jwt.accessTtlSeconds, refresh: config.jwt.refreshTtlSeconds },
    clock,
  );
  const mediaRepository = new MediaRepository(db);
  // The outbox gauge reads the mail service, created below; it is only called on a scrape.
  const metrics = new Metrics({ pendingDeletions: () => mediaRepository.count(), outboxDepth: () => mail.pending() });
  const media = new MediaService({
    storage,
    repository: mediaRepository,
    limiter: new WorkLimiter(config.images.concurrency, config.images.queueLimit),
    images: config.images,
    clock,
    log: app.log,
    folders: Object.values(MEDIA_FOLDERS),
    observe: {
      uploaded: (bytes) => metrics.uploadBytes.inc(bytes),
      image: (format, outcome, seconds) => metrics.imageSeconds.observe({ format, outcome }, seconds),
    },
  });
  media.startWorker(config.media.deleteRetryIntervalSeconds);
  // Uploads are seconds long; an hour-old upload file belongs to a process that died.
  removeStaleUploads(config.images.uploadTmpDir, 60 * 60 * 1000).catch((error: unknown) =>
    app.log.warn({ err: error }, 'could not clean stale upload files'),
  );
  app.addHook('onClose', () => media.stopWorker());
  app.addHook('onClose', () => uploadCleanupsSettled());
  const mail = new MailService({
    db,
    transport: deps.mailTransport ?? (config.mail.smtpUrl ? smtpTransport(config.mail.smtpUrl) : outboxFolderTransport(config.mail.outboxDir, app.log)),
    from: config.mail.from,
    clock,
    log: app.log,
    retentionMs: config.mail.outboxRetentionSeconds * 1000,
  });
  mail.startWorker(config.mail.intervalSeconds);
  app.addHook('onClose', () => mail.stop());
  const revocations = new RevocationRepository(db);
  // Revocations only matter until the tokens they name expire anyway.
  const pruning = setInterval(() => {
    revocations.prune(clock().toISOString()).catch((error: unknown) => app.log.warn({ err: error }, 'pruning token revocations failed'));
  }, 60 * 60 * 1000);
  pruning.unref();
  app.addHook('onClose', async () => clearInterval(pruning));
  const lifecycle = new AccountLifecycle({
    db,
    users,
    mail,
    config: config.accounts,
    webUrl: webUrl(app, config),
    appName: config.mail.appName,
    secret: config.jwt.secret,
    clock,
  });
  const accounts = new AccountService({
    users,
    tokens,
    clock,
    media,
    revocations,
    rotateRefreshTokens: config.accounts.rotateRefreshTokens,
    refreshTtlSeconds: config.jwt.refreshTtlSeconds,
    onRegistered: (user) => lifecycle.sendFirstCode(user),
    onDeleted: (email) => mail.forget(email),
  });
  const guards = createGuards(accounts);
  const publicUrl = (name: string, origin: string) => storage.publicUrl(name, origin);
  const items = new ItemService({ items: new ItemRepository(db, database.dialect), subscriptions, media, clock, publicUrl });
  const profiles = new ProfileService({
    profiles: new ProfileRepository(db, database.dialect),
    subscriptions,
    media,
    clock,
    publicUrl,
    users,
    // The live service's limits (MAX_VIDEO_SIZE: 100 MB); pictures follow MAX_IMAGE_SIZE.
    fileLimits: { image_max_mb: Math.floor(config.images.maxBytes / (1024 * 1024)), video_max_mb: 100 },
  });
  const social = new SocialLinksService({ links: new SocialLinksRepository(db), clock });
  metrics.instrument(app);
  app.decorate('metrics', metrics);

  registerSecurityHeaders(app, mediaOrigins(storage));
  await registerRateLimits(app, config.rateLimit);

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'is-background', 'is-talent'],
      maxAge: 600,
    });
  }
  // Bodies are JSON, forms or multipart, as in DRF: anything else (text/plain too) is a 415.
  app.removeContentTypeParser('text/plain');
  await app.register(formbody, { bodyLimit: JSON_BODY_LIMIT });
  await app.register(multipart, {
    limits: { fieldNameSize: 100, fieldSize: 64 * 1024, fields: 50, files: 1, parts: 60, headerPairs: 100 },
    throwFileSizeLimit: true,
  });

  if (config.metrics.port === undefined) registerMetricsRoute(app, metrics, config.metrics);
  await app.register(healthRoutes, {
    checks: [
      { name: 'database', check: async () => void (await sql`select 1`.execute(db)) },
      { name: 'storage', check: () => storage.check() },
    ],
  });
  if (config.storage.driver === 'local') await serveLocalMedia(app, config.storage.localRoot, config.storage.mediaPrefix);
  await app.register(accountRoutes, { accounts, lifecycle, guards, pictureUrl: publicUrl });
  const pictureLimit = { maxBytes: config.images.maxBytes, tooLargeMessage: sizeLimitMessage(config.images.maxBytes) };
  await app.register(profileRoutes, {
    profiles,
    guards,
    upload: { picture: pictureLimit, tmpDir: config.images.uploadTmpDir },
    assertUploadCapacity: () => media.assertCapacity(),
  });
  await app.register(socialRoutes, { social, guards });
  await app.register(paymentRoutes, { guards, subscriptions, clock });
  await app.register(itemRoutes, {
    items,
    guards,
    upload: {
      image: pictureLimit,
      certificate: { ...pictureLimit, tooLargeMessage: pictureLimit.tooLargeMessage.replace('Image file', 'File') },
      tmpDir: config.images.uploadTmpDir,
    },
    assertUploadCapacity: () => media.assertCapacity(),
  });

  if (config.serveWeb) await serveWeb(app);

  return app;
}
