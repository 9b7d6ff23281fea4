// AVIF's own pixel limit (MAX_AVIF_PIXELS): libaom, which decodes AVIF inside sharp's libvips, takes
// about 17 bytes a pixel, so a 983-byte AVIF of 7200 × 7200 took the process to 1 GB. The files are
// made here with sharp (single images) and test/helpers/heif.ts (grids of them).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { sanitiseImage } from '../../src/images/sanitise.js';
import type { DecodeGates } from '../../src/images/work.js';
import { derivedHeif } from '../helpers/heif.js';
import { DEFAULT_LIMITS, processed } from '../helpers/images.js';

const dir = mkdtempSync(path.join(tmpdir(), 'avif-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A flat AVIF of `width` × `height`: under a kilobyte, whatever its size. */
const flatAvif = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#5080b0' } })
    .avif({ quality: 30, effort: 0 })
    .toBuffer();

async function refusal(input: Buffer | string): Promise<string | undefined> {
  const error: unknown = await processed(input).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return (error as { detail?: string } | undefined)?.detail;
}

describe('an AVIF over the AVIF limit', () => {
  it('is refused by its size before it is decoded, from memory or disk, a column over or far over', async () => {
    const bomb = await flatAvif(7200, 7200);
    expect(bomb.length).toBeLessThan(2000);
    const file = path.join(dir, 'bomb.avif');
    writeFileSync(file, bomb);
    for (const input of [bomb, file]) {
      expect(await refusal(input)).toBe(
        'Image is an AVIF of 7200×7200 pixels; the limit for AVIF is 16.8 megapixels. Save it as JPEG, or smaller.',
      );
    }
    expect(await refusal(await flatAvif(4097, 4096))).toBe(
      'Image is an AVIF of 4097×4096 pixels; the limit for AVIF is 16.8 megapixels. Save it as JPEG, or smaller.',
    );
  });

  it('is refused as a grid whose canvas is over it, or whose tiles add up to more than a quarter over it', async () => {
    const tile = await flatAvif(512, 512);
    const iphoneLike = derivedHeif({ kind: 'grid', images: Array<Buffer>(192).fill(tile), columns: 16, width: 8064, height: 6048 });
    expect(await refusal(iphoneLike)).toBe(
      'Image is an AVIF of 8064×6048 pixels; the limit for AVIF is 16.8 megapixels. Save it as JPEG, or smaller.',
    );
    // Two 4096 × 4096 tiles on a canvas of 8192 × 2048 (16.8 MP): each is decoded whole, side by side.
    const big = await flatAvif(4096, 4096);
    const halves = derivedHeif({ kind: 'grid', images: [big, big], columns: 2, width: 8192, height: 2048 });
    expect(await refusal(halves)).toBe('Image is an AVIF made of tiles of 33.6 megapixels in all; the limit for AVIF is 21 megapixels.');
    // Four tiles of 2290 × 2290 on a 4096 × 4096 canvas: 4 900 pixels over, said with the decimals that show it.
    const quarter = await flatAvif(2290, 2290);
    const justOver = derivedHeif({ kind: 'grid', images: [quarter, quarter, quarter, quarter], columns: 2, width: 4096, height: 4096 });
    expect(await refusal(justOver)).toBe(
      'Image is an AVIF made of tiles of 20.98 megapixels in all; the limit for AVIF is 20.97 megapixels.',
    );
  });

  it('never raises the limit above MAX_IMAGE_PIXELS', async () => {
    const limits = { ...DEFAULT_LIMITS, maxPixels: 10_000_000 };
    const gates: DecodeGates = { decode: (_pixels, _heavy, task) => task() };
    const error: unknown = await sanitiseImage(await flatAvif(4000, 3000), 1000, limits, gates).catch((caught: unknown) => caught);
    expect((error as { detail?: string }).detail).toBe('Image is 4000×3000 pixels; the limit is 10 megapixels.');
  });
});

describe('an AVIF within the AVIF limit', () => {
  it('is taken at the limit, as one image or as a grid', async () => {
    const single = await processed(await flatAvif(4096, 4096));
    expect([single.width, single.height, single.input.format]).toEqual([2048, 2048, 'avif']);
    const tile = await flatAvif(2048, 2048);
    const grid = await processed(derivedHeif({ kind: 'grid', images: [tile, tile, tile, tile], columns: 2, width: 4096, height: 4096 }));
    expect([grid.width, grid.height, grid.input.format]).toEqual([2048, 2048, 'avif']);
  });
});
