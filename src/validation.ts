import type { FastifySchemaCompiler } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { ApiError, type FieldErrors } from './errors.js';

/** The subset of TypeBox's (Ajv-compatible) error objects we read. */
interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

export const NON_FIELD_ERRORS = 'non_field_errors';
const DATE_FORMAT_MESSAGE = 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.';

/** Per-field custom messages by keyword, e.g. Type.String({ pattern, 'x-messages': { pattern: '...' } }). */
type WithMessages = { 'x-messages'?: Record<string, string>; properties?: Record<string, TSchema> };

/** A JSON value's type by the name Python gives it, as DRF's messages name it. */
function jsonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** DRF's serializers' refusal of a body that is not a JSON object: `null` is no data at all. */
function notADictionary(body: unknown): string {
  return body === null ? 'No data provided' : `Invalid data. Expected a dictionary, but got ${jsonTypeName(body)}.`;
}

/** A request body that must be a JSON object (DRF's serializers refuse anything else with this message). */
export function asDictionary(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, { [NON_FIELD_ERRORS]: [notADictionary(body)] });
  }
  return body as Record<string, unknown>;
}

/**
 * An integer as DRF's IntegerField reads one: a number, or text of digits (a sign and spaces
 * around allowed), within the safe range; undefined for anything else ("1.5", "12a", 2^60).
 */
export function integerOf(value: unknown): number | undefined {
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** The largest id a row can have: ids are PostgreSQL `integer` identities (2^31 - 1). */
const MAX_ROW_ID = 2_147_483_647;

/**
 * A row id from a URL or a body: digits (or a JSON integer) from 1 to MAX_ROW_ID; undefined for
 * anything else, which names no row (an id past the column's range is one no row has, not a
 * query PostgreSQL refuses).
 */
export function rowIdOf(value: unknown): number | undefined {
  const id = typeof value === 'string' ? (/^\d{1,10}$/.test(value) ? Number(value) : undefined) : value;
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= MAX_ROW_ID ? id : undefined;
}

// DRF's BooleanField.TRUE_VALUES and FALSE_VALUES.
const TRUE_VALUES = new Set<unknown>(['t', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', '1', 1, true]);
const FALSE_VALUES = new Set<unknown>([
  'f',
  'F',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
  '0',
  0,
  false,
]);

/**
 * A boolean as DRF's BooleanField reads one: true or false, 1 or 0, or one of its spellings of
 * them (spaces around allowed); undefined for anything else ("maybe", and "", which each field
 * treats as it documents).
 */
export function booleanOf(value: unknown): boolean | undefined {
  const given = typeof value === 'string' ? value.trim() : value;
  if (TRUE_VALUES.has(given)) return true;
  if (FALSE_VALUES.has(given)) return false;
  return undefined;
}

/**
 * A form's text values read as the body schema's integers, numbers and booleans, as DRF's fields
 * read a form ("12" an integer, "true" a boolean): a form carries text only. Anything else stays
 * text, for the validation to refuse with the field's message ("1.5" is no integer).
 */
export function typedFormValues(schema: unknown, body: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  if (!properties || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const typed: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const [name, value] of Object.entries(typed)) {
    if (typeof value !== 'string' || !Object.hasOwn(properties, name)) continue;
    const type = properties[name]!.type;
    const text = value.trim();
    if (type === 'integer') typed[name] = integerOf(text) ?? value;
    else if (type === 'number' && /^-?\d{1,15}(\.\d{1,15})?$/.test(text)) typed[name] = Number(text);
    else if (type === 'boolean') typed[name] = booleanOf(text) ?? value;
  }
  return typed;
}

export const NULL_CHARACTERS = 'Null characters are not allowed.';

/** DRF's FileField and ImageField given text instead of a file. */
export const NOT_A_FILE = 'The submitted data was not a file. Check the encoding type on the form.';

/** Whether a text, or any text or key inside a list or object (JSON bodies nest at most 32 deep), holds U+0000. */
export function holdsNullCharacter(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(holdsNullCharacter);
  return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || holdsNullCharacter(inner));
}

/**
 * DRF's CharField refuses U+0000 in any text ("Null characters are not allowed."), and PostgreSQL
 * cannot store it in a text column. The fields of a body or query that hold one, named in DRF's
 * shape (a body that is not an object under non_field_errors); undefined when none does.
 */
export function nullCharacterErrors(...inputs: unknown[]): FieldErrors | undefined {
  // Gathered as entries: a field named "__proto__" must become a key of the answer, not its prototype.
  const refused: [string, string[]][] = [];
  for (const input of inputs) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      if (holdsNullCharacter(input)) refused.push([NON_FIELD_ERRORS, [NULL_CHARACTERS]]);
      continue;
    }
    for (const [field, value] of Object.entries(input)) {
      if (field.includes('\u0000') || holdsNullCharacter(value)) refused.push([field, [NULL_CHARACTERS]]);
    }
  }
  return refused.length > 0 ? (Object.fromEntries(refused) as FieldErrors) : undefined;
}

