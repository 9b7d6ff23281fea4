import type { FastifyBaseLogger } from 'fastify';
import { ApiError, notFound, validationError, type FieldErrors } from '../../errors.js';
import { MEDIA_FOLDERS } from '../../storage/names.js';
import { NON_FIELD_ERRORS, asDictionary } from '../../validation.js';
import type { UserRecord } from '../accounts/repository.js';
import type { MediaService, StoredImage, UploadedFile } from '../media/service.js';
import type { SubscriptionRepository } from '../subscriptions/repository.js';
import { backgroundRestrictionsFor, subscriptionStatusFor } from '../subscriptions/service.js';
import {
  INVALID_ITEM_TYPE,
  ITEM_TYPES,
  READ_ONLY_FIELDS,
  TYPE_FIELDS,
  fieldsOf,
  isItemType,
  type FieldSpec,
  type ItemType,
} from './catalogue.js';
import type { ItemRepository, ItemRow, ItemValues } from './repository.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export interface ItemForm {
  body: unknown;
  files: Record<string, UploadedFile>;
}

export interface ListQuery {
  item_type?: string;
  page?: string;
  page_size?: string;
}

type PublicUrl = (name: string, origin: string) => string;

function formatPrice(cents: number | null): string | null {
  if (cents === null) return null;
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function positiveInteger(value: string | undefined, field: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw validationError({ [field]: ['A valid positive integer is required.'] });
  return Math.min(Number(value), max);
}

/**
 * Validates an item body for its type: every unknown field is named, each known field is parsed
 * with DRF's messages. Files come separately; here a file field may only be emptied.
 */
export function parseItemBody(type: ItemType, body: Record<string, unknown>, files: Record<string, UploadedFile>, partial: boolean): ItemValues {
  const fields = fieldsOf(type);
  const allowed = Object.keys(fields);
  const errors: FieldErrors = {};
  const values: Record<string, unknown> = {};

  for (const key of [...Object.keys(body), ...Object.keys(files)]) {
    if (!Object.hasOwn(fields, key) && !READ_ONLY_FIELDS.has(key)) {
      errors[key] = [`Unknown field for a ${type}. Allowed fields: ${allowed.join(', ')}.`];
    }
  }
  for (const [name, spec] of Object.entries(fields) as [string, FieldSpec][]) {
    if (spec.kind === 'file' && files[name]) continue;
    if (!Object.hasOwn(body, name)) {
      if (!partial && spec.required) errors[name] = ['This field is required.'];
      continue;
    }
    const parsed = spec.parse(body[name]);
    if (parsed.ok) values[spec.column] = parsed.value;
    else errors[name] = [parsed.message];
  }
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return values as ItemValues;
}

export class ItemService {
  constructor(
    private readonly deps: {
      items: ItemRepository;
      subscriptions: SubscriptionRepository;
      media: MediaService;
      clock: () => Date;
      publicUrl: PublicUrl;
    },
  ) {}

  private now(): Date {
    return this.deps.clock();
  }

  view(row: ItemRow, origin: string): Record<string, unknown> {
    const type = row.item_type as ItemType;
    const url = (name: string | null) => (name ? this.deps.publicUrl(name, origin) : null);
    const view: Record<string, unknown> = {
      id: row.id,
      item_type: type,
      name: row.name,
      description: row.description,
      price: formatPrice(row.price_cents === null ? null : Number(row.price_cents)),
      genre: row.genre,
      is_for_rent: Boolean(row.is_for_rent),
      is_for_sale: Boolean(row.is_for_sale),
      image: url(row.image),
    };
    for (const [name, spec] of Object.entries(TYPE_FIELDS[type] ?? {})) {
      const value = row[spec.column];
      view[name] = spec.kind === 'file' ? url(value as string | null) : spec.kind === 'boolean' ? Boolean(value) : value;
    }
    view.created_at = row.created_at;
    view.updated_at = row.updated_at;
    return view;
  }

  /** Listing items is free; creating and editing them needs the Production Assets Pro plan. */
  async assertCanEdit(user: UserRecord): Promise<void> {
    const subscription = await this.deps.subscriptions.findActive(user.id, this.now().toISOString());
    const restrictions = backgroundRestrictionsFor(subscription);
    if (restrictions.restricted) {
      throw new ApiError(403, { error: 'Subscription required', message: restrictions.message, restrictions });
    }
  }

  private typeFrom(value: unknown, field = 'item_type'): ItemType {
    if (value === undefined) throw validationError({ [field]: ['This field is required.'] });
    if (!isItemType(value)) throw validationError({ [field]: [INVALID_ITEM_TYPE] });
    return value;
  }

  async list(user: UserRecord, query: ListQuery, origin: string, path: string) {
    const type = query.item_type === undefined || query.item_type === '' ? undefined : this.typeFrom(query.item_type);
    const page = positiveInteger(query.page, 'page', 1, Number.MAX_SAFE_INTEGER);
    const pageSize = positiveInteger(query.page_size, 'page_size', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const [total, subscription] = await Promise.all([
      this.deps.items.count(user.id, type),
      this.deps.subscriptions.findActive(user.id, this.now().toISOString()),
    ]);
    const totalPages = Math.max(1, Math.ceil(total / pageSize));
    // Checked before the page is read: an absurd page number never reaches the database.
    if (page > totalPages) throw notFound('Invalid page.');
    const rows = await this.deps.items.list(user.id, type, pageSize, (page - 1) * pageSize);

    const link = (target: number) => {
      const params = new URLSearchParams();
      if (type) params.set('item_type', type);
      params.set('page', String(target));
      if (query.page_size !== undefined) params.set('page_size', String(pageSize));
      return `${origin}${path}?${params.toString()}`;
    };
    const status = subscriptionStatusFor('background', subscription, this.now());
    const views = rows.map((row) => this.view(row, origin));
    const common = {
      subscription_status: {
        has_subscription: status.has_subscription,
        can_access_features: status.can_access_features,
        message: status.message,
      },
      total_items: total,
      page,
      page_size: pageSize,
      total_pages: totalPages,
      next: page < totalPages ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
    };
    if (type) return { items: views, item_type: type, ...common };
    const grouped = Object.fromEntries(ITEM_TYPES.map((t) => [t, [] as Record<string, unknown>[]]));
    for (const view of views) grouped[view.item_type as ItemType]?.push(view);
    return { items: grouped, ...common };
  }

  async get(user: UserRecord, typeParam: string, id: number, origin: string) {
    const type = this.typeFrom(typeParam);
    const row = await this.deps.items.find(user.id, type, id);
    if (!row) throw notFound();
    return this.view(row, origin);
  }

  /** Stores the uploaded files of an item; on any failure, the ones already stored are removed. */
  private async storeFiles(user: UserRecord, files: Record<string, UploadedFile>, log: FastifyBaseLogger): Promise<Record<string, StoredImage>> {
    const stored: Record<string, StoredImage> = {};
    try {
      if (files.image) stored.image = await this.deps.media.storeImage(files.image, MEDIA_FOLDERS.itemImages, user.id, 'image', log);
      if (files.authenticity_certificate) {
        stored.authenticity_certificate = await this.deps.media.storeDocument(
          files.authenticity_certificate,
          MEDIA_FOLDERS.certificates,
          user.id,
          'authenticity_certificate',
          log,
        );
      }
      return stored;
    } catch (error) {
      await this.discard(stored, log);
      throw error;
    }
  }

  private async discard(stored: Record<string, StoredImage>, log: FastifyBaseLogger): Promise<void> {
    for (const file of Object.values(stored)) await this.deps.media.discard(file.name, log);
  }

  private withFiles(type: ItemType, values: ItemValues, stored: Record<string, StoredImage>): ItemValues {
    const fields = fieldsOf(type);
    const result: Record<string, unknown> = { ...values };
    for (const [field, file] of Object.entries(stored)) {
      const spec = fields[field];
      if (spec) result[spec.column] = file.name;
    }
    return result as ItemValues;
  }

  async create(user: UserRecord, form: ItemForm, origin: string, log: FastifyBaseLogger) {
    const body = asDictionary(form.body);
    const type = this.typeFrom(body.item_type);
    const values = parseItemBody(type, body, form.files, false);
    const stored = await this.storeFiles(user, form.files, log);
    let row: ItemRow;
    try {
      row = await this.deps.items.insert(user.id, type, this.withFiles(type, values, stored), this.now().toISOString());
    } catch (error) {
      await this.discard(stored, log);
      throw error;
    }
    log.info({ userId: user.id, itemId: row.id, itemType: type }, 'item created');
    return this.view(row, origin);
  }

  async update(user: UserRecord, typeParam: string, id: number, form: ItemForm, origin: string, log: FastifyBaseLogger) {
    const type = this.typeFrom(typeParam);
    const body = asDictionary(form.body);
    if (body.item_type !== undefined && body.item_type !== type) {
      throw validationError({ item_type: ['The item type cannot be changed; create a new item instead.'] });
    }
    const values = parseItemBody(type, body, form.files, true);
    if (Object.keys(values).length === 0 && Object.keys(form.files).length === 0) {
      throw validationError({ [NON_FIELD_ERRORS]: ['At least one field must be provided for update.'] });
    }
    if (!(await this.deps.items.find(user.id, type, id))) throw notFound();
    const stored = await this.storeFiles(user, form.files, log);
    let result;
    try {
      result = await this.deps.items.update(user.id, type, id, this.withFiles(type, values, stored), this.now().toISOString());
    } catch (error) {
      await this.discard(stored, log);
      throw error;
    }
    if (!result) {
      await this.discard(stored, log);
      throw notFound();
    }
    await this.deps.media.purge(result.replaced, log);
    log.info({ userId: user.id, itemId: id, itemType: type, replaced: result.replaced }, 'item updated');
    return this.view(result.row, origin);
  }

  async delete(user: UserRecord, typeParam: string, id: number, log: FastifyBaseLogger): Promise<void> {
    const type = this.typeFrom(typeParam);
    const names = await this.deps.items.delete(user.id, type, id, this.now().toISOString());
    if (names === undefined) throw notFound();
    await this.deps.media.purge(names, log);
    log.info({ userId: user.id, itemId: id, itemType: type, deleted: names }, 'item deleted');
  }
}
