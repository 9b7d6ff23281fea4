import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { closeHeifPool, decodeHeif, expectHeifDecode, heifDecoderState } from '../../src/images/heif.js';
import { InvalidImageError } from '../../src/images/checks.js';
import { derivedHeif, heicFrom, heicOf, heifEncAvailable, withRotation, withUnreadableImage } from '../helpers/heif.js';
import { jpeg, processed } from '../helpers/images.js';
import { timed } from '../helpers/timing.js';

const hasHeifEnc = await heifEncAvailable();
const MAX_PIXELS = 52_000_000;

afterAll(() => closeHeifPool());

/** A HEIC of noise in every pixel: far slower to decode than a photo of its size. */
async function noiseHeic(width: number, height: number): Promise<Buffer> {
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return heicFrom(
    await sharp(noise, { raw: { width, height, channels: 3 } })
      .jpeg()
      .toBuffer(),
    'jpg',
  );
}

describe.skipIf(!hasHeifEnc)('the HEIC decode’s time limit', () => {
  it('starts once the decoder’s thread is ready: a decode after the thread ended is not cut short by starting it', async () => {
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3a6ea5' } })
      .jpeg()
      .toBuffer();
    const heic = await heicFrom(jpeg, 'jpg');
    // On this machine: a decode on a new thread (the first also loads what later starts reuse), another
    // on the running thread, then a start alone (the thread readied, nothing decoded).
    await closeHeifPool();
    expect((await timed(() => decodeHeif(heic, MAX_PIXELS, 60_000, false))).result).toMatchObject({ width: 320, height: 240 });
    const decode = await timed(() => decodeHeif(heic, MAX_PIXELS, 60_000, false));
    expect(decode.result).toMatchObject({ width: 320, height: 240, channels: 3 });
    await closeHeifPool();
    const start = await timed(async () => {
      expectHeifDecode();
      await expect.poll(heifDecoderState, { timeout: 30_000, interval: 5 }).toBe('ready');
    });
    // A limit a start overruns by half, and a decode keeps by half as much again.
    const limit = Math.round(start.ms / 2);
    expect(limit, 'starting the thread takes much longer than a decode').toBeGreaterThan(decode.ms * 1.5);
    await closeHeifPool();
    expect(heifDecoderState()).toBe('idle');
    const first = await timed(() => decodeHeif(heic, MAX_PIXELS, limit, false).catch((error: unknown) => error));
    expect(
      first.result,
      `a decode limited to ${limit} ms (a start ${Math.round(start.ms)} ms, a decode ${Math.round(decode.ms)} ms; this one ${Math.round(first.ms)} ms)`,
    ).toMatchObject({ width: 320, height: 240, channels: 3 });
    expect(first.ms).toBeGreaterThan(limit);
    // A decode that does overrun its limit still fails: a larger photo, which takes far longer than 1 ms.
    const large = await noiseHeic(1600, 1200);
    await expect(decodeHeif(large, MAX_PIXELS, 1, false)).rejects.toThrow('HEIF decoding failed');
  }, 60_000);
});

