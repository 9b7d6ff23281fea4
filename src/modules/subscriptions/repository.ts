import { sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { Database, SubscriptionsTable } from '../../db/types.js';

export interface SubscriptionRecord {
  id: number;
  userId: number;
  plan: string;
  status: string;
  startDate: string;
  endDate: string;
}

type Row = Selectable<SubscriptionsTable>;

const toRecord = (row: Pick<Row, 'id' | 'user_id' | 'plan' | 'status' | 'start_date' | 'end_date'>): SubscriptionRecord => ({
  id: row.id,
  userId: row.user_id,
  plan: row.plan,
  status: row.status,
  startDate: row.start_date,
  endDate: row.end_date,
});

/**
 * "The" subscription of a user: active, unexpired, and the one that lasts longest. Applied to a
 * query over the subscriptions table (alone in its FROM, so the columns need no qualifier).
 */
export function activeFirst<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>, now: string): SelectQueryBuilder<DB, TB, O> {
  return qb.where(sql.ref('status'), '=', 'active').where(sql.ref('end_date'), '>', now).orderBy(sql.ref('end_date'), 'desc').limit(1);
}

export class SubscriptionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The active, unexpired subscription that lasts longest, if any. */
  async findActive(userId: number, now: string): Promise<SubscriptionRecord | undefined> {
    const row = await this.db
      .selectFrom('subscriptions')
      .select(['id', 'user_id', 'plan', 'status', 'start_date', 'end_date'])
      .where('user_id', '=', userId)
      .$call((qb) => activeFirst(qb, now))
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Every subscription the user has had, newest first. */
  async listForUser(userId: number): Promise<SubscriptionRecord[]> {
    const rows = await this.db
      .selectFrom('subscriptions')
      .select(['id', 'user_id', 'plan', 'status', 'start_date', 'end_date'])
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toRecord);
  }

  /** Ends every active subscription of the user and starts a new one, atomically. */
  async replaceActive(userId: number, plan: string, startDate: string, endDate: string): Promise<SubscriptionRecord> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('subscriptions')
        .set({ status: 'cancelled', end_date: startDate, updated_at: startDate })
        .where('user_id', '=', userId)
        .where('status', '=', 'active')
        .execute();
      const row = await trx
        .insertInto('subscriptions')
        .values({
          user_id: userId,
          plan,
          status: 'active',
          start_date: startDate,
          end_date: endDate,
          created_at: startDate,
          updated_at: startDate,
        })
        .returning(['id', 'user_id', 'plan', 'status', 'start_date', 'end_date'])
        .executeTakeFirstOrThrow();
      return toRecord(row);
    });
  }

  /** Cancels every active subscription; returns how many were cancelled. */
  async cancelActive(userId: number, now: string): Promise<number> {
    const result = await this.db
      .updateTable('subscriptions')
      .set({ status: 'cancelled', end_date: now, updated_at: now })
      .where('user_id', '=', userId)
      .where('status', '=', 'active')
      .where('end_date', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
