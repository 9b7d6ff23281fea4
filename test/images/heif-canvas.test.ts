// Grids and overlays in HEIC and AVIF (src/images/heif-canvas.ts): an iPhone's photo is a grid of
// tiles, and a grid's or an overlay's canvas is what the decoders allocate, whatever its `ispe` says.
// The files are built here from heif-enc's HEIC and sharp's AVIF images (test/helpers/heif.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHeifPool, decodeHeif, heifDecoderState } from '../../src/images/heif.js';
import { InvalidImageError, INVALID_IMAGE_MESSAGE } from '../../src/images/checks.js';
import { derivedHeif, heicFrom, heifEncAvailable, overlayBomb, withRotation } from '../helpers/heif.js';
import { DEFAULT_LIMITS, processed } from '../helpers/images.js';

const hasHeifEnc = await heifEncAvailable();
const dir = mkdtempSync(path.join(tmpdir(), 'heif-canvas-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await closeHeifPool();
});

const COLOURS = [
  [220, 40, 40],
  [40, 200, 60],
  [40, 60, 220],
  [230, 220, 40],
] as const;
const solid = (size: number, [r, g, b]: readonly number[]) =>
  sharp({ create: { width: size, height: size, channels: 3, background: { r: r!, g: g!, b: b! } } })
    .png()
    .toBuffer();
const avifTile = async (size: number, colour: readonly number[]) =>
  sharp(await solid(size, colour))
    .avif({ quality: 60, effort: 0 })
    .toBuffer();
const heicTile = async (size: number, colour: readonly number[]) => heicFrom(await solid(size, colour), 'png', 80);

/** The master's colour at (x, y). */
async function colourAt(master: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(master).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
}
const near = (actual: number[], expected: readonly number[]) => actual.every((value, i) => Math.abs(value - expected[i]!) <= 12);

/** A file on disk, as an upload streamed to a temporary file arrives. */
function onDisk(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

async function refusal(input: Buffer | string): Promise<InvalidImageError> {
  const error = await processed(input).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidImageError);
  return error as InvalidImageError;
}

describe('a grid photo, as phones write them', () => {
  const quadrants = async (master: Buffer) =>
    Promise.all([colourAt(master, 200, 200), colourAt(master, 800, 200), colourAt(master, 200, 800), colourAt(master, 800, 800)]);

  it.skipIf(!hasHeifEnc)(
    'decodes a HEIC grid of four tiles, each in its place, cropped to its canvas, its description in meta or in mdat, from memory or disk',
    async () => {
      const tiles = await Promise.all(COLOURS.map((colour) => heicTile(512, colour)));
      for (const descriptionInMdat of [false, true]) {
        const grid = derivedHeif({ kind: 'grid', images: tiles, columns: 2, width: 1000, height: 1000, descriptionInMdat });
        for (const input of [grid, onDisk(`grid-${descriptionInMdat}.heic`, grid)]) {
          const result = await processed(input);
          expect([result.width, result.height, result.input.format]).toEqual([1000, 1000, 'heic']);
          const found = await quadrants(result.buffer);
          found.forEach((colour, i) => expect(near(colour, COLOURS[i]!), `tile ${i}: ${colour.join(',')}`).toBe(true));
        }
      }
    },
  );

  it.skipIf(!hasHeifEnc)('turns a grid by its container’s rotation, once', async () => {
    // Two tiles side by side, red then green, turned a quarter anticlockwise (`irot` 1): red ends at the bottom.
    const tiles = await Promise.all(COLOURS.slice(0, 2).map((colour) => heicTile(512, colour)));
    const turned = withRotation(derivedHeif({ kind: 'grid', images: tiles, columns: 2, width: 1000, height: 500 }), 1);
    const result = await processed(turned);
    expect([result.width, result.height]).toEqual([500, 1000]);
    expect(near(await colourAt(result.buffer, 250, 800), COLOURS[0]), 'red at the bottom').toBe(true);
    expect(near(await colourAt(result.buffer, 250, 200), COLOURS[1]), 'green at the top').toBe(true);
  });

  it.skipIf(!hasHeifEnc)(
    'takes an iPhone’s 48 MP photo (HEIF Max: 8064 × 6048, a grid of 16 × 12 tiles of 512) at the default pixel limit',
    async () => {
      // Four tiles' colours, repeated in quarters of the grid: the master shows each quarter's.
      const colours = await Promise.all(COLOURS.map((colour) => heicTile(512, colour)));
      const tiles = Array.from({ length: 192 }, (_, i) => colours[(Math.floor(i / 16) < 6 ? 0 : 2) + (i % 16 < 8 ? 0 : 1)]!);
      const photo = derivedHeif({ kind: 'grid', images: tiles, columns: 16, width: 8064, height: 6048 });
      const result = await processed(photo);
      expect([result.width, result.height, result.input.format]).toEqual([2048, 1536, 'heic']);
      const found = await Promise.all([
        colourAt(result.buffer, 500, 400),
        colourAt(result.buffer, 1500, 400),
        colourAt(result.buffer, 500, 1100),
        colourAt(result.buffer, 1500, 1100),
      ]);
      found.forEach((colour, i) => expect(near(colour, COLOURS[i]!), `quarter ${i}: ${colour.join(',')}`).toBe(true));
    },
    60_000,
  );

  it('decodes an AVIF grid the same way', async () => {
    const tiles = await Promise.all(COLOURS.map((colour) => avifTile(512, colour)));
    const result = await processed(derivedHeif({ kind: 'grid', images: tiles, columns: 2, width: 1000, height: 1000 }));
    expect([result.width, result.height, result.input.format]).toEqual([1000, 1000, 'avif']);
    const found = await quadrants(result.buffer);
    found.forEach((colour, i) => expect(near(colour, COLOURS[i]!), `tile ${i}: ${colour.join(',')}`).toBe(true));
  });

  it('decodes a grid whose boxes in meta give their sizes in 64 bits, as HEIF allows for any box (AVIF, and HEIC when heif-enc is here)', async () => {
    const formats = { avif: avifTile, ...(hasHeifEnc ? { heic: heicTile } : {}) };
    for (const [format, tile] of Object.entries(formats)) {
      const tiles = await Promise.all(COLOURS.map((colour) => tile(512, colour)));
      const grid = derivedHeif({ kind: 'grid', images: tiles, columns: 2, width: 1000, height: 1000, largeMetaBoxes: true });
      for (const input of [grid, onDisk(`large-boxes.${format}`, grid)]) {
        const result = await processed(input);
        expect([result.width, result.height, result.input.format]).toEqual([1000, 1000, format]);
        const found = await quadrants(result.buffer);
        found.forEach((colour, i) => expect(near(colour, COLOURS[i]!), `${format} tile ${i}: ${colour.join(',')}`).toBe(true));
      }
    }
  });
});

