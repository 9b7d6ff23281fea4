import cluster from 'node:cluster';
import { pino } from 'pino';
import { ConfigError, loadConfig, serverConfigProblems, type Config } from './config.js';
import { createDatabase } from './db/index.js';
import { migrateToLatest } from './db/migrate.js';
import { giveBackMemory, tuneCollector } from './gc.js';
import { processWarningsToLog } from './log.js';

/** How long a stopping server or primary waits for in-flight work before it exits anyway. */
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
 * WEB_CONCURRENCY > 1: the primary applies migrations once, then forks that many workers that
 * share the port (node:cluster), replaces any that die, and passes SIGTERM on to all of them.
 */
async function primary(config: Config): Promise<void> {
  // The primary's few lines are JSON lines like the workers'.
  const log = pino({ level: config.logLevel });
  processWarningsToLog().logTo(log);
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
  giveBackMemory();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ worker: worker.process.pid, exit: signal ?? code }, 'worker exited; starting another');
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
  tuneCollector();
  const config = configOrExit();
  if (config.workers > 1 && cluster.isPrimary) return primary(config);
  // Workers never migrate: the primary did it once, before forking them.
  // The app's modules load here, never in a primary: it only migrates, forks and supervises.
  const { serve } = await import('./serve.js');
  return serve(cluster.isWorker ? { ...config, migrateOnStart: false } : config, SHUTDOWN_TIMEOUT_MS);
}

main().catch((error: unknown) => fail(`castfolio failed to start: ${(error as Error).stack ?? String(error)}`));
