import type { PictureDetails } from '../media/pictures.js';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { BoundedMap } from '../../bounded-map.js';
import type { Dialect } from '../../db/index.js';
import type { Database, GalleryMediaTable } from '../../db/types.js';
import { enqueueMail } from '../mail/service.js';
import type { Mail } from '../mail/templates.js';
import { enqueueDeletions, holdUser, OwnerGoneError, withPicture, withPictures, type InTransaction } from '../media/repository.js';
import { mediaNamesIn } from '../media/references.js';
import { UNIQUE_SLOTS, type GalleryPatch, type Slot } from './input.js';

/** A gallery row, with what is known of its photo (size, placeholder, variants; null for videos and older photos). */
export type GalleryRow = Selectable<GalleryMediaTable> & { picture: PictureDetails | null };

type StoredRow = Selectable<GalleryMediaTable>;

const photoName = (row: StoredRow) => (row.media_type === 'image' ? row.file : null);
export type GalleryKind = 'talent' | 'background';
export type MediaType = 'image' | 'video';

export interface NewGalleryMedia {
  name: string;
  mediaInfo: string;
  mediaType: MediaType;
  file: string;
  thumbnail: string | null;
  durationSeconds: number | null;
  capturedAt: string | null;
  /** A test video: its number (undefined: the lowest free one, 1–4) and whether it is the about-yourself video (5). */
  testVideo: { number: number | undefined; aboutYourself: boolean } | undefined;
  slot: Slot | null;
  tags: string;
  visibility: 'public' | 'hidden';
}

/** Why an item could not be added: the plan's limit, or the live service's test-video rules. */
export class GalleryLimitError extends Error {
  constructor(
    readonly mediaType: MediaType,
    readonly used: number,
    readonly limit: number,
  ) {
    super(`gallery limit of ${limit} ${mediaType}s reached`);
  }
}

/** A rule of the gallery was broken; `field` is the form field the 400 names. */
export class GalleryRuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A headshot due for a reminder, with where to send it. */
export interface StaleHeadshot {
  id: number;
  email: string;
  takenAt: string;
}

const PROFILE_TABLE = { talent: 'talent_profiles', background: 'background_profiles' } as const;
type Trx = Transaction<Database>;

/** Galleries kept per process: enough for every active user of a worker; the limit only bounds abuse. */
const CACHED_GALLERIES = 10_000;

export class GalleryRepository {
  readonly #cache = new BoundedMap<string, { version: number; rows: GalleryRow[] }>(CACHED_GALLERIES);

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * The owner's gallery for a profile read. Every gallery change moves `users.gallery_version` on in
   * its transaction, and the version comes with the user row every authenticated request reads, so
   * rows cached under the same version are current in any worker; a new version reads them again.
   */
  async listFor(user: { id: number; galleryVersion: number }, kind: GalleryKind): Promise<GalleryRow[]> {
    const key = `${user.id}:${kind}`;
    const cached = this.#cache.get(key);
    if (cached && cached.version === user.galleryVersion) return cached.rows;
    const rows = await this.list(user.id, kind);
    this.#cache.set(key, { version: user.galleryVersion, rows });
    return rows;
  }

  /** The owner's gallery in the order they chose (then oldest first). */
  async list(userId: number, kind: GalleryKind): Promise<GalleryRow[]> {
    const rows = await this.db
      .selectFrom('gallery_media')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .orderBy('position')
      .orderBy('id')
      .execute();
    return withPictures(this.db, rows, photoName);
  }

  /** What others see: public items only, in the owner's order. */
  async listPublic(userId: number): Promise<GalleryRow[]> {
    const rows = await this.db
      .selectFrom('gallery_media')
      .selectAll()
      .where('user_id', '=', userId)
      .where('visibility', '=', 'public')
      .orderBy('position')
      .orderBy('id')
      .execute();
    return withPictures(this.db, rows, photoName);
  }

  async count(userId: number, kind: GalleryKind, mediaType: MediaType): Promise<number> {
    return countIn(this.db, userId, kind, mediaType);
  }

  /** Part of every gallery change's transaction: readers holding the old version read the gallery again. */
  private async bump(trx: Trx, userId: number): Promise<void> {
    await trx
      .updateTable('users')
      .set((eb) => ({ gallery_version: eb('gallery_version', '+', 1) }))
      .where('id', '=', userId)
      .execute();
  }

  /** Serialises a user's gallery changes, before any row of theirs (holdUser, exclusive). False when the account is gone. */
  private lockOwner(trx: Trx, userId: number): Promise<boolean> {
    return holdUser(trx, this.dialect, userId, { exclusive: true });
  }

  /**
   * Adds an item if the gallery has room for it. The count and the insert are one transaction that
   * first locks the user's row, so two uploads at once cannot both take the last place (nor the
   * same test-video number). `first` runs in that transaction once the row is locked (it records
   * the new picture).
   */
  async addWithin(
    userId: number,
    kind: GalleryKind,
    media: NewGalleryMedia,
    limit: number,
    now: string,
    first?: InTransaction,
  ): Promise<GalleryRow> {
    return withPicture(this.db, await this.addRow(userId, kind, media, limit, now, first), photoName);
  }