function fieldOf(instancePath: string): string | undefined {
  const first = instancePath.split('/')[1];
  return first === undefined || first === '' ? undefined : first.replace(/~1/g, '/').replace(/~0/g, '~');
}

function typeMessage(expected: unknown, actual: unknown): string {
  if (actual === null) return 'This field may not be null.';
  switch (expected) {
    case 'string':
      return 'Not a valid string.';
    case 'integer':
      return 'A valid integer is required.';
    case 'number':
      return 'A valid number is required.';
    case 'boolean':
      return 'Must be a valid boolean.';
    case 'array':
      return `Expected a list of items but got type "${jsonTypeName(actual)}".`;
    default:
      return 'Invalid value.';
  }
}

function messageFor(error: SchemaError, actual: unknown, fieldSchema: WithMessages | undefined): string | undefined {
  const custom = fieldSchema?.['x-messages']?.[error.keyword];
  if (custom) return custom;
  const p = error.params;
  switch (error.keyword) {
    case 'type':
      return typeMessage(p.type, actual);
    case 'minLength':
      return p.limit === 1 ? 'This field may not be blank.' : `Ensure this field has at least ${String(p.limit)} characters.`;
    case 'maxLength':
      return `Ensure this field has no more than ${String(p.limit)} characters.`;
    case 'enum':
      return `"${String(actual)}" is not a valid choice.`;
    case 'format':
      if (p.format === 'date') return DATE_FORMAT_MESSAGE;
      if (p.format === 'email') return 'Enter a valid email address.';
      return 'Enter a valid value.';
    case 'minimum':
      return `Ensure this value is greater than or equal to ${String(p.limit)}.`;
    case 'maximum':
      return `Ensure this value is less than or equal to ${String(p.limit)}.`;
    case 'boolean':
      // "schema is false" duplicates the additionalProperties error reported on the parent.
      return undefined;
    default:
      return 'Invalid value.';
  }
}

/** Turns schema errors into DRF's {"field": ["message"]} shape: one message per field, first failure wins. */
function toFieldErrors(schema: TSchema, errors: Iterable<SchemaError>, value: unknown): FieldErrors {
  const result: FieldErrors = {};
  const add = (field: string, message: string) => {
    if (!result[field]) result[field] = [message];
  };
  const properties = (schema as WithMessages).properties ?? {};
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};

  for (const error of errors) {
    const field = fieldOf(error.instancePath);
    if (field === undefined) {
      if (error.keyword === 'required') {
        for (const name of error.params.requiredProperties as string[]) add(name, 'This field is required.');
      } else if (error.keyword === 'additionalProperties') {
        const allowed = Object.keys(properties).join(', ');
        for (const name of error.params.additionalProperties as string[]) {
          add(name, `Unknown field. Allowed fields: ${allowed}.`);
        }
      } else if (error.keyword === 'type') {
        add(NON_FIELD_ERRORS, notADictionary(value));
      } else {
        add(NON_FIELD_ERRORS, 'Invalid data.');
      }
      continue;
    }
    const message = messageFor(error, record[field], properties[field] as WithMessages | undefined);
    if (message) add(field, message);
  }
  if (Object.keys(result).length === 0) result[NON_FIELD_ERRORS] = ['Invalid data.'];
  return result;
}

/** A compiled validator for input we parse ourselves (multipart fields, forms): throws a DRF 400. */
export function compileInput<T extends TSchema>(schema: T): (value: unknown) => Static<T> {
  const validator = Compile(schema);
  return (value) => {
    if (validator.Check(value)) return value as Static<T>;
    throw new ApiError(400, toFieldErrors(schema, validator.Errors(value) as SchemaError[], value));
  };
}

/**
 * Fastify's validator compiler: TypeBox's JIT compiler, no type coercion of bodies (a JSON number
 * is not a string), conversion only for querystring/params/headers, and DRF-shaped 400 errors.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema);
  return (input: unknown) => {
    const value = httpPart === 'body' ? input : Value.Convert(schema, input);
    if (validator.Check(value)) return { value };
    return { error: new ApiError(400, toFieldErrors(schema, validator.Errors(value) as SchemaError[], value)) };
  };
};
