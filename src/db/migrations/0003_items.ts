import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/**
 * Background users' items, all eight types in one table: the common columns plus each type's
 * own (null for the others). One table keeps listing, counting and scoring to single queries.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('items')
    .addColumn('id', 'integer', t.identity)
    .addColumn('user_id', 'integer', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('item_type', 'varchar(32)', (col) => col.notNull())
    .addColumn('name', 'varchar(100)', (col) => col.notNull())
    .addColumn('description', 'text')
    .addColumn('price_cents', 'bigint')
    .addColumn('genre', 'varchar(50)')
    .addColumn('is_for_rent', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('is_for_sale', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('image', 'varchar(255)')
    // prop
    .addColumn('material', 'varchar(100)')
    .addColumn('used_in_movie', 'varchar(200)')
    .addColumn('condition', 'varchar(50)')
    // costume
    .addColumn('size', 'varchar(20)')
    .addColumn('worn_by', 'varchar(100)')
    .addColumn('era', 'varchar(50)')
    // location
    .addColumn('address', 'varchar(255)')
    .addColumn('capacity', 'integer')
    .addColumn('is_indoor', 'boolean')
    // memorabilia
    .addColumn('signed_by', 'varchar(100)')
    .addColumn('authenticity_certificate', 'varchar(255)')
    // vehicle
    .addColumn('make', 'varchar(50)')
    .addColumn('model', 'varchar(50)')
    .addColumn('year', 'integer')
    // artistic_material (API field "type"; condition is shared with prop)
    .addColumn('material_type', 'varchar(50)')
    // music_item
    .addColumn('instrument_type', 'varchar(50)')
    .addColumn('used_by', 'varchar(100)')
    // rare_item
    .addColumn('provenance', 'text')
    .addColumn('is_one_of_a_kind', 'boolean')
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema.createIndex('items_user_type_idx').on('items').columns(['user_id', 'item_type', 'id']).execute();
  await db.schema.createIndex('items_user_id_idx').on('items').columns(['user_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('items').execute();
}
