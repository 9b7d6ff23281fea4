// The box structure of ISO base media files (HEIF, AVIF) held in memory: the walk over a buffer's
// boxes and a bounded reader of their fields, shared by the reads of a HEIF's `meta` in
// heif-colours.ts and heif-canvas.ts (file.ts finds `meta` in the file).

/** A box's type and where its payload lies in the buffer (after its header: 8 bytes, 16 with a 64-bit size). */
export interface Box {
  type: string;
  start: number;
  end: number;
}

/** A box or field runs past the bytes it must lie in: damage, or a read cut short. */
export class Truncated extends Error {}

/**
 * The boxes between `start` and `end` of a header read whole (`meta`), one at a time: a size of 0
 * runs to `end`, a size of 1 is in the 64-bit field after the type (HEIF allows it for any box, and
 * libheif reads it). A box running past `end` is damage.
 */
export function* boxesIn(data: Buffer, start: number, end: number): Generator<Box> {
  for (let at = start; at + 8 <= end;) {
    let size = data.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) throw new Truncated();
      // A box in a buffer is smaller than 2^32 bytes, so a high word other than 0 is damage.
      if (data.readUInt32BE(at + 8) !== 0) throw new Truncated();
      size = data.readUInt32BE(at + 12);
      header = 16;
    }
    const boxEnd = size === 0 ? end : at + size;
    if (size !== 0 && size < header) throw new Truncated();
    if (boxEnd > end) throw new Truncated();
    yield { type: data.toString('latin1', at + 4, at + 8), start: at + header, end: boxEnd };
    at = boxEnd;
  }
}

/** The first box of each type asked for, in one walk of `boxes`. */
export function firstOfEach(boxes: Iterable<Box>, types: readonly string[]): Map<string, Box> {
  const found = new Map<string, Box>();
  for (const box of boxes) {
    if (types.includes(box.type) && !found.has(box.type)) found.set(box.type, box);
    if (found.size === types.length) break;
  }
  return found;
}

/** A HEIF's `meta` box read whole: its payload (version and flags, then its boxes), and the first of each of its boxes the header reads use. */
export interface HeifMeta {
  data: Buffer;
  boxes: Map<string, Box>;
}

/** The boxes of a HEIF's `meta` that say what its images are, where their data lies and how they are made. */
const META_BOXES = ['pitm', 'iinf', 'iloc', 'idat', 'iref', 'iprp'];

/** `meta`'s boxes, found in one walk; throws Truncated when they cannot be walked. */
export function heifMeta(payload: Buffer): HeifMeta {
  // `meta` is a full box: its boxes follow its version and flags.
  return { data: payload, boxes: firstOfEach(boxesIn(payload, 4, payload.length), META_BOXES) };
}

/** Reads big-endian integers of a box, never past its end. */
export class Reader {
  constructor(
    private readonly data: Buffer,
    private at: number,
    private readonly end: number,
  ) {}

  skip(bytes: number): void {
    if (this.at + bytes > this.end) throw new Truncated();
    this.at += bytes;
  }

  uint(bytes: 1 | 2 | 4): number {
    const at = this.at;
    this.skip(bytes);
    return this.data.readUIntBE(at, bytes);
  }

  /** A field whose size the box declares (0, 4 or 8 bytes; `iloc`'s offsets and lengths). */
  sized(bytes: number): number {
    if (bytes === 0) return 0;
    if (bytes === 4) return this.uint(4);
    if (bytes !== 8) throw new Truncated();
    const high = this.uint(4);
    const low = this.uint(4);
    // Past 2^53 no file offset is real: the field is damage.
    if (high > 0x1fffff) throw new Truncated();
    return high * 2 ** 32 + low;
  }

  /** The next `bytes` bytes as text (a box's four-character code). */
  text(bytes: number): string {
    const at = this.at;
    this.skip(bytes);
    return this.data.toString('latin1', at, at + bytes);
  }

  /** A full box's version (its flags follow in the same four bytes). */
  versionAndFlags(): { version: number; flags: number } {
    const word = this.uint(4);
    return { version: word >>> 24, flags: word & 0xffffff };
  }
}

/** The primary item's ID (`pitm`). */
export function primaryItem(data: Buffer, pitm: Box | undefined): number | undefined {
  if (!pitm) return undefined;
  const read = new Reader(data, pitm.start, pitm.end);
  return read.versionAndFlags().version === 0 ? read.uint(2) : read.uint(4);
}

/** An index into ipco is at most 15 bits: no property past this one can be associated. */
export const MAX_PROPERTIES = 0x7fff;
/** Phones associate a handful of properties with an image; more than this for one item are not read. */
const MAX_PER_ITEM = 64;

/**
 * The property boxes (ipco's, numbered from 1) that every `ipma` associates with the `items`
 * asked for; the other items' associations are skipped unread, so a header listing a great many
 * costs no memory.
 */
export function propertiesOf(data: Buffer, iprp: Box, items: readonly number[]): Map<number, Box[]> {
  const associated = new Map<number, Box[]>(items.map((item) => [item, []]));
  const ipco = firstOfEach(boxesIn(data, iprp.start, iprp.end), ['ipco']).get('ipco');
  if (!ipco) return associated;
  const properties: Box[] = [];
  for (const property of boxesIn(data, ipco.start, ipco.end)) {
    if (properties.push(property) >= MAX_PROPERTIES) break;
  }
  for (const ipma of boxesIn(data, iprp.start, iprp.end)) {
    if (ipma.type !== 'ipma') continue;
    const read = new Reader(data, ipma.start, ipma.end);
    const { version, flags } = read.versionAndFlags();
    const indexBytes = flags & 1 ? 2 : 1;
    // Each entry takes at least three bytes, so a count larger than the box holds ends in Truncated.
    for (let entries = read.uint(4); entries > 0; entries--) {
      const list = associated.get(version < 1 ? read.uint(2) : read.uint(4));
      const count = read.uint(1);
      if (!list) {
        read.skip(count * indexBytes);
        continue;
      }
      for (let left = count; left > 0; left--) {
        // The top bit says whether the property is essential; the rest is its index (0: none).
        const index = read.uint(indexBytes) & (indexBytes === 2 ? 0x7fff : 0x7f);
        const property = properties[index - 1];
        if (property && list.length < MAX_PER_ITEM) list.push(property);
      }
    }
  }
  return associated;
}
