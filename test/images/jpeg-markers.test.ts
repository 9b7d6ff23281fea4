// The limits of a JPEG's markers (src/images/jpeg-markers.ts): each scan of a progressive JPEG is a
// pass over the whole picture, so a file of many valid scans costs a decode many times its size's
// worth of CPU; each metadata segment is kept and walked by the decoder, so a file of many costs
// its header read alone many times its size in memory.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { jpegMarkers, MAX_JPEG_SCANS, MAX_JPEG_SEGMENTS } from '../../src/images/jpeg-markers.js';
import { InvalidImageError } from '../../src/images/checks.js';
import { cameraLike, processed } from '../helpers/images.js';
import { jpegtranAvailable, MOST_SCANS, progressiveJpeg, sequentialScansJpeg, withSegments } from '../helpers/jpeg-markers.js';
import { inTempDir } from '../helpers/tempdir.js';

const hasJpegtran = await jpegtranAvailable();

/** A photo-like 800 × 600 JPEG, 4:4:4 (three full components, as the scan scripts need). */
const photo = () => cameraLike(800, 600).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer();
const scansOf = async (input: Buffer | string, limit = MAX_JPEG_SCANS) =>
  (await jpegMarkers(input, { scans: limit, segments: Infinity })).scans;

describe('counting a JPEG’s scans', () => {
  it('counts one for a baseline JPEG and each scan of a progressive one, from memory and from disk', async () => {
    const baseline = await photo();
    const progressive = await sharp(baseline).jpeg({ progressive: true }).toBuffer();
    // libjpeg's own progressive script for a colour picture: 10 scans.
    const expected = [
      [baseline, 1],
      [progressive, 10],
    ] as const;
    await inTempDir('jpeg-scans-', async (dir) => {
      for (const [bytes, scans] of expected) {
        const file = path.join(dir, `${scans}.jpg`);
        writeFileSync(file, bytes);
        expect(await scansOf(bytes)).toBe(scans);
        expect(await scansOf(file)).toBe(scans);
      }
    });
  });

  it('stops once past the limit, and counts a cut-short or damaged file as far as it goes', async () => {
    const baseline = await photo();
    expect(await scansOf(baseline.subarray(0, 200))).toBe(0);
    expect(await scansOf(Buffer.from('not a jpeg'))).toBe(0);
    const progressive = await sharp(baseline).jpeg({ progressive: true }).toBuffer();
    expect(await scansOf(progressive, 3)).toBe(4);
  });
});

describe.skipIf(!hasJpegtran)('a progressive JPEG of many scans', () => {
  let source: Buffer;
  beforeAll(async () => {
    source = await photo();
  });

  it('is made of valid scans: the same picture decodes from 1923 of them', async () => {
    const many = await progressiveJpeg(source, MOST_SCANS);
    expect(await scansOf(many, Infinity)).toBe(MOST_SCANS);
    // libvips decodes it without a warning (failOn: 'warning' would refuse one): the cost is real.
    const decoded = await sharp(many, { failOn: 'warning' }).raw().toBuffer({ resolveWithObject: true });
    const original = await sharp(source).raw().toBuffer();
    expect([decoded.info.width, decoded.info.height]).toEqual([800, 600]);
    let largest = 0;
    for (let i = 0; i < original.length; i++) largest = Math.max(largest, Math.abs(original[i]! - decoded.data[i]!));
    expect(largest).toBeLessThanOrEqual(8);
  });

  it('is refused past the limit before it is decoded, and decodes at the limit', async () => {
    const error = await processed(await progressiveJpeg(source, MOST_SCANS)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidImageError);
    expect((error as InvalidImageError).detail).toBe(
      `Image is a progressive JPEG of more than ${MAX_JPEG_SCANS} scans; the limit is ${MAX_JPEG_SCANS}. Save it again from any photo editor.`,
    );
    const atLimit = await progressiveJpeg(source, MAX_JPEG_SCANS);
    expect(await scansOf(atLimit)).toBe(MAX_JPEG_SCANS);
    const result = await processed(atLimit);
    expect([result.width, result.height, result.input.format]).toEqual([800, 600, 'jpeg']);
  });
});

const SEGMENTS_REFUSED = `Image is a JPEG of more than ${MAX_JPEG_SEGMENTS} metadata blocks; the limit is ${MAX_JPEG_SEGMENTS}. Save it again from any photo editor.`;

describe('a JPEG’s marker segments', () => {
  it('are counted where the decoder reads them: before the first scan and between scans, not after the last', async () => {
    const baseline = await photo();
    const { segments: own } = await jpegMarkers(baseline);
    expect(await jpegMarkers(withSegments(baseline, 50, 'header'))).toEqual({ scans: 1, segments: own + 50, progressive: false });
    // libjpeg reads nothing after a sequential JPEG's last scan: the walk stops there too.
    expect(await jpegMarkers(withSegments(baseline, 50, 'after-scans'))).toEqual({ scans: 1, segments: own, progressive: false });

    const progressive = await sharp(baseline).jpeg({ progressive: true }).toBuffer();
    const progressiveOwn = (await jpegMarkers(progressive)).segments;
    expect(await jpegMarkers(withSegments(progressive, 50, 'between-scans'))).toEqual({
      scans: 10,
      segments: progressiveOwn + 50,
      progressive: true,
    });
    expect(await jpegMarkers(withSegments(progressive, 50, 'after-scans'))).toEqual({
      scans: 10,
      segments: progressiveOwn + 50,
      progressive: true,
    });
  });

  it.skipIf(!hasJpegtran)('are counted between the scans of a sequential JPEG of one scan per component', async () => {
    const sequential = await sequentialScansJpeg(await photo());
    const counted = await jpegMarkers(sequential);
    expect([counted.scans, counted.progressive]).toEqual([3, false]);
    expect((await jpegMarkers(withSegments(sequential, 50, 'between-scans'))).segments).toBe(counted.segments + 50);
    // And the decoder reads them: the file still decodes to the picture.
    expect((await processed(withSegments(sequential, 50, 'between-scans'))).width).toBe(800);
  });

  it('past the limit are refused before libvips reads the header (9.5 MB of them took it 1.2 s and 313 MB), and at the limit decode', async () => {
    const baseline = await photo();
    const { segments: own } = await jpegMarkers(baseline);
    const atLimit = withSegments(baseline, MAX_JPEG_SEGMENTS - own, 'header');
    expect((await jpegMarkers(atLimit)).segments).toBe(MAX_JPEG_SEGMENTS);
    expect((await processed(atLimit)).width).toBe(800);

    const progressive = await sharp(baseline).jpeg({ progressive: true }).toBuffer();
    for (const bomb of [
      withSegments(baseline, MAX_JPEG_SEGMENTS + 1 - own, 'header'),
      withSegments(baseline, 2_000_000, 'header'),
      withSegments(progressive, 2_000_000, 'between-scans'),
    ]) {
      const error = await processed(bomb).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidImageError);
      expect((error as InvalidImageError).detail).toBe(SEGMENTS_REFUSED);
      await inTempDir('jpeg-segments-', async (dir) => {
        const file = path.join(dir, 'bomb.jpg');
        writeFileSync(file, bomb);
        expect((await jpegMarkers(file)).segments).toBe(MAX_JPEG_SEGMENTS + 1);
      });
    }
  });
});
