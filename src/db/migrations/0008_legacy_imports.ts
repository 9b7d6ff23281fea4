import { sql, type Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/** Item columns that are narrower here than in the Django source; imported values must fit whole. */
const WIDENED: [column: string, before: number][] = [
  ['name', 100],
  ['genre', 50],
  ['material', 100],
  ['used_in_movie', 200],
  ['condition', 50],
  ['size', 20],
  ['worn_by', 100],
  ['era', 50],
  ['signed_by', 100],
  ['make', 50],
  ['model', 50],
  ['material_type', 50],
  ['instrument_type', 50],
  ['used_by', 100],
];

/**
 * What `cli import django` brought in: each source row (by table and id), the row it became, and a
 * fingerprint of the source values, so a re-run updates only what changed in the source and leaves
 * alone what users changed here since.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('legacy_imports')
    .addColumn('source', 'varchar(64)', (col) => col.notNull())
    .addColumn('source_id', 'bigint', (col) => col.notNull())
    .addColumn('target_id', 'integer', (col) => col.notNull())
    .addColumn('fingerprint', 'varchar(80)', (col) => col.notNull())
    .addColumn('imported_at', t.timestamp, (col) => col.notNull())
    .addPrimaryKeyConstraint('legacy_imports_pkey', ['source', 'source_id'])
    .execute();
  // SQLite does not enforce varchar lengths; PostgreSQL gets the source's 255.
  if (t.postgres) {
    for (const [column] of WIDENED) await sql`alter table items alter column ${sql.ref(column)} type varchar(255)`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('legacy_imports').execute();
  if (columnTypes(db).postgres) {
    for (const [column, before] of WIDENED) {
      await sql`alter table items alter column ${sql.ref(column)} type ${sql.raw(`varchar(${before})`)} using left(${sql.ref(column)}, ${sql.lit(before)})`.execute(
        db,
      );
    }
  }
}
