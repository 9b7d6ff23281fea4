// A photo shrunk in a canvas loses its EXIF, and with it what the server reads before it drops the
// rest: the capture date ("taken 8 months ago", the stale-headshot reminder) and the camera (the
// screenshot hint). The photo's own EXIF block goes into the shrunk JPEG instead, its orientation set
// to "as stored", since the canvas drew the photo upright, and without the thumbnail cameras put at
// its end (a second, small JPEG of the photo, which the server would drop anyway; what else may lie
// past one is not known, so a thumbnail followed by anything but padding stays). Not
// browser-image-compression's copyExifWithoutOrientation: that function comes only with the whole
// library, 20 kB gzipped (a PNG compressor among it), more than this page's whole script (19.1 kB).

const SOI = 0xffd8;
const SOS = 0xffda;
const APP1 = 0xffe1;
const EXIF = 0x45786966; // "Exif"
const ORIENTATION = 0x0112;
const THUMBNAIL_OFFSET = 0x0201;
const THUMBNAIL_LENGTH = 0x0202;
const SHORT = 3;
const LONG = 4;
/** Where the TIFF structure starts in an APP1 segment (after its marker, length and "Exif\0\0"). */
const TIFF = 10;

/**
 * The EXIF segment (APP1, marker included) of a JPEG's first bytes, with its orientation set to 1;
 * undefined when there is none before the image data, or it is not one this can safely change.
 */
export function uprightExifSegment(jpeg: ArrayBuffer): Uint8Array<ArrayBuffer> | undefined {
  const view = new DataView(jpeg);
  if (view.byteLength < 4 || view.getUint16(0) !== SOI) return undefined;
  for (let at = 2; at + 4 <= view.byteLength;) {
    const marker = view.getUint16(at);
    if (marker >>> 8 !== 0xff || marker === SOS) return undefined;
    const end = at + 2 + view.getUint16(at + 2);
    if (end > view.byteLength) return undefined;
    if (marker === APP1 && end - at >= 18 && view.getUint32(at + 4) === EXIF && view.getUint16(at + 8) === 0) {
      const segment = new Uint8Array(jpeg.slice(at, end));
      const ifd0 = setUpright(new DataView(segment.buffer));
      return ifd0 ? withoutThumbnail(segment, ifd0) : undefined;
    }
    at = end;
  }
  return undefined;
}

/** Where IFD0 ends: its link to the next IFD, and the byte order it is read in. */
interface Ifd0 {
  little: boolean;
  link: number;
}

/**
 * Sets IFD0's orientation (if any) to 1 in an APP1 segment; undefined when its TIFF structure is not
 * as EXIF says.
 */
function setUpright(segment: DataView): Ifd0 | undefined {
  const order = segment.getUint16(TIFF);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const little = order === 0x4949;
  if (segment.getUint16(TIFF + 2, little) !== 42) return undefined;
  const ifd = TIFF + segment.getUint32(TIFF + 4, little);
  const entries = entriesOf(segment, ifd, little);
  if (!entries) return undefined;
  for (const entry of entries) {
    if (segment.getUint16(entry, little) !== ORIENTATION) continue;
    if (segment.getUint16(entry + 2, little) !== SHORT || segment.getUint32(entry + 4, little) !== 1) return undefined;
    segment.setUint16(entry + 8, 1, little);
  }
  return { little, link: ifd + 2 + entries.length * 12 };
}

/** Where each 12-byte entry of the IFD at `ifd` starts; undefined when the IFD runs past the segment. */
function entriesOf(segment: DataView, ifd: number, little: boolean): number[] | undefined {
  if (ifd + 2 > segment.byteLength) return undefined;
  const count = segment.getUint16(ifd, little);
  if (ifd + 2 + count * 12 > segment.byteLength) return undefined;
  return Array.from({ length: count }, (_, i) => ifd + 2 + i * 12);
}

/**
 * The segment without its thumbnail when the thumbnail is its last part (zero bytes of padding
 * aside): cut there, with IFD0's link to the thumbnail's IFD (IFD1) cleared. Otherwise the segment
 * as it is.
 */
function withoutThumbnail(segment: Uint8Array<ArrayBuffer>, { little, link }: Ifd0): Uint8Array<ArrayBuffer> {
  const view = new DataView(segment.buffer);
  if (link + 4 > view.byteLength) return segment;
  const next = view.getUint32(link, little);
  const entries = next === 0 ? undefined : entriesOf(view, TIFF + next, little);
  if (!entries) return segment;
  let offset: number | undefined;
  let length: number | undefined;
  for (const entry of entries) {
    const tag = view.getUint16(entry, little);
    if (tag !== THUMBNAIL_OFFSET && tag !== THUMBNAIL_LENGTH) continue;
    if (view.getUint16(entry + 2, little) !== LONG || view.getUint32(entry + 4, little) !== 1) return segment;
    if (tag === THUMBNAIL_OFFSET) offset = TIFF + view.getUint32(entry + 8, little);
    else length = view.getUint32(entry + 8, little);
  }
  if (offset === undefined || length === undefined || offset < link + 4 || offset + length > view.byteLength) return segment;
  // Past the thumbnail, only padding (writers keep the segment word-aligned, some pad it further).
  for (let at = offset + length; at < view.byteLength; at++) if (view.getUint8(at) !== 0) return segment;
  view.setUint32(link, 0, little);
  view.setUint16(2, offset - 2);
  return segment.slice(0, offset);
}
