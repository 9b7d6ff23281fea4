// HEIC fixtures, made by the tests: Debian's heif-enc (libheif-examples, x265 encoder) encodes a
// JPEG or PNG the test drew, carrying the JPEG's EXIF; withRotation then adds the `irot` property
// iPhones write (pixels stored as the sensor saw them, the container saying how to turn them), and
// withNclx the colour box Android phones write (to a HEIC, or to an AVIF sharp encoded).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { box, fullBox, largeBox, latin1, uints } from './bytes.js';
import { inTempDir } from './tempdir.js';

const run = promisify(execFile);

/** Whether heif-enc is installed (.ci/run installs libheif-examples). */
export async function heifEncAvailable(): Promise<boolean> {
  return run('heif-enc', ['--help']).then(
    () => true,
    (error: { code?: unknown }) => error.code !== 'ENOENT',
  );
}

/** HEIC bytes for a JPEG or PNG (its EXIF is carried over as is). */
export async function heicFrom(source: Buffer, extension: 'jpg' | 'png', quality = 60): Promise<Buffer> {
  return heicOf([source], extension, quality);
}

/** One HEIC holding an image for each JPEG or PNG, the first of them its primary item. */
export async function heicOf(sources: Buffer[], extension: 'jpg' | 'png', quality = 60): Promise<Buffer> {
  return inTempDir('heif-fixture-', async (dir) => {
    const inputs = sources.map((_, i) => path.join(dir, `in${i}.${extension}`));
    const output = path.join(dir, 'out.heic');
    await Promise.all(sources.map((source, i) => writeFile(inputs[i]!, source)));
    await run('heif-enc', ['-q', String(quality), ...inputs, '-o', output]);
    return readFile(output);
  });
}

interface Box {
  type: string;
  start: number;
  headerSize: number;
  end: number;
}

function boxesIn(buffer: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let at = start; at + 8 <= end;) {
    const size = buffer.readUInt32BE(at);
    if (size < 8) throw new Error('unsupported box size');
    boxes.push({ type: buffer.toString('latin1', at + 4, at + 8), start: at, headerSize: 8, end: at + size });
    at += size;
  }
  return boxes;
}

const child = (buffer: Buffer, parent: Box, type: string, fullBox = false): Box => {
  const found = boxesIn(buffer, parent.start + parent.headerSize + (fullBox ? 4 : 0), parent.end).find((box) => box.type === type);
  if (!found) throw new Error(`no ${type} box`);
  return found;
};

const readUInt = (buffer: Buffer, at: number, size: number) =>
  size === 0 ? 0 : size === 4 ? buffer.readUInt32BE(at) : size === 8 ? Number(buffer.readBigUInt64BE(at)) : buffer.readUInt16BE(at);
const writeUInt = (buffer: Buffer, at: number, size: number, value: number) => {
  if (size === 4) buffer.writeUInt32BE(value, at);
  else if (size === 8) buffer.writeBigUInt64BE(BigInt(value), at);
  else if (size === 2) buffer.writeUInt16BE(value, at);
};

/**
 * The HEIC with its primary item (`pitm`) set to its `index`th HEVC image (from 0), as heif-enc wrote
 * them from several inputs: a HEIF file shows its primary item, wherever that stands in the file.
 */
export function withPrimary(heic: Buffer, index: number): Buffer {
  const meta = metaOf(heic);
  const pitm = child(heic, meta, 'pitm', true);
  const out = Buffer.from(heic);
  const id = hevcImageId(heic, meta, index);
  if (heic[pitm.start + 8] === 0) out.writeUInt16BE(id, pitm.start + 12);
  else out.writeUInt32BE(id, pitm.start + 12);
  return out;
}

/**
 * The HEIC with its `index`th HEVC image (from 0) left without properties (its `ipma` entry names
 * an item that does not exist), so libheif cannot open that image; the others stay readable.
 */
