// The web page's EXIF carry-over (web/src/exif.ts), on JPEGs written by sharp (libvips' EXIF writer).
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { uprightExifSegment } from '../../web/src/exif.js';

const cameraJpeg = (orientation: number) =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: '#3d6fb6' } })
    .jpeg()
    .withMetadata({ orientation })
    .withExifMerge({ IFD0: { Make: 'Apple', Model: 'iPhone 15' }, IFD2: { DateTimeOriginal: '2026:03:14 09:26:53' } })
    .toBuffer();

/**
 * The JPEG with `thumbnail` as its EXIF thumbnail, as cameras write one: IFD1 and the thumbnail's
 * bytes at the end of the EXIF segment, IFD0 linking to IFD1 (then `trailing` bytes, if any). For
 * sharp's little-endian EXIF, whose IFD0 links to nothing.
 */
function withThumbnail(photo: Buffer, thumbnail: Buffer, trailing = Buffer.alloc(0)): Buffer {
  const app1 = photo.indexOf(Buffer.from('Exif\0\0', 'latin1')) - 4;
  const end = app1 + 2 + photo.readUInt16BE(app1 + 2);
  const segment = Buffer.from(photo.subarray(app1, end));
  expect(segment.toString('latin1', 10, 12)).toBe('II');
  const ifd0 = 10 + segment.readUInt32LE(14);
  const link = ifd0 + 2 + segment.readUInt16LE(ifd0) * 12;
  expect(segment.readUInt32LE(link)).toBe(0);
  const ifd1At = segment.length - 10; // offsets count from the TIFF header, 10 bytes into the segment
  const ifd1 = Buffer.alloc(2 + 2 * 12 + 4);
  ifd1.writeUInt16LE(2, 0);
  for (const [i, tag, value] of [
    [0, 0x0201, ifd1At + ifd1.length], // JPEGInterchangeFormat: where the thumbnail starts
    [1, 0x0202, thumbnail.length], // JPEGInterchangeFormatLength
  ] as const) {
    ifd1.writeUInt16LE(tag, 2 + i * 12);
    ifd1.writeUInt16LE(4, 4 + i * 12); // LONG
    ifd1.writeUInt32LE(1, 6 + i * 12);
    ifd1.writeUInt32LE(value, 10 + i * 12);
  }
  segment.writeUInt32LE(ifd1At, link);
  const rebuilt = Buffer.concat([segment, ifd1, thumbnail, trailing]);
  rebuilt.writeUInt16BE(rebuilt.length - 2, 2);
  return Buffer.concat([photo.subarray(0, app1), rebuilt, photo.subarray(end)]);
}

const arrayBufferOf = (bytes: Buffer) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
/** What an EXIF reader makes of a segment (past its marker, length and "Exif\0\0"). */
const read = (segment: Uint8Array) => exifReader(Buffer.from(segment.subarray(4)));

