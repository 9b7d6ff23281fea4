import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { booleanOf, nullCharacterErrors, rowIdOf, typedFormValues } from '../src/validation.js';

describe('typedFormValues: a form’s text read as the body schema’s types, as DRF’s fields read a form', () => {
  const schema = Type.Object({
    count: Type.Integer(),
    ratio: Type.Optional(Type.Number()),
    public: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.String()),
  });

  it('reads integers, numbers and booleans, and leaves text, unknown fields and repeats as they are', () => {
    expect(typedFormValues(schema, { count: ' 12 ', ratio: '0.75', public: 'true', name: '42', other: '7', tags: ['1', '2'] })).toEqual({
      count: 12,
      ratio: 0.75,
      public: true,
      name: '42',
      other: '7',
      tags: ['1', '2'],
    });
    for (const [text, value] of [
      ['1', true],
      ['on', true],
      ['Yes', true],
      ['0', false],
      ['FALSE', false],
      ['off', false],
    ] as const)
      expect(typedFormValues(schema, { count: '1', public: text })).toEqual({ count: 1, public: value });
  });

  it('leaves what is not one of them as text, for the validation to refuse with the field’s message', () => {
    expect(typedFormValues(schema, { count: '1.5', ratio: '1e400', public: 'maybe' })).toEqual({
      count: '1.5',
      ratio: '1e400',
      public: 'maybe',
    });
    expect(typedFormValues(schema, { count: '99999999999999999999' })).toEqual({ count: '99999999999999999999' });
    expect(typedFormValues(undefined, { count: '1' })).toEqual({ count: '1' });
    expect(typedFormValues(schema, null)).toBeNull();
  });
});

describe('booleanOf: a boolean as DRF’s BooleanField reads one', () => {
  it('reads its spellings of true and false, and nothing else', () => {
    for (const value of [true, 1, '1', 'true', 'True', 'TRUE', ' yes ', 'Yes', 'YES', 'y', 'Y', 't', 'T', 'on', 'On', 'ON'])
      expect(booleanOf(value)).toBe(true);
    for (const value of [false, 0, '0', 'false', 'False', 'FALSE', 'no', 'No', 'NO', 'n', 'N', 'f', 'F', 'off', 'Off', 'OFF'])
      expect(booleanOf(value)).toBe(false);
    for (const value of ['', 'maybe', 'tRuE', '2', 2, null, undefined, [], {}]) expect(booleanOf(value)).toBeUndefined();
  });
});

describe('nullCharacterErrors: U+0000 refused in any text, as DRF’s CharField refuses it', () => {
  const refused = ['Null characters are not allowed.'];

  it('names each field holding one, at any depth or in a key, across the query and the body', () => {
    expect(
      nullCharacterErrors(
        { item_type: 'prop\u0000' },
        { name: 'ok', tags: ['a', 'b\u0000'], links: { site: { url: '\u0000' } }, meta: { 'k\u0000': 1 }, 'f\u0000': 'x', n: 0 },
      ),
    ).toEqual({ item_type: refused, tags: refused, links: refused, meta: refused, 'f\u0000': refused });
  });

  it('puts a body that is not an object under non_field_errors, and passes clean input', () => {
    expect(nullCharacterErrors(undefined, ['a\u0000'])).toEqual({ non_field_errors: refused });
    expect(nullCharacterErrors('\u0000')).toEqual({ non_field_errors: refused });
    // A query parsed without a prototype may name "__proto__": it is named back, not made the prototype.
    const query = Object.create(null) as Record<string, string>;
    Object.defineProperty(query, '__proto__', { value: '\u0000', enumerable: true });
    expect(JSON.stringify(nullCharacterErrors(query))).toBe('{"__proto__":["Null characters are not allowed."]}');
    expect(nullCharacterErrors({ name: 'Ann \\u0000 literal', count: 3, nothing: null }, undefined, [1, 'x'])).toBeUndefined();
  });
});

describe('rowIdOf: an id as the database can hold it', () => {
  it('reads 1 to 2^31 - 1 from digits or an integer, and nothing else', () => {
    expect(['1', '42', '2147483647', 7, 2147483647].map(rowIdOf)).toEqual([1, 42, 2147483647, 7, 2147483647]);
    for (const bad of ['0', '2147483648', '99999999999', '-1', '+1', '1.0', ' 1', '1e3', '', 0, 2147483648, 1.5, -3, null, true, ['1']])
      expect(rowIdOf(bad), String(bad)).toBeUndefined();
  });
});
