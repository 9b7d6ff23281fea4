import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/** A performer's gallery (the live service's TalentMedia), for talent and background profiles alike. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('gallery_media')
    .addColumn('id', 'integer', t.identity)
    .addColumn('user_id', 'integer', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (col) => col.notNull())
    .addColumn('name', 'varchar(124)', (col) => col.notNull())
    .addColumn('media_info', 'text', (col) => col.notNull())
    .addColumn('media_type', 'varchar(10)', (col) => col.notNull())
    .addColumn('file', 'varchar(255)', (col) => col.notNull())
    // A video's poster frame (a JPEG), shown as the live shape's `thumbnail`.
    .addColumn('thumbnail', 'varchar(255)')
    .addColumn('duration_seconds', 'real')
    .addColumn('is_test_video', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('test_video_number', 'smallint')
    .addColumn('is_about_yourself_video', 'boolean', (col) => col.notNull().defaultTo(false))
    // Casting slots (additive to the live shape): slot, tags ("theatrical,commercial"), order, visibility.
    .addColumn('slot', 'varchar(16)')
    .addColumn('tags', 'varchar(64)', (col) => col.notNull().defaultTo(''))
    .addColumn('position', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('visibility', 'varchar(8)', (col) => col.notNull().defaultTo('public'))
    // When the photo was taken (its EXIF capture date, read before metadata is stripped), if known.
    .addColumn('captured_at', t.timestamp)
    // When the "your headshot is over six months old" mail was queued for this photo.
    .addColumn('reminded_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema.createIndex('gallery_media_owner_idx').on('gallery_media').columns(['user_id', 'kind']).execute();
  // "Is this stored name still referenced?" (before any deletion, and by the sweep) from an index.
  await db.schema.createIndex('gallery_media_file_idx').on('gallery_media').column('file').execute();
  await db.schema.createIndex('gallery_media_thumbnail_idx').on('gallery_media').column('thumbnail').execute();
  // Read with the user on every authenticated request: a profile read reuses its cached gallery while this stays.
  await db.schema
    .alterTable('users')
    .addColumn('gallery_version', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('gallery_version').execute();
  await db.schema.dropTable('gallery_media').execute();
}
