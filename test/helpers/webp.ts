// WebP files built chunk by chunk (RIFF: a four-character code, a little-endian size, the data padded to an even length).
import { latin1, uints } from './bytes.js';

/** A RIFF chunk: its four-character code, its size (little-endian), its data padded to an even length. */
export function chunk(fourcc: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32LE(data.length);
  return Buffer.concat([latin1(fourcc), size, data, Buffer.alloc(data.length & 1)]);
}

/** A WebP file of `chunks`, with trailing bytes outside its RIFF size. */
export function riff(chunks: Buffer[], trailing: Buffer = Buffer.alloc(0)): Buffer {
  const body = Buffer.concat([latin1('WEBP'), ...chunks]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length);
  return Buffer.concat([latin1('RIFF'), size, body, trailing]);
}

/** A 24-bit little-endian number's bytes (VP8X's canvas size). */
const uintLE3 = (value: number) => [value & 0xff, (value >> 8) & 0xff, value >> 16];

/** A still WebP (one VP8 chunk) made extended (VP8X first), with `count` empty chunks of an unknown type after the picture. */
export function withChunks(still: Buffer, count: number): Buffer {
  const width = still.readUIntLE(26, 2) & 0x3fff;
  const height = still.readUIntLE(28, 2) & 0x3fff;
  const canvas = Buffer.concat([uints(4, 0), Buffer.from([...uintLE3(width - 1), ...uintLE3(height - 1)])]);
  const empty = chunk('ZZZZ');
  return riff([chunk('VP8X', canvas), still.subarray(12), ...Array<Buffer>(count).fill(empty)]);
}
