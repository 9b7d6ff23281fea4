import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { createGuards } from './auth/guard.js';
import type { BackgroundWork } from './background.js';
import { requireJwtSecret, type Config } from './config.js';
import type { DatabaseHandle } from './db/index.js';
import { migrateToLatest } from './db/migrate.js';
import { registerBodyDeadlines } from './http/deadlines.js';
import { errorHandler } from './http/errors.js';
import { registerBodyParsers } from './http/bodies.js';
import { serveLocalMedia } from './http/media.js';
import { Metrics, registerMetricsRoute } from './http/metrics.js';
import { uploadCleanupsSettled, UploadMemory, type DeclaredFile } from './http/multipart.js';
import { registerNotFound } from './http/not-found.js';
import { registerOpenApi } from './http/openapi.js';
import { registerRateLimits } from './http/rate-limit.js';
import { registerCors, registerSecurityHeaders } from './http/security.js';
import { mediaOrigins, packageVersion, serverOptions, webUrl } from './http/server-options.js';
import { serveWeb } from './http/web.js';
import { startJobs } from './jobs.js';
import { accountRoutes } from './modules/accounts/routes.js';
import { galleryRoutes } from './modules/gallery/routes.js';
import { healthRoutes } from './modules/health/routes.js';
import { itemRoutes } from './modules/items/routes.js';
import type { MailTransport } from './modules/mail/transport.js';
import { sizeLimitMessage } from './modules/media/ingest.js';
import { paymentRoutes } from './modules/payments/routes.js';
import { profileRoutes } from './modules/profiles/routes.js';
import { socialRoutes } from './modules/social/routes.js';
import { createServices, openResources } from './services.js';
import type { Storage } from './storage/types.js';
import { validatorCompiler } from './validation.js';

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

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    background: BackgroundWork;
  }
}

/** The API: Fastify's options, then the plugins every request passes, then the routes of each module. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  requireJwtSecret(config);
  const app = Fastify(serverOptions(config, deps.logStream)).withTypeProvider<TypeBoxTypeProvider>();

  // Requests: validation, body deadlines and parsers, DRF-shaped errors, request ids, docs.
  app.setValidatorCompiler(validatorCompiler);
  registerBodyDeadlines(app, config.timeouts);
  await registerBodyParsers(app);
  app.setErrorHandler(errorHandler);
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request, reply) => void reply.header('X-Request-Id', request.id));
  registerNotFound(app);
  await registerOpenApi(app, packageVersion());

  // Services and their background jobs, closed with the app.
  const resources = openResources(config, app.log, deps);
  if (config.migrateOnStart) await migrateToLatest(resources.database.db);
  // The gauges read the services below; they are only called on a scrape.
  const metrics = new Metrics({ pendingDeletions: () => services.media.records.count(), outboxDepth: () => services.mail.pending() });
  const services = createServices(config, resources, {
    clock: deps.clock ?? (() => new Date()),
    log: app.log,
    webUrl: webUrl(app, config),
    observe: metrics.ingest,
  });
  const jobs = startJobs(services, config, app.log);
  app.addHook('onClose', async () => {
    await jobs.stop();
    await services.background.settled();
    await uploadCleanupsSettled();
    await services.mail.close();
    await resources.close();
  });
  metrics.instrument(app);
  app.decorate('metrics', metrics);
  // What requests started and did not wait for (tests wait for it before looking at storage).
  app.decorate('background', services.background);

  // Plugins: security headers, rate limits, CORS.
  registerSecurityHeaders(app, mediaOrigins(services.storage));
  await registerRateLimits(app, config.rateLimit);
  await registerCors(app, config.corsOrigins);

  // Routes.
  const guards = createGuards(services.accounts);
  const publicUrl = (name: string, origin: string) => services.storage.publicUrl(name, origin);
  // A picture's face check (and a HEIC's decoder) get ready as the picture's file starts to arrive.
  const pictureArriving = (declared: DeclaredFile) => services.media.ingest.pictureArriving(declared);
  const picture = {
    maxBytes: config.images.maxBytes,
    tooLargeMessage: sizeLimitMessage(config.images.maxBytes),
    arriving: pictureArriving,
  };
  const assertUploadCapacity = () => services.media.ingest.assertCapacity();
  // Where uploads wait while they are checked: small ones in memory (within the budget), others in files.
  const spool = { tmpDir: config.images.uploadTmpDir, memory: new UploadMemory(config.images.uploadMemoryBytes) };
  // The live service's limits (MAX_VIDEO_SIZE: 100 MB); pictures follow MAX_IMAGE_SIZE.
  const fileLimits = {
    image_max_mb: Math.floor(config.images.maxBytes / (1024 * 1024)),
    video_max_mb: Math.floor(config.videos.maxBytes / (1024 * 1024)),
  };
  // A gallery file is a photo or a video: the stream is cut at the larger limit, then checked by what it is.
  const galleryFile =
    config.videos.maxBytes > picture.maxBytes
      ? {
          maxBytes: config.videos.maxBytes,
          tooLargeMessage: sizeLimitMessage(config.videos.maxBytes, 'Video file'),
          arriving: pictureArriving,
        }
      : picture;

  if (config.metrics.port === undefined) registerMetricsRoute(app, metrics, config.metrics);
  await app.register(healthRoutes, {
    checks: [
      { name: 'database', check: async () => void (await sql`select 1`.execute(services.database.db)) },
      { name: 'storage', check: () => services.storage.check() },
    ],
  });
  if (config.storage.driver === 'local') await serveLocalMedia(app, config.storage.localRoot, config.storage.mediaPrefix);
  await app.register(accountRoutes, { accounts: services.accounts, lifecycle: services.lifecycle, guards, publicUrl });
  await app.register(profileRoutes, {
    profiles: services.profiles,
    guards,
    clock: services.clock,
    publicUrl,
    fileLimits,
    uploadLimits: { ...fileLimits, image_max_dimension: config.images.maxDimension },
    upload: { picture, ...spool },
    assertUploadCapacity,
  });
  await app.register(socialRoutes, { social: services.social, guards });
  await app.register(galleryRoutes, {
    gallery: services.gallery,
    guards,
    publicUrl,
    fileLimits,
    clock: services.clock,
    upload: { media: galleryFile, ...spool },
    assertUploadCapacity,
  });
  await app.register(paymentRoutes, { guards, subscriptions: services.subscriptionRecords, clock: services.clock });
  await app.register(itemRoutes, {
    items: services.items,
    guards,
    publicUrl,
    upload: {
      image: picture,
      certificate: { maxBytes: picture.maxBytes, tooLargeMessage: sizeLimitMessage(config.images.maxBytes, 'File') },
      ...spool,
    },
    assertUploadCapacity,
  });
  if (config.serveWeb) await serveWeb(app);

  return app;
}
