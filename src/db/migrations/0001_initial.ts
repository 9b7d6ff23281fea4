import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);

  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', t.identity)
    .addColumn('email', 'varchar(254)', (col) => col.notNull().unique())
    .addColumn('password_hash', 'varchar(255)', (col) => col.notNull())
    .addColumn('first_name', 'varchar(150)', (col) => col.notNull())
    .addColumn('last_name', 'varchar(150)', (col) => col.notNull())
    .addColumn('residency', 'varchar(100)')
    .addColumn('is_talent', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('is_background', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('email_verified', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('is_active', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('last_login', t.timestamp)
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('talent_profiles')
    .addColumn('user_id', 'integer', (col) => col.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('aboutyou', 'text')
    .addColumn('city', 'varchar(100)')
    .addColumn('country', 'varchar(25)')
    .addColumn('phone', 'varchar(20)')
    .addColumn('date_of_birth', t.date)
    .addColumn('gender', 'varchar(20)')
    .addColumn('profile_picture', 'varchar(255)')
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('background_profiles')
    .addColumn('user_id', 'integer', (col) => col.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('country', 'varchar(25)')
    .addColumn('date_of_birth', t.date)
    .addColumn('gender', 'varchar(20)')
    .addColumn('profile_picture', 'varchar(255)')
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('subscriptions')
    .addColumn('id', 'integer', t.identity)
    .addColumn('user_id', 'integer', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('plan', 'varchar(32)', (col) => col.notNull())
    .addColumn('status', 'varchar(16)', (col) => col.notNull())
    .addColumn('start_date', t.timestamp, (col) => col.notNull())
    .addColumn('end_date', t.timestamp, (col) => col.notNull())
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .addColumn('updated_at', t.timestamp, (col) => col.notNull())
    .execute();

  await db.schema.createIndex('subscriptions_user_status_idx').on('subscriptions').columns(['user_id', 'status', 'end_date']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('subscriptions').execute();
  await db.schema.dropTable('background_profiles').execute();
  await db.schema.dropTable('talent_profiles').execute();
  await db.schema.dropTable('users').execute();
}
