import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHeifPool } from '../../src/images/heif.js';
import { InvalidImageError } from '../../src/images/checks.js';
import { type SanitisedImage } from '../../src/images/sanitise.js';
import { heicFrom, heifEncAvailable } from '../helpers/heif.js';
import { animatedGif, cameraLike, processed } from '../helpers/images.js';
import { inTempDir } from '../helpers/tempdir.js';

const hasHeifEnc = await heifEncAvailable();

afterAll(() => closeHeifPool());

/** A photo-like picture whose noise is the same every run, so a failing case is found again. */
function textured(width: number, height: number, channels: 1 | 3 | 4) {
  let seed = width * height * channels;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return cameraLike(width, height, { channels, random });
}

/** One file of every kind an upload may be: the formats, their variants (progressive, palette, 16-bit, CMYK, animated) and EXIF orientation. */
async function sources(): Promise<[string, Buffer][]> {
  const files: [string, Buffer][] = [
    ['JPEG turned by EXIF', await textured(160, 120, 3).jpeg({ quality: 80 }).withMetadata({ orientation: 6 }).toBuffer()],
    ['progressive JPEG', await textured(120, 160, 3).jpeg({ progressive: true }).toBuffer()],
    ['CMYK JPEG', await textured(100, 100, 3).toColourspace('cmyk').jpeg().toBuffer()],
    ['PNG with alpha', await textured(150, 100, 4).png().toBuffer()],
    ['palette PNG', await textured(100, 150, 3).png({ palette: true, colours: 16 }).toBuffer()],
    ['16-bit grey PNG', await textured(128, 128, 1).toColourspace('grey16').png().toBuffer()],
    ['lossy WebP', await textured(160, 160, 3).webp({ quality: 70 }).toBuffer()],
    ['lossless WebP with alpha', await textured(120, 120, 4).webp({ lossless: true }).toBuffer()],
    ['GIF', await textured(96, 64, 3).gif().toBuffer()],
    ['animated GIF', await animatedGif(3, 48)],
    ['AVIF', await textured(160, 200, 3).avif({ quality: 50 }).toBuffer()],
  ];
  if (hasHeifEnc) {
    files.push(['HEIC', await heicFrom(await textured(160, 120, 3).jpeg({ quality: 90 }).toBuffer(), 'jpg')]);
    files.push(['HEIC with alpha', await heicFrom(await textured(120, 90, 4).png().toBuffer(), 'png')]);
  }
  return files;
}

type Damage =
  | { kind: 'bytes changed'; at: number[]; value: number }
  | { kind: 'cut short'; at: number }
  | { kind: 'bytes repeated' | 'bytes removed'; at: number; length: number };

/** Where damage lands: anywhere, or (half the time) in the first 600 bytes, where the headers are. */
const offset = fc.oneof(fc.nat({ max: 599 }), fc.nat({ max: 1 << 20 }));

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({
    kind: fc.constant('bytes changed' as const),
    at: fc.array(offset, { minLength: 1, maxLength: 8 }),
    value: fc.nat({ max: 255 }),
  }),
  fc.record({ kind: fc.constant('cut short' as const), at: offset }),
  fc.record({
    kind: fc.constantFrom('bytes repeated' as const, 'bytes removed' as const),
    at: offset,
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

function damaged(file: Buffer, how: Damage): Buffer {
  const within = (at: number) => at % file.length;
  switch (how.kind) {
    case 'bytes changed': {
      const copy = Buffer.from(file);
      for (const at of how.at) copy[within(at)] = how.value;
      return copy;
    }
    case 'cut short':
      return file.subarray(0, within(how.at));
    case 'bytes repeated': {
      const at = within(how.at);
      return Buffer.concat([file.subarray(0, at + how.length), file.subarray(at)]);
    }
    case 'bytes removed': {
      const at = within(how.at);
      return Buffer.concat([file.subarray(0, at), file.subarray(at + how.length)]);
    }
  }
}

// Any file of an accepted format, damaged anywhere (fast-check, a fixed seed so a failure is found
// again): it becomes a picture whose master and variants decode at the sizes stated, or it is
// refused as not a valid image, which the API answers 400. Nothing else: another error would be a
// 500. From bytes (small uploads) and from a file on disk (large ones).
describe('damaged files of every accepted format', () => {
  let files: [string, Buffer][];
  beforeAll(async () => {
    files = await sources();
  });

  it('become a valid picture or are refused as not a valid image, never another error', async () => {
    const outcomes = new Map<string, number>();
    await inTempDir('damaged-', async (dir) => {
      const upload = path.join(dir, 'upload');
      await fc.assert(
        fc.asyncProperty(fc.nat(), damage, fc.boolean(), async (which, how, onDisk) => {
          const [name, file] = files[which % files.length]!;
          const input = damaged(file, how);
          if (onDisk) await writeFile(upload, input);
          let picture: SanitisedImage;
          try {
            picture = await processed(onDisk ? upload : input);
          } catch (error) {
            if (!(error instanceof InvalidImageError)) throw new Error(`${name}, ${how.kind}: ${String(error)}`, { cause: error });
            outcomes.set('refused', (outcomes.get('refused') ?? 0) + 1);
            return;
          }
          outcomes.set('stored', (outcomes.get('stored') ?? 0) + 1);
          expect(await sharp(picture.buffer).metadata()).toMatchObject({ width: picture.width, height: picture.height });
          for (const variant of picture.variants) {
            expect(await sharp(variant.buffer).metadata()).toMatchObject({ format: 'webp', width: variant.width, height: variant.height });
          }
        }),
        { seed: 20261206, numRuns: 400 },
      );
    });
    // Both outcomes happen: the damage is neither always fatal nor always harmless.
    expect(outcomes.get('refused')).toBeGreaterThan(40);
    expect(outcomes.get('stored')).toBeGreaterThan(40);
  }, 180_000);
});
