import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/** Stored objects waiting to be deleted: written in the same transaction that stops referencing them. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('pending_deletions')
    .addColumn('id', 'integer', t.identity)
    .addColumn('name', 'varchar(255)', (col) => col.notNull().unique())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', t.timestamp, (col) => col.notNull())
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema.createIndex('pending_deletions_due_idx').on('pending_deletions').column('next_attempt_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pending_deletions').execute();
}
