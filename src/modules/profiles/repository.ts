import { pictureFromColumns, type PictureDetails } from '../media/pictures.js';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../db/index.js';
import type { Database } from '../../db/types.js';
import { ITEM_TYPES } from '../items/catalogue.js';
import { PreparedQuery, preparedQuery } from '../../db/prepared.js';
import { enqueueDeletion, holdOwner, type InTransaction } from '../media/repository.js';
import type { SocialLinks } from '../social/repository.js';
import { activeFirst, type SubscriptionRecord } from '../subscriptions/repository.js';

export type ProfileTable = 'talent_profiles' | 'background_profiles';

export interface BackgroundProfileRecord {
  userId: number;
  country: string | null;
  dateOfBirth: string | null;
  gender: string | null;
  profilePicture: string | null;
  /** The picture's size, placeholder and variants, when recorded. */
  picture: PictureDetails | null;
  /** The active, unexpired subscription that lasts longest, if any. */
  subscription: SubscriptionRecord | undefined;
}

export interface BackgroundProfileView extends BackgroundProfileRecord {
  /** Items per type (types without items are absent). */
  itemCounts: Map<string, number>;
}

export interface TalentProfileRecord extends BackgroundProfileRecord {
  aboutyou: string | null;
  city: string | null;
  phone: string | null;
  /** The social media links, when the talent has set any. */
  social: SocialLinks | undefined;
}

export type BackgroundProfilePatch = Partial<{
  country: string | null;
  date_of_birth: string | null;
  gender: string | null;
}>;

export type TalentProfilePatch = BackgroundProfilePatch & Partial<{ aboutyou: string | null; city: string | null; phone: string | null }>;

interface ProfileRow {
  user_id: number;
  country: string | null;
  date_of_birth: string | null;
  gender: string | null;
  profile_picture: string | null;
  sub_id: number | null;
  sub_plan: string | null;
  sub_status: string | null;
  sub_start: string | null;
  sub_end: string | null;
  pic_width: number | null;
  pic_height: number | null;
  pic_placeholder: string | null;
  pic_variants: string | null;
  pic_analysis: string | null;
}

const pictureOf = (row: ProfileRow) =>
  pictureFromColumns({
    width: row.pic_width,
    height: row.pic_height,
    placeholder: row.pic_placeholder,
    variants: row.pic_variants,
    analysis: row.pic_analysis,
  });

function baseRecord(row: ProfileRow): BackgroundProfileRecord {
  return {
    userId: row.user_id,
    country: row.country,
    dateOfBirth: row.date_of_birth,
    gender: row.gender,
    profilePicture: row.profile_picture,
    picture: pictureOf(row),
    subscription:
      row.sub_id === null
        ? undefined
        : {
            id: row.sub_id,
            userId: row.user_id,
            plan: row.sub_plan as string,
            status: row.sub_status as string,
            startDate: row.sub_start as string,
            endDate: row.sub_end as string,
          },
  };
}

