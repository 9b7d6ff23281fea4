import { ApiError, notFound } from '../../errors.js';
import type { UserRecord } from '../accounts/repository.js';
import type { MediaChanges, NewFile } from '../media/changes.js';
import { MEDIA_FOLDERS } from '../media/references.js';
import type { SubscriptionRepository } from '../subscriptions/repository.js';
import { backgroundRestrictionsFor, subscriptionStatusFor, type SubscriptionStatus } from '../subscriptions/service.js';
import { fieldsOf, type ItemType } from './catalogue.js';
import type { ItemInput, ItemListQuery } from './input.js';
import type { ItemRepository, ItemRow, ItemValues } from './repository.js';

export interface ItemPage {
  rows: ItemRow[];
  total: number;
  totalPages: number;
  subscriptionStatus: SubscriptionStatus;
}

/** Where each file field of an item is stored and what it is checked as. */
const FILE_FIELDS: Record<string, Pick<NewFile, 'folder' | 'kind'>> = {
  image: { folder: MEDIA_FOLDERS.itemImages, kind: 'image' },
  authenticity_certificate: { folder: MEDIA_FOLDERS.certificates, kind: 'document' },
};

export class ItemService {
  constructor(
    private readonly deps: {
      items: ItemRepository;
      subscriptions: SubscriptionRepository;
      media: MediaChanges;
      clock: () => Date;
    },
  ) {}

  private now(): string {
    return this.deps.clock().toISOString();
  }

  /** Listing items is free; creating and editing them needs the Production Assets Pro plan. */
  async assertCanEdit(user: UserRecord): Promise<void> {
    const subscription = await this.deps.subscriptions.findActive(user.id, this.now());
    const restrictions = backgroundRestrictionsFor(subscription);
    if (restrictions.restricted) {
      throw new ApiError(403, { error: 'Subscription required', message: restrictions.message, restrictions });
    }
  }

  async list(user: UserRecord, query: ItemListQuery): Promise<ItemPage> {
    const [total, subscription] = await Promise.all([
      this.deps.items.count(user.id, query.type),
      this.deps.subscriptions.findActive(user.id, this.now()),
    ]);
    const totalPages = Math.max(1, Math.ceil(total / query.pageSize));
    // Checked before the page is read: an absurd page number never reaches the database.
    if (query.page > totalPages) throw notFound('Invalid page.');
    const rows = await this.deps.items.list(user.id, query.type, query.pageSize, (query.page - 1) * query.pageSize);
    return { rows, total, totalPages, subscriptionStatus: subscriptionStatusFor('background', subscription, this.deps.clock()) };
  }

  async get(user: UserRecord, type: ItemType, id: number): Promise<ItemRow> {
    const row = await this.deps.items.find(user.id, type, id);
    if (!row) throw notFound();
    return row;
  }

  private newFiles(user: UserRecord, input: ItemInput): NewFile[] {
    return Object.entries(input.files).flatMap(([field, file]) => {
      const target = FILE_FIELDS[field];
      return target ? [{ ...target, field, file, ownerId: user.id }] : [];
    });
  }

  /** The column values with the stored files' names in their columns. */
  private withFiles(type: ItemType, values: ItemValues, stored: Record<string, { name: string }>): ItemValues {
    const fields = fieldsOf(type);
    const result: Record<string, unknown> = { ...values };
    for (const [field, file] of Object.entries(stored)) {
      const spec = fields[field];
      if (spec) result[spec.column] = file.name;
    }
    return result as ItemValues;
  }

  async create(user: UserRecord, input: ItemInput): Promise<ItemRow> {
    const { value } = await this.deps.media.apply(this.newFiles(user, input), async (stored, first) => ({
      value: await this.deps.items.insert(user.id, input.type, this.withFiles(input.type, input.values, stored), this.now(), first),
      replaced: [],
    }));
    return value;
  }

  /** Changes an item; a new image or certificate replaces the old one, which is deleted after the commit. */
  async update(user: UserRecord, id: number, input: ItemInput): Promise<{ row: ItemRow; replaced: readonly string[] }> {
    if (!(await this.deps.items.find(user.id, input.type, id))) throw notFound();
    const { value, replaced } = await this.deps.media.apply(this.newFiles(user, input), async (stored, first) => {
      const result = await this.deps.items.update(
        user.id,
        input.type,
        id,
        this.withFiles(input.type, input.values, stored),
        this.now(),
        first,
      );
      if (!result) throw notFound();
      return { value: result.row, replaced: result.replaced };
    });
    return { row: value, replaced };
  }

  /** Deletes an item; its files go after the commit. Returns their names. */
  async delete(user: UserRecord, type: ItemType, id: number): Promise<string[]> {
    const names = await this.deps.items.delete(user.id, type, id, this.now());
    if (names === undefined) throw notFound();
    this.deps.media.purgeCommitted(names);
    return names;
  }
}
