// Big-endian fields and ISO base media boxes, for the files tests build by hand (HEIF headers,
// ICC profiles).

/** `values` as unsigned big-endian integers of `bytes` bytes each. */
export function uints(bytes: 1 | 2 | 4, ...values: number[]): Buffer {
  const out = Buffer.alloc(bytes * values.length);
  values.forEach((value, i) => out.writeUIntBE(value >>> 0, i * bytes, bytes));
  return out;
}

/** `values` as big-endian 32-bit floats. */
export function floats(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => out.writeFloatBE(value, 4 * i));
  return out;
}

/** Four-character codes and other Latin-1 text, as bytes. */
export const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** A box: its size, its type, its payload. */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([uints(4, 8 + body.length), latin1(type), body]);
}

/** A box whose size is in the 64-bit field (size 1), as a writer must for one of 4 GB or more and may for any. */
export function largeBox(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([uints(4, 1), latin1(type), uints(4, 0, 16 + body.length), body]);
}

/** A full box: a box whose payload starts with its version and flags. */
export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, uints(4, version * 2 ** 24 + flags), ...payload);
}
