import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { closeHeifPool } from '../../src/images/heif.js';
import { QueueFullError } from '../../src/images/limiter.js';
import { sanitiseImage } from '../../src/images/sanitise.js';
import { ImageWork } from '../../src/images/work.js';
import { heicFrom, heifEncAvailable } from '../helpers/heif.js';

const limits = { maxPixels: 40_000_000, maxAvifPixels: 4096 * 4096, maxDimension: 2048, maxFrames: 1000, heifTimeoutMs: 30_000 };
/** A process's image work with `concurrency` pictures at once, as services.ts builds it from the config. */
const imageWork = (concurrency: number) => new ImageWork({ concurrency, queueLimit: 64, maxDimension: limits.maxDimension });
const LARGE = 4000 * 3000;
const SMALL = 800 * 1000;
const hasHeifEnc = await heifEncAvailable();

/**
 * Starts a decode of each size in `pixels` through the gates at once (`heavy`: all of them heavy,
 * as a HEIC is, or which): how many ran together at most, and in which order they finished.
 */
async function decodes(concurrency: number, pixels: number[], heavy: boolean | boolean[] = false) {
  const work = imageWork(concurrency);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    pixels.map((size, i) =>
      work.decode(size, Array.isArray(heavy) ? heavy[i]! : heavy, async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running -= 1;
        order.push(i);
      }),
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
    expect((await decodes(3, [LARGE, LARGE, LARGE])).most).toBe(1);
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
    const work = imageWork(2);
    const failing = work.decode(LARGE, false, async () => {
      throw new Error('corrupt');
    });
    await expect(failing).rejects.toThrow('corrupt');
    await expect(work.decode(LARGE, false, async () => 'next')).resolves.toBe('next');
  });

  it('are counted per process: another ImageWork has gates of its own', async () => {
    let release!: () => void;
    const first = imageWork(2);
    const held = first.decode(LARGE, false, () => new Promise<void>((resolve) => (release = resolve)));
    await expect(imageWork(2).decode(LARGE, false, async () => 'other process')).resolves.toBe('other process');
    release();
    await held;
  });
});

describe('pictures at once', () => {
  it('run up to the concurrency, queue up to the limit, and refuse the rest', async () => {
    const work = new ImageWork({ concurrency: 1, queueLimit: 1, maxDimension: limits.maxDimension });
    let release!: () => void;
    const running = work.picture(() => new Promise<void>((resolve) => (release = resolve)));
    const queued = work.picture(async () => 'queued');
    expect(work.saturated).toBe(true);
    await expect(work.picture(async () => 'refused')).rejects.toBeInstanceOf(QueueFullError);
    release();
    await running;
    await expect(queued).resolves.toBe('queued');
    expect(work.saturated).toBe(false);
  });
});

describe('which gate a large decode waits in', () => {
  it('the heavy decodes’ (one at a time) for AVIF, a progressive JPEG, a GIF, an interlaced or 16-bit PNG; the others’ for a baseline JPEG, a PNG and a WebP', async () => {
    const seen: [string, boolean][] = [];
    const picture = sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#5080b0' } });
    const uploads: [string, Buffer][] = [
      ['avif', await picture.clone().avif({ effort: 0 }).toBuffer()],
      ['progressive jpeg', await picture.clone().jpeg({ progressive: true }).toBuffer()],
      ['gif', await picture.clone().gif().toBuffer()],
      ['interlaced png', await picture.clone().png({ progressive: true }).toBuffer()],
      ['16-bit png', await picture.clone().toColourspace('rgb16').png().toBuffer()],
      ['baseline jpeg', await picture.clone().jpeg().toBuffer()],
      ['png', await picture.clone().png().toBuffer()],
      ['webp', await picture.clone().webp().toBuffer()],
    ];
    for (const [label, bytes] of uploads) {
      const gates = {
        decode: <T>(pixels: number, heavy: boolean, task: () => Promise<T>) => {
          expect(pixels, label).toBe(6_000_000);
          seen.push([label, heavy]);
          return task();
        },
      };
      expect(await sanitiseImage(bytes, bytes.length, limits, gates), label).toMatchObject({ width: 2048, height: 1365 });
    }
    expect(seen).toEqual([
      ['avif', true],
      ['progressive jpeg', true],
      ['gif', true],
      ['interlaced png', true],
      ['16-bit png', true],
      ['baseline jpeg', false],
      ['png', false],
      ['webp', false],
    ]);
  });
});

describe('sanitiseImage', () => {
  const work = imageWork(2);
  const jpeg = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#7a5c4f' } })
      .jpeg()
      .toBuffer();
  /** Holds the only slot of the large photos' gate (or of the heavy decodes', HEIC's) until the returned function is called. */
  const hold = (heavy: boolean) => {
    let release!: () => void;
    const held = work.decode(LARGE, heavy, () => new Promise<void>((resolve) => (release = resolve)));
    return async () => {
      release();
      await held;
    };
  };

  it('waits for the gate with a large upload, and not with a small one', async () => {
    const [large, small] = await Promise.all([jpeg(2100, 2100), jpeg(800, 1000)]);
    const release = hold(false);

    const done: string[] = [];
    const largeDone = sanitiseImage(large, large.length, limits, work, { variantFormats: ['webp'] }).then((image) => {
      done.push('large');
      return image;
    });
    const smallImage = await sanitiseImage(small, small.length, limits, work, { variantFormats: ['webp'] });
    expect(smallImage).toMatchObject({ width: 800, height: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(done).toEqual([]);

    await release();
    expect(await largeDone).toMatchObject({ width: 2048, height: 2048, format: 'jpeg' });
    expect(done).toEqual(['large']);
  });

  it.runIf(hasHeifEnc)('holds a large HEIC behind the HEIC gate only, not the other photos’ gate', async () => {
    const heic = await heicFrom(await jpeg(2100, 2100), 'jpg');
    const upload = () => sanitiseImage(heic, heic.length, limits, work, { variantFormats: ['webp'] });
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
