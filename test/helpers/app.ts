import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { DatabaseTarget } from './databases.js';
import { Http } from './http.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** A clock tests can move forward; starts at real time. */
export class TestClock {
  offsetMs = 0;
  readonly now = () => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestApp {
  app: FastifyInstance;
  http: Http;
  config: Config;
  database: DatabaseHandle;
  clock: TestClock;
  dataDir: string;
  close(): Promise<void>;
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return parseConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

/** A fresh database (migrated from zero) and a server listening on an ephemeral port. */
export async function startTestApp(
  target: DatabaseTarget,
  options: { env?: Record<string, string>; deps?: Partial<AppDeps> } = {},
): Promise<TestApp> {
  const testDb = await target.create();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-data-'));
  const config = { ...testConfig(dataDir, options.env), database: testDb.config, migrateOnStart: false };
  const database = createDatabase(testDb.config);
  await migrateToLatest(database.db);
  const clock = new TestClock();
  const app = await buildApp(config, { database, clock: clock.now, ...options.deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    http: new Http(`http://127.0.0.1:${port}`),
    config,
    database,
    clock,
    dataDir,
    close: async () => {
      await app.close();
      await database.destroy();
      await testDb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
