import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createStorage } from '../../src/storage/index.js';
import { MEDIA_FOLDER_LIST } from '../../src/modules/media/references.js';
import type { Storage } from '../../src/storage/types.js';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { Http } from '../helpers/http.js';
import { noisyJpeg } from '../helpers/images.js';
import { buildServer, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { s3Env, startS3rver } from '../helpers/storage.js';

const postgres = DATABASES.find((d) => d.name === 'postgres')!;

/** Two server processes (each with two cluster workers) on one PostgreSQL database and one bucket. */
describe.skipIf(postgres.skipReason)('several instances on one database and one bucket', () => {
  let testDb: TestDatabase;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let handle: DatabaseHandle;
  let storage: Storage;
  let dataDir: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    buildServer();
    testDb = await postgres.create();
    s3 = await startS3rver();
    dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-multi-'));
    const env = {
      NODE_ENV: 'production',
      PUBLIC_WEB_URL: 'http://127.0.0.1',
      MAIL_TRANSPORT: 'outbox',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      DATABASE_URL: (testDb.config as { url: string }).url,
      MIGRATE_ON_START: 'true',
      ...s3Env(s3),
      WEB_CONCURRENCY: '2',
      RATE_LIMIT: 'false',
      SERVE_WEB: 'false',
      LOG_LEVEL: 'info',
    };
    // Both instances start at once: the migration lock makes one migrate and the other wait.
    servers.push(...(await Promise.all([startServerProcess(env), startServerProcess(env)])));
    const config = parseConfig(env);
    handle = createDatabase(config.database);
    await migrateToLatest(handle.db);
    storage = createStorage(config.storage);
  });

  afterAll(async () => {
    for (const server of servers) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await storage?.close();
    await handle?.destroy();
    await s3?.close();
    await testDb?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps exactly one current picture per user and no stray object while uploads race across instances', async () => {
    const clients = servers.map((s) => new Http(s.baseUrl));
    const users: Record<string, string>[] = [];
    for (let i = 0; i < 4; i++) {
      const email = `multi-${i}@example.com`;
      const password = 'Multi-Instance-2026';
      const api = clients[i % 2]!;
      expect(
        (
          await api.post('/api/register/', {
            email,
            password,
            first_name: 'M',
            last_name: 'I',
            role: 'background',
            date_of_birth: '1980-01-01',
          })
        ).status,
      ).toBe(201);
      // A token from one instance works on the other: same secret, same database.
      const token = await clients[(i + 1) % 2]!.post('/api/token/', { email, password });
      users.push({ Authorization: `Bearer ${token.body.access}`, 'is-background': 'true' });
    }
    const images = await Promise.all(Array.from({ length: 4 }, (_, i) => noisyJpeg(600 + i * 50, 450)));

    const results = await Promise.all(
      Array.from({ length: 80 }, async (_, i) => {
        const form = new FormData();
        form.append('profile_picture', new Blob([images[i % 4]!], { type: 'image/jpeg' }), 'p.jpg');
        const res = await clients[i % 2]!.request('POST', '/api/profile/background/', { form, headers: users[i % users.length]! });
        return res.status;
      }),
    );
    expect(results.filter((s) => s !== 200)).toEqual([]);
    // A replaced picture is deleted after its answer is written (its queue row was committed with
    // the change, and goes once the files are gone): the bucket is read once the queue is empty,
    // not while the last deletions are under way.
    const queued = async () => (await handle.db.selectFrom('pending_deletions').select('name').execute()).length;
    await expect.poll(queued, { timeout: 30_000, interval: 100 }).toBe(0);

    const stored: string[] = [];
    for (const folder of MEDIA_FOLDER_LIST) for await (const o of storage.list(folder)) stored.push(o.name);
    const rows = await handle.db.selectFrom('background_profiles').select('profile_picture').execute();
    const masters = rows.map((r) => r.profile_picture).filter((n): n is string => n !== null);
    // Each current picture's variants, through its record; no record of a replaced picture is left.
    const pictures = await handle.db.selectFrom('pictures').select(['name', 'variants']).execute();
    expect(pictures.map((p) => p.name).sort()).toEqual([...masters].sort());
    const referenced = [...masters, ...pictures.flatMap((p) => (JSON.parse(p.variants) as { name: string }[]).map((v) => v.name))];
    const pending = await handle.db.selectFrom('pending_deletions').select('name').execute();
    console.log(
      `multi-instance: 80 uploads over 2 instances × 2 workers, ${stored.length} objects stored, ${referenced.length} referenced, ${pending.length} pending`,
    );
    expect(masters).toHaveLength(4);
    expect(stored.sort()).toEqual(referenced.sort());
    expect(pending).toEqual([]);

    // Each instance sees the other's writes.
    for (const [i, headers] of users.entries()) {
      const a = await clients[0]!.get('/api/profile/background/', headers);
      const b = await clients[1]!.get('/api/profile/background/', headers);
      expect(a.body.profile.profile_picture).toBe(b.body.profile.profile_picture);
      expect(
        referenced.some((name) => a.body.profile.profile_picture.endsWith(name)),
        `user ${i}`,
      ).toBe(true);
    }
  }, 300_000);
});