export function withUnreadableImage(heic: Buffer, index: number): Buffer {
  const meta = metaOf(heic);
  const id = hevcImageId(heic, meta, index);
  const ipma = child(heic, child(heic, meta, 'iprp', true), 'ipma');
  // ipma version 0: 16-bit item IDs; flags bit 0: 16-bit associations.
  if (heic[ipma.start + 8] !== 0) throw new Error('expected ipma version 0');
  const wide = (heic.readUInt32BE(ipma.start + 8) & 1) === 1;
  const out = Buffer.from(heic);
  for (let i = 0, at = ipma.start + 16; i < heic.readUInt32BE(ipma.start + 12); i++) {
    if (heic.readUInt16BE(at) === id) {
      out.writeUInt16BE(0xfff0, at);
      return out;
    }
    at += 3 + heic[at + 2]! * (wide ? 2 : 1);
  }
  throw new Error(`image ${index} has no properties`);
}

function metaOf(heif: Buffer): Box {
  const meta = boxesIn(heif, 0, heif.length).find((box) => box.type === 'meta');
  if (!meta) throw new Error('no meta box');
  return meta;
}

/** The item ID of the `index`th HEVC image (from 0) in the order heif-enc wrote them. */
function hevcImageId(heic: Buffer, meta: Box, index: number): number {
  const iinf = child(heic, meta, 'iinf', true);
  // iinf: version and flags, an entry count (16 bits in version 0), then one infe per item.
  const entries = boxesIn(heic, iinf.start + 12 + (heic[iinf.start + 8] === 0 ? 2 : 4), iinf.end);
  // infe version 2: version and flags, item_ID (16 bits), item_protection_index, item_type.
  const images = entries.filter(
    (infe) => heic[infe.start + 8] === 2 && heic.toString('latin1', infe.start + 16, infe.start + 20) === 'hvc1',
  );
  const image = images[index];
  if (!image) throw new Error(`no HEVC image ${index}`);
  return heic.readUInt16BE(image.start + 12);
}

/**
 * Adds an `irot` (rotation by `quarterTurns` × 90° anticlockwise) to the primary image of a HEIC
 * written by heif-enc, marked essential as HEIF requires.
 */
export function withRotation(heic: Buffer, quarterTurns: 1 | 2 | 3): Buffer {
  return withProperty(heic, Buffer.from([0, 0, 0, 9, ...Buffer.from('irot'), quarterTurns & 3]), true);
}

/** H.273 code points an `nclx` colour box declares. */
export interface Nclx {
  primaries: number;
  transfer: number;
  matrix: number;
}

/** Display P3 as an `nclx` box declares it, with the BT.601 matrix sharp's and heif-enc's encoders use. */
export const DISPLAY_P3_NCLX: Nclx = { primaries: 12, transfer: 13, matrix: 6 };

/** An `nclx` colour box (`colr`) declaring these code points, full range, as phones and sharp encode. */
export function nclxBox({ primaries, transfer, matrix }: Nclx): Buffer {
  const colr = Buffer.alloc(19);
  colr.writeUInt32BE(19, 0);
  colr.write('colrnclx', 4, 'latin1');
  colr.writeUInt16BE(primaries, 12);
  colr.writeUInt16BE(transfer, 14);
  colr.writeUInt16BE(matrix, 16);
  colr[18] = 0x80;
  return colr;
}

/**
 * Adds an `nclx` colour box to the primary image of a HEIF file with none (heif-enc's HEIC, sharp's
 * AVIF), as Android phones declare their photos' colours instead of by an ICC profile; `onTile`:
 * to the tile of a grid HEIC instead (heif-enc writes an image with an odd side as a grid of one
 * tile, cropped), the grid item itself declaring nothing.
 */
export function withNclx(heif: Buffer, nclx: Nclx, { onTile = false } = {}): Buffer {
  const colr = nclxBox(nclx);
  if (!onTile) return withProperty(heif, colr, false);
  const meta = metaOf(heif);
  const tile = hevcImageId(heif, meta, 0);
  if (tile === heif.readUInt16BE(child(heif, meta, 'pitm', true).start + 12)) throw new Error('the primary image is not a grid');
  return withProperty(heif, colr, false, tile);
}

