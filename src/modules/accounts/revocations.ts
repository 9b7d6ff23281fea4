import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';

/** The refresh-token denylist (by jti) and revoked token families; rows live until the tokens expire. */
export class RevocationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** True when this call revoked the token; false when it already was (a reuse). */
  async revoke(jti: string, family: string | null, reason: 'rotated' | 'logout' | 'reuse', expiresAt: string): Promise<boolean> {
    const result = await this.db
      .insertInto('revoked_tokens')
      .values({ jti, family, reason, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()) !== undefined;
  }

  async revokeFamily(family: string, expiresAt: string): Promise<void> {
    await this.db
      .insertInto('revoked_token_families')
      .values({ family, expires_at: expiresAt })
      .onConflict((oc) => oc.column('family').doUpdateSet({ expires_at: expiresAt }))
      .execute();
  }

  async isFamilyRevoked(family: string): Promise<boolean> {
    return (
      (await this.db.selectFrom('revoked_token_families').select('family').where('family', '=', family).executeTakeFirst()) !== undefined
    );
  }

  /** Revocations of tokens that have expired anyway; returns how many rows went. */
  async prune(now: string): Promise<number> {
    const tokens = await this.db.deleteFrom('revoked_tokens').where('expires_at', '<', now).executeTakeFirst();
    const families = await this.db.deleteFrom('revoked_token_families').where('expires_at', '<', now).executeTakeFirst();
    return Number(tokens.numDeletedRows) + Number(families.numDeletedRows);
  }
}
