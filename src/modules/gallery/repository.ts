import type { Kysely, Selectable } from 'kysely';
import type { Dialect } from '../../db/index.js';
import type { Database, GalleryMediaTable } from '../../db/types.js';
import { enqueueDeletions } from '../media/repository.js';

export type GalleryRow = Selectable<GalleryMediaTable>;
export type GalleryKind = 'talent' | 'background';

export interface NewGalleryMedia {
  name: string;
  mediaInfo: string;
  mediaType: 'image' | 'video';
  file: string;
}

export class GalleryLimitError extends Error {
  constructor(
    readonly mediaType: 'image' | 'video',
    readonly used: number,
    readonly limit: number,
  ) {
    super(`gallery limit of ${limit} ${mediaType}s reached`);
  }
}

export class GalleryRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  list(userId: number, kind: GalleryKind): Promise<GalleryRow[]> {
    return this.db.selectFrom('gallery_media').selectAll().where('user_id', '=', userId).where('kind', '=', kind).orderBy('id').execute();
  }

  async count(userId: number, kind: GalleryKind, mediaType: 'image' | 'video'): Promise<number> {
    const row = await this.db
      .selectFrom('gallery_media')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .where('media_type', '=', mediaType)
      .where('is_test_video', '=', false)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Adds an item if the gallery has room for it. The count and the insert are one transaction that
   * first locks the user's row (PostgreSQL; SQLite's write transactions are serial anyway), so two
   * uploads at once cannot both take the last place.
   */
  async addWithin(userId: number, kind: GalleryKind, media: NewGalleryMedia, limit: number, now: string): Promise<GalleryRow> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .selectFrom('users')
        .select('id')
        .where('id', '=', userId)
        .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      const counted = await trx
        .selectFrom('gallery_media')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('media_type', '=', media.mediaType)
        .where('is_test_video', '=', false)
        .executeTakeFirst();
      const used = Number(counted?.n ?? 0);
      if (used >= limit) throw new GalleryLimitError(media.mediaType, used, limit);
      return trx
        .insertInto('gallery_media')
        .values({
          user_id: userId,
          kind,
          name: media.name,
          media_info: media.mediaInfo,
          media_type: media.mediaType,
          file: media.file,
          test_video_number: null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  /** Deletes one of the user's items and queues its file in the same transaction; undefined when not theirs. */
  async remove(userId: number, id: number, now: string): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('gallery_media')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returning('file')
        .executeTakeFirst();
      if (!row) return undefined;
      await enqueueDeletions(trx, [row.file], now);
      return row.file;
    });
  }
}