/**
 * Adds the property box `property` to an item (essential or not), the primary image unless `item`
 * names another, and moves every iloc offset past it.
 */
function withProperty(heif: Buffer, property: Buffer, essential: boolean, item?: number): Buffer {
  const top = boxesIn(heif, 0, heif.length);
  const meta = top.find((box) => box.type === 'meta');
  const mdat = top.find((box) => box.type === 'mdat');
  if (!meta || !mdat || mdat.start < meta.start) throw new Error('expected meta before mdat');
  const target = item ?? heif.readUInt16BE(child(heif, meta, 'pitm', true).start + 12);
  const iprp = child(heif, meta, 'iprp', true);
  const ipco = child(heif, iprp, 'ipco');
  const ipma = child(heif, iprp, 'ipma');
  const propertyIndex = boxesIn(heif, ipco.start + 8, ipco.end).length + 1;

  // ipma: version, flags, entry_count, then per item: id, count, associations.
  const version = heif[ipma.start + 8]!;
  const wide = (heif.readUInt32BE(ipma.start + 8) & 1) === 1;
  const idSize = version < 1 ? 2 : 4;
  let at = ipma.start + 16;
  let insertAt = -1;
  const entries = heif.readUInt32BE(ipma.start + 12);
  for (let i = 0; i < entries; i++) {
    const id = readUInt(heif, at, idSize);
    const count = heif[at + idSize]!;
    const next = at + idSize + 1 + count * (wide ? 2 : 1);
    if (id === target) insertAt = next;
    at = next;
  }
  if (insertAt < 0) throw new Error(`item ${target} has no properties`);
  const flag = essential ? 0x80 : 0;
  const association = wide ? Buffer.from([flag | (propertyIndex >> 8), propertyIndex & 0xff]) : Buffer.from([flag | propertyIndex]);
  const delta = property.length + association.length;

  const out = Buffer.concat([
    heif.subarray(0, ipco.end),
    property,
    heif.subarray(ipco.end, insertAt),
    association,
    heif.subarray(insertAt),
  ]);
  // Grow the boxes that now hold more, and bump the item's association count.
  const grow = (start: number, by: number) => out.writeUInt32BE(out.readUInt32BE(start) + by, start);
  grow(meta.start, delta);
  grow(iprp.start, delta);
  grow(ipco.start, property.length);
  grow(ipma.start + property.length, association.length);
  at = ipma.start + property.length + 16;
  for (let i = 0; i < entries; i++) {
    const id = readUInt(out, at, idSize);
    if (id === target) out[at + idSize]! += 1;
    at += idSize + 1 + out[at + idSize]! * (wide ? 2 : 1);
  }

  // iloc offsets are from the file's start: everything in mdat moved by `delta`.
  const ilocInMeta = child(heif, meta, 'iloc', true);
  const iloc = ilocInMeta.start + (ilocInMeta.start > ipco.end ? (ilocInMeta.start >= insertAt ? delta : property.length) : 0);
  const ilocVersion = out[iloc + 8]!;
  const offsetSize = out[iloc + 12]! >> 4;
  const lengthSize = out[iloc + 12]! & 15;
  const baseSize = out[iloc + 13]! >> 4;
  const indexSize = ilocVersion >= 1 ? out[iloc + 13]! & 15 : 0;
  at = iloc + 14;
  const items = ilocVersion < 2 ? out.readUInt16BE(at) : out.readUInt32BE(at);
  at += ilocVersion < 2 ? 2 : 4;
  for (let i = 0; i < items; i++) {
    at += ilocVersion < 2 ? 2 : 4;
    const method = ilocVersion >= 1 ? out.readUInt16BE(at) & 15 : 0;
    if (ilocVersion >= 1) at += 2;
    at += 2; // data_reference_index
    const base = readUInt(out, at, baseSize);
    if (method === 0 && base > 0) writeUInt(out, at, baseSize, base + delta);
    at += baseSize;
    const extents = out.readUInt16BE(at);
    at += 2;
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      const offset = readUInt(out, at, offsetSize);
      if (method === 0 && base === 0) writeUInt(out, at, offsetSize, offset + delta);
      at += offsetSize + lengthSize;
    }
  }
  return out;
}