describe('the EXIF segment the web page carries into a shrunk photo', () => {
  it('keeps the capture date and camera, and says "as stored" where the photo said "turn 90°"', async () => {
    const photo = await cameraJpeg(6);
    expect((await sharp(photo).metadata()).orientation).toBe(6);
    const segment = uprightExifSegment(arrayBufferOf(photo))!;
    expect([segment[0], segment[1]]).toEqual([0xff, 0xe1]);
    const exif = read(segment);
    expect(exif.Image?.Orientation).toBe(1);
    expect(exif.Image?.Model).toBe('iPhone 15');
    expect((exif.Photo?.DateTimeOriginal as Date).toISOString()).toBe('2026-03-14T09:26:53.000Z');
    // The photo itself is not changed.
    expect((await sharp(photo).metadata()).orientation).toBe(6);

    // Put into another JPEG right after its start, as the page does: a reader sees the date, upright.
    const shrunk = await sharp({ create: { width: 48, height: 64, channels: 3, background: '#3d6fb6' } })
      .jpeg()
      .toBuffer();
    const carried = Buffer.concat([shrunk.subarray(0, 2), segment, shrunk.subarray(2)]);
    const metadata = await sharp(carried).metadata();
    expect([metadata.width, metadata.height, metadata.orientation]).toEqual([48, 64, 1]);
    expect(exifReader(metadata.exif!).Photo?.DateTimeOriginal).toEqual(new Date('2026-03-14T09:26:53.000Z'));
  });

  it('leaves out the thumbnail at the end of the EXIF, and keeps one anything follows', async () => {
    const thumbnail = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#aa3333' } })
      .jpeg()
      .toBuffer();
    const plain = uprightExifSegment(arrayBufferOf(await cameraJpeg(6)))!;
    const photo = withThumbnail(await cameraJpeg(6), thumbnail);
    expect(exifReader((await sharp(photo).metadata()).exif!).Thumbnail?.JPEGInterchangeFormatLength).toBe(thumbnail.length);
    const segment = uprightExifSegment(arrayBufferOf(photo))!;
    // What is carried: the photo's own EXIF and the thumbnail's IFD (30 bytes), now linked to nothing.
    expect(segment.length).toBe(plain.length + 30);
    expect((segment[2]! << 8) | segment[3]!).toBe(segment.length - 2);
    const exif = read(segment);
    expect(exif.Thumbnail).toBeUndefined();
    expect(exif.Image?.Orientation).toBe(1);
    expect(exif.Image?.Model).toBe('iPhone 15');
    expect((exif.Photo?.DateTimeOriginal as Date).toISOString()).toBe('2026-03-14T09:26:53.000Z');
    // Padding after it (exiftool keeps the segment word-aligned) goes with it.
    const padded = uprightExifSegment(arrayBufferOf(withThumbnail(await cameraJpeg(6), thumbnail, Buffer.alloc(3))))!;
    expect(padded.length).toBe(plain.length + 30);
    expect(read(padded).Thumbnail).toBeUndefined();
    // Bytes past the thumbnail could be anything another IFD points at: all of it stays.
    const followed = withThumbnail(await cameraJpeg(6), thumbnail, Buffer.from('more'));
    const whole = uprightExifSegment(arrayBufferOf(followed))!;
    expect(whole.length).toBe(plain.length + 30 + thumbnail.length + 4);
    expect(read(whole).Thumbnail?.JPEGInterchangeFormatLength).toBe(thumbnail.length);
  });

  it('finds nothing in a JPEG without EXIF, in other bytes, or in a JPEG cut before its EXIF ends', async () => {
    const plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    expect(uprightExifSegment(arrayBufferOf(plain))).toBeUndefined();
    expect(uprightExifSegment(arrayBufferOf(Buffer.from('not a picture at all')))).toBeUndefined();
    expect(uprightExifSegment(new ArrayBuffer(0))).toBeUndefined();
    const photo = await cameraJpeg(6);
    expect(uprightExifSegment(arrayBufferOf(photo.subarray(0, 40)))).toBeUndefined();
  });

  it('carries nothing when the orientation is not the one SHORT value EXIF defines (it could not be set upright)', async () => {
    const photo = Buffer.from(await cameraJpeg(6));
    const segment = uprightExifSegment(arrayBufferOf(photo))!;
    // Find the orientation entry (tag 0x0112) in IFD0 and make its type LONG.
    const at = photo.indexOf(Buffer.from(segment.subarray(0, 12)));
    const little = photo.toString('latin1', at + 10, at + 12) === 'II';
    const tag = little ? Buffer.from([0x12, 0x01, 0x03, 0x00]) : Buffer.from([0x01, 0x12, 0x00, 0x03]);
    const entry = photo.indexOf(tag, at);
    expect(entry).toBeGreaterThan(at);
    photo[entry + (little ? 2 : 3)] = 4;
    expect(uprightExifSegment(arrayBufferOf(photo))).toBeUndefined();
  });
});
