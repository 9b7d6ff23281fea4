import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Dialect } from '../../db/index.js';
import type { Database, ItemsTable } from '../../db/types.js';
import { mediaColumnsOf, mediaNamesIn } from '../media/references.js';
import type { PictureDetails } from '../media/pictures.js';
import { enqueueDeletions, holdOwner, holdUser, withPicture, withPictures, type InTransaction } from '../media/repository.js';
import type { ItemType } from './catalogue.js';

type StoredItem = Selectable<ItemsTable>;
/** An item with what is known of its photo (size, placeholder, variants; null when none is recorded). */
export type ItemRow = StoredItem & { picture: PictureDetails | null };
const imageOf = (row: StoredItem) => row.image;
export type ItemValues = Omit<Updateable<ItemsTable>, 'id' | 'user_id' | 'item_type' | 'created_at' | 'updated_at'>;

/** The media columns of an item: what must be deleted with it or when replaced. */
const MEDIA_COLUMNS = mediaColumnsOf('items');
const mediaOf = (row: Partial<ItemRow>) => mediaNamesIn('items', row);

export class ItemRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** One page of a user's items, oldest first (id order is stable under inserts). */
  async list(userId: number, type: ItemType | undefined, limit: number, offset: number): Promise<ItemRow[]> {
    const rows = await this.db
      .selectFrom('items')
      .selectAll()
      .where('user_id', '=', userId)
      .$if(type !== undefined, (qb) => qb.where('item_type', '=', type as ItemType))
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
    return withPictures(this.db, rows, imageOf);
  }

  async count(userId: number, type?: ItemType): Promise<number> {
    const row = await this.db
      .selectFrom('items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .$if(type !== undefined, (qb) => qb.where('item_type', '=', type as ItemType))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async find(userId: number, type: ItemType, id: number): Promise<ItemRow | undefined> {
    const row = await this.db
      .selectFrom('items')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('item_type', '=', type)
      .executeTakeFirst();
    return row && withPicture(this.db, row, imageOf);
  }

  /** Inserts an item; `first` runs at the start of the same transaction (recording its new pictures). */
  async insert(userId: number, type: ItemType, values: ItemValues, now: string, first?: InTransaction): Promise<ItemRow> {
    const row = await this.db.transaction().execute(async (trx) => {
      await holdOwner(trx, this.dialect, userId);
      await first?.(trx);
      return trx
        .insertInto('items')
        .values({ ...values, name: values.name as string, user_id: userId, item_type: type, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    return withPicture(this.db, row, imageOf);
  }

  /**
   * Updates an item, locking it first, and queues the media it stops referencing in the same
   * transaction (where `first` runs once the item is found). Undefined when the item is not the user's.
   */
  async update(
    userId: number,
    type: ItemType,
    id: number,
    values: ItemValues,
    now: string,
    first?: InTransaction,
  ): Promise<{ row: ItemRow; replaced: string[] } | undefined> {
    const result = await this.updateRow(userId, type, id, values, now, first);
    return result && { row: await withPicture(this.db, result.row, imageOf), replaced: result.replaced };
  }

  private updateRow(
    userId: number,
    type: ItemType,
    id: number,
    values: ItemValues,
    now: string,
    first: InTransaction | undefined,
  ): Promise<{ row: StoredItem; replaced: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await holdOwner(trx, this.dialect, userId);
      const current = await trx
        .selectFrom('items')
        .select([...MEDIA_COLUMNS])
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('item_type', '=', type)
        .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      if (!current) return undefined;
      await first?.(trx);
      const row = await trx
        .updateTable('items')
        .set({ ...values, updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const kept = new Set(mediaOf(row));
      const replaced = mediaOf(current).filter((name) => !kept.has(name));
      await enqueueDeletions(trx, replaced, now);
      return { row, replaced };
    });
  }

  /** Deletes an item and queues its media in one transaction; undefined when not the user's. */
  async delete(userId: number, type: ItemType, id: number, now: string): Promise<string[] | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await holdUser(trx, this.dialect, userId);
      const row = await trx
        .deleteFrom('items')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('item_type', '=', type)
        .returning([...MEDIA_COLUMNS])
        .executeTakeFirst();
      if (!row) return undefined;
      const names = mediaOf(row);
      await enqueueDeletions(trx, names, now);
      return names;
    });
  }
}
