import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { createMigrator, migrateDown, migrateToLatest } from '../../src/db/migrate.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { MEDIA_COLUMNS } from '../../src/modules/media/references.js';

const TABLES = [
  'background_profiles',
  'gallery_media',
  'items',
  'legacy_imports',
  'outbox_emails',
  'pending_deletions',
  'pictures',
  'revoked_token_families',
  'revoked_tokens',
  'social_media_links',
  'subscriptions',
  'talent_profiles',
  'users',
  'verification_codes',
];

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
  const tables = await handle.db.introspection.getTables();
  return tables
    .map((table) => table.name)
    .filter((name) => !name.startsWith('kysely_'))
    .sort();
}

for (const target of DATABASES) {
  describe.skipIf(target.skipReason)(`migrations on ${target.label}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      testDb = await target.create();
      handle = createDatabase(testDb.config);
    });
    afterAll(async () => {
      await handle?.destroy();
      await testDb?.drop();
    });

    it('run up from zero, down to zero, and up again', async () => {
      expect(await tableNames(handle)).toEqual([]);
      await migrateToLatest(handle.db);
      expect(await tableNames(handle)).toEqual(TABLES);
      const all = await createMigrator(handle.db).getMigrations();
      for (let i = 0; i < all.length; i++) await migrateDown(handle.db);
      expect(await tableNames(handle)).toEqual([]);
      await migrateToLatest(handle.db);
      expect(await tableNames(handle)).toEqual(TABLES);
      expect((await createMigrator(handle.db).getMigrations()).every((m) => m.executedAt !== undefined)).toBe(true);
    });

    it('answer "is this media name still referenced?" from an index, not a scan of every profile and item', async () => {
      await migrateToLatest(handle.db);
      const postgres = target.name === 'postgres';
      await handle.db.connection().execute(async (connection) => {
        // On empty tables PostgreSQL may prefer a scan whatever the indexes; this asks for an index when there is one.
        if (postgres) await sql`set enable_seqscan = off`.execute(connection);
        for (const { table, column } of MEDIA_COLUMNS) {
          const query = sql`select 1 from ${sql.table(table)} where ${sql.ref(column)} = ${'profile_pictures/1_x.jpg'}`;
          const plan = await sql<Record<string, string>>`${sql.raw(postgres ? 'explain' : 'explain query plan')} ${query}`.execute(
            connection,
          );
          const text = plan.rows.map((row) => Object.values(row).join(' ')).join('\n');
          expect(text, `${table}.${column}`).toMatch(/using (covering )?index|index (only )?scan/i);
        }
        if (postgres) await sql`reset enable_seqscan`.execute(connection);
      });
    });

    it('enforce a unique email and cascade a user deletion to the profile', async () => {
      const now = new Date().toISOString();
      const user = {
        email: 'unique@example.com',
        password_hash: 'x',
        first_name: 'a',
        last_name: 'b',
        is_background: true,
        created_at: now,
        updated_at: now,
      };
      const { id } = await handle.db.insertInto('users').values(user).returning('id').executeTakeFirstOrThrow();
      await expect(handle.db.insertInto('users').values(user).execute()).rejects.toThrow();
      await handle.db.insertInto('background_profiles').values({ user_id: id, created_at: now, updated_at: now }).execute();
      await handle.db.deleteFrom('users').where('id', '=', id).execute();
      const left = await sql<{ n: number }>`select count(*) as n from background_profiles`.execute(handle.db);
      expect(Number(left.rows[0]?.n)).toBe(0);
    });
  });
}
