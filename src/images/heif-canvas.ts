import { boxesIn, firstOfEach, MAX_PROPERTIES, propertiesOf, Reader, Truncated, type Box, type HeifMeta } from '../isobmff/boxes.js';

/**
 * A derived image of a HEIF or AVIF file: a grid of tiles (how iPhones store every photo) or an
 * overlay of images on a canvas. Its size is not its `ispe` property but the canvas its own
 * description declares, and the decoders allocate that canvas before they compare the two: a
 * 677-byte file declaring a 1000 × 1000 `ispe` and a 16 000 × 16 000 overlay took a process to 860
 * MB in libheif. The description lies inside `meta` (`idat`: `bytes`) or elsewhere in the file
 * (`extents`, absolute offsets).
 */
export type DerivedImage = (
  | { type: DerivedType; bytes: Buffer; extents?: undefined }
  | { type: DerivedType; bytes?: undefined; extents: { offset: number; length: number }[] }
) & {
  /**
   * The pixels of the images it is made of (each input's `ispe`), which a decoder decodes in full
   * whatever the canvas: 225 AV1 tiles of 1 MP on a 1 MP canvas, one tile's data shared by all
   * (72 kB), took 12 s of CPU in libvips, which no timeout stops.
   */
  inputPixels: number;
};

type DerivedType = 'grid' | 'iovl';

/** A description is a few bytes; more than this of it is never read. */
export const DESCRIPTION_BYTES = 32;

/**
 * The derived images a HEIF file's `meta` declares. Throws Truncated when a derived image is
 * declared but where its description lies, what it is made of or their sizes cannot be read
 * (damage, or a layout no phone writes): such a file is refused rather than handed to a decoder
 * that may read it otherwise.
 */
export function derivedImagesIn({ data: meta, boxes: children }: HeifMeta): DerivedImage[] {
  const iinf = children.get('iinf');
  const derived = iinf ? derivedItems(meta, iinf) : new Map<number, DerivedType>();
  if (derived.size === 0) return [];
  const iloc = children.get('iloc');
  const iref = children.get('iref');
  const iprp = children.get('iprp');
  if (!iloc || !iref || !iprp) throw new Truncated();
  const located = locations(meta, iloc, derived);
  const inputs = inputsOf(meta, iref, derived);
  const properties = propertiesOf(meta, iprp, [...new Set([...inputs.values()].flat())]);
  return [...derived].map(([item, type]) => {
    const place = located.get(item);
    if (!place) throw new Truncated();
    const inputPixels = (inputs.get(item) ?? []).reduce((sum, input) => sum + pixelsOf(meta, properties.get(input)), 0);
    if (place.method === 0) {
      return { type, inputPixels, extents: place.extents.map(({ offset, length }) => ({ offset: place.base + offset, length })) };
    }
    // Construction method 1: offsets into `idat`'s payload.
    const idat = children.get('idat');
    if (!idat) throw new Truncated();
    const parts = place.extents.map(({ offset, length }) => {
      const start = idat.start + place.base + offset;
      const end = length === 0 ? idat.end : start + length;
      if (end > idat.end) throw new Truncated();
      return meta.subarray(start, end);
    });
    return { type, inputPixels, bytes: Buffer.concat(parts).subarray(0, DESCRIPTION_BYTES) };
  });
}

/**
 * The size every image of a HEIF file's `meta` declares: each `ispe` property (the primary
 * image's, its tiles', thumbnails', auxiliary images'). Empty when it has no properties.
 */
export function imageSizesIn({ data: meta, boxes }: HeifMeta): { width: number; height: number }[] {
  const iprp = boxes.get('iprp');
  const ipco = iprp && firstOfEach(boxesIn(meta, iprp.start, iprp.end), ['ipco']).get('ipco');
  const sizes: { width: number; height: number }[] = [];
  let index = 0;
  // A property past the last an index can name is no image's size.
  for (const property of ipco ? boxesIn(meta, ipco.start, ipco.end) : []) {
    if (++index > MAX_PROPERTIES) break;
    if (property.type === 'ispe') sizes.push(sizeOf(meta, property));
  }
  return sizes;
}

