import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { parseConfig, type Config, type DatabaseConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createStorage } from '../../src/storage/index.js';
import { MEDIA_FOLDER_LIST } from '../../src/modules/media/references.js';
import type { DatabaseTarget } from './databases.js';
import { Http } from './http.js';
import { FaultyStorage, STORAGES, type StorageTarget } from './storage.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** A clock tests can move forward or stop; starts at real time. */
export class TestClock {
  offsetMs = 0;
  frozenAt: number | undefined;
  readonly now = () => new Date(this.frozenAt ?? Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
    if (this.frozenAt !== undefined) this.frozenAt += ms;
  }
  /** Time stands still at `ms` (epoch milliseconds) until thaw(). */
  freeze(ms: number): void {
    this.frozenAt = ms;
  }
  thaw(): void {
    this.frozenAt = undefined;
  }
}

export interface TestApp {
  app: FastifyInstance;
  http: Http;
  config: Config;
  database: DatabaseHandle;
  clock: TestClock;
  dataDir: string;
  /** The app's storage: the real driver behind a wrapper that can inject failures. */
  storage: FaultyStorage;
  /** Every SQL statement run so far (clear it to count the queries of one request). */
  queries: string[];
  /** The database as created, before any routing (for side connections such as lock holders). */
  directDatabase: DatabaseConfig;
  /** Waits for the work requests started and did not wait for (deleting replaced files). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return parseConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // One IP sends every request of a test file; the rate-limit tests turn limits back on.
    RATE_LIMIT: 'false',
    ...env,
  });
}

/** A fresh database (migrated from zero) and a server listening on an ephemeral port. */
export async function startTestApp(
  target: DatabaseTarget,
  options: {
    env?: Record<string, string>;
    deps?: Partial<AppDeps>;
    storage?: StorageTarget;
    /** Lets a test put something (a TCP proxy) between the app and its database. */
    routeDatabase?: (config: DatabaseConfig) => Promise<DatabaseConfig>;
  } = {},
): Promise<TestApp> {
  const created = await target.create();
  const testDb = { ...created, config: options.routeDatabase ? await options.routeDatabase(created.config) : created.config };
  const media = await (options.storage ?? STORAGES[0]!).create();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-data-'));
  const env = { DELETE_RETRY_INTERVAL: '0', UPLOAD_TMP_DIR: path.join(dataDir, 'uploads'), ...media.env, ...options.env };
  const parsed = testConfig(dataDir, env);
  // Keep the timeout the environment asked for (DB_TIMEOUT) on the test database.
  const timeoutMs = parsed.database.kind === 'sqlite' ? parsed.database.busyTimeoutMs : parsed.database.statementTimeoutMs;
  const database: DatabaseConfig =
    testDb.config.kind === 'sqlite' ? { ...testDb.config, busyTimeoutMs: timeoutMs } : { ...testDb.config, statementTimeoutMs: timeoutMs };
  const config = { ...parsed, database, migrateOnStart: false };
  const queries: string[] = [];
  const handle = createDatabase(config.database, undefined, { onQuery: (text) => queries.push(text) });
  await migrateToLatest(handle.db);
  const clock = new TestClock();
  const storage = new FaultyStorage(createStorage(config.storage));
  const app = await buildApp(config, { database: handle, storage, clock: clock.now, ...options.deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    http: new Http(`http://127.0.0.1:${port}`),
    config,
    database: handle,
    clock,
    dataDir,
    storage,
    queries,
    directDatabase: created.config,
    settled: () => app.background.settled(),
    close: async () => {
      await app.close();
      await storage.close();
      await media.close();
      await handle.destroy();
      await testDb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every stored object under the media folders, once the deletions requests left running are done. */
export async function storedNames(t: TestApp): Promise<string[]> {
  await t.settled();
  const names: string[] = [];
  for (const folder of MEDIA_FOLDER_LIST) {
    for await (const object of t.storage.inner.list(folder)) names.push(object.name);
  }
  return names.sort();
}

/** Every media name a database row points at (written out here, independently of src/). */
export async function referencedNames(t: TestApp): Promise<string[]> {
  const db = t.database.db;
  const [background, talent, images, certificates, gallery, posters] = await Promise.all([
    db.selectFrom('background_profiles').select('profile_picture as name').execute(),
    db.selectFrom('talent_profiles').select('profile_picture as name').execute(),
    db.selectFrom('items').select('image as name').execute(),
    db.selectFrom('items').select('authenticity_certificate as name').execute(),
    db.selectFrom('gallery_media').select('file as name').execute(),
    db.selectFrom('gallery_media').select('thumbnail as name').execute(),
  ]);
  // A promoted photo is both a gallery file and the profile picture: one stored object.
  const names = new Set(
    [...background, ...talent, ...images, ...certificates, ...gallery, ...posters]
      .map((row) => row.name)
      .filter((name): name is string => typeof name === 'string'),
  );
  // A picture's variants are referenced through their master's row in `pictures`.
  for (const picture of await db.selectFrom('pictures').select(['name', 'variants']).execute()) {
    if (names.has(picture.name)) for (const variant of JSON.parse(picture.variants) as { name: string }[]) names.add(variant.name);
  }
  return [...names].sort();
}

/** Storage holds exactly what the database references, and no deletion is pending (once those under way are done). */
export async function expectNoOrphans(t: TestApp): Promise<void> {
  await t.settled();
  const [stored, referenced, pending, pictures] = await Promise.all([
    storedNames(t),
    referencedNames(t),
    t.database.db.selectFrom('pending_deletions').select('name').execute(),
    t.database.db.selectFrom('pictures').select('name').execute(),
  ]);
  // Every pictures row describes a picture something references.
  const staleRecords = pictures.map((row) => row.name).filter((name) => !referenced.includes(name));
  if (JSON.stringify(stored) !== JSON.stringify(referenced) || pending.length > 0 || staleRecords.length > 0) {
    throw new Error(
      `storage and database disagree:\n stored: ${JSON.stringify(stored)}\n referenced: ${JSON.stringify(referenced)}\n pending: ${JSON.stringify(pending)}\n stale picture rows: ${JSON.stringify(staleRecords)}`,
    );
  }
}

/** The admin CLI against the test app's database and configuration, with its output. */
export async function cli(t: TestApp, ...argv: string[]): Promise<{ code: number; out: string }> {
  const { runCli } = await import('../../src/cli.js');
  const out: string[] = [];
  const code = await runCli(argv, t.config, { out: (l) => out.push(l), err: (l) => out.push(l) }, t.database);
  return { code, out: out.join('\n') };
}
