import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { isReferenced, referencedNames } from './references.js';

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
    const row = await this.db
      .selectFrom('pending_deletions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
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
  referencedNames(): Promise<Set<string>> {
    return referencedNames(this.db);
  }

  isReferenced(name: string): Promise<boolean> {
    return isReferenced(this.db, name);
  }
}
