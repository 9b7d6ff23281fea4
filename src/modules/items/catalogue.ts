import { Type, type TSchema } from 'typebox';
import type { ItemsTable } from '../../db/types.js';
import { booleanOf, integerOf, NOT_A_FILE } from '../../validation.js';

/** The eight kinds of item a background user can offer to productions. */
export const ITEM_TYPES = [
  'prop',
  'costume',
  'location',
  'memorabilia',
  'vehicle',
  'artistic_material',
  'music_item',
  'rare_item',
] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

export const ITEM_TYPE_LABELS: Record<ItemType, string> = {
  prop: 'props',
  costume: 'costumes',
  location: 'locations',
  memorabilia: 'memorabilia',
  vehicle: 'vehicles',
  artistic_material: 'artistic materials',
  music_item: 'music items',
  rare_item: 'rare items',
};

export function isItemType(value: unknown): value is ItemType {
  return typeof value === 'string' && (ITEM_TYPES as readonly string[]).includes(value);
}

export const INVALID_ITEM_TYPE = `Invalid item type. Valid types are: ${ITEM_TYPES.join(', ')}.`;

type Column = Exclude<keyof ItemsTable, 'id' | 'user_id' | 'item_type' | 'created_at' | 'updated_at'>;

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

/** One API field: where it is stored, how input becomes a column value, how it is shown. */
export interface FieldSpec {
  column: Column;
  kind: 'string' | 'integer' | 'boolean' | 'price' | 'file';
  /** For the OpenAPI document and response serialisation. */
  schema: TSchema;
  required?: boolean;
  parse(value: unknown): Parsed;
}

const ok = (value: unknown): Parsed => ({ ok: true, value });
const fail = (message: string): Parsed => ({ ok: false, message });

function text(column: Column, maxLength: number, options: { required?: boolean } = {}): FieldSpec {
  return {
    column,
    kind: 'string',
    required: options.required,
    schema: Type.Union([Type.String({ maxLength }), Type.Null()]),
    parse(value) {
      if (value === null) return options.required ? fail('This field may not be null.') : ok(null);
      if (typeof value !== 'string') return fail('Not a valid string.');
      const trimmed = value.trim();
      if (trimmed === '') return options.required ? fail('This field may not be blank.') : ok(null);
      if (trimmed.length > maxLength) return fail(`Ensure this field has no more than ${maxLength} characters.`);
      return ok(trimmed);
    },
  };
}

function integer(column: Column, min: number, max: () => number): FieldSpec {
  return {
    column,
    kind: 'integer',
    schema: Type.Union([Type.Integer(), Type.Null()]),
    parse(value) {
      if (value === null || value === '') return ok(null);
      const parsed = integerOf(value);
      if (parsed === undefined) return fail('A valid integer is required.');
      if (parsed < min) return fail(`Ensure this value is greater than or equal to ${min}.`);
      if (parsed > max()) return fail(`Ensure this value is less than or equal to ${max()}.`);
      return ok(parsed);
    },
  };
}

function boolean(column: Column): FieldSpec {
  return {
    column,
    kind: 'boolean',
    schema: Type.Boolean(),
    parse(value) {
      // An empty form field is false here, as the live service stores it.
      const parsed = value === '' ? false : booleanOf(value);
      return parsed === undefined ? fail('Must be a valid boolean.') : ok(parsed);
    },
  };
}

const MAX_PRICE_DIGITS = 10;

/** DRF DecimalField(max_digits=10, decimal_places=2, min_value=0), stored in cents. */
const price: FieldSpec = {
  column: 'price_cents',
  kind: 'price',
  schema: Type.Union([Type.String({ pattern: '^\\d+\\.\\d{2}$' }), Type.Null()]),
  parse(value) {
    if (value === null || value === '') return ok(null);
    const raw = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value.trim() : undefined;
    const match = raw === undefined ? null : /^(-)?(\d*)(?:\.(\d*))?$/.exec(raw);
    if (!match || raw === '' || raw === '.' || raw === '-' || (match[2] === '' && (match[3] ?? '') === '')) {
      return fail('A valid number is required.');
    }
    const [, sign, whole = '', fraction = ''] = match;
    if (sign) return fail('Ensure this value is greater than or equal to 0.');
    const decimals = fraction.replace(/0+$/, '');
    if (decimals.length > 2) return fail('Ensure that there are no more than 2 decimal places.');
    const wholeDigits = whole.replace(/^0+/, '');
    if (wholeDigits.length + 2 > MAX_PRICE_DIGITS) {
      return fail(`Ensure that there are no more than ${MAX_PRICE_DIGITS} digits in total.`);
    }
    return ok(Number(wholeDigits || '0') * 100 + Number(decimals.padEnd(2, '0')));
  },
};

function file(column: Column): FieldSpec {
  return {
    column,
    kind: 'file',
    schema: Type.Union([Type.String({ format: 'uri' }), Type.Null()]),
    // A file arrives as a multipart part; in a body only "remove it" (empty or null) makes sense.
    parse(value) {
      if (value === null || value === '') return ok(null);
      return fail(NOT_A_FILE);
    },
  };
}

const nextYear = () => new Date().getUTCFullYear() + 1;

export const COMMON_FIELDS: Record<string, FieldSpec> = {
  name: text('name', 100, { required: true }),
  description: text('description', 2000),
  price,
  genre: text('genre', 50),
  is_for_rent: boolean('is_for_rent'),
  is_for_sale: boolean('is_for_sale'),
  image: file('image'),
};

export const TYPE_FIELDS: Record<ItemType, Record<string, FieldSpec>> = {
  prop: { material: text('material', 100), used_in_movie: text('used_in_movie', 200), condition: text('condition', 50) },
  costume: { size: text('size', 20), worn_by: text('worn_by', 100), era: text('era', 50) },
  location: { address: text('address', 255), capacity: integer('capacity', 0, () => 1_000_000), is_indoor: boolean('is_indoor') },
  memorabilia: { signed_by: text('signed_by', 100), authenticity_certificate: file('authenticity_certificate') },
  vehicle: { make: text('make', 50), model: text('model', 50), year: integer('year', 1886, nextYear) },
  artistic_material: { type: text('material_type', 50), condition: text('condition', 50) },
  music_item: { instrument_type: text('instrument_type', 50), used_by: text('used_by', 100) },
  rare_item: { provenance: text('provenance', 2000), is_one_of_a_kind: boolean('is_one_of_a_kind') },
};

/** Fields shown but never written by clients; sending them back is harmless. */
export const READ_ONLY_FIELDS = new Set(['id', 'item_type', 'created_at', 'updated_at']);

export function fieldsOf(type: ItemType): Record<string, FieldSpec> {
  return { ...COMMON_FIELDS, ...TYPE_FIELDS[type] };
}
