// A photo shrunk in a canvas loses its EXIF, and with it what the server reads before it drops the
// rest: the capture date ("taken 8 months ago", the stale-headshot reminder) and the camera (the
// screenshot hint). The photo's own EXIF block goes into the shrunk JPEG instead, its orientation set
// to "as stored", since the canvas drew the photo upright. Not browser-image-compression's
// copyExifWithoutOrientation: that function comes only with the whole library, 20 kB gzipped (a PNG
// compressor among it), more than this page's whole script (18.6 kB).

const SOI = 0xffd8;
const SOS = 0xffda;
const APP1 = 0xffe1;
const EXIF = 0x45786966; // "Exif"
const ORIENTATION = 0x0112;
const SHORT = 3;

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
      return setUpright(new DataView(segment.buffer)) ? segment : undefined;
    }
    at = end;
  }
  return undefined;
}

/** Sets IFD0's orientation (if any) to 1 in an APP1 segment; false when its TIFF structure is not as EXIF says. */
function setUpright(segment: DataView): boolean {
  const tiff = 10;
  const order = segment.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return false;
  const little = order === 0x4949;
  if (segment.getUint16(tiff + 2, little) !== 42) return false;
  const ifd = tiff + segment.getUint32(tiff + 4, little);
  if (ifd + 2 > segment.byteLength) return false;
  const entries = segment.getUint16(ifd, little);
  if (ifd + 2 + entries * 12 > segment.byteLength) return false;
  for (let entry = ifd + 2; entry < ifd + 2 + entries * 12; entry += 12) {
    if (segment.getUint16(entry, little) !== ORIENTATION) continue;
    if (segment.getUint16(entry + 2, little) !== SHORT || segment.getUint32(entry + 4, little) !== 1) return false;
    segment.setUint16(entry + 8, 1, little);
  }
  return true;
}
