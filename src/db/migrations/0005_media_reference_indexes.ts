import type { Kysely } from 'kysely';

/**
 * Before an old object is deleted, and for every object the sweep considers, the media service
 * asks whether any row still references the name (MediaRepository.isReferenced). Without these
 * indexes each such check scanned every profile and item. Partial: rows without media cost nothing.
 */
const INDEXES = [
  ['background_profiles_picture_idx', 'background_profiles', 'profile_picture'],
  ['talent_profiles_picture_idx', 'talent_profiles', 'profile_picture'],
  ['items_image_idx', 'items', 'image'],
  ['items_certificate_idx', 'items', 'authenticity_certificate'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, table, column] of INDEXES) {
    await db.schema.createIndex(name).on(table).column(column).where(column, 'is not', null).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of INDEXES) await db.schema.dropIndex(name).execute();
}
