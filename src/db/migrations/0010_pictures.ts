import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/**
 * What is known about a stored picture, keyed by the master's stored name (the name the profile,
 * item or gallery row holds): its size, its placeholder and the responsive variants stored beside
 * it. A variant is referenced exactly as long as its master is (references.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('pictures')
    .addColumn('name', 'varchar(255)', (col) => col.primaryKey())
    .addColumn('user_id', 'integer', (col) => col.notNull())
    .addColumn('width', 'integer', (col) => col.notNull())
    .addColumn('height', 'integer', (col) => col.notNull())
    // A ThumbHash (base64): a client paints a blurred preview from it before any image arrives.
    .addColumn('placeholder', 'varchar(64)')
    // The random part every variant's name starts with: a variant's name leads back to its master.
    .addColumn('variant_set', 'varchar(32)', (col) => col.notNull().unique())
    // JSON: [{ name, shape, width, height, format, bytes }].
    .addColumn('variants', 'text', (col) => col.notNull())
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema.createIndex('pictures_owner_idx').on('pictures').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pictures').execute();
}
