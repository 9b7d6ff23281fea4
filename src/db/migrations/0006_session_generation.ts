import { sql, type Kysely } from 'kysely';

/**
 * Sessions end by generation instead of by time: every token carries the user's session generation
 * (claim `gen`), and a password change or reset moves the generation on, so every token issued
 * before it stops working whatever the clock says (tokens_valid_after, in whole seconds, let a
 * token issued in the same second as the change through).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('session_generation', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
  // Users who changed their password before: their tokens carry no generation yet, so they start at
  // 1 and sign in once more; nobody's session outlives a change made before the upgrade.
  await sql`update users set session_generation = 1 where tokens_valid_after is not null`.execute(db);
  await db.schema.alterTable('users').dropColumn('tokens_valid_after').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('tokens_valid_after', 'bigint').execute();
  // Without generations, the only safe cut-off for users who had moved on is "now".
  await sql`update users set tokens_valid_after = ${Math.floor(Date.now() / 1000)} where session_generation > 0`.execute(db);
  await db.schema.alterTable('users').dropColumn('session_generation').execute();
}