  private addRow(
    userId: number,
    kind: GalleryKind,
    media: NewGalleryMedia,
    limit: number,
    now: string,
    first: InTransaction | undefined,
  ): Promise<StoredRow> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.lockOwner(trx, userId))) throw new OwnerGoneError();
      await first?.(trx);
      let testVideoNumber: number | null = null;
      if (media.testVideo) testVideoNumber = await this.testVideoNumber(trx, userId, media.testVideo);
      else {
        const used = await countIn(trx, userId, kind, media.mediaType);
        if (used >= limit) throw new GalleryLimitError(media.mediaType, used, limit);
      }
      if (media.slot && UNIQUE_SLOTS.has(media.slot)) await this.vacateSlot(trx, userId, kind, media.slot, now);
      const last = await trx
        .selectFrom('gallery_media')
        .select((eb) => eb.fn.max('position').as('position'))
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      const position = last?.position === null || last?.position === undefined ? 0 : Number(last.position) + 1;
      await this.bump(trx, userId);
      return trx
        .insertInto('gallery_media')
        .values({
          user_id: userId,
          kind,
          name: media.name,
          media_info: media.mediaInfo,
          media_type: media.mediaType,
          file: media.file,
          thumbnail: media.thumbnail,
          duration_seconds: media.durationSeconds,
          is_test_video: media.testVideo !== undefined,
          test_video_number: testVideoNumber,
          is_about_yourself_video: media.testVideo?.aboutYourself ?? false,
          slot: media.slot,
          tags: media.tags,
          position,
          visibility: media.visibility,
          captured_at: media.capturedAt,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  /** The live rules: one "about yourself" video (number 5), four numbered test videos (1–4), each number once. */
  private async testVideoNumber(trx: Trx, userId: number, video: { number: number | undefined; aboutYourself: boolean }): Promise<number> {
    const existing = await trx
      .selectFrom('gallery_media')
      .select(['test_video_number', 'is_about_yourself_video'])
      .where('user_id', '=', userId)
      .where('is_test_video', '=', true)
      .execute();
    if (video.aboutYourself) {
      if (existing.some((row) => Boolean(row.is_about_yourself_video)))
        throw new GalleryRuleError('is_about_yourself_video', 'You can only upload 1 about yourself video.');
      return 5;
    }
    const taken = new Set(existing.filter((row) => !row.is_about_yourself_video).map((row) => row.test_video_number));
    if (taken.size >= 4) throw new GalleryRuleError('is_test_video', 'You can only upload 4 test videos.');
    if (video.number === undefined) return [1, 2, 3, 4].find((n) => !taken.has(n)) as number;
    if (taken.has(video.number)) {
      throw new GalleryRuleError('test_video_number', `Test video ${video.number} is already uploaded: delete it first to replace it.`);
    }
    return video.number;
  }

  /** Headshot and full-body are one per gallery: giving the slot to an item takes it from the others. */
  private async vacateSlot(trx: Trx, userId: number, kind: GalleryKind, slot: Slot, now: string, except?: number): Promise<void> {
    await trx
      .updateTable('gallery_media')
      .set({ slot: null, updated_at: now })
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .where('slot', '=', slot)
      .$if(except !== undefined, (qb) => qb.where('id', '!=', except as number))
      .execute();
  }

  /** Changes an item's details and casting fields; undefined when the item is not the user's. */
  async update(userId: number, kind: GalleryKind, id: number, patch: GalleryPatch, now: string): Promise<GalleryRow | undefined> {
    const row = await this.updateRow(userId, kind, id, patch, now);
    return row && withPicture(this.db, row, photoName);
  }

  private updateRow(userId: number, kind: GalleryKind, id: number, patch: GalleryPatch, now: string): Promise<StoredRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await this.lockOwner(trx, userId);
      const row = await findOwned(trx, userId, kind, id);
      if (!row) return undefined;
      if (patch.slot !== undefined && patch.slot !== null) {
        if (row.media_type !== 'image') throw new GalleryRuleError('slot', 'Only a photo can fill a casting slot.');
        if (UNIQUE_SLOTS.has(patch.slot)) await this.vacateSlot(trx, userId, kind, patch.slot, now, id);
      }
      await this.bump(trx, userId);
      return trx
        .updateTable('gallery_media')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.mediaInfo !== undefined ? { media_info: patch.mediaInfo } : {}),
          ...(patch.slot !== undefined ? { slot: patch.slot } : {}),
          ...(patch.tags !== undefined ? { tags: patch.tags } : {}),
          ...(patch.visibility !== undefined ? { visibility: patch.visibility } : {}),
          ...(patch.position !== undefined ? { position: patch.position } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  /**
   * Puts the whole gallery in the given order (position = index) in one transaction. `ids` must
   * name every item of the gallery exactly once; otherwise nothing changes and the ids are returned
   * as they are now, for the error.
   */
  async reorder(userId: number, kind: GalleryKind, ids: readonly number[], now: string): Promise<{ ok: boolean; current: number[] }> {
    return this.db.transaction().execute(async (trx) => {
      await this.lockOwner(trx, userId);
      const rows = await trx.selectFrom('gallery_media').select('id').where('user_id', '=', userId).where('kind', '=', kind).execute();
      const current = rows.map((row) => row.id).sort((a, b) => a - b);
      const wanted = [...ids].sort((a, b) => a - b);
      if (current.length !== wanted.length || current.some((value, index) => value !== wanted[index])) return { ok: false, current };
      for (const [position, id] of ids.entries()) {
        await trx.updateTable('gallery_media').set({ position, updated_at: now }).where('id', '=', id).execute();
      }
      await this.bump(trx, userId);
      return { ok: true, current };
    });
  }

  /**
   * Makes one of the user's photos their profile picture and their headshot, in one transaction:
   * the profile points at the same stored file (nothing is copied), the photo takes the headshot
   * slot, and the picture it replaces is queued for deletion (kept while anything still uses it).
   */
  async promote(
    userId: number,
    kind: GalleryKind,
    id: number,
    now: string,
  ): Promise<{ row: GalleryRow; replaced: string[] } | 'not-found' | 'not-a-photo' | 'no-profile'> {
    const result = await this.promoteRow(userId, kind, id, now);
    return typeof result === 'string' ? result : { row: await withPicture(this.db, result.row, photoName), replaced: result.replaced };
  }

  private promoteRow(
    userId: number,
    kind: GalleryKind,
    id: number,
    now: string,
  ): Promise<{ row: StoredRow; replaced: string[] } | 'not-found' | 'not-a-photo' | 'no-profile'> {
    return this.db.transaction().execute(async (trx) => {
      await this.lockOwner(trx, userId);
      const row = await findOwned(trx, userId, kind, id);
      if (!row) return 'not-found';
      if (row.media_type !== 'image') return 'not-a-photo';
      const table = PROFILE_TABLE[kind];
      const profile = await trx.selectFrom(table).select('profile_picture').where('user_id', '=', userId).executeTakeFirst();
      if (!profile) return 'no-profile';
      await trx.updateTable(table).set({ profile_picture: row.file, updated_at: now }).where('user_id', '=', userId).execute();
      await this.vacateSlot(trx, userId, kind, 'headshot', now, id);
      await this.bump(trx, userId);
      const updated = await trx
        .updateTable('gallery_media')
        .set({ slot: 'headshot', reminded_at: null, updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const replaced = profile.profile_picture && profile.profile_picture !== row.file ? [profile.profile_picture] : [];
      await enqueueDeletions(trx, replaced, now);
      return { row: updated, replaced };
    });
  }

  /** Deletes one of the user's items and queues its files in the same transaction; undefined when not theirs. */
  async remove(userId: number, id: number, now: string): Promise<string[] | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // The owner's row first, as every gallery change (and an account deletion) locks it: deleting
      // the item first and bumping the version after deadlocked with a reorder of the same gallery.
      await this.lockOwner(trx, userId);
      const row = await trx
        .deleteFrom('gallery_media')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returning(['file', 'thumbnail'])
        .executeTakeFirst();
      if (!row) return undefined;
      await this.bump(trx, userId);
      const names = mediaNamesIn('gallery_media', row);
      await enqueueDeletions(trx, names, now);
      return names;
    });
  }

  /** Headshots taken (or, without a capture date, uploaded) before `takenBefore` whose owner was not yet reminded. */
  async staleHeadshots(takenBefore: string, limit: number): Promise<StaleHeadshot[]> {
    const rows = await this.db
      .selectFrom('gallery_media')
      .innerJoin('users', 'users.id', 'gallery_media.user_id')
      .select([
        'gallery_media.id as id',
        'users.email as email',
        sql<string>`coalesce(gallery_media.captured_at, gallery_media.created_at)`.as('taken'),
      ])
      .where('gallery_media.slot', '=', 'headshot')
      .where('gallery_media.reminded_at', 'is', null)
      .where(sql<boolean>`coalesce(gallery_media.captured_at, gallery_media.created_at) < ${takenBefore}`)
      .orderBy('gallery_media.id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ id: row.id, email: row.email, takenAt: String(row.taken) }));
  }

  /** Queues the reminder and marks the headshot in one transaction: one mail per headshot, even across restarts. */
  async remind(id: number, mail: Mail, now: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const marked = await trx
        .updateTable('gallery_media')
        .set({ reminded_at: now })
        .where('id', '=', id)
        .where('reminded_at', 'is', null)
        .where('slot', '=', 'headshot')
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) return false;
      await enqueueMail(trx, mail, now);
      return true;
    });
  }
}

function findOwned(trx: Trx, userId: number, kind: GalleryKind, id: number): Promise<StoredRow | undefined> {
  return trx
    .selectFrom('gallery_media')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .executeTakeFirst();
}

/** Items counted against the plan: test videos are not (as in the live service). */
async function countIn(db: Kysely<Database> | Trx, userId: number, kind: GalleryKind, mediaType: MediaType): Promise<number> {
  const row = await db
    .selectFrom('gallery_media')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('media_type', '=', mediaType)
    .where('is_test_video', '=', false)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
