// The scan limit of progressive JPEGs (src/images/jpeg-scans.ts): each scan is a pass over the
// whole picture, so a file of many valid scans costs a decode many times its size's worth of CPU.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { jpegScans, MAX_JPEG_SCANS } from '../../src/images/jpeg-scans.js';
import { InvalidImageError } from '../../src/images/sanitise.js';
import { cameraLike, processed } from '../helpers/images.js';
import { jpegtranAvailable, MOST_SCANS, progressiveJpeg } from '../helpers/jpeg-scans.js';
import { inTempDir } from '../helpers/tempdir.js';

const hasJpegtran = await jpegtranAvailable();

/** A photo-like 800 × 600 JPEG, 4:4:4 (three full components, as the scan scripts need). */
const photo = () => cameraLike(800, 600).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer();

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
        expect(await jpegScans(bytes)).toBe(scans);
        expect(await jpegScans(file)).toBe(scans);
      }
    });
  });

  it('stops once past the limit, and counts a cut-short or damaged file as far as it goes', async () => {
    const baseline = await photo();
    expect(await jpegScans(baseline.subarray(0, 200))).toBe(0);
    expect(await jpegScans(Buffer.from('not a jpeg'))).toBe(0);
    const progressive = await sharp(baseline).jpeg({ progressive: true }).toBuffer();
    expect(await jpegScans(progressive, 3)).toBe(4);
  });
});

describe.skipIf(!hasJpegtran)('a progressive JPEG of many scans', () => {
  let source: Buffer;
  beforeAll(async () => {
    source = await photo();
  });

  it('is made of valid scans: the same picture decodes from 1923 of them', async () => {
    const many = await progressiveJpeg(source, MOST_SCANS);
    expect(await jpegScans(many, Infinity)).toBe(MOST_SCANS);
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
    expect(await jpegScans(atLimit)).toBe(MAX_JPEG_SCANS);
    const result = await processed(atLimit);
    expect([result.width, result.height, result.input.format]).toEqual([800, 600, 'jpeg']);
  });
});
