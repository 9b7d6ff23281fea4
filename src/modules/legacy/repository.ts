import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../db/index.js';
import type { Database } from '../../db/types.js';
import { mediaNamesIn, namesOwnedBy } from '../media/references.js';
import { enqueueDeletions } from '../media/repository.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface ImportRecord {
  source: string;
  sourceId: number;
  targetId: number;
  fingerprint: string;
}

const CHUNK = 200;
const chunks = <T>(rows: T[]): T[][] =>
  Array.from({ length: Math.ceil(rows.length / CHUNK) }, (_, i) => rows.slice(i * CHUNK, (i + 1) * CHUNK));

/** The import's reads and writes of castfolio's database (Kysely only). */
export class ImportRepository {
  constructor(
    readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** What earlier runs imported: `${source}:${sourceId}` → target id and fingerprint. */
  async imported(): Promise<Map<string, { targetId: number; fingerprint: string }>> {
    const rows = await this.db.selectFrom('legacy_imports').select(['source', 'source_id', 'target_id', 'fingerprint']).execute();
    return new Map(
      rows.map((row) => [`${row.source}:${Number(row.source_id)}`, { targetId: row.target_id, fingerprint: row.fingerprint }]),
    );
  }

  /** Every account castfolio has: id → normalised email. */
  async accounts(): Promise<Map<number, string>> {
    const rows = await this.db.selectFrom('users').select(['id', 'email']).execute();
    return new Map(rows.map((row) => [row.id, row.email]));
  }

  /** The stored names a set of rows hold now (to queue the ones an update replaces). */
  async picturesOf(table: 'talent_profiles' | 'background_profiles', userIds: number[]): Promise<Map<number, string | null>> {
    const result = new Map<number, string | null>();
    for (const ids of chunks(userIds)) {
      const rows = await this.db.selectFrom(table).select(['user_id', 'profile_picture']).where('user_id', 'in', ids).execute();
      for (const row of rows) result.set(row.user_id, row.profile_picture);
    }
    return result;
  }

  async itemFiles(ids: number[]): Promise<Map<number, string[]>> {
    const result = new Map<number, string[]>();
    for (const chunk of chunks(ids)) {
      const rows = await this.db.selectFrom('items').select(['id', 'image', 'authenticity_certificate']).where('id', 'in', chunk).execute();
      for (const row of rows) result.set(row.id, mediaNamesIn('items', row));
    }
    return result;
  }

  async upsert(
    trx: Db,
    table: 'users' | 'talent_profiles' | 'background_profiles' | 'social_media_links',
    key: 'id' | 'user_id',
    rows: Record<string, unknown>[],
  ) {
    for (const chunk of chunks(rows)) {
      if (chunk.length === 0) continue;
      const columns = Object.keys(chunk[0] as object).filter((column) => column !== key && column !== 'created_at');
      await trx
        .insertInto(table)
        .values(chunk as never)
        .onConflict((oc) =>
          oc
            .column(key)
            .doUpdateSet(
              Object.fromEntries(
                columns.map((column) => [column, (eb: { ref(c: string): unknown }) => eb.ref(`excluded.${column}`)]),
              ) as never,
            ),
        )
        .execute();
    }
  }

  /** The stored file of each gallery item. */
  async galleryFiles(ids: number[]): Promise<Map<number, string>> {
    const result = new Map<number, string>();
    for (const chunk of chunks(ids)) {
      const rows = await this.db.selectFrom('gallery_media').select(['id', 'file']).where('id', 'in', chunk).execute();
      for (const row of rows) result.set(row.id, row.file);
    }
    return result;
  }

  /** Removes gallery items whose source rows are gone, queueing their files; their owners' galleries move on. */
  async deleteGalleryItems(trx: Db, ids: number[], now: string): Promise<string[]> {
    const names: string[] = [];
    const owners: number[] = [];
    for (const chunk of chunks(ids)) {
      const rows = await trx.deleteFrom('gallery_media').where('id', 'in', chunk).returning(['user_id', 'file', 'thumbnail']).execute();
      names.push(...rows.flatMap((row) => mediaNamesIn('gallery_media', row)));
      owners.push(...rows.map((row) => row.user_id));
    }
    await this.bumpGalleryVersions(trx, owners);
    await enqueueDeletions(trx, names, now);
    return names;
  }

  async bumpGalleryVersions(trx: Db, userIds: number[]): Promise<void> {
    for (const chunk of chunks([...new Set(userIds)])) {
      await trx
        .updateTable('users')
        .set((eb) => ({ gallery_version: eb('gallery_version', '+', 1) }))
        .where('id', 'in', chunk)
        .execute();
    }
  }

  /** New rows of a table with its own ids (items, subscriptions, gallery items): their new ids, in order. */
  async insertReturningIds(
    trx: Db,
    table: 'items' | 'subscriptions' | 'gallery_media',
    rows: Record<string, unknown>[],
  ): Promise<number[]> {
    const ids: number[] = [];
    for (const chunk of chunks(rows)) {
      if (chunk.length === 0) continue;
      const inserted = await trx
        .insertInto(table)
        .values(chunk as never)
        .returning('id')
        .execute();
      ids.push(...inserted.map((row) => Number(row.id)));
    }
    return ids;
  }

  async update(trx: Db, table: 'items' | 'subscriptions' | 'gallery_media', id: number, values: Record<string, unknown>): Promise<void> {
    await trx
      .updateTable(table)
      .set(values as never)
      .where('id', '=', id)
      .execute();
  }

  /** Removes rows whose source rows are gone, queueing their files; returns those names. */
  async deleteItems(trx: Db, ids: number[], now: string): Promise<string[]> {
    const names: string[] = [];
    for (const chunk of chunks(ids)) {
      const rows = await trx.deleteFrom('items').where('id', 'in', chunk).returning(['image', 'authenticity_certificate']).execute();
      names.push(...rows.flatMap((row) => mediaNamesIn('items', row)));
    }
    await enqueueDeletions(trx, names, now);
    return names;
  }

  async deleteUsers(trx: Db, ids: number[], now: string): Promise<string[]> {
    const names: string[] = [];
    for (const id of ids) {
      names.push(...(await namesOwnedBy(trx, id)));
      await trx.deleteFrom('users').where('id', '=', id).execute();
    }
    await enqueueDeletions(trx, names, now);
    return names;
  }

  async deleteRows(trx: Db, table: 'subscriptions' | 'social_media_links', column: 'id' | 'user_id', ids: number[]): Promise<void> {
    for (const chunk of chunks(ids)) await trx.deleteFrom(table).where(column, 'in', chunk).execute();
  }

  async record(trx: Db, records: ImportRecord[], now: string): Promise<void> {
    const rows = records.map((r) => ({
      source: r.source,
      source_id: r.sourceId,
      target_id: r.targetId,
      fingerprint: r.fingerprint,
      imported_at: now,
    }));
    for (const chunk of chunks(rows)) {
      await trx
        .insertInto('legacy_imports')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['source', 'source_id']).doUpdateSet({
            target_id: (eb) => eb.ref('excluded.target_id'),
            fingerprint: (eb) => eb.ref('excluded.fingerprint'),
            imported_at: (eb) => eb.ref('excluded.imported_at'),
          }),
        )
        .execute();
    }
  }

  async forget(trx: Db, source: string, sourceIds: number[]): Promise<void> {
    for (const chunk of chunks(sourceIds))
      await trx.deleteFrom('legacy_imports').where('source', '=', source).where('source_id', 'in', chunk).execute();
  }

  /** PostgreSQL's identity sequences continue after the highest id (SQLite's do by themselves). */
  async continueSequences(trx: Db): Promise<void> {
    if (this.dialect !== 'postgres') return;
    for (const table of ['users', 'items', 'subscriptions', 'gallery_media']) {
      await sql`select setval(pg_get_serial_sequence(${table}, 'id'), greatest((select max(id) from ${sql.table(table)}), 1))`.execute(trx);
    }
  }
}
