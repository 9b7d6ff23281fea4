// An image sequence's frames (an animated AVIF's or HEIC's movie, src/images/heif.ts and
// src/isobmff/samples.ts): libheif indexes every sample a track declares as it opens the file, so
// the frames the movie declares are held to MAX_IMAGE_FRAMES before any decoder sees it.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { declaredHeifHeader } from '../../src/images/heif.js';
import { InvalidImageError } from '../../src/images/checks.js';
import { heicFrom, heifEncAvailable, withSequence } from '../helpers/heif.js';
import { DEFAULT_LIMITS, processed } from '../helpers/images.js';
import { sameFromDisk } from '../helpers/tempdir.js';

const hasHeifEnc = await heifEncAvailable();
const LIMIT = DEFAULT_LIMITS.maxFrames;

const solid = () => sharp({ create: { width: 64, height: 64, channels: 3, background: '#884422' } });
const avif = () => solid().avif().toBuffer();
const heic = async () => heicFrom(await solid().jpeg().toBuffer(), 'jpg');

/** What processing `input` ends in: the stored picture's size and format, or the refusal's message. */
const outcome = (input: Buffer | string) =>
  processed(input).then(
    (result) => `${result.width}×${result.height} ${result.input.format}`,
    (error: unknown) => (error instanceof InvalidImageError ? error.detail : String(error)),
  );

describe('an image sequence’s frames', () => {
  it('are the samples its movie declares: the most of any track, and all of them', async () => {
    const still = await avif();
    expect((await declaredHeifHeader(still)).sequence).toEqual({ frames: 0, samples: 0 });
    expect((await sameFromDisk(withSequence(still, 300, 2), declaredHeifHeader)).sequence).toEqual({ frames: 300, samples: 600 });
  });

  it('over MAX_IMAGE_FRAMES are refused before any decoder opens the file (an 819-byte AVIF of 10 million took libheif 3.7 s and 685 MB)', async () => {
    const still = await avif();
    expect(await sameFromDisk(withSequence(still, 10_000_000), outcome)).toBe(`Image has 10000000 frames; the limit is ${LIMIT}.`);
    expect(await outcome(withSequence(still, LIMIT + 1))).toBe(`Image has ${LIMIT + 1} frames; the limit is ${LIMIT}.`);
    // Five tracks of the limit each: more than four tracks' worth in all.
    expect(await outcome(withSequence(still, LIMIT, 5))).toBe(
      `Image is a sequence of ${5 * LIMIT} frames in all its tracks; the limit is ${4 * LIMIT}.`,
    );
  });

  it.skipIf(!hasHeifEnc)('over MAX_IMAGE_FRAMES are refused in a HEIC too (10 million took the header read 4 s and 713 MB)', async () => {
    expect(await outcome(withSequence(await heic(), 10_000_000))).toBe(`Image has 10000000 frames; the limit is ${LIMIT}.`);
    expect(await outcome(withSequence(await heic(), LIMIT))).toBe('64×64 heic');
  });

  it('within the limits leave the picture stored: the primary image, as for any animation', async () => {
    const still = await avif();
    expect(await outcome(withSequence(still, LIMIT))).toBe('64×64 avif');
    expect(await outcome(withSequence(still, LIMIT, 2))).toBe('64×64 avif');
  });
});
