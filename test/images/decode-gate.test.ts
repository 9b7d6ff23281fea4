import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { closeHeifPool } from '../../src/images/heif.js';
import { gatedDecode, sanitiseImage } from '../../src/images/sanitise.js';
import { heicFrom, heifEncAvailable } from '../helpers/heif.js';

const limits = { maxPixels: 40_000_000, maxDimension: 2048, maxFrames: 1000, heifTimeoutMs: 30_000 };
const LARGE = 4000 * 3000;
const SMALL = 800 * 1000;
const hasHeifEnc = await heifEncAvailable();

/**
 * Starts a decode of each size in `pixels` through the gates at once (`heic`: all of them HEIC, or
 * which): how many ran together at most, and in which order they finished.
 */
async function decodes(concurrency: number | undefined, pixels: number[], heic: boolean | boolean[] = false) {
  let running = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    pixels.map((size, i) =>
      gatedDecode(
        { ...limits, concurrency },
        size,
        async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 10));
          running -= 1;
          order.push(i);
        },
        Array.isArray(heic) ? heic[i] : heic,
      ),
    ),
  );
  return { most, order };
}

describe('decodes of large uploads', () => {
  it('run one at a time with two images at once, in the order they came', async () => {
    expect(await decodes(2, [LARGE, LARGE, LARGE])).toEqual({ most: 1, order: [0, 1, 2] });
  });

  it('run half the image concurrency at once, at least one', async () => {
    expect((await decodes(4, [LARGE, LARGE, LARGE, LARGE])).most).toBe(2);
    expect((await decodes(1, [LARGE, LARGE])).most).toBe(1);
    expect((await decodes(undefined, [LARGE, LARGE])).most).toBe(1);
  });

  it('never hold back a picture the master keeps whole', async () => {
    expect((await decodes(2, [SMALL, SMALL, SMALL])).most).toBe(3);
    expect((await decodes(2, [2048 * 2048, LARGE, 1000 * 1000])).most).toBe(3);
  });

  it('of HEIC run one at a time whatever the concurrency, beside the other photos’ decodes', async () => {
    expect((await decodes(4, [LARGE, LARGE, LARGE], true)).most).toBe(1);
    expect((await decodes(2, [LARGE, LARGE], [true, false])).most).toBe(2);
  });

  it('free the slot when a decode fails', async () => {
    const gated = { ...limits, concurrency: 2 };
    const failing = gatedDecode(gated, LARGE, async () => {
      throw new Error('corrupt');
    });
    await expect(failing).rejects.toThrow('corrupt');
    await expect(gatedDecode(gated, LARGE, async () => 'next')).resolves.toBe('next');
  });
});

describe('sanitiseImage', () => {
  const imageLimits = { ...limits, concurrency: 2 };
  const jpeg = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#7a5c4f' } })
      .jpeg()
      .toBuffer();
  /** Holds the only slot of the large photos' gate (or of HEIC's) until the returned function is called. */
  const hold = (heic: boolean) => {
    let release!: () => void;
    const held = gatedDecode(imageLimits, LARGE, () => new Promise<void>((resolve) => (release = resolve)), heic);
    return async () => {
      release();
      await held;
    };
  };

  it('waits for the gate with a large upload, and not with a small one', async () => {
    const [large, small] = await Promise.all([jpeg(2100, 2100), jpeg(800, 1000)]);
    const release = hold(false);

    const done: string[] = [];
    const largeDone = sanitiseImage(large, large.length, imageLimits, { variantFormats: ['webp'] }).then((image) => {
      done.push('large');
      return image;
    });
    const smallImage = await sanitiseImage(small, small.length, imageLimits, { variantFormats: ['webp'] });
    expect(smallImage).toMatchObject({ width: 800, height: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(done).toEqual([]);

    await release();
    expect(await largeDone).toMatchObject({ width: 2048, height: 2048, format: 'jpeg' });
    expect(done).toEqual(['large']);
  });

  it.runIf(hasHeifEnc)('holds a large HEIC behind the HEIC gate only, not the other photos’ gate', async () => {
    const heic = await heicFrom(await jpeg(2100, 2100), 'jpg');
    const upload = () => sanitiseImage(heic, heic.length, imageLimits, { variantFormats: ['webp'] });
    try {
      const releaseOthers = hold(false);
      expect(await upload()).toMatchObject({ width: 2048, height: 2048, format: 'jpeg', input: { format: 'heic' } });
      await releaseOthers();

      const releaseHeic = hold(true);
      let done = false;
      const waiting = upload().then((image) => {
        done = true;
        return image;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      await releaseHeic();
      expect(await waiting).toMatchObject({ width: 2048, height: 2048 });
    } finally {
      await closeHeifPool();
    }
  });
});
