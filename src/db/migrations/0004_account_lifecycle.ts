import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';

/** Email verification and password reset codes, token revocation, and the mail outbox. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);

  // Tokens issued before this moment (seconds since the epoch) are refused: set by a password
  // reset or change, it ends every session of the user at once.
  await db.schema.alterTable('users').addColumn('tokens_valid_after', 'bigint').execute();

  await db.schema
    .createTable('verification_codes')
    .addColumn('id', 'integer', t.identity)
    .addColumn('user_id', 'integer', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'varchar(32)', (col) => col.notNull())
    .addColumn('code_hash', 'varchar(128)', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('expires_at', t.timestamp, (col) => col.notNull())
    .addColumn('used_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('verification_codes_user_purpose_idx')
    .on('verification_codes')
    .columns(['user_id', 'purpose', 'id'])
    .execute();

  await db.schema
    .createTable('revoked_tokens')
    .addColumn('jti', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('family', 'varchar(64)')
    .addColumn('reason', 'varchar(16)', (col) => col.notNull())
    .addColumn('expires_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema.createIndex('revoked_tokens_expiry_idx').on('revoked_tokens').column('expires_at').execute();

  await db.schema
    .createTable('revoked_token_families')
    .addColumn('family', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('expires_at', t.timestamp, (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('outbox_emails')
    .addColumn('id', 'integer', t.identity)
    .addColumn('to_address', 'varchar(254)', (col) => col.notNull())
    .addColumn('subject', 'varchar(255)', (col) => col.notNull())
    .addColumn('text_body', 'text', (col) => col.notNull())
    .addColumn('html_body', 'text', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('next_attempt_at', t.timestamp, (col) => col.notNull())
    .addColumn('locked_until', t.timestamp)
    .addColumn('last_error', 'text')
    .addColumn('sent_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (col) => col.notNull())
    .execute();
  await db.schema.createIndex('outbox_emails_due_idx').on('outbox_emails').columns(['sent_at', 'next_attempt_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox_emails').execute();
  await db.schema.dropTable('revoked_token_families').execute();
  await db.schema.dropTable('revoked_tokens').execute();
  await db.schema.dropTable('verification_codes').execute();
  await db.schema.alterTable('users').dropColumn('tokens_valid_after').execute();
}
