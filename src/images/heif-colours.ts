import { boxesIn, primaryItem, propertiesOf, Reader, Truncated, type Box, type HeifMeta } from '../isobmff/boxes.js';

/**
 * The colours a HEIF or AVIF file's primary image declares in an `nclx` colour box (ITU-T H.273
 * code points), where it declares them so rather than by an ICC profile.
 */
export interface HeifColours {
  primaries: number;
  transfer: number;
}

/**
 * What the `nclx` colour box of the primary image declares, read from the file's `meta`: the
 * primary item (`pitm`), the properties associated with it (`ipma` into `ipco`), and, for a grid
 * or another derived image that declares none, its first input image's, as libheif takes a grid's
 * colours from its first tile. Null when there is none, an ICC profile only, or `meta` is
 * malformed: the picture's colours are then taken as decoded.
 */
export function declaredNclx({ data: meta, boxes: children }: HeifMeta): HeifColours | null {
  try {
    const primary = primaryItem(meta, children.get('pitm'));
    const iprp = children.get('iprp');
    if (primary === undefined || !iprp) return null;
    const iref = children.get('iref');
    const firstInput = iref && firstInputOf(meta, iref, primary);
    const properties = propertiesOf(meta, iprp, firstInput === undefined ? [primary] : [primary, firstInput]);
    return nclxAmong(meta, properties.get(primary)) ?? (firstInput === undefined ? null : nclxAmong(meta, properties.get(firstInput)));
  } catch (error) {
    if (error instanceof Truncated || error instanceof RangeError) return null;
    throw error;
  }
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
