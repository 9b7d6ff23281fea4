// The limit on a WebP's chunks (src/images/webp-chunks.ts): libwebp's demuxer keeps a record of
// every chunk before libvips sees the picture, so a file of many empty chunks costs memory and
// CPU many times its size before any pixel is decoded.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { InvalidImageError } from '../../src/images/checks.js';
import { MAX_WEBP_CHUNKS, webpChunks } from '../../src/images/webp-chunks.js';
import { cameraLike, processed } from '../helpers/images.js';
import { sameFromDisk } from '../helpers/tempdir.js';
import { chunk, riff, withChunks } from '../helpers/webp.js';

const photo = () => cameraLike(800, 600).webp({ quality: 80 }).toBuffer();
describe('counting a WebP’s chunks', () => {
  it('counts a still picture’s chunk, an animation’s frames as libvips counts its pages, from memory and from disk', async () => {
    const still = await photo();
    expect(await sameFromDisk(still, webpChunks)).toEqual({ frames: 0, others: 1 });
    // Three frames of 64 × 64 joined as an animation: VP8X, ANIM and three ANMF.
    const frames = await Promise.all(
      ['#a03050', '#30a050', '#3050a0'].map((background) =>
        sharp({ create: { width: 64, height: 64, channels: 3, background } })
          .png()
          .toBuffer(),
      ),
    );
    const animated = await sharp(frames, { join: { animated: true } })
      .webp({ loop: 0 })
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(3);
    expect(await sameFromDisk(animated, webpChunks)).toEqual({ frames: 3, others: 2 });
  });

  it('skips each chunk’s data, padding included, and stops at the RIFF size (trailing bytes are not the picture’s)', async () => {
    const still = await photo();
    // Chunks of odd lengths (each padded by one byte), then bytes after the RIFF that look like chunks.
    const odd = riff([still.subarray(12), chunk('EXIF', Buffer.alloc(3, 1)), chunk('XMP ', Buffer.alloc(7, 2))], chunk('ZZZZ'));
    expect(await sameFromDisk(odd, webpChunks)).toEqual({ frames: 0, others: 3 });
    // Headers 256 kB reads split: chunks of 300 kB of data between small ones.
    const spread = riff([
      still.subarray(12),
      ...Array.from({ length: 6 }, (_, i) => chunk(i % 2 ? 'ZZZZ' : 'YYYY', Buffer.alloc(300_001))),
    ]);
    expect(await sameFromDisk(spread, webpChunks)).toEqual({ frames: 0, others: 7 });
  });
});

const REFUSED = `Image is a WebP of more than ${MAX_WEBP_CHUNKS} metadata blocks; the limit is ${MAX_WEBP_CHUNKS}. Save it again from any photo editor.`;

describe('a WebP’s chunks', () => {
  it('past the limit are refused before libvips reads the header (9.6 MB of them took 808 ms and 230 MB), and at the limit decode', async () => {
    const still = await photo();
    // VP8X and VP8 are two of them.
    const atLimit = withChunks(still, MAX_WEBP_CHUNKS - 2);
    expect(await webpChunks(atLimit)).toEqual({ frames: 0, others: MAX_WEBP_CHUNKS });
    const decoded = await processed(atLimit);
    expect([decoded.width, decoded.height, decoded.input.format]).toEqual([800, 600, 'webp']);

    for (const bomb of [withChunks(still, MAX_WEBP_CHUNKS - 1), withChunks(still, 1_200_000)]) {
      expect((await webpChunks(bomb)).others).toBe(MAX_WEBP_CHUNKS + 1);
      const refusal = await sameFromDisk(bomb, (input) => processed(input).catch((caught: unknown) => caught));
      expect(refusal).toBeInstanceOf(InvalidImageError);
      expect((refusal as InvalidImageError).detail).toBe(REFUSED);
    }
  });
});
