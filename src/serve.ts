import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { GiveBackWhenQuiet, giveBackMemory } from './gc.js';
import { registerMetricsRoute } from './http/metrics.js';
import { checkFaceModels } from './images/faces.js';
import { processWarningsToLog } from './log.js';

/** A server that answered requests and then none for this long gives back what it grew (see gc.ts). */
const QUIET_MS = 10_000;
/** …when its RSS grew by at least this much since it last did. */
const QUIET_GROWTH_BYTES = 16 * 1024 * 1024;

/**
 * One HTTP server process: builds the app, listens, stops gracefully on SIGTERM/SIGINT: no new
 * connections, in-flight requests (uploads included) finish, the deletion and mail workers finish
 * their pass, then the database and storage close. Past `shutdownTimeoutMs` it exits anyway.
 */
export async function serve(config: Config, shutdownTimeoutMs: number): Promise<void> {
  const warnings = processWarningsToLog();
  const app = await buildApp(config);
  warnings.logTo(app.log);
  // METRICS_PORT: metrics on an internal listener of their own, never on the API's port.
  const metricsServer = config.metrics.port === undefined ? undefined : Fastify({ logger: false });
  if (metricsServer) {
    registerMetricsRoute(metricsServer, app.metrics, config.metrics, true);
    app.addHook('onClose', () => metricsServer.close());
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Diagnostics: SIGUSR2 logs memory use, after a full collection when started with --expose-gc
  // (the soak test compares memory at the same point of the garbage collector's cycle).
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    app.log.info({ memory: process.memoryUsage() }, 'memory usage');
  });
  const quiet = new GiveBackWhenQuiet(QUIET_GROWTH_BYTES).every(QUIET_MS);
  app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => response.once('close', quiet.request()));
  app.addHook('onClose', () => quiet.stop());
  await app.listen({ host: config.host, port: config.port });
  if (metricsServer) await metricsServer.listen({ host: config.metrics.host, port: config.metrics.port as number });
  // The face check's models are checked now (a broken install is reported at start), then let go
  // until a picture arrives.
  const checked =
    config.images.faceCheckTimeoutMs > 0
      ? checkFaceModels().catch((error: unknown) => app.log.warn({ err: error }, 'the face check could not load; uploads will skip it'))
      : Promise.resolve();
  // Then the garbage and the young generation start-up left behind go back to the system: on Node
  // 24, 50 MB of a server's 210 MB at rest (see docs/performance.md, Memory).
  await checked;
  const before = { rss: process.memoryUsage.rss(), at: performance.now() };
  giveBackMemory();
  quiet.settled();
  app.log.debug(
    { rssBefore: before.rss, rssAfter: process.memoryUsage.rss(), ms: Math.round(performance.now() - before.at) },
    'gave back the memory start-up grew',
  );
}
