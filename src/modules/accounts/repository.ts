import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Dialect } from '../../db/index.js';
import type { Database, UsersTable } from '../../db/types.js';
import { preparedQuery } from '../../db/prepared.js';
import { forgetRecipient } from '../mail/service.js';
import { enqueueDeletions } from '../media/repository.js';
import { namesOwnedBy } from '../media/references.js';
import type { Role } from '../../auth/roles.js';

/** The user's own fields a talent profile update may change. */
export type NameChange = Partial<{ first_name: string; last_name: string; residency: string | null }>;

export interface UserRecord {
  id: number;
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
  residency: string | null;
  isTalent: boolean;
  isBackground: boolean;
  emailVerified: boolean;
  isActive: boolean;
  /** Only tokens of this generation count; a password reset or change moves it on. */
  sessionGeneration: number;
  /** Moves on with every change to the user's gallery (it keys the gallery cache). */
  galleryVersion: number;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
  residency: string | null;
  role: Role;
  country: string | null;
  dateOfBirth: string | null;
  gender: string | null;
}

const USER_COLUMNS = [
  'id',
  'email',
  'password_hash',
  'first_name',
  'last_name',
  'residency',
  'is_talent',
  'is_background',
  'email_verified',
  'is_active',
  'session_generation',
  'gallery_version',
] as const;

type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;

const toRecord = (row: UserRow): UserRecord => ({
  id: row.id,
  email: row.email,
  passwordHash: row.password_hash,
  firstName: row.first_name,
  lastName: row.last_name,
  residency: row.residency,
  isTalent: Boolean(row.is_talent),
  isBackground: Boolean(row.is_background),
  emailVerified: Boolean(row.email_verified),
  isActive: Boolean(row.is_active),
  sessionGeneration: Number(row.session_generation),
  galleryVersion: Number(row.gallery_version),
});

export class UserRepository {
  // Run on every authenticated request.
  readonly #byId;
  readonly #byIdInSession;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {
    this.#byId = preparedQuery(db, (args: { id: number }) => db.selectFrom('users').select(USER_COLUMNS).where('id', '=', args.id), ['id']);
    this.#byIdInSession = preparedQuery(
      db,
      (args: { id: number; family: string }) =>
        db
          .selectFrom('users')
          .select(USER_COLUMNS)
          .select((eb) =>
            eb.exists(eb.selectFrom('revoked_token_families').select('family').where('family', '=', args.family)).as('session_revoked'),
          )
          .where('id', '=', args.id),
      ['id', 'family'],
    );
  }

  /** The user, and whether the session (token family) was ended (sign-out), in one query. */
  async findInSession(id: number, family: string): Promise<{ user: UserRecord; sessionRevoked: boolean } | undefined> {
    const [row] = await this.#byIdInSession({ id, family });
    return row ? { user: toRecord(row), sessionRevoked: Boolean(row.session_revoked) } : undefined;
  }

  async findById(id: number): Promise<UserRecord | undefined> {
    const [row] = await this.#byId({ id });
    return row ? toRecord(row) : undefined;
  }

  /** `email` must already be normalised (see normaliseEmail). */
  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').select(USER_COLUMNS).where('email', '=', email).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** The user and the profile of their role, in one transaction. */
  async createWithProfile(user: NewUser, now: string): Promise<UserRecord> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('users')
        .values({
          email: user.email,
          password_hash: user.passwordHash,
          first_name: user.firstName,
          last_name: user.lastName,
          residency: user.residency,
          is_talent: user.role === 'talent',
          is_background: user.role === 'background',
          email_verified: false,
          is_active: true,
          created_at: now,
          updated_at: now,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      const profile = {
        user_id: row.id,
        country: user.country,
        date_of_birth: user.dateOfBirth,
        gender: user.gender,
        profile_picture: null,
        created_at: now,
        updated_at: now,
      };
      if (user.role === 'talent') {
        await trx
          .insertInto('talent_profiles')
          .values({ ...profile, aboutyou: null, city: null, phone: null })
          .execute();
      } else {
        await trx.insertInto('background_profiles').values(profile).execute();
      }
      return toRecord(row);
    });
  }

  async setEmailVerified(
    id: number,
    verified: boolean,
    now: string,
    trx: Kysely<Database> | Transaction<Database> = this.db,
  ): Promise<void> {
    await trx.updateTable('users').set({ email_verified: verified, updated_at: now }).where('id', '=', id).execute();
  }

  /** The same password under a new hash (an imported Django hash becomes argon2id): sessions go on. */
  async replacePasswordHash(id: number, previous: string, passwordHash: string): Promise<void> {
    // Only if it is still the hash that was checked: a password change in between wins.
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', id)
      .where('password_hash', '=', previous)
      .execute();
  }

  /**
   * New password and a new session generation (every token issued so far stops working); returns
   * the generation, or undefined when the account is gone (deleted by another request meanwhile).
   */
  async setPassword(
    id: number,
    passwordHash: string,
    now: string,
    trx: Kysely<Database> | Transaction<Database> = this.db,
  ): Promise<number | undefined> {
    const row = await trx
      .updateTable('users')
      .set((eb) => ({ password_hash: passwordHash, session_generation: eb('session_generation', '+', 1), updated_at: now }))
      .where('id', '=', id)
      .returning('session_generation')
      .executeTakeFirst();
    return row && Number(row.session_generation);
  }

  /** The stored name of the user's profile picture in the profile of `role`, if any. */
  async profilePicture(id: number, role: Role): Promise<string | null> {
    const table = role === 'talent' ? 'talent_profiles' : 'background_profiles';
    const row = await this.db.selectFrom(table).select('profile_picture').where('user_id', '=', id).executeTakeFirst();
    return row?.profile_picture ?? null;
  }

  /** The names and residency the profile forms edit (the live talent update writes them to the user). */
  async updateNames(id: number, patch: NameChange, now: string): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    await this.db
      .updateTable('users')
      .set({ ...patch, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async recordLogin(id: number, now: string): Promise<void> {
    await this.db.updateTable('users').set({ last_login: now }).where('id', '=', id).execute();
  }

  /**
   * Deletes the user (profiles, items and subscriptions cascade) and, in the same transaction,
   * queues every stored file they referenced and drops the mails to them. Returns those names for
   * deletion after the commit, and the address the user had.
   */
  async deleteWithMedia(id: number, now: string): Promise<{ names: string[]; email: string } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // Held first (PostgreSQL): every change of this user's files holds the row FOR KEY SHARE
      // first (holdUser in media/repository.ts), so it either commits before the files are listed
      // below, or finds the account gone. SQLite's write transactions run one at a time.
      const user = await trx
        .selectFrom('users')
        .select('email')
        .where('id', '=', id)
        .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      if (!user) return undefined;
      const names = await namesOwnedBy(trx, id);
      await enqueueDeletions(trx, names, now);
      // Mails still queued for the account carry codes for it: they go with it.
      await forgetRecipient(trx, user.email);
      const deleted = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(deleted.numDeletedRows) === 0 ? undefined : { names, email: user.email };
    });
  }
}