/** The images each derived item is made of, in order, by its `dimg` reference (one per input, repeats included). */
function inputsOf(data: Buffer, iref: Box, derived: Map<number, unknown>): Map<number, number[]> {
  const idBytes = new Reader(data, iref.start, iref.end).versionAndFlags().version === 0 ? 2 : 4;
  const found = new Map<number, number[]>();
  for (const reference of boxesIn(data, iref.start + 4, iref.end)) {
    if (reference.type !== 'dimg') continue;
    const read = new Reader(data, reference.start, reference.end);
    const item = read.uint(idBytes);
    const list = found.get(item) ?? [];
    for (let count = read.uint(2); count > 0; count--) list.push(read.uint(idBytes));
    if (derived.has(item)) found.set(item, list);
  }
  return found;
}

/** An image's pixels by its `ispe` property, which HEIF requires of every image. */
function pixelsOf(data: Buffer, properties: Box[] | undefined): number {
  const ispe = properties?.find((box) => box.type === 'ispe');
  if (!ispe) throw new Truncated();
  const { width, height } = sizeOf(data, ispe);
  return width * height;
}

/** The width and height an `ispe` property declares. */
function sizeOf(data: Buffer, ispe: Box): { width: number; height: number } {
  const read = new Reader(data, ispe.start, ispe.end);
  read.versionAndFlags();
  return { width: read.uint(4), height: read.uint(4) };
}

/** The canvas a grid's or an overlay's description declares (ISO/IEC 23008-12, 6.6.2.3 and 6.6.2.2). */
export function canvasOf(type: DerivedType, description: Buffer): { width: number; height: number } {
  const read = new Reader(description, 0, description.length);
  if (read.uint(1) !== 0) throw new Truncated();
  const wide = (read.uint(1) & 1) === 1;
  // A grid's rows and columns (each minus one); an overlay's fill colour (four 16-bit values).
  read.skip(type === 'grid' ? 2 : 8);
  return wide ? { width: read.uint(4), height: read.uint(4) } : { width: read.uint(2), height: read.uint(2) };
}

/** The items `iinf` declares as grids or overlays (item info entries of version 2 and 3). */
function derivedItems(data: Buffer, iinf: Box): Map<number, DerivedType> {
  const read = new Reader(data, iinf.start, iinf.end);
  const version = read.versionAndFlags().version;
  read.skip(version === 0 ? 2 : 4);
  const found = new Map<number, DerivedType>();
  for (const infe of boxesIn(data, iinf.start + (version === 0 ? 6 : 8), iinf.end)) {
    if (infe.type !== 'infe') continue;
    const entry = new Reader(data, infe.start, infe.end);
    const entryVersion = entry.versionAndFlags().version;
    // Versions 0 and 1 name no item type: such an item is no image to a decoder.
    if (entryVersion < 2) continue;
    const item = entryVersion === 2 ? entry.uint(2) : entry.uint(4);
    entry.skip(2);
    const type = entry.text(4);
    if (type === 'grid' || type === 'iovl') found.set(item, type);
  }
  return found;
}

interface Location {
  method: number;
  base: number;
  extents: { offset: number; length: number }[];
}

/** Where `iloc` puts each of `items`' data (versions 0 to 2; data in this file only). */
function locations(data: Buffer, iloc: Box, items: Map<number, unknown>): Map<number, Location> {
  const read = new Reader(data, iloc.start, iloc.end);
  const version = read.versionAndFlags().version;
  if (version > 2) throw new Truncated();
  const sizes = read.uint(1);
  const moreSizes = read.uint(1);
  const [offsetSize, lengthSize, baseSize] = [sizes >> 4, sizes & 15, moreSizes >> 4];
  const indexSize = version >= 1 ? moreSizes & 15 : 0;
  const found = new Map<number, Location>();
  for (let count = version < 2 ? read.uint(2) : read.uint(4); count > 0; count--) {
    const item = version < 2 ? read.uint(2) : read.uint(4);
    const method = version >= 1 ? read.uint(2) & 15 : 0;
    const elsewhere = read.uint(2) !== 0;
    const base = read.sized(baseSize);
    const extents: Location['extents'] = [];
    for (let left = read.uint(2); left > 0; left--) {
      read.sized(indexSize);
      extents.push({ offset: read.sized(offsetSize), length: read.sized(lengthSize) });
    }
    if (!items.has(item)) continue;
    // Data in another file, or built from another item's (method 2): no phone writes a grid so.
    if (elsewhere || method > 1 || extents.length === 0) throw new Truncated();
    found.set(item, { method, base, extents });
  }
  return found;
}
