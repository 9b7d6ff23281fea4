/**
 * The colours a HEIF or AVIF file's primary image declares in an `nclx` colour box (ITU-T H.273
 * code points), where it declares them so rather than by an ICC profile.
 */
export interface HeifColours {
  primaries: number;
  transfer: number;
}

/** A box's type and where its payload lies in the buffer (after its 8-byte header). */
interface Box {
  type: string;
  start: number;
  end: number;
}

class Truncated extends Error {}

/**
 * The boxes between `start` and `end`, one at a time; 64-bit sizes (size 1) are not a layout this
 * reads. A box running past `end` is damage, except at the top of a file's start as far as a
 * stream read it (`cutShort: 'ends the walk'`), where it is the box the read stopped in.
 */
function* boxesIn(data: Buffer, start: number, end: number, cutShort: 'is damage' | 'ends the walk' = 'is damage'): Generator<Box> {
  for (let at = start; at + 8 <= end;) {
    const size = data.readUInt32BE(at);
    const boxEnd = size === 0 ? end : at + size;
    if (size !== 0 && size < 8) throw new Truncated();
    if (boxEnd > end) {
      if (cutShort === 'ends the walk') return;
      throw new Truncated();
    }
    yield { type: data.toString('latin1', at + 4, at + 8), start: at + 8, end: boxEnd };
    at = boxEnd;
  }
}

/** The first box of each type asked for, in one walk of `boxes`. */
function firstOfEach(boxes: Iterable<Box>, types: readonly string[]): Map<string, Box> {
  const found = new Map<string, Box>();
  for (const box of boxes) {
    if (types.includes(box.type) && !found.has(box.type)) found.set(box.type, box);
    if (found.size === types.length) break;
  }
  return found;
}

/** Reads big-endian integers of a box, never past its end. */
class Reader {
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

  /** A full box's version (its flags follow in the same four bytes). */
  versionAndFlags(): { version: number; flags: number } {
    const word = this.uint(4);
    return { version: word >>> 24, flags: word & 0xffffff };
  }
}

/**
 * What the `nclx` colour box of the primary image declares, read from the file's header boxes
 * (`meta`, which every phone and encoder writes before the picture's data): the primary item
 * (`pitm`), the properties associated with it (`ipma` into `ipco`), and, for a grid or another
 * derived image that declares none, its first input image's, as libheif takes a grid's colours
 * from its first tile. Null when there is none, an ICC profile only, or the header is cut short,
 * malformed or not in that layout (`meta` before the data, 32-bit box sizes): the picture's
 * colours are then taken as decoded. `head` is the file, or as much of its start as holds `meta`.
 */
export function declaredNclx(head: Buffer): HeifColours | null {
  try {
    const meta = firstOfEach(boxesIn(head, 0, head.length, 'ends the walk'), ['meta']).get('meta');
    if (!meta) return null;
    // `meta` is a full box: its children follow its version and flags.
    const children = firstOfEach(boxesIn(head, meta.start + 4, meta.end), ['pitm', 'iprp', 'iref']);
    const primary = primaryItem(head, children.get('pitm'));
    const iprp = children.get('iprp');
    if (primary === undefined || !iprp) return null;
    const iref = children.get('iref');
    const firstInput = iref && firstInputOf(head, iref, primary);
    const properties = propertiesOf(head, iprp, firstInput === undefined ? [primary] : [primary, firstInput]);
    return nclxAmong(head, properties.get(primary)) ?? (firstInput === undefined ? null : nclxAmong(head, properties.get(firstInput)));
  } catch (error) {
    if (error instanceof Truncated || error instanceof RangeError) return null;
    throw error;
  }
}

function primaryItem(data: Buffer, pitm: Box | undefined): number | undefined {
  if (!pitm) return undefined;
  const read = new Reader(data, pitm.start, pitm.end);
  return read.versionAndFlags().version === 0 ? read.uint(2) : read.uint(4);
}

/** An index into ipco is at most 15 bits: no property past this one can be associated. */
const MAX_PROPERTIES = 0x7fff;
/** Phones associate a handful of properties with an image; more than this for one item are not read. */
const MAX_PER_ITEM = 64;

/**
 * The property boxes (ipco's, numbered from 1) that every `ipma` associates with the `items`
 * asked for; the other items' associations are skipped unread, so a header listing a great many
 * costs no memory.
 */
function propertiesOf(data: Buffer, iprp: Box, items: readonly number[]): Map<number, Box[]> {
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

function nclxAmong(data: Buffer, properties: Box[] | undefined): HeifColours | null {
  for (const colr of properties?.filter((box) => box.type === 'colr') ?? []) {
    if (colr.end - colr.start < 4 + 7 || data.toString('latin1', colr.start, colr.start + 4) !== 'nclx') continue;
    const read = new Reader(data, colr.start + 4, colr.end);
    return { primaries: read.uint(2), transfer: read.uint(2) };
  }
  return null;
}

/** The first image `item` is derived from (a grid's first tile), by its `dimg` reference. */
function firstInputOf(data: Buffer, iref: Box, item: number): number | undefined {
  const version = new Reader(data, iref.start, iref.end).versionAndFlags().version;
  const idBytes = version === 0 ? 2 : 4;
  for (const reference of boxesIn(data, iref.start + 4, iref.end)) {
    const read = new Reader(data, reference.start, reference.end);
    if (reference.type !== 'dimg' || read.uint(idBytes) !== item) continue;
    return read.uint(2) > 0 ? read.uint(idBytes) : undefined;
  }
  return undefined;
}
