import cluster from 'node:cluster';
import Fastify from 'fastify';
import { buildApp } from './app.js';
import { registerMetricsRoute } from './http/metrics.js';
import { ConfigError, loadConfig, serverConfigProblems, type Config } from './config.js';
import { createDatabase } from './db/index.js';
import { migrateToLatest } from './db/migrate.js';
import { warmFaceCheck } from './images/faces.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function configOrExit(): Config {
  try {
    const config = loadConfig();
    const problems = serverConfigProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/**
 * One HTTP server process: builds the app, listens, stops gracefully on SIGTERM/SIGINT: no new
 * connections, in-flight requests (uploads included) finish, the deletion and mail workers finish
 * their pass, then the database and storage close. Past SHUTDOWN_TIMEOUT_MS it exits anyway.
 */
async function serve(config: Config): Promise<void> {
  const app = await buildApp(config);
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
    }, SHUTDOWN_TIMEOUT_MS);
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
  await app.listen({ host: config.host, port: config.port });
  if (metricsServer) await metricsServer.listen({ host: config.metrics.host, port: config.metrics.port as number });
  // The face check's models load now, not on the first upload after a start (about a second).
  if (config.images.faceCheckTimeoutMs > 0) {
    warmFaceCheck().catch((error: unknown) => app.log.warn({ err: error }, 'the face check could not load; uploads will skip it'));
  }
}

/**
 * WEB_CONCURRENCY > 1: the primary applies migrations once, then forks that many workers that
 * share the port (node:cluster), replaces any that die, and passes SIGTERM on to all of them.
 */
async function primary(config: Config): Promise<void> {
  if (config.migrateOnStart) {
    const database = createDatabase(config.database);
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.destroy();
    }
  }
  let stopping = false;
  const fork = () => cluster.fork({ CASTFOLIO_WORKER: '1' });
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    setTimeout(fork, 500);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  const config = configOrExit();
  if (config.workers > 1 && cluster.isPrimary) return primary(config);
  // Workers never migrate: the primary did it once, before forking them.
  return serve(cluster.isWorker ? { ...config, migrateOnStart: false } : config);
}

main().catch((error: unknown) => fail(`castfolio failed to start: ${(error as Error).stack ?? String(error)}`));