describe('a grid or overlay whose canvas is over the pixel limit', () => {
  let heicTiles: Buffer[] = [];
  let avifTiles: Buffer[] = [];
  beforeAll(async () => {
    if (hasHeifEnc) heicTiles = Array<Buffer>(64).fill(await heicTile(1024, COLOURS[0]));
    avifTiles = Array<Buffer>(64).fill(await avifTile(1024, COLOURS[1]));
  });
  // 64 tiles of 1024 × 1024 (1 MP each, well under the limit) on an 8192 × 8192 canvas (67 MP), the
  // grid's own ispe saying 1000 × 1000: what libvips and libheif report as the picture's size.
  const bomb = (images: Buffer[], options: Partial<Parameters<typeof derivedHeif>[0]> = {}) =>
    derivedHeif({ kind: 'grid', images, columns: 8, width: 8192, height: 8192, declared: { width: 1000, height: 1000 }, ...options });
  const OVER = /^Image is 8192×8192 pixels; the limit is 52 megapixels\.$/;

  it.skipIf(!hasHeifEnc)(
    'is refused by the size of its canvas before the HEIC decoder starts, from memory or disk, wherever meta lies',
    async () => {
      await closeHeifPool();
      const inputs = {
        'in memory': bomb(heicTiles),
        'description in mdat': bomb(heicTiles, { descriptionInMdat: true }),
        'on disk': onDisk('bomb.heic', bomb(heicTiles)),
        // meta after 1.5 MB: past what the header read keeps of a file's start.
        'meta last, on disk': onDisk('bomb-meta-last.heic', bomb(heicTiles, { metaLastAfter: 1_500_000, descriptionInMdat: true })),
      };
      for (const [label, input] of Object.entries(inputs)) expect((await refusal(input)).detail, label).toMatch(OVER);
      expect((await refusal(overlayBomb(heicTiles[0]!))).detail).toBe('Image is 16000×16000 pixels; the limit is 52 megapixels.');
      expect(heifDecoderState(), 'the decoder’s thread never started').toBe('idle');
    },
  );

  it('is refused before libvips decodes an AVIF', async () => {
    expect((await refusal(bomb(avifTiles))).detail).toMatch(OVER);
    expect((await refusal(overlayBomb(avifTiles[0]!))).detail).toBe('Image is 16000×16000 pixels; the limit is 52 megapixels.');
  });

  it('is refused wherever meta and the description lie: meta after a 64-bit mdat, the description megabytes into mdat, from memory or disk', async () => {
    const layouts = {
      'meta after a 64-bit mdat': bomb(avifTiles, { metaLastAfter: 1000, largeMdat: true, descriptionInMdat: true }),
      'description 1.5 MB into mdat': bomb(avifTiles, { descriptionInMdat: true, mdatLeading: 1_500_000 }),
    };
    for (const [label, bytes] of Object.entries(layouts)) {
      for (const input of [bytes, onDisk(`${label.replaceAll(' ', '-')}.avif`, bytes)]) {
        expect((await refusal(input)).detail, `${label}, ${typeof input === 'string' ? 'on disk' : 'in memory'}`).toMatch(OVER);
      }
    }
  });

  it('is refused, however small its canvas, when its tiles add up to more than twice the pixel limit (each is decoded whole)', async () => {
    // 110 tiles of 1024 × 1024 (115 MP) on a 1024 × 1024 canvas; 64 of them (67 MP) are taken.
    const tiles = (count: number) => Array<Buffer>(count).fill(avifTiles[0]!);
    const over = derivedHeif({ kind: 'grid', images: tiles(110), columns: 11, width: 1024, height: 1024 });
    expect((await refusal(over)).detail).toBe('Image is made of tiles of 115.3 megapixels in all; the limit is 104 megapixels.');
    // Under it, as AVIF only up to its own limit's tiles (avif.test.ts): 16 tiles (16.8 MP) are taken.
    const under = await processed(derivedHeif({ kind: 'grid', images: tiles(16), columns: 4, width: 1024, height: 1024 }));
    expect([under.width, under.height]).toEqual([1024, 1024]);
    if (hasHeifEnc) {
      const heicUnder = await processed(derivedHeif({ kind: 'grid', images: heicTiles, columns: 8, width: 1024, height: 1024 }));
      expect([heicUnder.width, heicUnder.height, heicUnder.input.format]).toEqual([1024, 1024, 'heic']);
    }
  });

  it.skipIf(!hasHeifEnc)('is refused by the HEIC decoder itself before it allocates the canvas, should a file reach it', async () => {
    const error: unknown = await decodeHeif(bomb(heicTiles), DEFAULT_LIMITS.maxPixels, 30_000, false).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    // libheif's own limit, set to the pixel limit: not its check after decoding ("does not have the size signaled").
    expect(String((error as Error).cause)).toMatch(/Security limit exceeded: Image size 8192x8192 exceeds the maximum image size/);
  });

  it.skipIf(!hasHeifEnc)('is refused, as damaged, when where its description lies cannot be read', async () => {
    await closeHeifPool();
    const tiles = heicTiles.slice(0, 4);
    for (const descriptionInMdat of [false, true]) {
      const damaged = derivedHeif({
        kind: 'grid',
        images: tiles,
        columns: 2,
        width: 2048,
        height: 2048,
        descriptionInMdat,
        descriptionLength: 3,
      });
      const error = await refusal(damaged);
      expect([error.message, error.detail]).toEqual([INVALID_IMAGE_MESSAGE, undefined]);
    }
    expect(heifDecoderState()).toBe('idle');
  });
});

describe('the sizes a HEIF’s images declare', () => {
  it('refuse it by the largest, wherever meta lies: before the picture’s data, or after it, its own and its boxes’ sizes 32 or 64 bits', async () => {
    // A grid of one 1024 × 1024 tile whose own ispe declares a side libvips cannot hold (over 100 million pixels).
    const tile = await avifTile(1024, COLOURS[2]);
    const declared = { width: 200_000_000, height: 1024 };
    const layouts = {
      'meta first': {},
      'meta last': { metaLastAfter: 1000 },
      'meta after a 64-bit mdat': { metaLastAfter: 1000, largeMdat: true },
      'meta’s boxes 64-bit': { largeMetaBoxes: true },
      'meta last, its boxes 64-bit': { metaLastAfter: 1000, largeMetaBoxes: true },
    };
    for (const [label, layout] of Object.entries(layouts)) {
      const file = derivedHeif({ kind: 'grid', images: [tile], width: 1024, height: 1024, declared, ...layout });
      for (const input of [file, onDisk(`sizes-${label.replaceAll(' ', '-')}.avif`, file)]) {
        expect((await refusal(input)).detail, label).toBe('Image is 200000000×1024 pixels; the limit is 52 megapixels.');
      }
    }
  });
});