describe.skipIf(!hasHeifEnc)('the decoder’s memory after a large photo', () => {
  it('is given back about a second after a 48 MP photo, while a 12 MP photo’s stays for the next; a decode under way is never cut short', async () => {
    const small = await heicFrom(await jpeg(320, 240), 'jpg');
    // An iPhone's 48 MP photo: a grid of 16 × 12 tiles of 512 (flat, so it decodes in seconds).
    const tile = await heicFrom(
      await sharp({ create: { width: 512, height: 512, channels: 3, background: '#3a6ea5' } })
        .png()
        .toBuffer(),
      'png',
      80,
    );
    const large = derivedHeif({ kind: 'grid', images: Array.from({ length: 192 }, () => tile), columns: 16, width: 8064, height: 6048 });
    // A 25 MP photo of fine detail (noise in every pixel), which takes seconds to decode.
    const detailed = await noiseHeic(512, 512);
    const slow = derivedHeif({ kind: 'grid', images: Array.from({ length: 96 }, () => detailed), columns: 12, width: 6144, height: 4096 });
    await closeHeifPool();
    expect(await decodeHeif(small, MAX_PIXELS, 60_000, false)).toMatchObject({ width: 320, height: 240 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(heifDecoderState(), 'a small photo’s decoder stays for the next upload').toBe('ready');
    // Two large photos back to back: the second runs past the first's second, and is not cut short.
    expect(await decodeHeif(large, MAX_PIXELS, 60_000, false, 2048)).toMatchObject({ width: 2048, height: 1536 });
    const second = await timed(() => decodeHeif(slow, MAX_PIXELS, 60_000, false, 2048));
    expect(second.result).toMatchObject({ width: 2048, height: 1365 });
    expect(second.ms, 'the second decode outlasts the delay before the thread ends').toBeGreaterThan(1000);
    expect(heifDecoderState()).toBe('ready');
    await expect.poll(heifDecoderState, { timeout: 5000, interval: 50 }).toBe('idle');
    // The next photo starts a new thread.
    expect(await decodeHeif(small, MAX_PIXELS, 60_000, false)).toMatchObject({ width: 320, height: 240 });
  }, 120_000);
});

describe.skipIf(!hasHeifEnc)('what the HEIC decoder says about a file', () => {
  it('comes back with the decode’s failure, for the log, and a file it could half read still decodes', async () => {
    const twoImages = await heicOf([await jpeg(320, 240), await jpeg(240, 320)], 'jpg');
    // The primary cannot be opened: the failure says why, in libheif's words.
    const failure = await decodeHeif(withUnreadableImage(twoImages, 0), MAX_PIXELS, 30_000, false).catch((error: unknown) => error);
    const reason = new InvalidImageError(undefined, { cause: failure }).reason;
    expect(reason).toMatch(
      /^HEIF decoding failed: no primary image in the file \(the decoder said: Could not get image data for id 1 .*No properties assigned to item/,
    );
    // The other image cannot: the primary decodes, and what was said about the other goes nowhere.
    expect(await decodeHeif(withUnreadableImage(twoImages, 1), MAX_PIXELS, 30_000, false)).toMatchObject({ width: 320, height: 240 });
  });

  it('says, in one line, why an upload was refused: libheif’s error for coded data it cannot decode, libvips’ last line for a header', async () => {
    const heic = await heicFrom(await jpeg(320, 240), 'jpg');
    const reason = (bytes: Buffer) =>
      processed(bytes).then(
        () => 'stored',
        (error: unknown) => (error instanceof InvalidImageError ? error.reason : String(error)),
      );
    const zeroed = Buffer.from(heic);
    zeroed.fill(0, heic.indexOf('mdat') + 12);
    expect(await reason(zeroed)).toBe(
      'HEIF decoding failed: libheif: Decoder plugin generated an error: Unspecified: Decoding the input data did not give a decompressed image.',
    );
    const otherBytes = Buffer.concat([heic.subarray(0, 32), Buffer.alloc(4096, 0x5a)]);
    expect(await reason(otherBytes)).toMatch(/^Input buffer has corrupt header: .* … heif: .+$/);
    // libheif's code, on a line of its own after its message, stays with it: a truncated AVIF.
    const avif = await sharp(await jpeg(64, 64))
      .avif()
      .toBuffer();
    expect(await reason(avif.subarray(0, avif.length - 10))).toMatch(
      / … heif: Invalid input: Unexpected end of file: Extent in iloc box references data outside of file bounds .*\) \(\d+\.\d+\)$/,
    );
  });

  it('refuses a HEIF or AVIF by the largest size it declares, before libvips reads its header', async () => {
    const avif = await sharp(await jpeg(64, 64))
      .avif()
      .toBuffer();
    // A side libvips cannot hold (over 100 million pixels): its header would read as 1 pixel wide.
    const wide = Buffer.from(avif);
    wide.writeUInt32BE(200_000_000, wide.indexOf('ispe') + 8);
    await expect(processed(wide)).rejects.toMatchObject({ detail: 'Image is 200000000×64 pixels; the limit is 52 megapixels.' });
    // From a file on disk too, and for an image other than the primary one (a HEIC's second).
    const heic = await heicOf([await jpeg(64, 48), await jpeg(48, 64)], 'jpg');
    const second = heic.indexOf('ispe', heic.indexOf('ispe') + 4);
    expect(second).toBeGreaterThan(0);
    heic.writeUInt32BE(9000, second + 8);
    heic.writeUInt32BE(6000, second + 12);
    const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-heif-'));
    try {
      const file = path.join(dir, 'IMG_0001.HEIC');
      writeFileSync(file, heic);
      await expect(processed(file)).rejects.toMatchObject({ detail: 'Image is 9000×6000 pixels; the limit is 52 megapixels.' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasHeifEnc)('a HEIC larger than the master', () => {
  /** A photo-like picture: noise over four coloured quarters, RGBA with a clear left half when `alpha`. */
  async function photo(width: number, height: number, alpha = false): Promise<Buffer> {
    const channels = alpha ? 4 : 3;
    const pixels = Buffer.alloc(width * height * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * channels;
        const grain = ((at * 2654435761) >>> 28) - 8;
        pixels[at] = (x < width / 2 ? 200 : 40) + grain;
        pixels[at + 1] = (y < height / 2 ? 180 : 50) + grain;
        pixels[at + 2] = 90 + grain;
        if (alpha) pixels[at + 3] = x < width / 2 ? 0 : 255;
      }
    }
    return sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
  }

  it('is shrunk to the master’s size in the decoder’s thread: the same pixels as shrinking the whole decode, rotated or transparent', async () => {
    const cases = {
      plain: { heic: await heicFrom(await photo(1600, 1200), 'png', 70), alpha: false, size: [400, 300] },
      'turned a quarter by its container': {
        heic: withRotation(await heicFrom(await photo(1600, 1200), 'png', 70), 1),
        alpha: false,
        size: [300, 400],
      },
      transparent: { heic: await heicFrom(await photo(1600, 1200, true), 'png', 70), alpha: true, size: [400, 300] },
    };
    for (const [label, { heic, alpha, size }] of Object.entries(cases)) {
      const whole = await decodeHeif(heic, MAX_PIXELS, 30_000, alpha);
      const shrunkAfter = await sharp(whole.data, { raw: { width: whole.width, height: whole.height, channels: whole.channels } })
        .resize({ width: 400, height: 400, fit: 'inside' })
        .raw()
        .toBuffer();
      const shrunk = await decodeHeif(heic, MAX_PIXELS, 30_000, alpha, 400);
      expect([shrunk.width, shrunk.height, shrunk.channels], label).toEqual([...size, alpha ? 4 : 3]);
      expect(Buffer.from(shrunk.data).equals(shrunkAfter), label).toBe(true);
    }
    // Not larger than the box: as decoded.
    const small = await heicFrom(await photo(320, 240), 'png', 70);
    expect(
      Buffer.from((await decodeHeif(small, MAX_PIXELS, 30_000, false, 400)).data).equals(
        Buffer.from((await decodeHeif(small, MAX_PIXELS, 30_000, false)).data),
      ),
    ).toBe(true);
  }, 60_000);

  it('becomes a master of the longest side the server keeps, its quarters in place', async () => {
    const result = await processed(await heicFrom(await photo(2400, 1800), 'png', 60));
    expect([result.width, result.height, result.input.format]).toEqual([2048, 1536, 'heic']);
    const { data, info } = await sharp(result.buffer).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 2)];
    const near = (actual: number[], expected: number[]) => actual.every((value, i) => Math.abs(value - expected[i]!) <= 16);
    expect(near(at(400, 300), [200, 180]), `top left ${at(400, 300).join(',')}`).toBe(true);
    expect(near(at(1600, 1200), [40, 50]), `bottom right ${at(1600, 1200).join(',')}`).toBe(true);
  }, 60_000);
});
