import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/** A talent's social media links, one row per user, as the live service's SocialMediaLinks. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('social_media_links')
    .addColumn('user_id', 'integer', (col) => col.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('facebook', 'varchar(200)')
    .addColumn('instagram', 'varchar(200)')
    .addColumn('youtube', 'varchar(200)')
    .addColumn('tiktok', 'varchar(200)')
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('social_media_links').execute();
}