/** A coded image taken out of a single-image HEIF file (heif-enc's HEIC, sharp's AVIF): its codec box, size and data. */
interface CodedImage {
  codec: 'hvc1' | 'av01';
  config: Buffer;
  width: number;
  height: number;
  data: Buffer;
}

function codedImageOf(heif: Buffer): CodedImage {
  const meta = metaOf(heif);
  const ipco = child(heif, child(heif, meta, 'iprp', true), 'ipco');
  const properties = boxesIn(heif, ipco.start + 8, ipco.end);
  const config = properties.find((property) => property.type === 'hvcC' || property.type === 'av1C');
  const ispe = properties.find((property) => property.type === 'ispe');
  if (!config || !ispe) throw new Error('no hvcC or av1C box, or no ispe');
  // iloc: version, flags, then the field sizes; heif-enc and sharp write one item with one or more extents.
  const iloc = child(heif, meta, 'iloc', true);
  const version = heif[iloc.start + 8]!;
  const [offsetSize, lengthSize] = [heif[iloc.start + 12]! >> 4, heif[iloc.start + 12]! & 15];
  const [baseSize, indexSize] = [heif[iloc.start + 13]! >> 4, version >= 1 ? heif[iloc.start + 13]! & 15 : 0];
  let at = iloc.start + 14;
  if (heif.readUInt16BE(at) !== 1) throw new Error('expected one item');
  at += 2 + 2 + (version >= 1 ? 2 : 0) + 2;
  const base = readUInt(heif, at, baseSize);
  at += baseSize;
  const parts: Buffer[] = [];
  for (let extents = heif.readUInt16BE((at += 2) - 2); extents > 0; extents--) {
    at += indexSize;
    const offset = readUInt(heif, at, offsetSize);
    const length = readUInt(heif, (at += offsetSize), lengthSize);
    at += lengthSize;
    parts.push(heif.subarray(base + offset, base + offset + length));
  }
  return {
    codec: config.type === 'hvcC' ? 'hvc1' : 'av01',
    config: heif.subarray(config.start, config.end),
    // ispe: version and flags, then the width and height.
    width: heif.readUInt32BE(ispe.start + 12),
    height: heif.readUInt32BE(ispe.start + 16),
    data: Buffer.concat(parts),
  };
}

export interface DerivedHeifOptions {
  /** `grid`: tiles in rows (an iPhone's photo); `iovl`: images laid on a canvas at `offsets`. */
  kind: 'grid' | 'iovl';
  /** Single-image HEIF files of one codec and one size (heif-enc's HEIC or sharp's AVIF), in row order for a grid. */
  images: Buffer[];
  columns?: number;
  /** The canvas the description declares. */
  width: number;
  height: number;
  /** The grid's or overlay's own `ispe`: the canvas, unless a file says otherwise. */
  declared?: { width: number; height: number };
  /** Where each image lies on an overlay's canvas (default: all at 0, 0). */
  offsets?: [x: number, y: number][];
  /** The description in `mdat` rather than in `meta`'s `idat` (libheif's and Apple's place). */
  descriptionInMdat?: boolean;
  /** What `iloc` says the description's length is, when not its real one (a damaged file). */
  descriptionLength?: number;
  /** `meta` at the file's end, after a filler box of this many bytes and `mdat` (a layout HEIF allows and phones do not write). */
  metaLastAfter?: number;
  /** `mdat`'s size in the 64-bit field (a box of size 1), as a writer must for one of 4 GB or more. */
  largeMdat?: boolean;
  /** Bytes of filler at the start of `mdat`, before the description and the coded images. */
  mdatLeading?: number;
  /** `meta`'s item boxes and properties (`iinf`, `iprp`, `ipco`, `idat`) with their sizes in the 64-bit field, which HEIF allows for any box. */
  largeMetaBoxes?: boolean;
}

/**
 * A HEIF file whose primary image is a grid or an overlay of `images`, as phones write them: the
 * derived image first, its inputs hidden items referenced by `dimg`, one shared codec box, the
 * description (rows and columns or canvas fill, and the output size) in `idat` or in `mdat`.
 */
