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

/** The boxes between `start` and `end`; 64-bit sizes (size 1) are not a layout this reads. */
function boxesIn(data: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let at = start; at + 8 <= end;) {
    const size = data.readUInt32BE(at);
    const boxEnd = size === 0 ? end : at + size;
    if (size !== 0 && size < 8) throw new Truncated();
    if (boxEnd > end) throw new Truncated();
    boxes.push({ type: data.toString('latin1', at + 4, at + 8), start: at + 8, end: boxEnd });
    at = boxEnd;
  }
  return boxes;
}

/** Reads big-endian integers of a box, never past its end. */
class Reader {
  constructor(
    private readonly data: Buffer,
    private at: number,
    private readonly end: number,
  ) {}

  uint(bytes: 1 | 2 | 4): number {
    if (this.at + bytes > this.end) throw new Truncated();
    const value = this.data.readUIntBE(this.at, bytes);
    this.at += bytes;
    return value;
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
    const meta = boxesInPrefix(head).find((box) => box.type === 'meta');
    if (!meta) return null;
    // `meta` is a full box: its children follow its version and flags.
    const children = boxesIn(head, meta.start + 4, meta.end);
    const primary = primaryItem(head, children);
    if (primary === undefined) return null;
    const properties = itemProperties(head, children);
    const own = nclxAmong(head, properties.get(primary));
    if (own) return own;
    const [firstInput] = derivedFrom(head, children, primary);
    return firstInput === undefined ? null : nclxAmong(head, properties.get(firstInput));
  } catch (error) {
    if (error instanceof Truncated || error instanceof RangeError) return null;
    throw error;
  }
}

/**
 * The top-level boxes of `head` up to the last one it holds whole: a file's start (the part a
 * stream has read) ends inside a box, which is not read.
 */
function boxesInPrefix(head: Buffer): Box[] {
  const boxes: Box[] = [];
  for (let at = 0; at + 8 <= head.length;) {
    const size = head.readUInt32BE(at);
    if (size < 8 || at + size > head.length) break;
    boxes.push({ type: head.toString('latin1', at + 4, at + 8), start: at + 8, end: at + size });
    at += size;
  }
  return boxes;
}

function primaryItem(data: Buffer, children: Box[]): number | undefined {
  const pitm = children.find((box) => box.type === 'pitm');
  if (!pitm) return undefined;
  const read = new Reader(data, pitm.start, pitm.end);
  return read.versionAndFlags().version === 0 ? read.uint(2) : read.uint(4);
}

/** Each item's associated property boxes (ipco's, numbered from 1), from every `ipma`. */
function itemProperties(data: Buffer, children: Box[]): Map<number, Box[]> {
  const associated = new Map<number, Box[]>();
  const iprp = children.find((box) => box.type === 'iprp');
  if (!iprp) return associated;
  const inside = boxesIn(data, iprp.start, iprp.end);
  const ipco = inside.find((box) => box.type === 'ipco');
  if (!ipco) return associated;
  const properties = boxesIn(data, ipco.start, ipco.end);
  for (const ipma of inside.filter((box) => box.type === 'ipma')) {
    const read = new Reader(data, ipma.start, ipma.end);
    const { version, flags } = read.versionAndFlags();
    // Each entry takes at least three bytes, so a count larger than the box holds ends in Truncated.
    for (let entries = read.uint(4); entries > 0; entries--) {
      const item = version < 1 ? read.uint(2) : read.uint(4);
      const list = associated.get(item) ?? [];
      for (let count = read.uint(1); count > 0; count--) {
        // The top bit says whether the property is essential; the rest is its index (0: none).
        const index = flags & 1 ? read.uint(2) & 0x7fff : read.uint(1) & 0x7f;
        const property = properties[index - 1];
        if (property) list.push(property);
      }
      associated.set(item, list);
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

/** The images `item` is derived from (a grid's tiles, in order), by its `dimg` references. */
function derivedFrom(data: Buffer, children: Box[], item: number): number[] {
  const iref = children.find((box) => box.type === 'iref');
  if (!iref) return [];
  const version = new Reader(data, iref.start, iref.end).versionAndFlags().version;
  const idBytes = version === 0 ? 2 : 4;
  for (const reference of boxesIn(data, iref.start + 4, iref.end)) {
    const read = new Reader(data, reference.start, reference.end);
    if (reference.type !== 'dimg' || read.uint(idBytes) !== item) continue;
    const inputs: number[] = [];
    for (let count = read.uint(2); count > 0; count--) inputs.push(read.uint(idBytes));
    return inputs;
  }
  return [];
}
