import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/types.js';

export type CodePurpose = 'email_verification' | 'password_reset';
export const MAX_CODE_ATTEMPTS = 5;

/** Six digits from a CSPRNG. */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * Codes are stored as a keyed hash: a leaked table does not give them away, and with only a
 * million possible codes a plain hash would be brute-forced offline in a moment.
 */
export function hashCode(secret: string, purpose: CodePurpose, userId: number, code: string): string {
  return createHmac('sha256', secret).update(`${purpose}:${userId}:${code}`).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export class CodeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Ends every live code of the purpose and stores a new one, in the caller's transaction. */
  async issue(trx: Transaction<Database>, userId: number, purpose: CodePurpose, codeHash: string, expiresAt: string, now: string) {
    await trx
      .updateTable('verification_codes')
      .set({ used_at: now })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
    await trx
      .insertInto('verification_codes')
      .values({ user_id: userId, purpose, code_hash: codeHash, attempts: 0, expires_at: expiresAt, created_at: now })
      .execute();
  }

  async lastIssuedAt(userId: number, purpose: CodePurpose): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('verification_codes')
      .select('created_at')
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.created_at;
  }

  /**
   * Takes one try at the live code: the attempt is counted atomically before the code is compared,
   * so parallel guesses cannot get past the limit. Undefined when there is no live code or no try left.
   */
  async claimAttempt(
    userId: number,
    purpose: CodePurpose,
    now: string,
  ): Promise<{ id: number; codeHash: string; attempts: number } | undefined> {
    const live = await this.db
      .selectFrom('verification_codes')
      .select(['id', 'code_hash'])
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!live) return undefined;
    const claimed = await this.db
      .updateTable('verification_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', live.id)
      .where('used_at', 'is', null)
      .where('attempts', '<', MAX_CODE_ATTEMPTS)
      .returning('attempts')
      .executeTakeFirst();
    return claimed ? { id: live.id, codeHash: live.code_hash, attempts: claimed.attempts } : undefined;
  }

  /** Single use: true for the one caller that marks it used. */
  async markUsed(trx: Kysely<Database> | Transaction<Database>, id: number, now: string): Promise<boolean> {
    const result = await trx
      .updateTable('verification_codes')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