export function derivedHeif(options: DerivedHeifOptions): Buffer {
  const { kind, width, height, declared = { width, height } } = options;
  const images = options.images.map(codedImageOf);
  const first = images[0]!;
  const columns = options.columns ?? images.length;
  const rows = Math.ceil(images.length / columns);
  const wide = width > 0xffff || height > 0xffff;
  const size = wide ? uints(4, width, height) : uints(2, width, height);
  const description =
    kind === 'grid'
      ? Buffer.concat([uints(1, 0, wide ? 1 : 0, rows - 1, columns - 1), size])
      : Buffer.concat([
          uints(1, 0, wide ? 1 : 0),
          uints(2, 0, 0, 0, 0xffff),
          size,
          ...images.map((_, i) => (wide ? uints(4, ...(options.offsets?.[i] ?? [0, 0])) : uints(2, ...(options.offsets?.[i] ?? [0, 0])))),
        ]);
  const derivedId = 1;
  const ids = images.map((_, i) => 2 + i);
  const infe = (id: number, type: string, hidden: boolean) =>
    fullBox('infe', 2, hidden ? 1 : 0, uints(2, id, 0), latin1(type), Buffer.from([0]));
  const sized = options.largeMetaBoxes === true ? largeBox : box;
  const iinf = sized(
    'iinf',
    uints(4, 0),
    uints(2, 1 + images.length),
    infe(derivedId, kind, false),
    ...ids.map((id) => infe(id, first.codec, true)),
  );
  const iref = fullBox('iref', 0, 0, box('dimg', uints(2, derivedId, images.length, ...ids)));
  const ispe = (w: number, h: number) => fullBox('ispe', 0, 0, uints(4, w, h));
  // Properties: 1 the codec box, 2 the inputs' size, 3 the derived image's.
  const ipco = sized('ipco', first.config, ispe(first.width, first.height), ispe(declared.width, declared.height));
  const ipma = fullBox(
    'ipma',
    0,
    0,
    uints(4, 1 + images.length),
    Buffer.concat([uints(2, derivedId), uints(1, 1, 3)]),
    ...ids.map((id) => Buffer.concat([uints(2, id), uints(1, 2, 0x81, 2)])),
  );
  const inMdat = options.descriptionInMdat === true;
  const ftyp =
    first.codec === 'av01'
      ? box('ftyp', latin1('avif'), uints(4, 0), latin1('mif1avifmiaf'))
      : box('ftyp', latin1('heic'), uints(4, 0), latin1('mif1heic'));
  const filler = Buffer.alloc(options.mdatLeading ?? 0);
  const payloads = inMdat ? [description, ...images.map((image) => image.data)] : images.map((image) => image.data);
  const leading = options.metaLastAfter ? box('free', Buffer.alloc(options.metaLastAfter)) : Buffer.alloc(0);
  const metaWith = (offsets: number[]) => {
    const entry = (id: number, method: number, offset: number, length: number) =>
      Buffer.concat([uints(2, id, method, 0, 1), uints(4, offset, length)]);
    const iloc = fullBox(
      'iloc',
      1,
      0,
      uints(1, 0x44, 0),
      uints(2, 1 + images.length),
      entry(derivedId, inMdat ? 0 : 1, inMdat ? offsets[0]! : 0, options.descriptionLength ?? description.length),
      ...images.map((image, i) => entry(ids[i]!, 0, offsets[inMdat ? i + 1 : i]!, image.data.length)),
    );
    const hdlr = fullBox('hdlr', 0, 0, uints(4, 0), latin1('pict'), uints(4, 0, 0, 0), Buffer.from([0]));
    return fullBox(
      'meta',
      0,
      0,
      hdlr,
      fullBox('pitm', 0, 0, uints(2, derivedId)),
      iloc,
      iinf,
      iref,
      sized('iprp', ipco, ipma),
      ...(inMdat ? [] : [sized('idat', description)]),
    );
  };
  const mdatBytes = filler.length + payloads.reduce((sum, payload) => sum + payload.length, 0);
  const mdatHeader = options.largeMdat
    ? Buffer.concat([uints(4, 1), latin1('mdat'), uints(4, 0, 16 + mdatBytes)])
    : Buffer.concat([uints(4, 8 + mdatBytes), latin1('mdat')]);
  const mdat = Buffer.concat([mdatHeader, filler, ...payloads]);
  const metaLength = metaWith(payloads.map(() => 0)).length;
  // The payloads' offsets in the file: mdat after meta, or before it (after ftyp and a filler box).
  let at = ftyp.length + leading.length + (options.metaLastAfter ? 0 : metaLength) + mdatHeader.length + filler.length;
  const offsets = payloads.map((payload) => ((at += payload.length), at - payload.length));
  const meta = metaWith(offsets);
  return options.metaLastAfter ? Buffer.concat([ftyp, leading, mdat, meta]) : Buffer.concat([ftyp, meta, mdat]);
}

