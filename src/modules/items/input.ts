import { validationError, type FieldErrors } from '../../errors.js';
import type { UploadedFile } from '../../http/multipart.js';
import { asDictionary, NON_FIELD_ERRORS } from '../../validation.js';
import { INVALID_ITEM_TYPE, READ_ONLY_FIELDS, fieldsOf, isItemType, type FieldSpec, type ItemType } from './catalogue.js';
import type { ItemValues } from './repository.js';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

/** An item body as received (JSON, or multipart fields) and its files. */
export interface ItemForm {
  body: unknown;
  files: Record<string, UploadedFile>;
}

/** A validated item change: column values and the files that replace file fields. */
export interface ItemInput {
  type: ItemType;
  values: ItemValues;
  files: Record<string, UploadedFile>;
}

export interface ItemListQuery {
  type: ItemType | undefined;
  page: number;
  pageSize: number;
  /** Whether the client chose the page size (then the page links carry it). */
  pageSizeGiven: boolean;
}

export function itemType(value: unknown, field = 'item_type'): ItemType {
  if (value === undefined) throw validationError({ [field]: ['This field is required.'] });
  if (!isItemType(value)) throw validationError({ [field]: [INVALID_ITEM_TYPE] });
  return value;
}

function positiveInteger(value: string | undefined, field: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw validationError({ [field]: ['A valid positive integer is required.'] });
  return Math.min(Number(value), max);
}

export function parseListQuery(query: { item_type?: string; page?: string; page_size?: string }): ItemListQuery {
  return {
    type: query.item_type === undefined || query.item_type === '' ? undefined : itemType(query.item_type),
    page: positiveInteger(query.page, 'page', 1, Number.MAX_SAFE_INTEGER),
    pageSize: positiveInteger(query.page_size, 'page_size', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    pageSizeGiven: query.page_size !== undefined,
  };
}

/**
 * Validates an item body for its type: every unknown field is named, each known field is parsed
 * with DRF's messages. Files come separately; here a file field may only be emptied.
 */
function parseValues(type: ItemType, body: Record<string, unknown>, files: Record<string, UploadedFile>, partial: boolean): ItemValues {
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

/** A new item: its type comes from the body. */
export function parseNewItem(form: ItemForm): ItemInput {
  const body = asDictionary(form.body);
  const type = itemType(body.item_type);
  return { type, values: parseValues(type, body, form.files, false), files: form.files };
}

/** A change to an item of the type its URL names; the type itself cannot change. */
export function parseItemChange(type: ItemType, form: ItemForm): ItemInput {
  const body = asDictionary(form.body);
  if (body.item_type !== undefined && body.item_type !== type) {
    throw validationError({ item_type: ['The item type cannot be changed; create a new item instead.'] });
  }
  const values = parseValues(type, body, form.files, true);
  if (Object.keys(values).length === 0 && Object.keys(form.files).length === 0) {
    throw validationError({ [NON_FIELD_ERRORS]: ['At least one field must be provided for update.'] });
  }
  return { type, values, files: form.files };
}
