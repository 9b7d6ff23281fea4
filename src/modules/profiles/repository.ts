import type { Kysely } from 'kysely';
import type { Dialect } from '../../db/index.js';
import type { Database } from '../../db/types.js';
import { enqueueDeletions } from '../media/repository.js';

export type ProfileTable = 'talent_profiles' | 'background_profiles';

export interface BackgroundProfileRecord {
  userId: number;
  email: string;
  emailVerified: boolean;
  country: string | null;
  dateOfBirth: string | null;
  gender: string | null;
  profilePicture: string | null;
}

export interface TalentProfileRecord extends BackgroundProfileRecord {
  aboutyou: string | null;
  city: string | null;
  phone: string | null;
}

export type BackgroundProfilePatch = Partial<{
  country: string | null;
  date_of_birth: string | null;
  gender: string | null;
}>;

export type TalentProfilePatch = BackgroundProfilePatch &
  Partial<{ aboutyou: string | null; city: string | null; phone: string | null }>;

export class ProfileRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async findBackground(userId: number): Promise<BackgroundProfileRecord | undefined> {
    const row = await this.db
      .selectFrom('background_profiles as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .select(['p.user_id', 'u.email', 'u.email_verified', 'p.country', 'p.date_of_birth', 'p.gender', 'p.profile_picture'])
      .where('p.user_id', '=', userId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      userId: row.user_id,
      email: row.email,
      emailVerified: Boolean(row.email_verified),
      country: row.country,
      dateOfBirth: row.date_of_birth,
      gender: row.gender,
      profilePicture: row.profile_picture,
    };
  }

  async findTalent(userId: number): Promise<TalentProfileRecord | undefined> {
    const row = await this.db
      .selectFrom('talent_profiles as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .select([
        'p.user_id',
        'u.email',
        'u.email_verified',
        'p.aboutyou',
        'p.city',
        'p.country',
        'p.phone',
        'p.date_of_birth',
        'p.gender',
        'p.profile_picture',
      ])
      .where('p.user_id', '=', userId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      userId: row.user_id,
      email: row.email,
      emailVerified: Boolean(row.email_verified),
      aboutyou: row.aboutyou,
      city: row.city,
      country: row.country,
      phone: row.phone,
      dateOfBirth: row.date_of_birth,
      gender: row.gender,
      profilePicture: row.profile_picture,
    };
  }

  /** A user who got a role without going through registration (e.g. the CLI) gets an empty profile. */
  async ensureProfile(table: ProfileTable, userId: number, now: string): Promise<void> {
    await this.db
      .insertInto(table)
      .values({ user_id: userId, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
  }

  async updateBackground(userId: number, patch: BackgroundProfilePatch, now: string): Promise<void> {
    await this.db.updateTable('background_profiles').set({ ...patch, updated_at: now }).where('user_id', '=', userId).execute();
  }

  async updateTalent(userId: number, patch: TalentProfilePatch, now: string): Promise<void> {
    await this.db.updateTable('talent_profiles').set({ ...patch, updated_at: now }).where('user_id', '=', userId).execute();
  }

  /**
   * Applies a field patch and sets the picture (a new name, or null to remove it) in one
   * transaction that also queues the replaced object for deletion. The row is locked first
   * (PostgreSQL; SQLite serialises writers), so of two concurrent uploads each learns exactly
   * which picture it replaced: nothing is deleted twice and nothing is left behind.
   */
  async applyPicture(
    table: ProfileTable,
    userId: number,
    patch: TalentProfilePatch,
    picture: string | null,
    now: string,
  ): Promise<string | null> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom(table)
        .select('profile_picture')
        .where('user_id', '=', userId)
        .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      if (!current) throw new Error(`no ${table} row for user ${userId}`);
      await trx
        .updateTable(table)
        .set({ ...patch, profile_picture: picture, updated_at: now })
        .where('user_id', '=', userId)
        .execute();
      const old = current.profile_picture;
      if (old && old !== picture) await enqueueDeletions(trx, [old], now);
      return old && old !== picture ? old : null;
    });
  }
}
