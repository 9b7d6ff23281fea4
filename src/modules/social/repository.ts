import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';

export const SOCIAL_NETWORKS = ['facebook', 'instagram', 'youtube', 'tiktok'] as const;
export type SocialNetwork = (typeof SOCIAL_NETWORKS)[number];
export type SocialLinks = Record<SocialNetwork, string | null>;

const EMPTY: SocialLinks = { facebook: null, instagram: null, youtube: null, tiktok: null };

/** A talent's social media links: one row per user, created on first write. */
export class SocialLinksRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(userId: number): Promise<SocialLinks | undefined> {
    const row = await this.db.selectFrom('social_media_links').select(SOCIAL_NETWORKS).where('user_id', '=', userId).executeTakeFirst();
    return row;
  }

  /** Sets the given networks (null clears one) and returns every link. */
  async update(userId: number, patch: Partial<SocialLinks>, now: string): Promise<SocialLinks> {
    await this.db
      .insertInto('social_media_links')
      .values({ user_id: userId, ...EMPTY, ...patch, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...patch, updated_at: now }))
      .execute();
    return (await this.find(userId)) ?? { ...EMPTY, ...patch };
  }
}
