import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { variantSetOf } from '../../storage/names.js';

/** The storage folders files go to, under the media prefix. */
export const MEDIA_FOLDERS = {
  backgroundProfilePictures: 'background_profile_pictures',
  profilePictures: 'profile_pictures',
  itemImages: 'item_images',
  certificates: 'certificates',
  gallery: 'gallery_media',
} as const;

/**
 * Every column that holds a stored file's name, and the folder its files go to. Each table names
 * its owner in `user_id`. The sweep, the check before any deletion, account removal and the item
 * repository all read this list: a new picture column is one entry here.
 */
export const MEDIA_COLUMNS = [
  { table: 'background_profiles', column: 'profile_picture', folder: MEDIA_FOLDERS.backgroundProfilePictures },
  { table: 'talent_profiles', column: 'profile_picture', folder: MEDIA_FOLDERS.profilePictures },
  { table: 'items', column: 'image', folder: MEDIA_FOLDERS.itemImages },
  { table: 'items', column: 'authenticity_certificate', folder: MEDIA_FOLDERS.certificates },
  { table: 'gallery_media', column: 'file', folder: MEDIA_FOLDERS.gallery },
  { table: 'gallery_media', column: 'thumbnail', folder: MEDIA_FOLDERS.gallery },
] as const satisfies readonly { table: keyof Database; column: string; folder: string }[];

type MediaColumn = (typeof MEDIA_COLUMNS)[number];
export type MediaTable = MediaColumn['table'];
export type MediaColumnOf<T extends MediaTable> = Extract<MediaColumn, { table: T }>['column'];

/** The media columns of one table. */
export function mediaColumnsOf<T extends MediaTable>(table: T): MediaColumnOf<T>[] {
  return MEDIA_COLUMNS.filter((entry) => entry.table === table).map((entry) => entry.column as MediaColumnOf<T>);
}

/** The stored names a row of `table` holds. */
export function mediaNamesIn<T extends MediaTable>(table: T, row: { [C in MediaColumnOf<T>]?: string | null }): string[] {
  return mediaColumnsOf(table)
    .map((column) => row[column])
    .filter((name): name is string => typeof name === 'string');
}

/** Every folder the sweep reconciles. */
export const MEDIA_FOLDER_LIST: readonly string[] = [...new Set(MEDIA_COLUMNS.map((entry) => entry.folder))];

/** The folders names adopted from Django live in: castfolio's own, plus the talent media's (talent_media/user_<id>/). */
export const ADOPTED_FOLDER_LIST: readonly string[] = [...MEDIA_FOLDER_LIST, 'talent_media'];

type Queryable = Kysely<Database> | Transaction<Database>;

const named = (entry: MediaColumn) =>
  sql`select ${sql.ref(entry.column)} as name from ${sql.table(entry.table)} where ${sql.ref(entry.column)} is not null`;

/** A picture's variants as stored in pictures.variants. */
export interface StoredVariant {
  name: string;
  shape: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
}

/** The variant names a pictures row lists. */
export const variantNamesIn = (variants: string): string[] => (JSON.parse(variants) as StoredVariant[]).map((variant) => variant.name);

/**
 * Every name a row points at, and every variant of those pictures: a variant is referenced
 * exactly as long as its master is.
 */
export async function referencedNames(db: Queryable): Promise<Set<string>> {
  const rows = await sql<{ name: string }>`${sql.join(MEDIA_COLUMNS.map(named), sql` union all `)}`.execute(db);
  const names = new Set(rows.rows.map((row) => row.name));
  const pictures = await db.selectFrom('pictures').select(['name', 'variants']).execute();
  for (const picture of pictures) if (names.has(picture.name)) for (const variant of variantNamesIn(picture.variants)) names.add(variant);
  return names;
}

/** Whether any row points at `name` (for a variant: at its master). */
export async function isReferenced(db: Queryable, name: string): Promise<boolean> {
  const set = variantSetOf(name);
  if (set !== undefined) {
    const picture = await db.selectFrom('pictures').select(['name', 'variants']).where('variant_set', '=', set).executeTakeFirst();
    return picture !== undefined && variantNamesIn(picture.variants).includes(name) && (await isReferencedMaster(db, picture.name));
  }
  return isReferencedMaster(db, name);
}

async function isReferencedMaster(db: Queryable, name: string): Promise<boolean> {
  const checks = MEDIA_COLUMNS.map(
    (entry) => sql`exists (select 1 from ${sql.table(entry.table)} where ${sql.ref(entry.column)} = ${name})`,
  );
  const result = await sql<{ referenced: unknown }>`select (${sql.join(checks, sql` or `)}) as referenced`.execute(db);
  const value = result.rows[0]?.referenced;
  return value === true || value === 1;
}

/** Every name the rows of one user point at, with those pictures' variants (account removal). */
export async function namesOwnedBy(db: Queryable, userId: number): Promise<string[]> {
  const selects = MEDIA_COLUMNS.map((entry) => sql`${named(entry)} and user_id = ${userId}`);
  const rows = await sql<{ name: string }>`${sql.join(selects, sql` union all `)}`.execute(db);
  const names = rows.rows.map((row) => row.name);
  if (names.length === 0) return names;
  const pictures = await db.selectFrom('pictures').select('variants').where('name', 'in', names).execute();
  return [...names, ...pictures.flatMap((picture) => variantNamesIn(picture.variants))];
}