export class ProfileRepository {
  // The profile reads run on every GET and after every update.
  readonly #background;
  readonly #talent;
  // Every upload's commit reads and sets the picture (applyPicture).
  readonly #currentPicture = {} as Record<ProfileTable, PreparedQuery<{ userId: number }, { profile_picture: string | null }>>;
  readonly #setPicture = {} as Record<ProfileTable, PreparedQuery<{ userId: number; picture: string | null; now: string }, unknown>>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {
    this.#background = preparedQuery(db, (args: { userId: number; now: string }) => this.backgroundQuery(args.userId, args.now), [
      'userId',
      'now',
    ]);
    this.#talent = preparedQuery(db, (args: { userId: number; now: string }) => this.talentQuery(args.userId, args.now), ['userId', 'now']);
    for (const table of ['talent_profiles', 'background_profiles'] as const) {
      this.#currentPicture[table] = new PreparedQuery(
        (trx, args: { userId: number }) =>
          trx
            .selectFrom(table)
            .select('profile_picture')
            .where('user_id', '=', args.userId)
            .$if(dialect === 'postgres', (qb) => qb.forUpdate()),
        ['userId'],
      );
      this.#setPicture[table] = new PreparedQuery(
        (trx, args: { userId: number; picture: string | null; now: string }) =>
          trx.updateTable(table).set({ profile_picture: args.picture, updated_at: args.now }).where('user_id', '=', args.userId),
        ['userId', 'picture', 'now'],
      );
    }
  }

  /**
   * The profile with its active subscription and, for background users, the item counts per
   * type: one query whatever the number of items or subscriptions.
   */
  private profileQuery<T extends ProfileTable>(table: T, userId: number, now: string) {
    return (
      this.db
        .selectFrom(`${table} as p` as 'background_profiles as p')
        // The active subscription (the repository's rule), picked by an index-ordered subquery: an
        // ORDER BY on the outer query would make SQLite build a sorter for one row (7x the cost).
        .leftJoin('subscriptions as s', (join) =>
          join.on((eb) =>
            eb(
              's.id',
              '=',
              eb
                .selectFrom('subscriptions as a')
                .select('a.id')
                .whereRef('a.user_id', '=', 'p.user_id')
                .$call((qb) => activeFirst(qb, now)),
            ),
          ),
        )
        // What is known of the picture (size, placeholder, variants): read, never computed, here.
        .leftJoin('pictures as pic', 'pic.name', 'p.profile_picture')
        .select([
          'p.user_id',
          'p.country',
          'p.date_of_birth',
          'p.gender',
          'p.profile_picture',
          'pic.width as pic_width',
          'pic.height as pic_height',
          'pic.placeholder as pic_placeholder',
          'pic.variants as pic_variants',
          'pic.analysis as pic_analysis',
          's.id as sub_id',
          's.plan as sub_plan',
          's.status as sub_status',
          's.start_date as sub_start',
          's.end_date as sub_end',
        ])
        .where('p.user_id', '=', userId)
    );
  }

  private backgroundQuery(userId: number, now: string) {
    return this.profileQuery('background_profiles', userId, now).select((eb) =>
      ITEM_TYPES.map((type) =>
        eb
          .selectFrom('items')
          .select((sub) => sub.fn.countAll<number>().as('n'))
          .whereRef('items.user_id', '=', 'p.user_id')
          .where('items.item_type', '=', type)
          .as(`items_${type}`),
      ),
    );
  }

  async findBackground(userId: number, now: string): Promise<BackgroundProfileView | undefined> {
    const [row] = await this.#background({ userId, now });
    if (!row) return undefined;
    const counts = new Map<string, number>();
    for (const type of ITEM_TYPES) {
      const n = Number((row as Record<string, unknown>)[`items_${type}`] ?? 0);
      if (n > 0) counts.set(type, n);
    }
    return { ...baseRecord(row), itemCounts: counts };
  }

  private talentQuery(userId: number, now: string) {
    return (
      this.profileQuery('talent_profiles', userId, now)
        // The social links ride along: a left join on their one row (keyed by user).
        .leftJoin('social_media_links as sm', 'sm.user_id', 'p.user_id')
        // The shared query is typed on one profile table; these columns exist on talent_profiles only.
        .select([
          sql.ref<string | null>('p.aboutyou').as('aboutyou'),
          sql.ref<string | null>('p.city').as('city'),
          sql.ref<string | null>('p.phone').as('phone'),
          'sm.user_id as social_user',
          'sm.facebook',
          'sm.instagram',
          'sm.youtube',
          'sm.tiktok',
        ])
    );
  }

  async findTalent(userId: number, now: string): Promise<TalentProfileRecord | undefined> {
    const [row] = await this.#talent({ userId, now });
    if (!row) return undefined;
    const social =
      row.social_user === null ? undefined : { facebook: row.facebook, instagram: row.instagram, youtube: row.youtube, tiktok: row.tiktok };
    return { ...baseRecord(row), aboutyou: row.aboutyou, city: row.city, phone: row.phone, social };
  }

  /** A user who got a role without going through registration (e.g. the CLI) gets an empty profile. */
  async ensureProfile(
    table: ProfileTable,
    userId: number,
    now: string,
    db: Kysely<Database> | Transaction<Database> = this.db,
  ): Promise<void> {
    await db
      .insertInto(table)
      .values({ user_id: userId, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
  }

  /** Sets profile fields in one statement, creating the row if the user has none yet. */
  async updateFields(table: ProfileTable, userId: number, patch: TalentProfilePatch, now: string): Promise<void> {
    // Typed on one profile table; the talent-only columns exist on talent_profiles, where they are sent.
    await this.db
      .insertInto(table as 'talent_profiles')
      .values({ user_id: userId, ...patch, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...patch, updated_at: now }))
      .execute();
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
    first?: InTransaction,
  ): Promise<string | null> {
    return this.db.transaction().execute(async (trx) => {
      await holdOwner(trx, this.dialect, userId);
      await first?.(trx);
      // The row, locked (PostgreSQL) before it changes; created first for a user who has none.
      const lockRow = async () => (await this.#currentPicture[table].run(trx, { userId }))[0];
      let current = await lockRow();
      if (!current) {
        await this.ensureProfile(table, userId, now, trx);
        current = await lockRow();
      }
      if (!current) throw new Error(`no ${table} row for user ${userId}`);
      if (Object.keys(patch).length > 0) {
        await trx
          .updateTable(table)
          .set({ ...patch, updated_at: now })
          .where('user_id', '=', userId)
          .execute();
      }
      await this.#setPicture[table].run(trx, { userId, picture, now });
      const old = current.profile_picture;
      if (old && old !== picture) await enqueueDeletion(trx, this.dialect, old, now);
      return old && old !== picture ? old : null;
    });
  }
}