/**
 * A few hundred bytes declaring a 1000 × 1000 picture, in `ispe`, that is an overlay of `image` on
 * a `side` × `side` canvas: what a decoder allocates before it finds the two differ.
 */
export function overlayBomb(image: Buffer, side = 16_000): Buffer {
  return derivedHeif({ kind: 'iovl', images: [image], width: side, height: side, declared: { width: 1000, height: 1000 } });
}

/**
 * `image` (a single-image HEIF: heif-enc's HEIC or sharp's AVIF) with an image sequence's movie
 * after it, as an animated AVIF or HEIC carries: `tracks` tracks, each declaring `samples` frames
 * of its codec (the sample entry holds the image's own codec box) in one sample-size table giving
 * every sample one size. The samples' data is not there: a reader that indexes them from the
 * declared count does so before it reads any.
 */
export function withSequence(image: Buffer, samples: number, tracks = 1): Buffer {
  const configType = image.includes('av1C') ? 'av1C' : 'hvcC';
  const at = image.indexOf(configType) - 4;
  const config = image.subarray(at, at + image.readUInt32BE(at));
  // A visual sample entry: reserved, data reference 1, 64 × 64, 72 dpi, one frame, no name, 24-bit depth.
  const entry = Buffer.concat([
    Buffer.alloc(6),
    uints(2, 1),
    Buffer.alloc(16),
    uints(2, 64, 64),
    uints(4, 0x00480000, 0x00480000, 0),
    uints(2, 1),
    Buffer.alloc(32),
    uints(2, 0x18, 0xffff),
  ]);
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, uints(4, 1), box(configType === 'av1C' ? 'av01' : 'hvc1', entry, config)),
    fullBox('stts', 0, 0, uints(4, 1, samples, 1)),
    fullBox('stsc', 0, 0, uints(4, 1, 1, samples, 1)),
    fullBox('stsz', 0, 0, uints(4, 1, samples)),
    fullBox('stco', 0, 0, uints(4, 1, 0)),
  );
  const trak = (id: number) =>
    box(
      'trak',
      fullBox(
        'tkhd',
        0,
        3,
        uints(4, 0, 0, id, 0, samples),
        Buffer.alloc(16),
        uints(4, 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000),
        uints(4, 64 << 16, 64 << 16),
      ),
      box(
        'mdia',
        fullBox('mdhd', 0, 0, uints(4, 0, 0, 1000, samples), uints(2, 0x55c4, 0)),
        fullBox('hdlr', 0, 0, uints(4, 0), latin1('pict'), uints(4, 0, 0, 0), Buffer.from([0])),
        box('minf', fullBox('vmhd', 0, 1, uints(2, 0, 0, 0, 0)), stbl),
      ),
    );
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    uints(4, 0, 0, 1000, samples, 0x00010000),
    uints(2, 0x0100),
    Buffer.alloc(10),
    uints(4, 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000),
    Buffer.alloc(24),
    uints(4, tracks + 1),
  );
  return Buffer.concat([image, box('moov', mvhd, ...Array.from({ length: tracks }, (_, i) => trak(i + 1)))]);
}
