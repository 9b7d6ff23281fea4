import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli as runIn, expectNoOrphans, startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { jpeg } from '../helpers/images.js';
import { holdLock } from '../helpers/locks.js';
import { TcpProxy } from '../helpers/proxy.js';
import { s3Env, startS3rver, type StorageTarget } from '../helpers/storage.js';
import { video } from '../helpers/videos.js';

/**
 * The fault matrix: each step of a picture upload and of an item write (object put, database
 * commit, old-object delete) × each failure (error, hang, slow), through wrappers around the
 * real parts: a storage wrapper, a TCP proxy in front of the S3-protocol server and PostgreSQL,
 * and real database locks held by another process.
 */

type Step = 'put' | 'commit' | 'delete';
type Kind = 'error' | 'hang' | 'slow';

/** What the client is documented to get for each failure. */
const EXPECTED: Record<Step, Record<Kind, number>> = {
  put: { error: 503, hang: 503, slow: 200 },
  commit: { error: 500, hang: 503, slow: 200 },
  delete: { error: 200, hang: 200, slow: 200 },
};

const STEPS: Step[] = ['put', 'commit', 'delete'];
const KINDS: Kind[] = ['error', 'hang', 'slow'];

for (const db of DATABASES) {
  describe.skipIf(db.skipReason)(`fault matrix on ${db.label} with S3 storage behind a proxy`, () => {
    let t: TestApp;
    let s3: Awaited<ReturnType<typeof startS3rver>>;
    let s3Proxy: TcpProxy;
    let dbProxy: TcpProxy | undefined;
    let user: TestUser;

    const proxiedS3: StorageTarget = {
      name: 's3',
      create: async () => {
        s3 = await startS3rver();
        s3Proxy = new TcpProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
        const port = await s3Proxy.start();
        return {
          env: { ...s3Env({ endpoint: `http://127.0.0.1:${port}`, bucket: s3.bucket }), S3_REQUEST_TIMEOUT: '5' },
          close: async () => {
            await s3Proxy.close();
            await s3.close();
          },
        };
      },
    };

    beforeAll(async () => {
      t = await startTestApp(db, {
        storage: proxiedS3,
        env: { STORAGE_TIMEOUT: '1', DB_TIMEOUT: '2' },
        routeDatabase: async (config) => {
          if (config.kind !== 'postgres') return config;
          const url = new URL(config.url);
          dbProxy = new TcpProxy(url.hostname, Number(url.port || 5432));
          url.port = String(await dbProxy.start());
          return { ...config, url: url.toString() };
        },
      });
      user = await createUser(t.http, 'background');
      expect((await cli('subscription', 'grant', user.email, 'background_jobs')).code).toBe(0);
    });
    afterAll(async () => {
      await t?.close();
      await dbProxy?.close();
    });
    afterEach(() => {
      t.storage.heal();
      s3Proxy.setMode('pass');
      dbProxy?.setMode('pass');
    });

    const cli = (...argv: string[]) => runIn(t, ...argv);

    function form(field: string, bytes: Buffer) {
      const body = new FormData();
      body.append(field, new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
      return body;
    }

    /** The two writes under test: the current file name, how to replace it, how to lock its row. */
    const operations = {
      upload: {
        current: async () =>
          (
            await t.database.db
              .selectFrom('background_profiles')
              .select('profile_picture')
              .where('user_id', '=', user.id)
              .executeTakeFirstOrThrow()
          ).profile_picture,
        write: async () =>
          t.http.request('POST', '/api/profile/background/', {
            form: form('profile_picture', await jpeg(600, 400)),
            headers: user.headers,
          }),
        lockSql: () => `SELECT 1 FROM background_profiles WHERE user_id = ${user.id} FOR UPDATE`,
      },
      item: {
        itemId: 0,
        async ensure() {
          if (this.itemId) return;
          const created = await t.http.post('/api/profile/background/items/', { item_type: 'prop', name: 'Lantern' }, user.headers);
          expect(created.status).toBe(201);
          this.itemId = created.body.id;
        },
        current: async () =>
          (await t.database.db.selectFrom('items').select('image').where('id', '=', operations.item.itemId).executeTakeFirstOrThrow())
            .image,
        write: async () =>
          t.http.request('PATCH', `/api/profile/background/items/prop/${operations.item.itemId}/`, {
            form: form('image', await jpeg(500, 500)),
            headers: user.headers,
          }),
        lockSql: () => `SELECT 1 FROM items WHERE id = ${operations.item.itemId} FOR UPDATE`,
      },
    };

    async function inject(step: Step, kind: Kind, lockSql: string): Promise<{ released?: Promise<void> }> {
      if (step === 'put') {
        if (kind === 'error') t.storage.failNext('put', 1, 'error');
        // A network that swallows the request: the storage timeout (1 s) answers for it.
        if (kind === 'hang') s3Proxy.setMode('blackhole');
        if (kind === 'slow') {
          s3Proxy.delayMs = 300;
          s3Proxy.setMode('slow');
        }
        return {};
      }
      if (step === 'delete') {
        t.storage.failNext('delete', 1, kind, 600);
        return {};
      }
      if (kind === 'error') {
        // A real failure inside the committing transaction.
        await installRefusal();
        return {};
      }
      // Another process holds the row (PostgreSQL) or the database (SQLite) for 5 s (hang, beyond
      // the 2 s database timeout) or 0.8 s (slow, within it).
      const lock = await holdLock(t.directDatabase, lockSql, kind === 'hang' ? 5000 : 800);
      return { released: lock.released };
    }

    /** Makes every write to the profile and item tables fail with a database error, until removed. */
    async function installRefusal(): Promise<void> {
      if (db.name === 'postgres') {
        await sql
          .raw(
            `CREATE OR REPLACE FUNCTION refuse_commit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$ LANGUAGE plpgsql`,
          )
          .execute(t.database.db);
      }
      for (const table of ['background_profiles', 'items']) {
        await sql
          .raw(
            db.name === 'sqlite'
              ? `CREATE TRIGGER refuse_${table} BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, 'injected commit failure'); END`
              : `CREATE TRIGGER refuse_${table} BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_commit()`,
          )
          .execute(t.database.db);
      }
    }

    async function removeRefusal(): Promise<void> {
      for (const table of ['background_profiles', 'items']) {
        await sql.raw(`DROP TRIGGER IF EXISTS refuse_${table}${db.name === 'postgres' ? ` ON ${table}` : ''}`).execute(t.database.db);
      }
    }

    for (const [name, operation] of Object.entries(operations)) {
      for (const step of STEPS) {
        for (const kind of KINDS) {
          it(`${name}: ${step} ${kind} → ${EXPECTED[step][kind]}, nothing lost, nothing leaked`, async () => {
            if (name === 'item') await operations.item.ensure();
            // Start from a stored file, so there is an old object to replace (and the one that
            // replaced is deleted before the fault goes in).
            expect((await operation.write()).status).toBeLessThan(300);
            await t.settled();
            const before = await operation.current();
            expect(before).toBeTruthy();

            const fault = await inject(step, kind, operation.lockSql());
            const res = await operation.write();
            if (step === 'commit' && kind === 'error') await removeRefusal();
            await fault.released;
            // Deletions run once the answer is written: let them meet the fault before it heals.
            await t.settled();
            t.storage.heal();
            s3Proxy.setMode('pass');

            expect(res.status).toBe(EXPECTED[step][kind]);
            if (res.status >= 400) expect(typeof res.body.detail).toBe('string');
            const after = await operation.current();
            if (res.status === 200) expect(after).not.toBe(before);
            else expect(after).toBe(before);
            // The file the row points at is really there.
            expect(await t.storage.inner.exists(after as string)).toBe(true);

            // The retry worker's job, done now: afterwards storage matches the database exactly.
            const swept = await cli('media', 'sweep', '--grace', '0');
            expect(swept.code).toBe(0);
            await expectNoOrphans(t);
          });
        }
      }
    }

    /** Makes every insert into the gallery fail inside the committing transaction, until removed. */
    async function refuseGalleryInserts(on: boolean): Promise<void> {
      if (!on) {
        await sql.raw(`DROP TRIGGER IF EXISTS refuse_gallery${db.name === 'postgres' ? ' ON gallery_media' : ''}`).execute(t.database.db);
        return;
      }
      if (db.name === 'postgres') {
        await sql
          .raw(
            `CREATE OR REPLACE FUNCTION refuse_commit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$ LANGUAGE plpgsql`,
          )
          .execute(t.database.db);
      }
      await sql
        .raw(
          db.name === 'sqlite'
            ? `CREATE TRIGGER refuse_gallery BEFORE INSERT ON gallery_media BEGIN SELECT RAISE(ABORT, 'injected commit failure'); END`
            : `CREATE TRIGGER refuse_gallery BEFORE INSERT ON gallery_media FOR EACH ROW EXECUTE FUNCTION refuse_commit()`,
        )
        .execute(t.database.db);
    }

    const galleryCount = async () =>
      Number(
        (
          await t.database.db
            .selectFrom('gallery_media')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const galleryForm = async () => {
      const body = form('media_file', await jpeg(300, 400));
      body.append('name', 'Full body');
      return body;
    };

    const GALLERY_ADD: Record<'put' | 'commit', Record<Kind, number>> = {
      put: { error: 503, hang: 503, slow: 201 },
      commit: { error: 500, hang: 503, slow: 201 },
    };
    for (const step of ['put', 'commit'] as const) {
      for (const kind of KINDS) {
        it(`gallery add: ${step} ${kind} → ${GALLERY_ADD[step][kind]}, a new photo stored and listed or nothing at all`, async () => {
          const before = await galleryCount();
          if (step === 'commit' && kind === 'error') await refuseGalleryInserts(true);
          const fault =
            step === 'commit' && kind === 'error' ? {} : await inject(step, kind, `SELECT 1 FROM users WHERE id = ${user.id} FOR UPDATE`);
          const res = await t.http.request('POST', '/api/profile/background/media/', { form: await galleryForm(), headers: user.headers });
          if (step === 'commit' && kind === 'error') await refuseGalleryInserts(false);
          await fault.released;
          // Deletions run once the answer is written: let them meet the fault before it heals.
          await t.settled();
          t.storage.heal();
          s3Proxy.setMode('pass');

          expect(res.status).toBe(GALLERY_ADD[step][kind]);
          expect(await galleryCount()).toBe(res.status === 201 ? before + 1 : before);
          if (res.status === 201) expect(await t.storage.inner.exists(res.body.media_file.split('/media/')[1])).toBe(true);
          expect((await cli('media', 'sweep', '--grace', '0')).code).toBe(0);
          await expectNoOrphans(t);
          // Room for the next case: the plan allows 15.
          if (res.status === 201) await t.http.request('DELETE', `/api/media/${res.body.id}/delete/`, { headers: user.headers });
          await cli('media', 'sweep', '--grace', '0');
        });
      }
    }

    // A video is two objects (poster, then video): a failure at either put, or at the commit, leaves neither.
    const VIDEO_FAULTS = [
      { fault: 'poster put error', status: 503, arm: () => t.storage.failNext('put', 1, 'error') },
      { fault: 'video put error', status: 503, arm: () => t.storage.failNext('put', 1, 'error', 0, 1) },
      { fault: 'video put hang', status: 503, arm: () => t.storage.failNext('put', 1, 'hang', 0, 1) },
      { fault: 'commit error', status: 500, arm: () => refuseGalleryInserts(true) },
    ];
    for (const { fault, status, arm } of VIDEO_FAULTS) {
      it(`gallery video add: ${fault} → ${status}, neither the video nor its poster stays`, async () => {
        const before = await galleryCount();
        const body = form('media_file', await video({ seconds: 1 }));
        body.append('name', 'Showreel');
        await arm();
        const res = await t.http.request('POST', '/api/profile/background/media/', { form: body, headers: user.headers });
        await refuseGalleryInserts(false);
        // Deletions run once the answer is written: let them meet the fault before it heals.
        await t.settled();
        t.storage.heal();
        expect(res.status, res.text).toBe(status);
        expect(await galleryCount()).toBe(before);
        expect((await cli('media', 'sweep', '--grace', '0')).code).toBe(0);
        await expectNoOrphans(t);
      });
    }

    for (const kind of KINDS) {
      it(`gallery delete: storage delete ${kind} → 204, the row is gone and the file follows`, async () => {
        const added = await t.http.request('POST', '/api/profile/background/media/', { form: await galleryForm(), headers: user.headers });
        expect(added.status).toBe(201);
        t.storage.failNext('delete', 1, kind, 600);
        const res = await t.http.request('DELETE', `/api/media/${added.body.id}/delete/`, { headers: user.headers });
        // Deletions run once the answer is written: let them meet the fault before it heals.
        await t.settled();
        t.storage.heal();
        expect(res.status).toBe(204);
        expect((await t.http.get('/api/profile/background/', user.headers)).body.media.map((m: { id: number }) => m.id)).not.toContain(
          added.body.id,
        );
        expect((await cli('media', 'sweep', '--grace', '0')).code).toBe(0);
        await expectNoOrphans(t);
      });
    }

    it('keeps GET endpoints working while storage is down entirely, and /ready names it', async () => {
      s3Proxy.setMode('drop');
      t.storage.failNext('check', 5, 'error');
      const profile = await t.http.get('/api/profile/background/', user.headers);
      expect(profile.status).toBe(200);
      expect(profile.body.profile.profile_picture).toMatch(/^http/);
      expect((await t.http.get('/api/profile/background/items/', user.headers)).status).toBe(200);
      const ready = await t.http.get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ database: 'ok', storage: 'unavailable' });
      const upload = await operations.upload.write();
      expect(upload.status).toBe(503);
      t.storage.heal();
      s3Proxy.setMode('pass');
      expect((await t.http.get('/ready')).status).toBe(200);
      await cli('media', 'sweep', '--grace', '0');
      await expectNoOrphans(t);
    });

    // Only PostgreSQL is reached over a network; an embedded SQLite file cannot become unreachable.
    const postgresOnly = db.name === 'postgres' ? it : () => undefined;

    postgresOnly('answers 503 while PostgreSQL is unreachable and recovers when it is back', async () => {
      dbProxy!.setMode('drop');
      const profile = await t.http.get('/api/profile/background/', user.headers);
      expect(profile.status).toBe(503);
      expect(profile.headers.get('retry-after')).toBeTruthy();
      const ready = await t.http.get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database).toBe('unavailable');
      expect((await t.http.get('/health')).status).toBe(200);
      dbProxy!.setMode('pass');
      await expect.poll(async () => (await t.http.get('/api/profile/background/', user.headers)).status, { timeout: 10_000 }).toBe(200);
    });

    postgresOnly('answers 503 within the timeout when PostgreSQL stops answering mid-connection', async () => {
      // Warm the pool, then swallow everything: queries on open connections must not hang.
      expect((await t.http.get('/api/profile/background/', user.headers)).status).toBe(200);
      dbProxy!.setMode('blackhole');
      const started = Date.now();
      const res = await t.http.get('/api/profile/background/', user.headers);
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(8000);
      dbProxy!.setMode('drop');
      dbProxy!.setMode('pass');
      await expect.poll(async () => (await t.http.get('/api/profile/background/', user.headers)).status, { timeout: 10_000 }).toBe(200);
    });
  });
}
