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
