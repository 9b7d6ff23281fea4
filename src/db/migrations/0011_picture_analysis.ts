import type { Kysely } from 'kysely';

/**
 * A picture's analysis, made at upload (JSON, see images/analysis.ts): the faces found, the focus
 * its variants are framed around, its quality hints and its capture date. Null for pictures stored
 * before it existed, until `media backfill` runs.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('pictures').addColumn('analysis', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('pictures').dropColumn('analysis').execute();
}
