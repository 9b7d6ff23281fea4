import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/types.js';

/** Every column that holds a media name; the sweep and the safety checks read them all. */
export const MEDIA_REFERENCES = [
  ['background_profiles', 'profile_picture'],
  ['talent_profiles', 'profile_picture'],
  ['items', 'image'],
  ['items', 'authenticity_certificate'],
] as const;

export interface PendingDeletion {
  name: string;
  attempts: number;
}

/** Records that `names` must be deleted from storage; call inside the transaction that dropped them. */
export async function enqueueDeletions(trx: Kysely<Database> | Transaction<Database>, names: string[], now: string): Promise<void> {
  if (names.length === 0) return;
  await trx
    .insertInto('pending_deletions')
    .values(names.map((name) => ({ name, attempts: 0, next_attempt_at: now, created_at: now })))
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

export class MediaRepository {
  constructor(private readonly db: Kysely<Database>) {}

  enqueue(names: string[], now: string): Promise<void> {
    return enqueueDeletions(this.db, names, now);
  }

  async due(now: string, limit: number): Promise<PendingDeletion[]> {
    return this.db
      .selectFrom('pending_deletions')
      .select(['name', 'attempts'])
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
  }

  async all(): Promise<PendingDeletion[]> {
    return this.db.selectFrom('pending_deletions').select(['name', 'attempts']).orderBy('id').execute();
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('pending_deletions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async done(name: string): Promise<void> {
    await this.db.deleteFrom('pending_deletions').where('name', '=', name).execute();
  }

  async reschedule(name: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
    await this.db
      .updateTable('pending_deletions')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 1000) })
      .where('name', '=', name)
      .execute();
  }

  /** Every media name a row points at. */
  async referencedNames(): Promise<Set<string>> {
    const selects = MEDIA_REFERENCES.map(
      ([table, column]) => sql`select ${sql.ref(column)} as name from ${sql.table(table)} where ${sql.ref(column)} is not null`,
    );
    const rows = await sql<{ name: string }>`${sql.join(selects, sql` union all `)}`.execute(this.db);
    return new Set(rows.rows.map((row) => row.name));
  }

  async isReferenced(name: string): Promise<boolean> {
    const checks = MEDIA_REFERENCES.map(
      ([table, column]) => sql`exists (select 1 from ${sql.table(table)} where ${sql.ref(column)} = ${name})`,
    );
    const result = await sql<{ referenced: unknown }>`select (${sql.join(checks, sql` or `)}) as referenced`.execute(this.db);
    const value = result.rows[0]?.referenced;
    return value === true || value === 1;
  }
}
