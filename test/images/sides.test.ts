// The longest side an upload may have (MAX_IMAGE_SIDE in src/images/sanitise.ts): libvips' memory
// grows with a picture's width, so a thin strip under the pixel limit could take gigabytes.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { InvalidImageError, MAX_IMAGE_SIDE } from '../../src/images/checks.js';
import { processed } from '../helpers/images.js';

const strip = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#884422' } })
    .png({ compressionLevel: 9 })
    .toBuffer();

describe('a picture’s longest side', () => {
  it('is refused past the limit, wide or tall, from its header, under the pixel limit', async () => {
    for (const [width, height] of [
      [100_000, 10],
      [10, 100_000],
      [MAX_IMAGE_SIDE + 1, 2],
    ] as const) {
      const error = await processed(await strip(width, height)).catch((caught: unknown) => caught);
      expect(error, `${width} × ${height}`).toBeInstanceOf(InvalidImageError);
      expect((error as InvalidImageError).detail).toBe(`Image is ${width}×${height} pixels; the limit is ${MAX_IMAGE_SIDE} pixels a side.`);
    }
  });

  it('is taken at the limit: a panorama strip comes out 2048 wide', async () => {
    const result = await processed(await strip(MAX_IMAGE_SIDE, 1200));
    expect([result.width, result.height, result.input.width]).toEqual([2048, 75, MAX_IMAGE_SIDE]);
  });
});
